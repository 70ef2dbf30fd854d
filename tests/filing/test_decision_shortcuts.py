"""The shortcuts that make a filing decision cheaper give the answers of the long way round.

Each test compares a shortcut with what it replaces (docs/filing.md, "Throughput over two nodes"):
the static volumes' activity kept per weekday and interval between window times, a footprint's
points classified once horizontally for its three altitudes, the grid cells found within the buffer
without building it, another band's footprint without projecting again, the corridors' bounding-box
pre-check, and the deconfliction index's memo of one area's neighbours.
"""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from lowalt.airspace.model import Restriction, RestrictionReason
from lowalt.airspace.schedule import active_mask
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.deconfliction import CELL_M, DeconflictionIndex, Entry, cell_keys
from lowalt.filing.model import FlightPlan, footprint, rebanded
from lowalt.geo.altitude import agl
from lowalt.geo.terrain import default_terrain
from tests.filing.builders import OPEN_W, SH, WUYUAN_OUT, YAOLI_ROUTE, airspace, plan, replace, view


def _boundaries(v: AirspaceView) -> list[datetime]:
    """Every weekly window's start and end on each day of a week, a microsecond either side too."""
    times = sorted({b for x in v._scheduled if x.schedule for w in x.schedule.weekly for b in (w.start, w.end)})
    out = []
    for day in range(7):
        d = datetime(2026, 11, 30, tzinfo=SH) + timedelta(days=day)
        for t in [*times, time(0, 0)]:
            at = d.replace(hour=t.hour, minute=t.minute, second=t.second)
            out += [at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)]
    return out


def test_volume_activity_per_weekday_interval_matches_each_schedule() -> None:
    v = AirspaceView(airspace(), default_terrain())
    assert v._zones is not None and v._scheduled  # the data's schedules are weekly windows only
    instants = _boundaries(v)
    every = [x.schedule for x in v.index.volumes]
    for t in instants + [t + timedelta(days=7 * 52) for t in instants[::5]]:  # a year on: the same weekday
        assert v._volume_state(t) == bytes(x.is_active(t) for x in v._scheduled), t
        assert np.array_equal(v._activity(t)[1], active_mask(every, t)), t
    assert v._states.cache_info().currsize < len(instants)  # kept per interval, not per instant


def _samples_view() -> tuple[AirspaceView, list[FlightPlan]]:
    v = AirspaceView(airspace(), default_terrain())
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    v.index.add_restriction(Restriction(
        id="r-test", reason=RestrictionReason.EVENT, polygon=box(117.30, 29.24, 117.34, 29.26), floor=agl(0),
        ceiling=agl(300), start=now - timedelta(hours=1), end=now + timedelta(hours=2), created_by="centre"))
    return v, [plan(c, start=now) for c in (OPEN_W, WUYUAN_OUT, YAOLI_ROUTE, [(117.20, 29.25), (117.36, 29.26)])]


