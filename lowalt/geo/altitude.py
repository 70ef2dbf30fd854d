"""Altitudes with an explicit vertical reference, and vectorized AGL <-> AMSL.

AGL here is Chinese 真高 (true height): height above the terrain directly below the
aircraft (regulations_cn.md A8), not above the take-off point. AMSL is height above the
national height datum (1985 国家高程基准, within ~1 m of EGM96/EGM2008).

Vectorized functions take the reference per point as an integer code array
(:data:`AGL_CODE` / :data:`AMSL_CODE`) or one :class:`AltitudeReference` for all points.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from lowalt.geo.terrain import TerrainModel

FloatArray = npt.NDArray[np.float64]


class AltitudeReference(StrEnum):
    """Vertical reference of an altitude value."""

    AGL = "AGL"
    """Above ground level (真高): metres above the terrain below the point."""
    AMSL = "AMSL"
    """Above mean sea level: metres above the national height datum."""

    @property
    def code(self) -> int:
        """Integer code used in arrays (0 = AGL, 1 = AMSL)."""
        return AGL_CODE if self is AltitudeReference.AGL else AMSL_CODE


AGL_CODE = 0
AMSL_CODE = 1


@dataclass(frozen=True, slots=True)
class Altitude:
    """One altitude value in metres with its vertical reference."""

    value_m: float
    """Metres above the reference."""
    reference: AltitudeReference
    """AGL (true height) or AMSL."""

    def to_amsl(self, terrain_m: float) -> float:
        """This altitude in metres AMSL, given the terrain elevation below the point."""
        return self.value_m + terrain_m if self.reference is AltitudeReference.AGL else self.value_m

    def to_agl(self, terrain_m: float) -> float:
        """This altitude in metres AGL, given the terrain elevation below the point."""
        return self.value_m - terrain_m if self.reference is AltitudeReference.AMSL else self.value_m

    def __str__(self) -> str:
        return f"{self.value_m:g} m {self.reference.value}"


def agl(value_m: float) -> Altitude:
    """Shorthand for ``Altitude(value_m, AltitudeReference.AGL)``."""
    return Altitude(float(value_m), AltitudeReference.AGL)


def amsl(value_m: float) -> Altitude:
    """Shorthand for ``Altitude(value_m, AltitudeReference.AMSL)``."""
    return Altitude(float(value_m), AltitudeReference.AMSL)


def reference_codes(ref: AltitudeReference | str | npt.ArrayLike, n: int) -> npt.NDArray[np.int8]:
    """Normalise a reference (one enum/str for all, or an array of codes) to an int8 array (n,)."""
    if isinstance(ref, str):
        return np.full(n, AltitudeReference(ref).code, dtype=np.int8)
    codes = np.asarray(ref)
    if codes.dtype.kind in "US":
        codes = np.where(codes == AltitudeReference.AGL.value, AGL_CODE, AMSL_CODE)
    return np.broadcast_to(codes.astype(np.int8, copy=False), (n,))


def _shift_by_terrain(
    alt: npt.ArrayLike, ref_codes: AltitudeReference | npt.ArrayLike, lon: npt.ArrayLike, lat: npt.ArrayLike,
    terrain: TerrainModel, *, where: int, sign: float,
) -> FloatArray:
    """Add ``sign`` x terrain elevation to the altitudes whose reference code is ``where``; the
    terrain is queried only there."""
    a = np.atleast_1d(np.asarray(alt, dtype=np.float64))
    codes = reference_codes(ref_codes, a.shape[0])
    out = a.copy()
    mask = codes == where
    if mask.any():
        lo = np.broadcast_to(np.asarray(lon, dtype=np.float64), a.shape)[mask]
        la = np.broadcast_to(np.asarray(lat, dtype=np.float64), a.shape)[mask]
        out[mask] += sign * np.asarray(terrain.elevation(lo, la), dtype=np.float64)
    return out


def to_amsl(
    alt: npt.ArrayLike,
    ref_codes: AltitudeReference | npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    terrain: TerrainModel,
) -> FloatArray:
    """Altitudes (N,) in metres with per-point references -> metres AMSL.

    Parameters
    ----------
    alt : array_like (N,), metres
    ref_codes : AltitudeReference, or int array (N,) of AGL_CODE/AMSL_CODE
    lon, lat : array_like (N,), degrees WGS84
    terrain : TerrainModel, queried only where the reference is AGL

    Returns
    -------
    ndarray (N,) float64, metres AMSL (NaN where AGL and the terrain is unknown)
    """
    return _shift_by_terrain(alt, ref_codes, lon, lat, terrain, where=AGL_CODE, sign=1.0)


def to_agl(
    alt: npt.ArrayLike,
    ref_codes: AltitudeReference | npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    terrain: TerrainModel,
) -> FloatArray:
    """Altitudes (N,) in metres with per-point references -> metres AGL (true height).

    Same parameters as :func:`to_amsl`; the terrain is queried only where the reference is AMSL.
    """
    return _shift_by_terrain(alt, ref_codes, lon, lat, terrain, where=AMSL_CODE, sign=-1.0)
