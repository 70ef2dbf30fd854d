"""Terrain interpolation, nodata, the GeoTIFF reader, and AGL <-> AMSL."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from lowalt.geo.altitude import AGL_CODE, AMSL_CODE, Altitude, AltitudeReference, to_agl, to_amsl
from lowalt.geo.terrain import (
    FlatTerrain,
    GridTerrain,
    TerrainInfo,
    TerrainModel,
    default_terrain,
    load_geotiff,
)

INFO = TerrainInfo("test", True, 1000.0)


def plane() -> GridTerrain:
    # z = 100 + 1000*(lon-117) + 2000*(lat-29): bilinear interpolation is exact for it
    lon = 117.0 + 0.01 * np.arange(11)
    lat = 29.0 + 0.01 * np.arange(6)
    z = 100 + 1000 * (lon[None, :] - 117) + 2000 * (lat[:, None] - 29)
    return GridTerrain(117.0, 29.0, 0.01, 0.01, z, INFO)


def test_bilinear_exact_on_a_plane() -> None:
    t = plane()
    assert isinstance(t, TerrainModel)
    lon = np.array([117.0, 117.033, 117.1, 117.0555])
    lat = np.array([29.0, 29.017, 29.05, 29.0444])
    np.testing.assert_allclose(t.elevation(lon, lat), 100 + 1000 * (lon - 117) + 2000 * (lat - 29), atol=1e-9)


def test_outside_grid_clamps_or_fills() -> None:
    t = plane()
    assert float(t.elevation(116.9, 29.02)) == pytest.approx(100 + 40)
    filled = GridTerrain(t.lon0, t.lat0, t.dlon, t.dlat, t.values, INFO, fill_value=float("nan"))
    assert np.isnan(filled.elevation(116.9, 29.02))


def test_nodata_cells_are_skipped() -> None:
    z = np.array([[10.0, np.nan], [30.0, 40.0]])
    t = GridTerrain(117.0, 29.0, 1.0, 1.0, z, INFO)
    # centre: weights 0.25 each, NaN corner dropped -> mean of the other three
    assert float(t.elevation(117.5, 29.5)) == pytest.approx((10 + 30 + 40) / 3)
    assert float(t.elevation(118.0, 29.0)) != float(t.elevation(118.0, 29.0))  # on the NaN corner: NaN


def test_default_terrain_is_approximate_and_plausible() -> None:
    t = default_terrain()
    assert t.info.approximate
    assert 25 < float(t.elevation(117.1986, 29.2917)) < 60  # Jingdezhen urban ~35 m
    assert float(t.elevation(118.0644, 28.9158)) > 1600  # Sanqingshan
    assert float(t.elevation(117.66, 29.465)) > 1500  # Wugujian (illustrative position)


def test_altitude_conversions() -> None:
    t = plane()
    lon = np.array([117.05, 117.05])
    lat = np.array([29.02, 29.02])
    ground = 100 + 50 + 40
    alt = np.array([100.0, 100.0])
    refs = np.array([AGL_CODE, AMSL_CODE])
    np.testing.assert_allclose(to_amsl(alt, refs, lon, lat, t), [100 + ground, 100])
    np.testing.assert_allclose(to_agl(alt, refs, lon, lat, t), [100, 100 - ground])
    np.testing.assert_allclose(to_amsl(alt, AltitudeReference.AGL, lon, lat, FlatTerrain(5.0)), [105, 105])
    a = Altitude(120, AltitudeReference.AGL)
    assert a.to_amsl(30) == 150 and a.to_agl(30) == 120 and str(a) == "120 m AGL"


def _geotiff(path: Path, data: np.ndarray, x0: float, y0: float, sx: float, sy: float, *,
             nodata: str | None = None, deflate: bool = False, rows_per_strip: int = 2) -> None:
    """Write a tiny little-endian single-band float32 GeoTIFF (strips) by hand."""
    h, w = data.shape
    strips = []
    for r0 in range(0, h, rows_per_strip):
        raw = data[r0:r0 + rows_per_strip].astype("<f4").tobytes()
        strips.append(zlib.compress(raw) if deflate else raw)
    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, payload

    def add(tag: int, typ: int, fmt: str, values: list) -> None:  # type: ignore[type-arg]
        entries.append((tag, typ, len(values), struct.pack("<" + fmt * len(values), *values)))

    add(256, 3, "H", [w])
    add(257, 3, "H", [h])
    add(258, 3, "H", [32])
    add(259, 3, "H", [8 if deflate else 1])
    add(262, 3, "H", [1])
    add(277, 3, "H", [1])
    add(278, 3, "H", [rows_per_strip])
    add(339, 3, "H", [3])
    add(33550, 12, "d", [sx, sy, 0.0])
    add(33922, 12, "d", [0.0, 0.0, 0.0, x0, y0, 0.0])
    add(34735, 3, "H", [1, 1, 0, 1, 1025, 0, 1, 1])  # RasterPixelIsArea
    if nodata is not None:
        b = nodata.encode() + b"\x00"
        entries.append((42113, 2, len(b), b))
    # layout: header | strip data | IFD | out-of-line values
    body = b"".join(strips)
    offsets = []
    pos = 8
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    add(273, 4, "I", offsets)
    add(279, 4, "I", [len(s) for s in strips])
    entries.sort()
    ifd_off = pos
    extra_off = ifd_off + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    extra = b""
    for tag, typ, count, payload in entries:
        if len(payload) <= 4:
            ifd += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, typ, count, extra_off + len(extra))
            extra += payload + (b"\x00" if len(payload) % 2 else b"")
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II" + struct.pack("<HI", 42, ifd_off) + body + ifd + extra)


@pytest.mark.parametrize("deflate", [False, True])
def test_load_geotiff(tmp_path: Path, deflate: bool) -> None:
    data = np.arange(20, dtype=np.float32).reshape(4, 5) * 10  # row 0 = north
    data[3, 4] = -9999
    p = tmp_path / "dem.tif"
    _geotiff(p, data, 117.0, 29.4, 0.1, 0.1, nodata="-9999", deflate=deflate, rows_per_strip=3)
    t = load_geotiff(p)
    assert not t.info.approximate
    # pixel (row 0, col 0) centre = (117.05, 29.35)
    assert float(t.elevation(117.05, 29.35)) == pytest.approx(0.0)
    assert float(t.elevation(117.15, 29.35)) == pytest.approx(10.0)
    assert float(t.elevation(117.05, 29.25)) == pytest.approx(50.0)
    assert float(t.elevation(117.10, 29.30)) == pytest.approx((0 + 10 + 50 + 60) / 4)
    assert float(t.elevation(117.45, 29.05)) != float(t.elevation(117.45, 29.05))  # nodata -> NaN
    assert np.isnan(t.elevation(116.0, 29.0))  # outside -> NaN by default