def test_classifying_a_footprints_points_once_for_its_three_altitudes_changes_nothing() -> None:
    v, plans = _samples_view()
    seen = set()
    for p in plans:
        fp = footprint(p, v.terrain)
        s = v._samples(p, fp)
        assert s.repeats == 3
        for t in (p.start, p.start + timedelta(hours=6)):
            a = v.index.classify(s.lon, s.lat, s.alt, s.ref, p.category, t, repeats=3,
                                 static_active=v._activity(t)[1])
            b = v.index.classify(s.lon, s.lat, s.alt, s.ref, p.category, t)
            for name in ("verdict", "reason", "volume", "pair_point", "pair_volume", "pair_active"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name
            seen |= {a.volume_ids[k] for k in np.unique(a.pair_volume)}
    assert {"r-test"} < seen and len(seen) > 3  # the points met several volumes and the restriction
    with pytest.raises(ValueError, match="copies"):
        v.index.classify(np.array([117.3, 117.4]), np.array([29.2, 29.2]), np.array([10.0, 10.0]), agl(0).reference,
                         "light_uav", plans[0].start, repeats=2)


def _cells_by_buffer(area: Polygon, buffer_m: float) -> set[int]:
    """The former way: the cells the buffered polygon meets."""
    g = area.buffer(buffer_m)
    out = set()
    for c in cell_keys(g.envelope.buffer(CELL_M), 0.0):
        x, y = (c >> 28) & ((1 << 28) - 1), c & ((1 << 28) - 1)
        x, y = (x - (1 << 28) if x >= 1 << 27 else x), (y - (1 << 28) if y >= 1 << 27 else y)
        if box(x * CELL_M, y * CELL_M, (x + 1) * CELL_M, (y + 1) * CELL_M).intersects(g):
            out.add(c)
    return out


@settings(max_examples=60, deadline=None)
@given(st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(1, 4000), st.floats(0, 2 * math.pi),
       st.floats(1, 60), st.floats(0, 300))
def test_cells_within_the_buffer_hold_every_cell_the_buffered_area_meets(
        x: float, y: float, length: float, angle: float, half: float, buffer_m: float) -> None:
    line = shapely.LineString([(x, y), (x + length * math.cos(angle), y + length * math.sin(angle))])
    area = line.buffer(half)
    got = set(cell_keys(area, buffer_m))
    assert _cells_by_buffer(area, buffer_m) <= got if buffer_m > 0 else set(cell_keys(area, 0.0)) == got
    for c in got:  # and none farther than the buffer
        cx, cy = (c >> 28) & ((1 << 28) - 1), c & ((1 << 28) - 1)
        cx, cy = (cx - (1 << 28) if cx >= 1 << 27 else cx), (cy - (1 << 28) if cy >= 1 << 27 else cy)
        assert box(cx * CELL_M, cy * CELL_M, (cx + 1) * CELL_M, (cy + 1) * CELL_M).distance(area) <= buffer_m + 1e-6


def test_another_band_of_one_footprint_is_the_footprint_of_that_band() -> None:
    p = plan(WUYUAN_OUT)
    fp = footprint(p, view().terrain)
    for floor, ceiling in ((agl(40), agl(80)), (agl(0), agl(120)), (replace(agl(0), value_m=90.0), agl(119.5))):
        cand = replace(p, floor=floor, ceiling=ceiling)
        new, old = rebanded(fp, cand), footprint(cand, view().terrain)
        a, b = ({f.name: getattr(x, f.name) for f in fields(x)} for x in (new, old))
        for k in a:
            assert (np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray)
                    else a[k].equals(b[k]) if isinstance(a[k], shapely.Geometry)
                    else a[k] == b[k] or (a[k] != a[k] and b[k] != b[k])), k


def test_corridor_found_inside_a_route_and_none_far_from_every_route() -> None:
    v = AirspaceView(airspace(), default_terrain())
    on = plan(YAOLI_ROUTE, half_width_m=20.0, floor=agl(40), ceiling=agl(100))
    route = v.corridor_for(on, footprint(on, v.terrain))
    assert route is not None and route.id.startswith("T-YAOLI")
    off = plan(OPEN_W)
    assert v.corridor_for(off, footprint(off, v.terrain)) is None


def test_the_neighbours_of_an_area_are_remembered_only_while_no_plan_comes_or_goes() -> None:
    idx = DeconflictionIndex(50.0, 10.0, 60.0)
    area = box(0, 0, 100, 100)

    def entry(pid: str, x: float) -> Entry:
        return Entry(pid, box(x, 0, x + 100, 100), 0.0, 100.0, 0.0, 1800.0, 1)

    idx.add(entry("a", 120))
    assert [c.plan_id for c in idx.conflicts(area, 0, 100, 0, 1800)] == ["a"]
    idx.add(entry("b", 140))
    assert [c.plan_id for c in idx.conflicts(area, 0, 100, 0, 1800)] == ["a", "b"]
    idx.remove("a")
    assert [c.plan_id for c in idx.conflicts(area, 0, 100, 0, 1800)] == ["b"]
    assert [c.plan_id for c in idx.conflicts(area, 0, 100, 3600, 5400)] == []  # another bin, another answer
    other = box(0, 0, 100, 100)  # an equal area, another object: asked afresh
    idx.add(entry("c", 500))
    assert [c.plan_id for c in idx.conflicts(other, 0, 100, 0, 1800)] == ["b"]
