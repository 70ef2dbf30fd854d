"""Terrain elevation models (metres AMSL) for AGL <-> AMSL conversion.

- :class:`TerrainModel` — the protocol the rest of the code relies on: vectorized
  ``elevation(lon, lat)`` plus :class:`TerrainInfo` metadata.
- :class:`GridTerrain` — a regular lon/lat grid with bilinear interpolation and nodata
  handling (NaN cells are skipped by renormalising the bilinear weights).
- :class:`FlatTerrain` — constant elevation (tests, sea).
- :func:`load_geotiff` — a real DEM (see :mod:`lowalt.geo.geotiff`).
- :func:`default_terrain` — a coarse, **approximate** grid over the service area built by
  inverse-distance weighting of the spot heights in ``airspace_data/terrain/spot_heights.csv``
  (landmark heights plus illustrative control points from the landmark notes). It is
  built lazily on first call and cached; replace it with SRTM/Copernicus when available.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def airspace_data_dir() -> Path:
    """Root of the airspace data folder (``$LOWALT_AIRSPACE_DATA`` or ``<repo>/airspace_data``)."""
    env = os.environ.get("LOWALT_AIRSPACE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "airspace_data"


@dataclass(frozen=True, slots=True)
class TerrainInfo:
    """Metadata of a terrain model."""

    source: str
    """Where the elevations come from."""
    approximate: bool
    """True when the model is a rough approximation (not a surveyed DEM)."""
    resolution_m: float
    """Approximate grid spacing in metres (0 for analytic models)."""
    vertical_datum: str = "1985 national height datum / EGM (within ~1 m)"
    """Vertical datum of the elevations."""


@runtime_checkable
class TerrainModel(Protocol):
    """Anything that gives terrain elevation in metres AMSL for lon/lat arrays."""

    @property
    def info(self) -> TerrainInfo: ...

    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        """Elevation (metres AMSL) at lon/lat degrees (N,); NaN where unknown."""
        ...


@dataclass(frozen=True)
class FlatTerrain:
    """Constant elevation everywhere."""

    elevation_m: float = 0.0
    info: TerrainInfo = field(default_factory=lambda: TerrainInfo("flat", True, 0.0))

    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        shape = np.broadcast(np.asarray(lon), np.asarray(lat)).shape
        return np.full(shape, self.elevation_m, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class GridTerrain:
    """Regular lon/lat grid of elevations with bilinear interpolation.

    ``values[j, i]`` is the elevation at the cell centre ``(lon0 + i*dlon, lat0 + j*dlat)``;
    row 0 is the southernmost row (``dlat > 0``). NaN marks nodata. Outside the grid the
    edge value is used (``fill_value=None``) or ``fill_value`` (e.g. NaN) is returned.
    """

    lon0: float
    """Longitude of the centre of column 0 (degrees)."""
    lat0: float
    """Latitude of the centre of row 0 (degrees, southern edge row)."""
    dlon: float
    """Column spacing (degrees, > 0)."""
    dlat: float
    """Row spacing (degrees, > 0)."""
    values: FloatArray
    """Elevations (ny, nx), metres AMSL, NaN = nodata."""
    info: TerrainInfo
    """Source, approximation flag, resolution."""
    fill_value: float | None = None
    """Value outside the grid; None clamps to the nearest edge cell."""

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or min(self.values.shape) < 1:
            raise ValueError("values must be a non-empty 2-D array")
        if self.dlon <= 0 or self.dlat <= 0:
            raise ValueError("dlon and dlat must be positive (row 0 = south)")

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of the cell centres."""
        ny, nx = self.shape
        return (self.lon0, self.lat0, self.lon0 + (nx - 1) * self.dlon, self.lat0 + (ny - 1) * self.dlat)

    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        lo, la = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        ny, nx = self.shape
        fx = (lo - self.lon0) / self.dlon
        fy = (la - self.lat0) / self.dlat
        eps = 1e-9  # grid-edge tolerance (cell units) against round-off
        outside = (fx < -eps) | (fx > nx - 1 + eps) | (fy < -eps) | (fy > ny - 1 + eps)
        fx = np.clip(fx, 0.0, nx - 1.0)
        fy = np.clip(fy, 0.0, ny - 1.0)
        i0 = np.minimum(np.floor(fx).astype(np.intp), max(nx - 2, 0))
        j0 = np.minimum(np.floor(fy).astype(np.intp), max(ny - 2, 0))
        i1 = np.minimum(i0 + 1, nx - 1)
        j1 = np.minimum(j0 + 1, ny - 1)
        tx = fx - i0
        ty = fy - j0
        v = self.values
        corners = (v[j0, i0], v[j0, i1], v[j1, i0], v[j1, i1])
        weights = ((1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty)
        num = np.zeros(lo.shape, dtype=np.float64)
        den = np.zeros(lo.shape, dtype=np.float64)
        for c, w in zip(corners, weights, strict=True):
            ok = ~np.isnan(c)
            num += np.where(ok, c * w, 0.0)
            den += np.where(ok, w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), np.nan)
        if self.fill_value is not None:
            out = np.where(outside, self.fill_value, out)
        return out


