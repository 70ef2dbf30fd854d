"""Millisecond tests of the pure parts: states, policy, rules, deconfliction, decision, alternatives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import AircraftCategory, Restriction, RestrictionReason
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.decision import Facts, Verdict, decide
from lowalt.filing.deconfliction import DeconflictionIndex, Entry
from lowalt.filing.model import FlightPlan, MissionType, PlanState, Priority, priority_of
from lowalt.filing.policy import Policy, load_policy
from lowalt.filing.rules import (
    Outcome,
    Pathway,
    Registry,
    WeatherWarning,
    rule_clawbacks,
    rule_deadline,
    rule_time_window,
    rule_weather,
)
from lowalt.geo.altitude import agl
from lowalt.geo.terrain import default_terrain
from lowalt.settings import DEFAULT_AIRSPACE

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai
OK_REG = Registry("light_uav", "org", False, False)


@cache
def policy() -> Policy:
    return load_policy(DEFAULT_AIRSPACE)


@cache
def _aset():  # type: ignore[no-untyped-def]
    return load_airspace(DEFAULT_AIRSPACE)


def facts(index: DeconflictionIndex | None = None, weather: list[WeatherWarning] | None = None,
          view: AirspaceView | None = None, reg: Registry = OK_REG) -> Facts:
    p = policy()
    return Facts(NOW, p, view or AirspaceView(_aset(), default_terrain()),
                 index or DeconflictionIndex(p.h_buffer_m, p.v_buffer_m, p.t_buffer_s), reg, weather or [],
                 lambda pid, t: 0)


def plan(coords: list[tuple[float, float]] | None = None, **kw: object) -> FlightPlan:
    line = LineString(coords or [(117.60, 29.30), (117.63, 29.32)])
    d: dict[str, object] = dict(
        id="p1", organisation="org", submitted_by="u", aircraft_id="a1", category=AircraftCategory.LIGHT_UAV,
        pilot="x", licence_id=None, mission=MissionType.TOURISM, geometry=line, half_width_m=50.0, floor=agl(0),
        ceiling=agl(100), takeoff=Point(line.coords[0]), landing=Point(line.coords[-1]),
        start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=1, minutes=30))
    d.update(kw)
    return FlightPlan(**d)  # type: ignore[arg-type]


# ------------------------------------------------------------------ model and policy


def test_state_machine() -> None:
    assert PlanState.SUBMITTED.can_transition_to(PlanState.APPROVED)
    assert PlanState.APPROVED.can_transition_to(PlanState.WITHDRAWN)
    assert PlanState.ACTIVE.can_transition_to(PlanState.COMPLETED)
    assert not PlanState.REJECTED.can_transition_to(PlanState.APPROVED)
    assert not PlanState.ACTIVE.can_transition_to(PlanState.CANCELLED)
    assert not PlanState.COMPLETED.can_transition_to(PlanState.ACTIVE)


def test_priority_from_mission() -> None:
    assert priority_of(MissionType.MEDICAL) is Priority.EMERGENCY
    assert priority_of(MissionType.POLICE) > priority_of(MissionType.LOGISTICS)


def test_every_policy_pathway_cites_an_article() -> None:
    raw = policy().raw
    for name, sect in raw["pathways"].items():
        assert "Art." in sect["article"] or "条例" in sect["article"], name
    assert "Art. 31" in policy().clawback_article
    assert policy().standard.local.hour == 12 and policy().crewed.local.hour == 15


# ------------------------------------------------------------------ rules


def test_deadline_is_a_wall_clock_cutoff_in_shanghai() -> None:
    p = policy()
    tomorrow = plan(start=datetime(2026, 11, 26, 2, 0, tzinfo=UTC), end=datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    assert rule_deadline(tomorrow, Pathway.STANDARD, NOW, p).outcome is Outcome.PASS  # 09:00 < 12:00 D-1
    late = rule_deadline(tomorrow, Pathway.STANDARD, NOW + timedelta(hours=4), p)  # 13:00 local
    assert late.outcome is Outcome.REJECT and late.code == "filed_too_late"
    assert late.details["earliest_start"] == "2026-11-26T16:00:00+00:00"  # 2026-11-27 00:00 local, in UTC
    assert rule_deadline(plan(), Pathway.NO_APPLICATION, NOW, p).outcome is Outcome.PASS
    soon = plan(mission=MissionType.MEDICAL, start=NOW + timedelta(minutes=5))
    assert rule_deadline(soon, Pathway.EMERGENCY, NOW, p).outcome is Outcome.REFER
    assert rule_deadline(replace(soon, urgent=True), Pathway.EMERGENCY, NOW, p).outcome is Outcome.PASS


def test_time_window_sanity() -> None:
    p = policy()
    assert rule_time_window(plan(start=NOW - timedelta(hours=1)), NOW, p).code == "window_in_past"
    assert rule_time_window(plan(end=NOW + timedelta(hours=20)), NOW, p).code == "window_too_long"
    assert rule_time_window(plan(end=NOW), NOW, p).code == "window_inverted"


def test_each_clawback_needs_an_application() -> None:
    for flag in policy().clawbacks:
        r = rule_clawbacks(plan(flags=frozenset({flag})), policy())
        assert r.outcome is Outcome.REFER and flag in r.message_en


def test_weather_rules() -> None:
    p = plan()
    storm = WeatherWarning("w1", "thunderstorm", NOW, NOW + timedelta(hours=3))
    assert rule_weather(p, [storm], policy()).code == "weather_thunderstorm"
    far = WeatherWarning("w2", "thunderstorm", NOW, NOW + timedelta(hours=3), area=box(116.0, 29.0, 116.1, 29.1))
    assert rule_weather(p, [far], policy()).outcome is Outcome.PASS
    wind = WeatherWarning("w3", "wind", NOW, NOW + timedelta(hours=3), value=14.0)
    assert rule_weather(p, [wind], policy()).code == "weather_wind"
    fog = WeatherWarning("w4", "visibility", NOW, NOW + timedelta(hours=3), value=300.0)
    assert rule_weather(p, [fog], policy()).outcome is Outcome.REFER


# ------------------------------------------------------------------ decision over Fuliang data


def test_open_w_light_drone_approved_without_application() -> None:
    d, _ = decide(plan(), facts())
    assert d.verdict is Verdict.APPROVED and d.pathway is Pathway.NO_APPLICATION


def test_micro_above_50m_is_rejected() -> None:
    d, _ = decide(plan(category=AircraftCategory.MICRO_UAV), facts(reg=Registry("micro_uav", "org", False, False)))
    assert "above_category_ceiling" in {r.code for r in d.reasons}


def test_no_fly_602_is_rejected_for_helicopters_too() -> None:
    p = plan([(117.23, 29.272), (117.26, 29.272)], category=AircraftCategory.HELICOPTER, licence_id="L",
             floor=agl(200), ceiling=agl(300))
    d, _ = decide(p, facts(reg=Registry("helicopter", "org", False, False)))
    hit = next(r for r in d.reasons if r.code == "airspace_forbidden")
    assert "chrdi_602" in {v["volume"] for v in hit.details["volumes"]}


def test_new_restriction_forbids_then_alternative_avoids_it() -> None:
    view = AirspaceView(_aset(), default_terrain())
    view.index.add_restriction(Restriction(
        id="tr1", reason=RestrictionReason.EVENT, polygon=box(117.612, 29.30, 117.618, 29.33), floor=agl(0),
        ceiling=agl(500), start=NOW, end=NOW + timedelta(hours=6), created_by="centre"))
    d, _ = decide(plan(), facts(view=view))
    assert d.verdict is Verdict.REJECTED and "airspace_forbidden" in {r.code for r in d.reasons}
    assert {a["kind"] for a in d.alternatives} >= {"route"}


def test_vertical_conflict_offers_another_band() -> None:
    f = facts()
    first, fp = decide(plan(id="a", ceiling=agl(40)), f)
    assert fp is not None and first.verdict is Verdict.APPROVED
    f.index.add(Entry("a", fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s, 1,
                      floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl))
    d, _ = decide(plan(id="b", floor=agl(20), ceiling=agl(60)), f)
    assert d.verdict is Verdict.REJECTED and [r.code for r in d.reasons] == ["conflict"]
    band = next(a for a in d.alternatives if a["kind"] == "altitude")
    assert band["floor"]["value_m"] >= 55 and band["ceiling"]["value_m"] <= 120
    assert any(a["kind"] == "time" for a in d.alternatives)


# ------------------------------------------------------------------ deconfliction: index == brute force


def _entry(i: int, x: float, y: float, size: float, lo: float, hi: float, t: float, dur: float) -> Entry:
    return Entry(f"p{i:03d}", box(x, y, x + size, y + size), lo, hi, t, t + dur, 1)


def _brute(entries: list[Entry], q: Entry, idx: DeconflictionIndex) -> list[str]:
    out = []
    for e in entries:
        if not e.area.dwithin(q.area, idx.h_buffer_m):
            continue
        if e.end_s <= q.start_s - idx.t_buffer_s or e.start_s >= q.end_s + idx.t_buffer_s:
            continue
        if e.floor - idx.v_buffer_m >= q.ceiling or q.floor >= e.ceiling + idx.v_buffer_m:
            continue
        out.append(e.plan_id)
    return sorted(out)


boxes = st.tuples(st.floats(0, 5000), st.floats(0, 5000), st.floats(10, 800), st.floats(0, 200), st.floats(5, 100),
                  st.floats(0, 4 * 86400), st.floats(60, 4 * 3600))


@settings(max_examples=40, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=60), boxes, st.data())
def test_index_matches_brute_force(items: list[tuple[float, ...]], q: tuple[float, ...], data: st.DataObject) -> None:
    idx = DeconflictionIndex(50.0, 15.0, 60.0)
    entries = [_entry(i, x, y, s, lo, lo + h, t, d) for i, (x, y, s, lo, h, t, d) in enumerate(items)]
    for e in entries:
        idx.add(e)
    gone = data.draw(st.sets(st.sampled_from([e.plan_id for e in entries])))
    for pid in gone:
        assert idx.remove(pid)
    left = [e for e in entries if e.plan_id not in gone]
    x, y, s, lo, h, t, d = q
    cand = _entry(999, x, y, s, lo, lo + h, t, d)
    got = [c.plan_id for c in idx.conflicts(cand.area, cand.floor, cand.ceiling, cand.start_s, cand.end_s)]
    assert got == _brute(left, cand, idx)


dense = st.tuples(st.floats(0, 1500), st.floats(0, 1500), st.floats(10, 400), st.floats(0, 200), st.floats(5, 100),
                  st.floats(0, 3 * 3600), st.floats(60, 3600))
"""Plans close in space and time, so most queries meet some."""
ops = st.lists(st.tuples(st.sampled_from(["add", "add", "remove", "query"]), st.integers(0, 79), dense),
               min_size=1, max_size=150)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_index_matches_brute_force_as_plans_come_and_go(steps: list[tuple[str, int, tuple[float, ...]]]) -> None:
    """Queries between additions, replacements and removals (a bin's tree is kept while plans added
    since are checked one by one, and rebuilt past ``PENDING_MAX`` changes) answer as brute force."""
    idx = DeconflictionIndex(50.0, 15.0, 60.0)
    held: dict[str, Entry] = {}
    for op, i, (x, y, s, lo, h, t, d) in steps:
        e = _entry(i, x, y, s, lo, lo + h, t, d)
        if op == "add":  # a known id is replaced (another footprint and window)
            idx.add(e)
            held[e.plan_id] = e
        elif op == "remove":
            assert idx.remove(e.plan_id) == (held.pop(e.plan_id, None) is not None)
        got = [c.plan_id for c in idx.conflicts(e.area, e.floor, e.ceiling, e.start_s, e.end_s, exclude=e.plan_id)]
        assert got == [pid for pid in _brute(list(held.values()), e, idx) if pid != e.plan_id]


def test_index_visits_only_the_bins_of_the_window() -> None:
    """Scaling is structural (timings live in ``lowalt bench filing``): a query touches only the
    one-hour bins its window overlaps, and each bin holds a small share of the plans."""
    rng = np.random.default_rng(1)
    idx = DeconflictionIndex(50.0, 15.0, 60.0)
    for i in range(10_000):
        x, y = rng.uniform(0, 30_000, 2)
        t = rng.uniform(0, 7 * 86400)
        idx.add(Entry(str(i), box(x, y, x + 500, y + 100), 0, 100, t, t + 1800, 1))
    keys = idx._bin_keys(3000 - idx.t_buffer_s, 6600 + idx.t_buffer_s)
    assert len(keys) <= 3
    assert max(len(b.ids) for b in idx._bins.values()) < 200  # ~10,000 plans / 168 bins, x2 for straddlers


@pytest.mark.parametrize("category", ["micro_uav", "light_uav", "small_uav"])
def test_no_application_categories_match_the_regulation(category: str) -> None:
    assert AircraftCategory(category) in policy().no_application_categories


def test_local_agreement_lead_time_replaces_the_cutoff() -> None:
    from lowalt.filing.policy import Cutoff

    p = replace(policy(), standard=Cutoff(1, policy().standard.local, "H2 Sichuan 1 h (example)",
                                          lead_time=timedelta(hours=1)))
    in_two_hours = plan(start=NOW + timedelta(hours=2), end=NOW + timedelta(hours=3))
    assert rule_deadline(in_two_hours, Pathway.STANDARD, NOW, p).outcome is Outcome.PASS
    in_half_hour = plan(start=NOW + timedelta(minutes=30), end=NOW + timedelta(hours=1))
    late = rule_deadline(in_half_hour, Pathway.STANDARD, NOW, p)
    assert late.code == "filed_too_late" and late.details["earliest_start"] == (NOW + timedelta(hours=1)).isoformat()


def test_vertiport_open_hours_category_and_capacity() -> None:
    from lowalt.filing.rules import rule_vertiports

    view = AirspaceView(_aset(), default_terrain())
    pad = view.vertiport_near(Point(117.1986, 29.2944), policy().vertiport_radius_m)
    assert pad is not None and pad.id == "pad_yuyao"
    day = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 local
    night = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 20:00 local
    p = plan()
    assert rule_vertiports(p, [("takeoff", pad, day)], lambda pid, t: 0, policy()).outcome is Outcome.PASS
    assert rule_vertiports(p, [("takeoff", pad, night)], lambda pid, t: 0, policy()).code == "vertiport_closed"
    full = rule_vertiports(p, [("takeoff", pad, day)], lambda pid, t: pad.capacity_per_15min, policy())
    assert full.code == "vertiport_full"
    heli = replace(p, category=AircraftCategory.HELICOPTER)
    assert rule_vertiports(heli, [("takeoff", pad, day)], lambda pid, t: 0, policy()).code == "vertiport_category"


def test_outside_service_area_is_rejected() -> None:
    d, _ = decide(plan([(120.0, 30.0), (120.1, 30.1)]), facts())
    assert "outside_service_area" in {r.code for r in d.reasons}


def test_prune_drops_finished_plans_only() -> None:
    idx = DeconflictionIndex(50.0, 15.0, 60.0)
    idx.add(_entry(1, 0, 0, 100, 0, 50, 0, 600))
    idx.add(_entry(2, 0, 0, 100, 0, 50, 5000, 600))
    assert idx.prune(3000) == ["p001"]
    assert "p002" in idx and len(idx) == 1
    assert [c.plan_id for c in idx.conflicts(box(0, 0, 10, 10), 0, 50, 5000, 5100)] == ["p002"]


def test_crewed_ga_cutoff_is_15_00_the_day_before() -> None:
    heli = plan(category=AircraftCategory.HELICOPTER, start=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
                end=datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    at_14 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 local on D-1
    assert rule_deadline(heli, Pathway.CREWED, at_14, policy()).outcome is Outcome.PASS
    assert rule_deadline(heli, Pathway.STANDARD, at_14, policy()).code == "filed_too_late"  # 12:00 rule
    assert rule_deadline(heli, Pathway.CREWED, at_14 + timedelta(hours=2), policy()).code == "filed_too_late"
