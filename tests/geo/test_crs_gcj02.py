"""Projection and GCJ-02 golden values."""

from __future__ import annotations

import numpy as np
import pyproj
from shapely.geometry import Polygon

from lowalt.geo.crs import geometry_to_local, geometry_to_wgs84, to_local, to_wgs84
from lowalt.geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

ZSJD = (117.1760, 29.3386)
CENTRE = (117.1986, 29.2917)


def test_epsg4548_is_gauss_kruger_cm117() -> None:
    crs = pyproj.CRS(4548)
    assert "117E" in crs.name and "CGCS2000" in crs.name
    x, y = to_local(117.0, 29.0)  # on the central meridian: false easting 500 km
    assert abs(float(x) - 500_000.0) < 1e-6


def test_round_trip_vectorized() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(115.7, 118.6, 1000)
    lat = rng.uniform(28.7, 29.95, 1000)
    x, y = to_local(lon, lat)
    lon2, lat2 = to_wgs84(x, y)
    assert np.max(np.abs(lon2 - lon)) < 1e-9 and np.max(np.abs(lat2 - lat)) < 1e-9


def test_known_distance_against_geodesic() -> None:
    geod = pyproj.Geod(ellps="GRS80")
    _, _, d = geod.inv(*ZSJD, *CENTRE)
    x, y = to_local([ZSJD[0], CENTRE[0]], [ZSJD[1], CENTRE[1]])
    planar = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    assert 5000 < d < 6000
    assert abs(planar - d) / d < 3e-4  # TM scale error near the CM is tiny


def test_geometry_helpers_round_trip() -> None:
    poly = Polygon([(117.1, 29.2), (117.3, 29.2), (117.3, 29.4), (117.1, 29.4)])
    local = geometry_to_local(poly)
    assert 3e8 < local.area < 5e8  # ~19.4 km x 22.2 km
    back = geometry_to_wgs84(local)
    assert back.equals_exact(poly, 1e-9)


def test_gcj02_offset_in_jingdezhen() -> None:
    glon, glat = wgs84_to_gcj02(*CENTRE)
    dlon, dlat = float(glon) - CENTRE[0], float(glat) - CENTRE[1]
    assert abs(dlat - -0.00266) < 1e-4 and abs(dlon - 0.00529) < 1e-4
    geod = pyproj.Geod(ellps="WGS84")
    _, _, d = geod.inv(CENTRE[0], CENTRE[1], float(glon), float(glat))
    assert 500 < d < 700  # ~590 m (landmarks_notes §5)


def test_gcj02_round_trip_and_outside_china() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(115.7, 118.6, 500)
    lat = rng.uniform(28.7, 29.95, 500)
    glon, glat = wgs84_to_gcj02(lon, lat)
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert np.max(np.abs(wlon - lon)) < 1e-6 and np.max(np.abs(wlat - lat)) < 1e-6
    out = wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))  # Paris: unchanged
    assert out[0][0] == 2.35 and out[1][0] == 48.85
    back = gcj02_to_wgs84(np.array([2.35]), np.array([48.85]))
    assert back[0][0] == 2.35 and back[1][0] == 48.85
