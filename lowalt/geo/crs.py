"""Coordinate reference systems: WGS84 lon/lat <-> local metres (EPSG:4548).

Geographic coordinates are EPSG:4326 lon/lat; at drone-planning accuracy they are the
same as CGCS2000 (EPSG:4490, a few cm apart). Metric work uses EPSG:4548,
CGCS2000 / 3-degree Gauss-Kruger CM 117E (x = easting, y = northing, metres), whose zone
(115.5-118.5 E) covers the whole Jingdezhen service area incl. Lushan and Huangshan.

All functions take and return ``x`` first (``always_xy=True``): lon before lat.
Transformers are created on first use and cached (no import-time work).
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

WGS84_EPSG = 4326
LOCAL_EPSG = 4548

FloatArray = npt.NDArray[np.float64]
G = TypeVar("G", bound=BaseGeometry)


@cache
def _to_local() -> Transformer:
    return Transformer.from_crs(WGS84_EPSG, LOCAL_EPSG, always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(LOCAL_EPSG, WGS84_EPSG, always_xy=True)


def to_local(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project lon/lat degrees (WGS84) to EPSG:4548 metres.

    Parameters
    ----------
    lon, lat : array_like, shape (N,) or scalar, degrees

    Returns
    -------
    x, y : ndarray of float64, same shape, metres (easting, northing)
    """
    x, y = _to_local().transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def to_wgs84(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`to_local`: EPSG:4548 metres -> lon/lat degrees."""
    lon, lat = _to_wgs84().transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _coords_to_local(coords: FloatArray) -> FloatArray:
    x, y = to_local(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _coords_to_wgs84(coords: FloatArray) -> FloatArray:
    lon, lat = to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def geometry_to_local(geom: G) -> G:
    """Project a WGS84 shapely geometry (or array of them) to local metres (2D)."""
    return shapely.transform(geom, _coords_to_local)  # type: ignore[no-any-return]


def geometry_to_wgs84(geom: G) -> G:
    """Project a local-metre shapely geometry (or array of them) back to WGS84 lon/lat."""
    return shapely.transform(geom, _coords_to_wgs84)  # type: ignore[no-any-return]
