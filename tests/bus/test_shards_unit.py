"""Monitor shards without a server: the assignment, halo and ownership rules (both sides of every boundary),
and two shard monitors over one picture: a pair straddling their boundary is alerted once, and the alert
moves to the other shard under its id when the pair's midpoint crosses."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from lowalt.airspace.validate import SERVICE_AREA_BBOX as AREA
from lowalt.bus.codec import CELL_DEG, cell_key
from lowalt.bus.inprocess import InProcessBus
from lowalt.identity.model import Principal, Role
from lowalt.live.monitor import LOST_AROUND_M, LOST_COAST_MAX_S, ConflictMonitor, category_code
from lowalt.live.monitor_process import ProcessMonitor
from lowalt.live.service import STATUS_CARRY_S, LiveService
from lowalt.live.shards import (
    LOST_CONTACT_REACH_M,
    UNADOPTED_AFTER_S,
    ShardOwner,
    ShardTerms,
    alert_owner_point,
    area_cells,
    cell_gap_m,
    cell_of,
    cells_within,
    halo_m,
    lease_holder,
    lease_name,
    lease_value,
    owner_point,
    shard_grid,
    shard_of_cell,
    shard_of_point,
)
from lowalt.metrics import Metrics
from lowalt.settings import Settings
from lowalt.surveillance.reports import MAX_SPEED_MS, Source
from lowalt.surveillance.tracks import Snapshot, TrackTable
from tests.conftest import wait_until

EDGE_LON = 117.25  # with 2 shards of the Jingdezhen service area: shard 0 west of it, shard 1 east
EDGE_LAT = 29.25  # with 4: shards 0, 1 south of it, 2, 3 north
EPS = 1e-9
NOW = 1_790_000_000.0


def test_assignment_is_a_grid_of_rectangles_over_the_service_area() -> None:
    assert area_cells(AREA) == (462, 114, 13, 6)  # 115.5-118.75 E, 28.5-30 N
    assert [shard_grid(n, 13, 6) for n in (1, 2, 3, 4, 6, 16)] == [(1, 1), (2, 1), (3, 1), (2, 2), (3, 2), (4, 4)]
    assert shard_grid(2, 6, 13) == (1, 2)  # the longer count along the longer side
    with pytest.raises(ValueError, match="shards"):
        shard_grid(0, 13, 6)
    # two shards: columns 462-468 and 469-474 (the last column of the west one and the first of the east)
    assert shard_of_cell(468, 117, 2, AREA) == 0 and shard_of_cell(469, 117, 2, AREA) == 1
    assert shard_of_cell(462, 114, 2, AREA) == 0 and shard_of_cell(474, 119, 2, AREA) == 1
    assert shard_of_cell(400, 117, 2, AREA) == 0 and shard_of_cell(600, 50, 2, AREA) == 1  # outside: nearest
    # four: rows 114-116 and 117-119
    assert [int(shard_of_cell(c, r, 4, AREA)) for c, r in ((468, 116), (469, 116), (468, 117), (469, 117))] == \
        [0, 1, 2, 3]
    assert set(shard_of_cell(np.arange(400, 520), np.full(120, 117), 1, AREA).tolist()) == {0}
    assert lease_name(0, 1) == "monitor" and lease_name(1, 2) == "monitor.1"


def test_a_point_on_a_boundary_belongs_east_and_north_like_the_bus_cells() -> None:
    assert shard_of_point(EDGE_LON, 29.6, 2, AREA) == 1 and shard_of_point(EDGE_LON - EPS, 29.6, 2, AREA) == 0
    assert shard_of_point(EDGE_LON + EPS, 29.6, 2, AREA) == 1
    assert shard_of_point(117.0, EDGE_LAT, 4, AREA) == 2 and shard_of_point(117.0, EDGE_LAT - EPS, 4, AREA) == 0
    col, row = cell_of(EDGE_LON, EDGE_LAT)
    assert cell_key(EDGE_LON, EDGE_LAT) == f"e{int(col)}n{int(row)}"  # the bus's numbering


def test_halo_is_look_ahead_times_closing_speed_plus_largest_minimum() -> None:
    assert halo_m(60.0) == pytest.approx(60 * 300 + 1219.2)  # 19,219.2 m with the defaults
    # the lost-contact reach is the monitor's coasting and neighbourhood, which cannot be imported there
    assert LOST_CONTACT_REACH_M == LOST_COAST_MAX_S * MAX_SPEED_MS + LOST_AROUND_M
    assert halo_m(10.0) == pytest.approx(30 * 150 + 5000.0)  # never less than the lost-contact reach


def test_cells_within_the_halo_on_both_sides_of_its_distance() -> None:
    c = (469, 117)
    assert cell_gap_m(c, (c[0] + 1, c[1] + 1)) == 0.0  # touching, corner too
    two_east = (c[0] + 2, c[1])
    gap = cell_gap_m(c, two_east)  # one cell's width at the poleward edge: ~24 km
    assert 23_000 < gap < 25_000 and cell_gap_m(two_east, c) == gap
    assert two_east in cells_within(c, gap)
    assert two_east not in cells_within(c, gap - 0.01)
    ring = cells_within(c, halo_m(60.0))  # 19.2 km: exactly the cell and its ring of 8
    assert sorted(ring) == sorted((c[0] + dc, c[1] + dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1))


def test_owner_region_is_its_cells_plus_the_halo() -> None:
    east = ShardOwner(2, frozenset({1}), halo_m(60.0), AREA)
    lat = np.array([29.6, 29.6])
    assert east.owns([EDGE_LON, EDGE_LON - EPS], lat).tolist() == [True, False]
    one_west, two_west = EDGE_LON - CELL_DEG / 2, EDGE_LON - CELL_DEG - EPS  # halo ring / beyond it
    assert east.in_region([EDGE_LON, one_west, two_west], [29.6, 29.6, 29.6]).tolist() == [True, True, False]
    cw, rw = (int(v) for v in cell_of(two_west, 29.6))
    gap = min(cell_gap_m((cw, rw), (cw + dc, rw + dr)) for dc in range(-4, 5) for dr in range(-4, 5)
              if int(shard_of_cell(cw + dc, rw + dr, 2, AREA)) in east.held)  # to the nearest cell east owns
    assert ShardOwner(2, east.held, gap, AREA).in_region([two_west], [29.6]).tolist() == [True]
    assert ShardOwner(2, east.held, gap - 0.01, AREA).in_region([two_west], [29.6]).tolist() == [False]
    assert ShardOwner(2, frozenset({0, 1}), 1.0, AREA).owns([EDGE_LON, EDGE_LON - EPS], lat).all()
    deep_east = EDGE_LON + 2 * CELL_DEG + 0.01  # beyond the halo of the west shard's cells: east reads, west not
    west = ShardOwner(2, frozenset({0}), halo_m(60.0), AREA)
    assert east.in_region([deep_east], [29.6]).tolist() == [True] and west.in_region([deep_east], [29.6]).tolist() \
        == [False]


def test_a_pair_is_owned_at_its_midpoint_whatever_the_order() -> None:
    lon, lat = owner_point(EDGE_LON - 0.0001, 29.6, EDGE_LON + 0.0003, 29.6)
    assert lon == pytest.approx(EDGE_LON + 0.0001)
    assert owner_point(EDGE_LON + 0.0003, 29.6, EDGE_LON - 0.0001, 29.6) == (lon, lat)
    where = {"A": (EDGE_LON - 0.0003, 29.6), "B": (EDGE_LON + 0.0001, 29.6)}  # midpoint west of the edge
    conflict = {"kind": "conflict", "aircraft": ["A", "B"]}
    assert alert_owner_point(conflict, where)[0] < EDGE_LON  # type: ignore[index]
    assert alert_owner_point({"kind": "conflict", "aircraft": ["A", "C"]}, where) is None
    assert alert_owner_point({"kind": "unauthorised", "aircraft": ["B"]}, where) == where["B"]
    lost = {"kind": "lost_contact", "aircraft": ["Z"], "details": {"last_position": [117.3, 29.7, 100.0]}}
    assert alert_owner_point(lost, {}) == (117.3, 29.7)


def picture(rows: list[tuple[str, float, float, float]]) -> Snapshot:
    """Tracks (id, lon, lat, vx) at 300 m AMSL, small UAVs reporting now."""
    table = TrackTable()
    m = len(rows)
    table.upsert([r[0] for r in rows], lon=np.array([r[1] for r in rows]), lat=np.array([r[2] for r in rows]),
                 alt=np.full(m, 300.0), vx=np.array([r[3] for r in rows]), vy=np.zeros(m), vz=np.zeros(m),
                 t=np.full(m, NOW), t_recv=NOW, category=np.full(m, category_code("small_uav"), np.int8),
                 landed=np.zeros(m, dtype=np.bool_), source=np.full(m, int(Source.TELEMETRY), np.int8))
    return table.snapshot()


def _conflicts(alerts: list[dict[str, Any]]) -> list[str]:
    return [a["id"] for a in alerts if a["kind"] == "conflict"]


def test_two_shards_alert_a_straddling_pair_once_and_hand_it_over_under_its_id() -> None:
    halo = halo_m(60.0)
    west = ConflictMonitor(owner=ShardOwner(2, frozenset({0}), halo, AREA))
    east = ConflictMonitor(owner=ShardOwner(2, frozenset({1}), halo, AREA))
    d = 20.0 / 97_000  # ~20 m of longitude at 29.6 N: hovering 40 m apart, across the edge
    far = ("F", EDGE_LON + 2 * CELL_DEG + 0.01, 29.6, 0.0)  # beyond west's halo: west never sees it
    snap = picture([("A", EDGE_LON - 1.5 * d, 29.6, 0.0), ("B", EDGE_LON + 0.5 * d, 29.6, 0.0), far])
    w, e = west.assess(snap, NOW), east.assess(snap, NOW)  # midpoint west of the edge: west's
    assert len(_conflicts(w.alerts_new)) == 1 and _conflicts(e.alerts_new) == []
    alert_id = _conflicts(w.alerts_new)[0]
    # the pair drifts east: the midpoint crosses the edge; east adopts the alert west published
    moved = picture([("A", EDGE_LON - 0.5 * d, 29.6, 0.0), ("B", EDGE_LON + 1.5 * d, 29.6, 0.0), far])
    east.adopt(list(w.active.values()), NOW + 1)
    e2, w2 = east.assess(moved, NOW + 1), west.assess(moved, NOW + 1)
    assert _conflicts(e2.alerts_new) == [] and alert_id in e2.active  # continued under its id
    assert [a["id"] for a in w2.handed] == [alert_id] and alert_id not in w2.active
    for k in range(2, 6):  # west's book lets it go without a clear; east keeps it
        w3, e3 = west.assess(moved, NOW + k), east.assess(moved, NOW + k)
        assert _conflicts(w3.alerts_cleared) == [] and _conflicts(w3.alerts_new) == []
        assert alert_id in e3.active and _conflicts(e3.alerts_cleared) == []
    assert west.acknowledge(alert_id, "op", NOW) is None and east.acknowledge(alert_id, "op", NOW) is not None
    # apart: the owner clears it, once
    gone = picture([("A", EDGE_LON - 0.01, 29.6, 0.0), ("B", EDGE_LON + 0.01, 29.6, 0.0)])
    cleared = [c for k in range(6, 10) for c in _conflicts(east.assess(gone, NOW + k).alerts_cleared)]
    assert cleared == [alert_id]
    assert [c for k in range(6, 10) for c in _conflicts(west.assess(gone, NOW + k).alerts_cleared)] == []


async def test_two_shard_services_on_one_bus_hand_a_pair_over_under_its_id() -> None:
    """Two live services (the east and the west shard) sharing a bus: each applies the other's reports and
    assessments; a pair whose midpoint crosses from the west shard's cell into the east's keeps its id, is never
    cleared by the shard that let it go, and both services show it once."""
    s0, s1 = svcs = await shard_services()
    t0 = time.time()

    async def tick_both(k: int, xs: tuple[float, float], first: LiveService) -> None:
        ingest_pair(s0, t0 + k, xs)
        for svc in (first, s1 if first is s0 else s0):
            await tick_heard(svc, s1 if svc is s0 else s0, t0 + k)

    await tick_both(0, (-1.5, 0.5), s0)  # midpoint west of the edge: s1's
    assert conflict_ids(s1) == conflict_ids(s0) and len(conflict_ids(s0)) == 1
    (alert_id,) = conflict_ids(s1)
    assert alert_id in s1._own_active and alert_id not in s0._own_active
    for k, first in ((1, s1), (2, s0), (3, s1), (4, s0), (5, s1)):  # east of it now: s0's
        await tick_both(k, (-0.5, 1.5), first)
        assert conflict_ids(s0) == {alert_id} and conflict_ids(s1) == {alert_id}
    assert alert_id in s0._own_active and alert_id not in s1._own_active
    late = int(UNADOPTED_AFTER_S)
    for k, first in ((late + 6, s1), (late + 7, s0)):  # adopted: s1 never clears it
        await tick_both(k, (-0.5, 1.5), first)
    assert conflict_ids(s0) == {alert_id} and conflict_ids(s1) == {alert_id} and s1._handed_out == {}
    events = [(e, a["id"]) for svc in svcs for e, a in svc._alert_events if a["kind"] == "conflict"]
    assert events == [("raised", alert_id)]  # raised once, by the west shard; never cleared by either


ADMIN = Principal(1, "admin", Role.ADMIN, None, 1)
D = 20.0 / 97_000  # ~20 m of longitude at 29.6 N


async def shard_services() -> list[LiveService]:
    """Two live services on one in-process bus, each applying the other's reports and assessments: s0 holds
    the east shard, s1 the west one (as their lease rounds would)."""
    bus = InProcessBus()
    svcs = []
    for k in (0, 1):
        svc = LiveService(None, Metrics(), monitor=ConflictMonitor(), bus=bus, node_id=f"s{k}",  # type: ignore[arg-type]
                          shards=2, halo=halo_m(60.0))
        svc.share_assessments = True
        await bus.subscribe_reports(svc.apply_remote_reports)
        await bus.subscribe_feed(svc.apply_remote_feed)
        await svc._set_held(frozenset({1 - k}))
        svcs.append(svc)
    return svcs


def ingest_pair(svc: LiveService, now: float, xs: tuple[float, float]) -> None:
    """A and B hovering at EDGE_LON + x * D (x in ``xs``), reported at ``now`` through ``svc``."""
    frame = orjson.dumps([{"id": aid, "t": now, "lon": EDGE_LON + x * D, "lat": 29.6, "alt": 300.0, "ref": "AMSL",
                           "vx": 0.0, "vy": 0.0} for aid, x in zip(("A", "B"), xs, strict=True)])
    assert svc.ingest(ADMIN, frame, now=now)[0] == 2


async def tick_heard(svc: LiveService, other: LiveService, now: float) -> None:
    """``svc``'s tick at ``now``, then wait until ``other`` has its assessment."""
    was = other._remote.get(svc.node_id)
    await svc.tick(now)

    async def heard() -> bool:
        return other._remote.get(svc.node_id) is not was

    await wait_until(heard, timeout=5, what="the assessment on the other service", every=0.001)


