"""A local east-north tangent plane for the simulator (metres), vectorized.

The simulator is a client of the server and must not lean on its internals, so it carries its
own small projection: an equirectangular plane around a fixed origin. Over the ~150 km of the
Fuliang service area the scale error is under 0.5 %, far inside GPS noise for what it is used
for (flying waypoints and writing lon/lat reports).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
EARTH_R = 6_371_008.8
ORIGIN = (117.20, 29.30)  # Jingdezhen / Fuliang


def to_xy(lon: npt.ArrayLike, lat: npt.ArrayLike, origin: tuple[float, float] = ORIGIN) -> tuple[F64, F64]:
    """Degrees -> metres east/north of ``origin``."""
    lon0, lat0 = origin
    k = np.pi / 180.0 * EARTH_R
    x = (np.asarray(lon, dtype=np.float64) - lon0) * k * np.cos(np.radians(lat0))
    y = (np.asarray(lat, dtype=np.float64) - lat0) * k
    return x, y


def to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike, origin: tuple[float, float] = ORIGIN) -> tuple[F64, F64]:
    """Metres east/north of ``origin`` -> degrees."""
    lon0, lat0 = origin
    k = np.pi / 180.0 * EARTH_R
    lon = lon0 + np.asarray(x, dtype=np.float64) / (k * np.cos(np.radians(lat0)))
    lat = lat0 + np.asarray(y, dtype=np.float64) / k
    return lon, lat
