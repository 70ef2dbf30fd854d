"""The monitor without a server: time alignment, track lifecycle, unique ids, adoption, acks vs ticks."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from lowalt.conflict.alerts import AlertBook
from lowalt.live.monitor import ConflictMonitor, category_code
from lowalt.surveillance.reports import Source
from lowalt.surveillance.tracks import Snapshot, TrackTable

NOW = 1_790_000_000.0
LAT = 29.3
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT))


def picture(rows: list[dict[str, Any]], cooperative: bool = True) -> Snapshot:
    """Tracks from dicts: id, x (m east of 117.2 E), alt (m AMSL), vx, vy, vz, t, landed, cat."""
    table = TrackTable(cooperative=cooperative)
    m = len(rows)
    if not m:
        return table.snapshot()

    def col(name: str, default: float) -> np.ndarray:
        return np.array([float(r.get(name, default)) for r in rows])

    table.upsert([r["id"] for r in rows], lon=117.2 + col("x", 0.0) / M_PER_DEG_LON, lat=np.full(m, LAT),
                 alt=col("alt", 300.0), vx=col("vx", 0.0), vy=col("vy", 0.0), vz=col("vz", 0.0), t=col("t", NOW),
                 t_recv=NOW, category=np.array([category_code(r.get("cat", "small_uav")) for r in rows], np.int8),
                 landed=np.array([bool(r.get("landed", False)) for r in rows]),
                 source=np.array([int(r.get("src", Source.TELEMETRY)) for r in rows], np.int8))
    return table.snapshot()


def conflicts(mon: ConflictMonitor, snap: Snapshot, now: float) -> list[dict[str, Any]]:
    res = mon.assess(snap, now, picture([]))
    return [a for a in (*res.alerts_new, *res.alerts_updated) if a["kind"] == "conflict"]


def test_late_reports_are_predicted_to_tick_time() -> None:
    # head-on at 20 m/s each, 2 km apart when reported, but the reports are 5 s old when the tick runs
    late = picture([{"id": "A", "x": 0, "vx": 20, "t": NOW - 5}, {"id": "B", "x": 2000, "vx": -20, "t": NOW - 5}])
    fresh = picture([{"id": "A", "x": 100, "vx": 20, "t": NOW}, {"id": "B", "x": 1900, "vx": -20, "t": NOW}])
    raw = picture([{"id": "A", "x": 0, "vx": 20, "t": NOW}, {"id": "B", "x": 2000, "vx": -20, "t": NOW}])
    t_late = conflicts(ConflictMonitor(), late, NOW)[0]["details"]["t_in"]
    t_fresh = conflicts(ConflictMonitor(), fresh, NOW)[0]["details"]["t_in"]
    t_raw = conflicts(ConflictMonitor(), raw, NOW)[0]["details"]["t_in"]
    assert t_late == pytest.approx(t_fresh, abs=0.11)  # where they are now, not where they were
    assert t_raw - t_late == pytest.approx(5.0, abs=0.11)


def test_prediction_is_bounded() -> None:
    mon = ConflictMonitor(predict_max_s=10.0)
    snap = picture([{"id": "A", "x": 0, "vx": 20, "t": NOW - 60}])
    pos, _, t_pos = mon.predict(snap, NOW)
    assert pos[0, 0] - mon.predict(picture([{"id": "A", "x": 0, "vx": 20, "t": NOW}]), NOW)[0][0, 0] == \
        pytest.approx(200.0, abs=0.5)
    assert t_pos[0] == NOW - 50
    future = picture([{"id": "A", "x": 0, "vx": 20, "t": NOW + 2}])  # clock skew: never predicted backwards
    assert mon.predict(future, NOW)[2][0] == NOW + 2


class Plans:
    """A plan source with one plan per aircraft, in a given state."""

    def __init__(self, states: dict[str, str], end: float = NOW + 3600) -> None:
        from lowalt.live.monitor import PlanPicture
        from lowalt.live.plans import EMPTY

        ids = sorted(states)
        self.pic = PlanPicture(EMPTY.plans, {a: k for k, a in enumerate(ids)}, [f"P-{a}" for a in ids],
                               np.zeros(len(ids), dtype=np.bool_), states=[states[a] for a in ids])
        self.end = end

    def picture(self, now: float) -> Any:
        from dataclasses import replace

        from lowalt.conflict.conformance import ConformancePlans

        n = len(self.pic.plan_ids)
        import shapely

        area = np.array([shapely.box(-1e7, -1e7, 1e7, 1e7)] * n, dtype=object)
        return replace(self.pic, plans=ConformancePlans(area, np.full(n, -1e4), np.full(n, 1e4),
                                                        np.full(n, NOW - 3600), np.full(n, self.end)))


def lost_after(gone_rows: list[dict[str, Any]], live_rows: list[dict[str, Any]] | None = None,
               plans: Plans | None = None, noncoop: bool = False) -> list[dict[str, Any]]:
    mon = ConflictMonitor(plan_source=plans)
    res = mon.assess(picture(live_rows or []), NOW, picture(gone_rows, cooperative=not noncoop))
    return [a for a in res.alerts_new if a["kind"] == "lost_contact"]


def test_an_airborne_aircraft_that_stops_reporting_is_lost() -> None:
    alerts = lost_after([{"id": "A", "alt": 300, "vx": 10, "t": NOW - 10}])
    assert [a["aircraft"] for a in alerts] == [["A"]]
    assert alerts[0]["severity"] == "caution"  # nothing around it
    assert alerts[0]["details"]["last_position"][2] == 300.0


def test_a_hovering_aircraft_high_up_is_lost_too() -> None:
    assert lost_after([{"id": "A", "alt": 10.01, "t": NOW - 10}])  # still, but 10.01 m above the terrain


@pytest.mark.parametrize("row", [
    {"id": "A", "alt": 10.0, "t": NOW - 10},                          # still, at 10 m: on the ground
    {"id": "A", "alt": 0.0, "vx": 1.0, "vz": 0.5, "t": NOW - 10},     # taxiing at the limits
    {"id": "A", "alt": 300.0, "vx": 10, "landed": True, "t": NOW - 10},  # said so (e.g. MAVLink landed state)
])
def test_a_landed_aircraft_is_never_lost(row: dict[str, Any]) -> None:
    assert lost_after([row]) == []


def test_just_above_the_ground_speed_limit_is_airborne() -> None:
    assert lost_after([{"id": "A", "alt": 0.0, "vx": 1.01, "t": NOW - 10}])


@pytest.mark.parametrize(("alt", "vz", "vx", "lost"), [
    (40.0, -3.0, 0.0, False),   # 40 m, 3 m/s down, 10 s of silence: on the ground by then (exactly 10 m)
    (40.1, -3.0, 0.0, True),    # ...10.1 m up at the end of the silence: still airborne
    (40.0, -3.0, 5.0, False),   # slow enough to be a landing approach
    (40.0, -3.0, 5.1, True),    # too fast along the ground for a landing: a crash or a dive is lost
])
def test_a_descent_that_reaches_the_ground_within_the_silence_is_a_landing(
        alt: float, vz: float, vx: float, lost: bool) -> None:
    assert bool(lost_after([{"id": "A", "alt": alt, "vz": vz, "vx": vx, "t": NOW - 10}])) is lost


def test_prediction_never_takes_a_descending_track_below_the_ground() -> None:
    class Flat:
        def elevation(self, lon: Any, lat: Any) -> np.ndarray:
            return np.full(np.shape(lon), 30.0)

    mon = ConflictMonitor(terrain=Flat())
    snap = picture([{"id": "A", "alt": 40.0, "vz": -5.0, "t": NOW - 8}, {"id": "B", "alt": 20.0, "vz": -1, "t": NOW - 8}])
    z = mon.predict(snap, NOW)[0][:, 2]
    assert z.tolist() == [30.0, 20.0]  # stops at the ground; one already below it (terrain model error) stays put


@pytest.mark.parametrize("state", ["completed", "cancelled"])
def test_a_finished_plan_ends_the_track_without_lost_contact(state: str) -> None:
    assert lost_after([{"id": "A", "alt": 300, "vx": 10, "t": NOW - 10}], plans=Plans({"A": state})) == []


def test_an_active_plan_lost_mid_flight_names_the_plan_and_clears_at_its_end() -> None:
    alerts = lost_after([{"id": "A", "alt": 300, "vx": 10, "t": NOW - 10}], plans=Plans({"A": "active"}))
    assert alerts[0]["details"]["plan"] == "P-A" and alerts[0]["details"]["clears_at"] == NOW + 3600


@pytest.mark.parametrize(("src", "unauthorised"), [(Source.TELEMETRY, True), (Source.RID, True), (Source.ADSB, False)])
def test_crewed_traffic_over_adsb_without_a_lowalt_plan_is_not_unauthorised(src: Source, unauthorised: bool) -> None:
    mon = ConflictMonitor(plan_source=Plans({"other": "active"}))
    res = mon.assess(picture([{"id": "A", "alt": 300, "vx": 40, "src": src, "cat": "helicopter"}]), NOW, picture([]))
    assert any(a["kind"] == "unauthorised" for a in res.alerts_new) is unauthorised
    assert res.statuses["A"] == ("unauthorised" if unauthorised else "atc")  # ATC's crewed traffic


@pytest.mark.parametrize(("states", "lost"), [({}, False), ({"A": "active"}, True)])
def test_adsb_traffic_leaving_coverage_is_lost_only_with_a_lowalt_plan(states: dict[str, str], lost: bool) -> None:
    row = {"id": "A", "alt": 300, "vx": 40, "t": NOW - 10, "src": Source.ADSB, "cat": "crewed_ga"}
    assert bool(lost_after([row], plans=Plans(states))) is lost


def test_noncooperative_detections_never_raise_lost_contact() -> None:
    assert lost_after([{"id": "nc:radar:1", "alt": 300, "vx": 10, "t": NOW - 10}], noncoop=True) == []


@pytest.mark.parametrize(("x", "alt", "severity"), [
    # a few metres off each limit: the test places aircraft by degrees, the monitor measures in EPSG:4548
    (990.0, 300 + 150, "alarm"), (1010.0, 300, "warning"), (990.0, 300 + 151, "warning"),
    (4990.0, 300, "warning"), (5010.0, 300, "caution"),
])
def test_lost_contact_severity_depends_on_traffic_around(x: float, alt: float, severity: str) -> None:
    # the lost aircraft was still at x=0; another aircraft is at x (m) and alt
    alerts = lost_after([{"id": "A", "alt": 300, "t": NOW - 10, "vz": 0}],
                        live_rows=[{"id": "B", "x": x, "alt": alt, "t": NOW}])
    assert alerts[0]["severity"] == severity


def test_lost_contact_clears_when_the_aircraft_reports_again() -> None:
    mon = ConflictMonitor()
    first = mon.assess(picture([]), NOW, picture([{"id": "A", "alt": 300, "vx": 10, "t": NOW - 10}]))
    aid = first.alerts_new[0]["id"]
    back = picture([{"id": "A", "alt": 300, "vx": 10, "t": NOW + 1}])
    cleared = []
    for k in range(1, 5):
        cleared += [a["id"] for a in mon.assess(back, NOW + k, picture([])).alerts_cleared]
    assert cleared == [aid]


def test_alert_ids_are_unique_across_monitors_and_adoption_continues_them() -> None:
    pair = [{"id": "A", "x": 0, "vx": 20}, {"id": "B", "x": 2000, "vx": -20}]
    first, second = ConflictMonitor(), ConflictMonitor()  # e.g. before and after a restart
    a1 = conflicts(first, picture(pair), NOW)[0]
    a2 = conflicts(second, picture(pair), NOW)[0]
    assert a1["id"] != a2["id"] and a1["id"].startswith("conflict-")
    # a third run adopts the first's open alert: the same finding continues under the same id
    third = ConflictMonitor()
    third.adopt([a1], NOW)
    res = third.assess(picture([{**r, "t": NOW + 1} for r in pair]), NOW + 1, picture([]))
    assert res.alerts_new == [] and a1["id"] in res.active
    assert [a["id"] for a in third.current_alerts()] == [a1["id"]]


def test_adoption_of_many_alerts_at_once_continues_each_and_keeps_the_first_of_a_subject() -> None:
    rows = [{"id": f"U{k}", "x": 300.0 * k, "vx": 20 if k % 2 else -20} for k in range(40)]
    first = ConflictMonitor()
    first.assess(picture(rows), NOW, picture([]))
    open_alerts = first.current_alerts()
    assert len(open_alerts) > 20
    again = dict(open_alerts[0], id="conflict-duplicate-of-first")  # same subject, another id: ignored
    second = ConflictMonitor()
    second.adopt([*open_alerts, again], NOW)
    assert sorted(a["id"] for a in second.current_alerts()) == sorted(a["id"] for a in open_alerts)
    res = second.assess(picture([{**r, "t": NOW + 1} for r in rows]), NOW + 1, picture([]))
    assert res.alerts_new == []
    assert {a["id"] for a in open_alerts} <= set(res.active)


def test_adopted_alert_not_seen_again_clears() -> None:
    mon = ConflictMonitor()
    a = conflicts(ConflictMonitor(), picture([{"id": "A", "x": 0, "vx": 20}, {"id": "B", "x": 2000, "vx": -20}]),
                  NOW)[0]
    mon.adopt([a], NOW)
    cleared = [c["id"] for k in range(1, 5) for c in mon.assess(picture([]), NOW + k, picture([])).alerts_cleared]
    assert cleared == [a["id"]]


def test_current_alerts_show_the_latest_details() -> None:
    mon = ConflictMonitor()
    pair = [{"id": "A", "x": 0, "vx": 20}, {"id": "B", "x": 2000, "vx": -20}]
    conflicts(mon, picture(pair), NOW)
    t0 = mon.current_alerts()[0]["details"]["t_in"]
    moved = [{"id": "A", "x": 100, "vx": 20, "t": NOW + 5}, {"id": "B", "x": 1900, "vx": -20, "t": NOW + 5}]
    mon.assess(picture(moved), NOW + 5, picture([]))  # same severity: no "updated" event, details still move
    assert mon.current_alerts()[0]["details"]["t_in"] == pytest.approx(t0 - 5, abs=0.11)


def test_acknowledgement_during_ticks_is_never_lost() -> None:
    mon = ConflictMonitor(book=AlertBook(clear_after_ticks=3))
    rows = [{"id": f"U{k}", "x": 300.0 * k, "vx": 20 if k % 2 else -20} for k in range(40)]
    mon.assess(picture(rows), NOW, picture([]))
    ids = [a["id"] for a in mon.current_alerts()]
    assert len(ids) > 10
    stop = threading.Event()

    def ticks() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            mon.assess(picture([{**r, "t": NOW + k * 0.01} for r in rows]), NOW + k * 0.01, picture([]))

    worker = threading.Thread(target=ticks)
    worker.start()
    try:
        for aid in ids:
            assert mon.acknowledge(aid, "duty", NOW) is not None
    finally:
        stop.set()
        worker.join(30)
    acked = {a["id"]: a["acknowledged_by"] for a in mon.current_alerts()}
    assert all(acked[aid] == "duty" for aid in ids if aid in acked)
    assert sum(aid in acked for aid in ids) == len(ids)


def test_a_landed_aircraft_is_not_traffic_and_not_nonconforming() -> None:
    # two aircraft on the same pad said they landed: no conflict, no unauthorised flight, status "landed"
    plans = Plans({"A": "active"})
    mon = ConflictMonitor(plan_source=plans)
    on_pad = [{"id": "A", "alt": 0.0, "landed": True}, {"id": "B", "x": 5.0, "alt": 0.0, "landed": True}]
    res = mon.assess(picture(on_pad), NOW, picture([]))
    assert res.alerts_new == [] and res.statuses == {"A": "landed", "B": "landed"}
    airborne = [{"id": "A", "alt": 0.0}, {"id": "B", "x": 5.0, "alt": 0.0}]  # the same, not said landed
    kinds = {a["kind"] for a in ConflictMonitor(plan_source=plans).assess(picture(airborne), NOW,
                                                                          picture([])).alerts_new}
    assert kinds == {"conflict", "unauthorised"}