def conflict_ids(svc: LiveService) -> set[str]:
    return {a["id"] for a in svc.active_alerts.values() if a["kind"] == "conflict"}


async def test_a_handed_over_alert_no_shard_adopts_is_cleared_by_the_shard_that_handed_it() -> None:
    """The pair's midpoint crosses into the east shard's cells just as both aircraft go silent: the east
    shard never sees them again, so it never adopts the alert. The west shard, which handed it over, clears
    it ``UNADOPTED_AFTER_S`` after the hand-over (not before), with its reason; every node's picture and the
    alert log close it."""
    s0, s1 = await shard_services()
    t0 = time.time()
    ingest_pair(s0, t0, (-1.5, 0.5))  # midpoint west of the edge: s1's
    await tick_heard(s1, s0, t0)
    (alert_id,) = conflict_ids(s1)
    ingest_pair(s0, t0 + 1, (-0.5, 1.5))  # the last reports: the midpoint is east of the edge now
    await tick_heard(s1, s0, t0 + 1)
    assert alert_id in s1._handed_out and alert_id in s0._pool  # handed over, waiting for s0
    silent = t0 + 1 + s0.config.lost_after_s + 1  # s0's next tick: both tracks have ended, nothing to adopt
    await tick_heard(s0, s1, silent)
    assert conflict_ids(s0) == set() and alert_id not in s0._own_active
    await tick_heard(s1, s0, t0 + 1 + UNADOPTED_AFTER_S - 0.01)  # just before the window: still handed
    assert alert_id in s1._handed_out
    await tick_heard(s1, s0, t0 + 1 + UNADOPTED_AFTER_S)
    assert s1._handed_out == {} and alert_id not in s0._pool and alert_id not in s0.active_alerts
    events = [(e, a["id"], a["details"].get("cleared_reason")) for svc in (s0, s1) for e, a in svc._alert_events
              if a["kind"] == "conflict"]
    assert events == [("raised", alert_id, None), ("cleared", alert_id, "handed_over_unadopted")]
    await tick_heard(s1, s0, t0 + 2 + UNADOPTED_AFTER_S)  # once
    assert [e for svc in (s0, s1) for e, a in svc._alert_events if a["kind"] == "conflict"] == ["raised", "cleared"]


