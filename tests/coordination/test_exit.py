"""The nearest exit named to an airborne plan inside a new constraint (issue #19), each boundary from both
sides: an aircraft exactly on the boundary is outside (nothing to leave)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import LineString, Point, box

from lowalt.coordination import rules
from lowalt.geo.crs import geometry_to_local, to_local, to_wgs84

AREA = box(117.58, 29.28, 117.66, 29.38)
"""The scenario's military area east of the city (about 7.8 km x 11 km)."""


def _near_west_edge(metres: float) -> tuple[float, float]:
    """A point ``metres`` east (inside, > 0) or west (outside, < 0) of the middle of the west edge, placed in
    EPSG:4548 metres where the edge is straight (``box`` rings run (maxx, miny), (maxx, maxy), (minx, maxy),
    (minx, miny): the west edge is the third to the fourth)."""
    (x2, y2), (x3, y3) = list(geometry_to_local(AREA).exterior.coords)[2:4]
    lon, lat = to_wgs84([(x2 + x3) / 2 + metres], [(y2 + y3) / 2])
    return float(lon[0]), float(lat[0])


def test_inside_the_exit_is_the_nearest_boundary_point() -> None:
    e = rules.nearest_exit(AREA, 117.615, 29.355, "track")
    assert e is not None and e.source == "track" and (e.from_lon, e.from_lat) == (117.615, 29.355)
    assert e.lat == pytest.approx(29.38, abs=1e-4) and e.lon == pytest.approx(117.615, abs=1e-3)  # north edge
    assert e.bearing_deg < 1.0 or e.bearing_deg > 359.0
    assert e.distance_m == pytest.approx(2772, abs=15)  # 0.025 deg of latitude
    x, y = to_local([e.lon], [e.lat])
    assert geometry_to_local(AREA).exterior.distance(Point(x[0], y[0])) < 0.05  # on the boundary


def test_west_edge_one_metre_inside_and_outside() -> None:
    inside = rules.nearest_exit(AREA, *_near_west_edge(1.0), "route")
    assert inside is not None and inside.distance_m == pytest.approx(1.0, abs=0.2)
    assert 260 < inside.bearing_deg < 280  # due west
    assert rules.nearest_exit(AREA, *_near_west_edge(-1.0), "route") is None


def test_exactly_on_the_boundary_is_outside() -> None:
    assert rules.nearest_exit(AREA, 117.58, 29.28, "track") is None  # a corner: exactly on it
    assert rules.nearest_exit(AREA, 117.70, 29.30, "track") is None  # well outside


def test_a_hole_is_a_way_out() -> None:
    ring = AREA.difference(box(117.61, 29.32, 117.63, 29.34))
    e = rules.nearest_exit(ring, 117.62, 29.3175, "track")  # about 280 m south of the hole, 4 km from the edge
    assert e is not None and e.distance_m == pytest.approx(277, abs=10)
    assert e.bearing_deg < 1.0 or e.bearing_deg > 359.0  # north, into the hole


def test_route_position_before_during_and_after_the_window() -> None:
    line = LineString([(117.60, 29.30), (117.64, 29.30)])
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    assert rules.route_position(line, start, end, start - timedelta(minutes=1)) == pytest.approx((117.60, 29.30))
    assert rules.route_position(line, start, end, start) == pytest.approx((117.60, 29.30))
    assert rules.route_position(line, start, end, start + timedelta(minutes=15)) == pytest.approx((117.62, 29.30),
                                                                                                   abs=1e-4)
    assert rules.route_position(line, start, end, end) == pytest.approx((117.64, 29.30))
    assert rules.route_position(line, start, end, end + timedelta(minutes=1)) == pytest.approx((117.64, 29.30))
    area = box(117.60, 29.30, 117.61, 29.31)
    assert area.contains(Point(rules.route_position(area, start, end, start)))