def idw_grid(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    elev: npt.ArrayLike,
    bbox: tuple[float, float, float, float],
    step_deg: float,
    *,
    power: float = 3.0,
    info: TerrainInfo,
) -> GridTerrain:
    """Inverse-distance-weighted grid from scattered spot heights.

    Parameters
    ----------
    lon, lat, elev : array_like (K,), degrees and metres AMSL
    bbox : (min_lon, min_lat, max_lon, max_lat) of the grid cell centres
    step_deg : grid spacing in degrees (both axes)
    power : IDW exponent (higher = more local)
    """
    plon = np.asarray(lon, dtype=np.float64)
    plat = np.asarray(lat, dtype=np.float64)
    pz = np.asarray(elev, dtype=np.float64)
    nx = int(round((bbox[2] - bbox[0]) / step_deg)) + 1
    ny = int(round((bbox[3] - bbox[1]) / step_deg)) + 1
    glon = bbox[0] + step_deg * np.arange(nx)
    glat = bbox[1] + step_deg * np.arange(ny)
    coslat = np.cos(np.deg2rad(0.5 * (bbox[1] + bbox[3])))
    # equirectangular distances in km: fine at this scale for weights
    dx = (glon[None, :, None] - plon[None, None, :]) * 111.32 * coslat
    dy = (glat[:, None, None] - plat[None, None, :]) * 110.57
    d2 = dx * dx + dy * dy
    w = 1.0 / np.maximum(d2, 1e-9) ** (power / 2.0)
    values = (w * pz).sum(axis=2) / w.sum(axis=2)
    return GridTerrain(float(glon[0]), float(glat[0]), step_deg, step_deg, values, info)


SERVICE_TERRAIN_BBOX = (115.6, 28.6, 118.7, 30.0)
"""Cell-centre extent of the default terrain grid (covers the airspace service area)."""


def read_spot_heights(path: Path) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Read ``id,name,lat,lon,elev_m,provenance,source`` CSV -> (lon, lat, elev) arrays."""
    lons: list[float] = []
    lats: list[float] = []
    zs: list[float] = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            lons.append(float(row["lon"]))
            lats.append(float(row["lat"]))
            zs.append(float(row["elev_m"]))
    return np.array(lons), np.array(lats), np.array(zs)


def build_default_terrain(spot_heights: Path | None = None, step_deg: float = 0.01) -> GridTerrain:
    """Build the approximate service-area grid from the spot-height CSV (pure, ~50 ms)."""
    path = spot_heights or airspace_data_dir() / "terrain" / "spot_heights.csv"
    lon, lat, z = read_spot_heights(path)
    info = TerrainInfo(
        source=f"IDW (power 3, {step_deg} deg grid) of spot heights in {path.name}: landmark heights "
        "plus illustrative control points; NOT a DEM",
        approximate=True,
        resolution_m=step_deg * 100_000.0,
    )
    return idw_grid(lon, lat, z, SERVICE_TERRAIN_BBOX, step_deg, info=info)


@cache
def default_terrain() -> GridTerrain:
    """The cached approximate terrain of the Jingdezhen service area (built on first call)."""
    return build_default_terrain()


def load_geotiff(path: str | Path, *, fill_value: float | None = float("nan")) -> GridTerrain:
    """Load a single-band lon/lat GeoTIFF DEM as a :class:`GridTerrain` (see :mod:`lowalt.geo.geotiff`)."""
    from lowalt.geo.geotiff import read_geotiff

    raster = read_geotiff(Path(path))
    data = raster.data.astype(np.float64)
    if raster.nodata is not None:
        data[data == raster.nodata] = np.nan
    # GeoTIFF rows run north -> south; GridTerrain wants row 0 = south
    data = data[::-1, :].copy()
    half = 0.0 if raster.pixel_is_point else 0.5
    lon0 = raster.origin_x + half * raster.scale_x
    lat_top = raster.origin_y - half * raster.scale_y
    lat0 = lat_top - (data.shape[0] - 1) * raster.scale_y
    info = TerrainInfo(source=f"GeoTIFF {Path(path).name}", approximate=False,
                       resolution_m=raster.scale_y * 111_000.0)
    return GridTerrain(lon0, lat0, raster.scale_x, raster.scale_y, np.ascontiguousarray(data), info,
                       fill_value=fill_value)