def test_a_status_no_shard_has_this_tick_is_kept_a_while_and_not_sent_again() -> None:
    """An aircraft crossing from the other shard's cells into this one's is in neither shard's latest tick
    until this shard's next: its status is carried (its feed row is not sent as ``unknown`` and back), for
    ``STATUS_CARRY_S`` at most, and only while its track lives."""
    svc = LiveService(None, Metrics(), monitor=ConflictMonitor(), node_id="s0", shards=2)  # type: ignore[arg-type]
    now = time.time()
    frame = orjson.dumps([{"id": aid, "t": now, "lon": EDGE_LON + dx, "lat": 29.6, "alt": 300.0, "ref": "AMSL",
                           "vx": 0.0, "vy": 0.0} for aid, dx in (("A", 0.001), ("B", 0.002))])
    assert svc.ingest(Principal(1, "admin", Role.ADMIN, None, 1), frame, now=now)[0] == 2

    def other_shard(statuses: dict[str, str]) -> None:
        svc.apply_remote_feed("assessment", orjson.dumps({"node": "s1", "t": now, "statuses": statuses, "active": {},
                                                          "new": [], "updated": [], "cleared": []}))

    def resent() -> set[str]:
        return {svc.coop.ids[r] for r in svc.coop.take_dirty()}

    other_shard({"A": "conflict", "B": "ok"})
    assert svc.statuses == {"A": "conflict", "B": "ok"} and resent() == {"A", "B"}
    other_shard({})  # both crossed into the cells of this node's shard, whose next tick has not run
    assert svc.statuses == {"A": "conflict", "B": "ok"} and resent() == set()
    other_shard({"A": "conflict", "B": "ok"})  # the owner's tick (as if from the bus): no change, nothing resent
    assert resent() == set()
    other_shard({})
    svc._carried["A"] -= STATUS_CARRY_S  # A carried for STATUS_CARRY_S (B a moment less): A's ends
    svc.coop.remove("B")  # B's track ended: nothing to carry
    other_shard({})
    assert svc.statuses == {}


