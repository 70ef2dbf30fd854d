"""WGS84 <-> GCJ-02 ("Mars coordinates") for AMap/Tencent basemaps.

GCJ-02 is a non-linear obfuscation of WGS84 applied to maps published in mainland China,
not a datum shift. This is the well-known public approximation of the forward formula
(as in eviltransform / coordtransform); in Jingdezhen it moves points about 590 m
(~300 m south, ~510 m east). The inverse has no closed form; it is solved by fixed-point
iteration to better than 1e-7 degrees. Outside the rough China bounding box both
directions return the input unchanged.

Keep stored geometry in WGS84/CGCS2000 and convert only at the rendering edge.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Rough mainland-China bounding box used by the public algorithm."""
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    return (lo >= 72.004) & (lo <= 137.8347) & (la >= 0.8293) & (la <= 55.8271)


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat degrees (N,) -> GCJ-02 lon/lat degrees (N,). Unchanged outside China."""
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _delta(lo, la)
    inside = in_china(lo, la)
    return np.where(inside, lo + dlon, lo), np.where(inside, la + dlat, la)


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-8, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat degrees (N,) -> WGS84, by fixed-point iteration.

    Iterates ``w <- w - (gcj(w) - g)`` until the forward image of the result is within
    ``tol_deg`` of the input (converges in a handful of steps; error << 1e-6 deg).
    Unchanged outside China.
    """
    g_lon = np.asarray(lon, dtype=np.float64)
    g_lat = np.asarray(lat, dtype=np.float64)
    w_lon = g_lon.copy()
    w_lat = g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon = f_lon - g_lon
        e_lat = f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if np.all(np.abs(e_lon) < tol_deg) and np.all(np.abs(e_lat) < tol_deg):
            break
    inside = in_china(g_lon, g_lat)
    return np.where(inside, w_lon, g_lon), np.where(inside, w_lat, g_lat)
