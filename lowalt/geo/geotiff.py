"""A minimal GeoTIFF reader (no GDAL, no tifffile): enough for single-band DEM tiles.

Supported: classic TIFF (little- or big-endian, not BigTIFF), one sample per pixel,
8/16/32/64-bit integer or 32/64-bit float samples, strips or tiles, compression none (1)
or deflate (8 / 32946), predictor none (1) or horizontal (2) for integers. Georeferencing
from ModelTiepointTag (33922) + ModelPixelScaleTag (33550); RasterPixelIsPoint from the
GeoKeyDirectory (34735, key 1025); nodata from GDAL_NODATA (42113). The CRS is assumed to
be geographic lon/lat (WGS84/CGCS2000); rotated (ModelTransformation) rasters are rejected.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}
_TYPE_FMT = {1: "B", 2: "c", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii",
             11: "f", 12: "d", 16: "Q"}


class GeoTiffError(ValueError):
    """The file is not a GeoTIFF this reader supports."""


@dataclass(frozen=True)
class Raster:
    """A decoded single-band raster and its georeferencing."""

    data: npt.NDArray[np.generic]
    """Samples (rows, cols), row 0 = north."""
    origin_x: float
    """X (lon) of raster position (0, 0): pixel corner, or pixel centre if pixel_is_point."""
    origin_y: float
    """Y (lat) of raster position (0, 0)."""
    scale_x: float
    """Pixel size in x (degrees)."""
    scale_y: float
    """Pixel size in y (degrees, positive; y decreases with row)."""
    nodata: float | None
    """GDAL nodata value, if any."""
    pixel_is_point: bool
    """True for RasterPixelIsPoint, False for PixelIsArea (the default)."""


def _read_tags(buf: bytes) -> tuple[str, dict[int, tuple[object, ...]]]:
    if buf[:2] == b"II":
        bo = "<"
    elif buf[:2] == b"MM":
        bo = ">"
    else:
        raise GeoTiffError("not a TIFF file")
    (magic,) = struct.unpack(bo + "H", buf[2:4])
    if magic != 42:
        raise GeoTiffError("BigTIFF or unknown TIFF variant is not supported")
    (ifd,) = struct.unpack(bo + "I", buf[4:8])
    (count,) = struct.unpack(bo + "H", buf[ifd:ifd + 2])
    tags: dict[int, tuple[object, ...]] = {}
    for k in range(count):
        off = ifd + 2 + 12 * k
        tag, typ, n = struct.unpack(bo + "HHI", buf[off:off + 8])
        if typ not in _TYPE_SIZES:
            continue
        size = _TYPE_SIZES[typ] * n
        if size <= 4:
            raw = buf[off + 8:off + 8 + size]
        else:
            (ptr,) = struct.unpack(bo + "I", buf[off + 8:off + 12])
            raw = buf[ptr:ptr + size]
        if typ == 2:
            tags[tag] = (raw.rstrip(b"\x00").decode("ascii", "replace"),)
        elif typ in (5, 10):
            vals = struct.unpack(bo + _TYPE_FMT[typ][0] * (2 * n), raw)
            tags[tag] = tuple(vals[i] / vals[i + 1] for i in range(0, 2 * n, 2))
        else:
            tags[tag] = struct.unpack(bo + _TYPE_FMT[typ] * n, raw)
    return bo, tags


def _dtype(bo: str, bits: int, fmt: int) -> np.dtype[np.generic]:
    kind = {1: "u", 2: "i", 3: "f"}.get(fmt)
    if kind is None or bits % 8:
        raise GeoTiffError(f"unsupported sample format {fmt}/{bits} bits")
    return np.dtype(f"{bo}{kind}{bits // 8}")


def read_geotiff(path: Path) -> Raster:
    """Read a single-band GeoTIFF into a :class:`Raster`."""
    buf = path.read_bytes()
    bo, tags = _read_tags(buf)

    def one(tag: int, default: object = None) -> object:
        return tags[tag][0] if tag in tags else default

    width = int(one(256))  # type: ignore[call-overload]
    height = int(one(257))  # type: ignore[call-overload]
    if int(one(277, 1)) != 1:  # type: ignore[call-overload]
        raise GeoTiffError("only single-band rasters are supported")
    bits = int(one(258, 8))  # type: ignore[call-overload]
    dt = _dtype(bo, bits, int(one(339, 1)))  # type: ignore[call-overload]
    compression = int(one(259, 1))  # type: ignore[call-overload]
    if compression not in (1, 8, 32946):
        raise GeoTiffError(f"unsupported compression {compression}")
    predictor = int(one(317, 1))  # type: ignore[call-overload]

    def decode(block: bytes, rows: int, cols: int) -> npt.NDArray[np.generic]:
        if compression != 1:
            block = zlib.decompress(block)
        a = np.frombuffer(block, dtype=dt, count=rows * cols).reshape(rows, cols)
        if predictor == 2:
            a = np.cumsum(a, axis=1, dtype=a.dtype)
        return a

    out = np.empty((height, width), dtype=dt.newbyteorder("="))
    if 322 in tags:  # tiled
        tw, th = int(one(322)), int(one(323))  # type: ignore[call-overload]
        offsets, counts = tags[324], tags[325]
        across = (width + tw - 1) // tw
        for k, (o, c) in enumerate(zip(offsets, counts, strict=True)):
            r0, c0 = (k // across) * th, (k % across) * tw
            tile = decode(buf[int(o):int(o) + int(c)], th, tw)  # type: ignore[call-overload]
            h = min(th, height - r0)
            w = min(tw, width - c0)
            out[r0:r0 + h, c0:c0 + w] = tile[:h, :w]
    else:
        rps = int(one(278, height))  # type: ignore[call-overload]
        offsets, counts = tags[273], tags[279]
        for k, (o, c) in enumerate(zip(offsets, counts, strict=True)):
            r0 = k * rps
            rows = min(rps, height - r0)
            out[r0:r0 + rows] = decode(buf[int(o):int(o) + int(c)], rows, width)  # type: ignore[call-overload]

    if 34264 in tags:
        raise GeoTiffError("ModelTransformationTag (rotated rasters) is not supported")
    if 33922 not in tags or 33550 not in tags:
        raise GeoTiffError("missing ModelTiepointTag/ModelPixelScaleTag georeferencing")
    tie = [float(v) for v in tags[33922]]  # type: ignore[arg-type]
    scale = [float(v) for v in tags[33550]]  # type: ignore[arg-type]
    i, j, x, y = tie[0], tie[1], tie[3], tie[4]
    origin_x = x - i * scale[0]
    origin_y = y + j * scale[1]
    pixel_is_point = False
    if 34735 in tags:
        keys = [int(v) for v in tags[34735]]  # type: ignore[call-overload]
        for k in range(4, 4 + 4 * keys[3], 4):
            if keys[k] == 1025 and keys[k + 1] == 0:
                pixel_is_point = keys[k + 3] == 2
    nodata_raw = one(42113)
    nodata = float(str(nodata_raw).strip()) if nodata_raw not in (None, "") else None
    return Raster(out, origin_x, origin_y, scale[0], scale[1], nodata, pixel_is_point)