def test_a_shard_that_takes_every_cell_over_publishes_what_it_had_handed_over() -> None:
    west = ConflictMonitor(owner=ShardOwner(2, frozenset({0}), halo_m(60.0), AREA))
    d = 20.0 / 97_000
    here = picture([("A", EDGE_LON - 1.5 * d, 29.6, 0.0), ("B", EDGE_LON + 0.5 * d, 29.6, 0.0)])
    moved = picture([("A", EDGE_LON - 0.5 * d, 29.6, 0.0), ("B", EDGE_LON + 1.5 * d, 29.6, 0.0)])
    (alert_id,) = _conflicts(west.assess(here, NOW).alerts_new)
    assert [a["id"] for a in west.assess(moved, NOW + 1).handed] == [alert_id]
    west.owner = None  # the east shard's node died: this one holds both shards now
    back = west.assess(moved, NOW + 2)
    assert _conflicts(back.alerts_updated) == [alert_id] and alert_id in back.active
    assert _conflicts(back.alerts_new) == [] and west.acknowledge(alert_id, "op", NOW + 2) is not None


def test_a_lost_contact_is_raised_by_the_owner_of_its_last_position_and_ends_when_it_reports_anywhere() -> None:
    west = ConflictMonitor(owner=ShardOwner(2, frozenset({0}), halo_m(60.0), AREA))
    east = ConflictMonitor(owner=ShardOwner(2, frozenset({1}), halo_m(60.0), AREA))
    gone = picture([("L", EDGE_LON - 0.001, 29.6, 20.0)])  # airborne, silent: its track ended this tick
    empty = picture([])
    w, e = west.assess(empty, NOW, gone), east.assess(empty, NOW, gone)
    assert [a["kind"] for a in w.alerts_new] == ["lost_contact"] and e.alerts_new == []
    (lost_id,) = [a["id"] for a in w.alerts_new]
    back = picture([("L", EDGE_LON + 2 * CELL_DEG + 0.01, 29.6, 20.0)])  # beyond west's halo
    cleared = [a["id"] for k in range(1, 5) for a in west.assess(back, NOW + k).alerts_cleared]
    assert cleared == [lost_id]


