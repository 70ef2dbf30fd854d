"""Reports on the bus: a decoded, validated, authorised batch as columns (msgspec msgpack).

Wire layout of one message (``ReportRows``, msgpack array in field order)::

    node      str        id of the node that ingested it (a node skips its own messages)
    t_recv    float      server receive time, epoch s
    ids       [str]      track ids (non-cooperative ones already ``nc:SENSOR:ID``)
    t, lon, lat, alt, vx, vy, vz, battery   float64 little-endian bytes, one value per id
                         (alt is AMSL, metres: AGL was converted by the ingest node)
    source, category     int8 bytes (``lowalt.surveillance.reports.Source``, monitor category code)
    landed               uint8 bytes (0/1)

A receiving node upserts the rows into its track table and the history consumer COPYs them as
they are: no node validates or authorises a report twice.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
FLOAT_COLUMNS = ("t", "lon", "lat", "alt", "vx", "vy", "vz", "battery")

CELL_DEG = 0.25
"""Edge of a report subject's geographic cell in degrees (~25 x 28 km at 29 N); see docs/scale.md."""


class ReportRows(msgspec.Struct, array_like=True, frozen=True):
    node: str
    t_recv: float
    ids: list[str]
    t: bytes
    lon: bytes
    lat: bytes
    alt: bytes
    vx: bytes
    vy: bytes
    vz: bytes
    battery: bytes
    source: bytes
    category: bytes
    landed: bytes

    def __len__(self) -> int:
        return len(self.ids)

    def f64(self, name: str) -> F64:
        """A float column as a (read-only) array."""
        return np.frombuffer(getattr(self, name), dtype="<f8")

    def i8(self, name: str) -> npt.NDArray[np.int8]:
        return np.frombuffer(getattr(self, name), dtype=np.int8)

    def landed_mask(self) -> npt.NDArray[np.bool_]:
        return np.frombuffer(self.landed, dtype=np.uint8).astype(np.bool_)

    def select(self, idx: npt.NDArray[np.int64]) -> ReportRows:
        cols = {c: self.f64(c)[idx] for c in FLOAT_COLUMNS}
        return make_rows(self.node, self.t_recv, [self.ids[i] for i in idx], cols,
                         self.i8("source")[idx], self.i8("category")[idx], self.landed_mask()[idx])

    def history_records(self) -> list[tuple[object, ...]]:
        """Rows as ``track_points`` COPY records (aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src)."""
        return list(zip(self.ids, self.f64("t").tolist(), self.f64("lon").tolist(), self.f64("lat").tolist(),
                        self.f64("alt").tolist(), self.f64("vx").tolist(), self.f64("vy").tolist(),
                        self.f64("vz").tolist(), self.i8("source").astype(int).tolist(), strict=True))


def make_rows(node: str, t_recv: float, ids: list[str], cols: dict[str, F64], source: npt.NDArray[np.generic],
              category: npt.NDArray[np.generic], landed: npt.NDArray[np.bool_]) -> ReportRows:
    """Build a message from columns (``cols`` holds every name of ``FLOAT_COLUMNS``)."""
    f = {c: np.ascontiguousarray(cols[c], dtype="<f8").tobytes() for c in FLOAT_COLUMNS}
    return ReportRows(node=node, t_recv=t_recv, ids=ids, **f,
                      source=np.ascontiguousarray(source, dtype=np.int8).tobytes(),
                      category=np.ascontiguousarray(category, dtype=np.int8).tobytes(),
                      landed=np.ascontiguousarray(landed, dtype=np.uint8).tobytes())


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(ReportRows)


def encode(rows: ReportRows) -> bytes:
    return _ENCODER.encode(rows)


def decode(data: bytes) -> ReportRows:
    return _DECODER.decode(data)


def cell_key(lon: float, lat: float, cell_deg: float = CELL_DEG) -> str:
    """The subject token of the cell holding (lon, lat): ``e<col>n<row>`` (``m`` for a negative index)."""
    col, row = math.floor(lon / cell_deg), math.floor(lat / cell_deg)
    return f"e{col}n{row}".replace("-", "m")


def split_by_cell(rows: ReportRows, cell_deg: float = CELL_DEG) -> dict[str, ReportRows]:
    """One message per geographic cell (subjects ``lowalt.reports.<cell>``), rows in their order."""
    lon, lat = rows.f64("lon"), rows.f64("lat")
    col = np.floor(lon / cell_deg).astype(np.int64)
    row = np.floor(lat / cell_deg).astype(np.int64)
    key = col * 1_000_003 + row
    uniq = np.unique(key)
    if len(uniq) == 1:
        return {cell_key(float(lon[0]), float(lat[0]), cell_deg): rows}
    out: dict[str, ReportRows] = {}
    for k in uniq.tolist():
        idx = np.flatnonzero(key == k)
        out[cell_key(float(lon[idx[0]]), float(lat[idx[0]]), cell_deg)] = rows.select(idx)
    return out