def test_the_shard_count_setting_is_1_to_64_and_a_bad_value_names_the_variable() -> None:
    assert [Settings.from_env({"LOWALT_MONITOR_SHARDS": v}).monitor_shards for v in ("1", "64")] == [1, 64]
    assert Settings.from_env({}).monitor_shards == 1  # one monitor for every cell, as before shards
    for bad in ("0", "65", "two"):
        with pytest.raises(ValidationError, match="monitor_shards"):
            Settings.from_env({"LOWALT_MONITOR_SHARDS": bad})


def test_the_monitor_process_takes_its_shard_and_hands_over_through_the_pipe() -> None:
    pm = ProcessMonitor()
    try:
        pm.owner = ShardOwner(2, frozenset({0}), halo_m(60.0), AREA)  # the west shard
        d = 20.0 / 97_000
        first = pm.assess(picture([("A", EDGE_LON - 1.5 * d, 29.6, 0.0), ("B", EDGE_LON + 0.5 * d, 29.6, 0.0)]), NOW)
        (alert_id,) = _conflicts(first.alerts_new)
        moved = pm.assess(picture([("A", EDGE_LON - 0.5 * d, 29.6, 0.0), ("B", EDGE_LON + 1.5 * d, 29.6, 0.0)]),
                          NOW + 1)
        assert [a["id"] for a in moved.handed] == [alert_id] and alert_id not in moved.active
        assert alert_id not in {a["id"] for a in pm.current_alerts()}
    finally:
        pm.close()


async def test_a_handed_over_alert_that_comes_back_before_any_shard_adopts_it_is_not_cleared() -> None:
    s0, s1 = await shard_services()
    t0 = time.time()
    for k, xs in enumerate(((-1.5, 0.5), (-0.5, 1.5), (-1.5, 0.5))):  # west, east (handed), west again
        ingest_pair(s0, t0 + k, xs)
        await tick_heard(s1, s0, t0 + k)
    (alert_id,) = conflict_ids(s1)
    assert s1._handed_out == {}  # back here: the hand-over is settled
    ingest_pair(s0, t0 + 1 + UNADOPTED_AFTER_S, (-1.5, 0.5))
    await tick_heard(s1, s0, t0 + 1 + UNADOPTED_AFTER_S)
    assert conflict_ids(s1) == {alert_id}
    assert [e for e, a in s1._alert_events if a["kind"] == "conflict"] == ["raised", "updated"]


class LeaseBus(InProcessBus):
    """An in-process bus whose leases are held by one node each (as in NATS KV), for the lease rounds."""

    def __init__(self, leases: dict[str, str]) -> None:
        super().__init__()
        self.leases = dict(leases)

    async def read_lease(self, name: str) -> str | None:
        return self.leases.get(name)

    async def hold_lease(self, name: str, holder: str) -> bool:
        held = self.leases.get(name)
        if held is not None and lease_holder(held)[0] != lease_holder(holder)[0]:
            return False
        self.leases[name] = holder
        return True


async def lease_round(shards: int, leases: dict[str, str], held: frozenset[int] = frozenset()
                      ) -> tuple[LiveService, LeaseBus, list[str]]:
    """Node ``b`` with ``shards`` shards holding ``held``, after one lease round; and the feed kinds it sent."""
    bus = LeaseBus(leases)
    svc = LiveService(None, Metrics(), monitor=ConflictMonitor(), bus=bus, node_id="b",  # type: ignore[arg-type]
                      shards=shards)
    await svc._set_held(held)
    for k in held:
        bus.leases[lease_name(k, shards)] = svc._lease_value()
    sent: list[str] = []
    await bus.subscribe_feed(lambda kind, _payload: sent.append(kind))
    await svc._hold_shard_leases()
    await asyncio.sleep(0)  # let _feed_soon's publication run
    return svc, bus, sent


async def test_a_node_whose_shard_count_differs_from_a_lease_it_sees_takes_no_shard_lease_and_says_why() -> None:
    other = lease_value("a", ShardTerms(2))
    svc, bus, sent = await lease_round(3, {"monitor.0": other})  # a runs 2 shards; b is set to 3
    assert svc.held == frozenset() and set(bus.leases) == {"monitor.0"}  # monitor.1, .2 free, not taken
    assert "3" in str(svc.health()["monitor_shards_refused"]) and "node a with 2" in svc.health()["monitor_shards_refused"]
    assert "standby" not in sent  # a would give it a shard it will not take
    _, _, waiting = await lease_round(2, {"monitor.0": other, "monitor.1": other})
    assert "standby" in waiting  # the same setting and nothing free: it stands by (a gives one back)
    same, bus2, _ = await lease_round(2, {"monitor.0": other})  # the same setting: it takes the free shard
    assert same.held == frozenset({1}) and lease_holder(bus2.leases["monitor.1"]) == ("b", ShardTerms(2))
    assert same.health() == {} and same.shard_refusal is None
    keeps, bus3, _ = await lease_round(3, {"monitor.1": other}, held=frozenset({0}))  # held before a came
    assert keeps.held == frozenset({0}) and set(bus3.leases) == {"monitor.0", "monitor.1"}  # renews, takes no more
    assert keeps.shard_refusal is not None


async def test_a_single_monitor_node_refuses_the_monitor_lease_beside_a_sharded_cluster() -> None:
    bus = LeaseBus({"monitor.0": lease_value("a", ShardTerms(2))})
    svc = LiveService(None, Metrics(), monitor=ConflictMonitor(), bus=bus, node_id="b")  # type: ignore[arg-type]
    svc.monitor_role = False
    await svc._hold_monitor_lease()
    assert not svc.monitor_role and "monitor" not in bus.leases and svc.health()["monitor_shards_refused"]
    del bus.leases["monitor.0"]  # the sharded cluster is gone: it takes the lease
    with contextlib.suppress(Exception):  # no database to adopt open alerts from
        await svc._hold_monitor_lease()
    assert svc.monitor_role and lease_holder(bus.leases["monitor"]) == ("b", ShardTerms(1)) and svc.health() == {}
