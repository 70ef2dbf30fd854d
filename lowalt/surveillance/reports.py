"""Decoding and validating position reports from devices and fleet gateways.

Wire format (compact JSON, one frame = one report, a list of reports, or ``{"reports": [...]}``)::

    {"id": "FL-EV01",            aircraft id, 1..64 characters
     "t": 1764000000.25,         report time: epoch seconds UTC, or ISO 8601 with an offset
     "lon": 117.2, "lat": 29.3,  WGS84 / CGCS2000 degrees
     "alt": 120.0, "ref": "AGL", altitude in metres and its reference: "AGL" or "AMSL"
     "gs": 12.5, "trk": 45.0,    ground speed m/s and track degrees true ...
     "vx": 8.8, "vy": 8.8,       ... or velocity east/north m/s instead
     "vs": 0.5,                  vertical rate m/s, up positive (alias "vz"); default 0
     "bat": 87,                  battery percent (optional)
     "src": "telemetry",         telemetry | adsb | rid (network remote ID) | noncoop (sensor detection)
     "cat": "small_uav",         category, optional (sensors may classify non-cooperative targets)
     "landed": false}            optional: the device says it is on the ground (ends the flight's track)

The physical envelope (inclusive limits, checked on every report; a value outside is refused
with an error naming the field): ``alt`` -500..10,000 m; ``gs`` 0..150 m/s; ``trk`` 0..360 deg;
``vx``/``vy`` -150..150 m/s (and their resultant at most 150); ``vs`` -50..50 m/s; ``bat``
0..100 %; ``t`` at most 5 s ahead of and 300 s behind the server clock.

Typed decoding with msgspec is the fast path; when a frame fails it, each report is
decoded on its own so one bad report costs only itself, and each problem is named
with its index, aircraft id and field. Range, time and area checks are vectorized.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

import msgspec
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

MAX_FRAME_BYTES = 1 << 20
MAX_REPORTS_PER_FRAME = 5000
MAX_FUTURE_S = 5.0
MAX_AGE_S = 300.0
MAX_SPEED_MS = 150.0
"""Horizontal speed limit (m/s, ~540 km/h): above any low-altitude aircraft in the service area."""
MAX_VERTICAL_MS = 50.0
"""Vertical rate limit (m/s): a steep helicopter descent is ~10 m/s; 50 leaves margin, not 1e300."""
ALT_RANGE_M = (-500.0, 10_000.0)
BATTERY_RANGE = (0.0, 100.0)


class Source(IntEnum):
    TELEMETRY = 0
    ADSB = 1
    RID = 2
    NONCOOP = 3


SOURCE_NAMES = {s.name.lower(): s for s in Source}


class RawReport(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    t: float | str
    lon: float
    lat: float
    alt: float
    ref: str
    gs: float | None = None
    trk: float | None = None
    vx: float | None = None
    vy: float | None = None
    vs: float | None = None
    vz: float | None = None
    bat: float | None = None
    src: str = "telemetry"
    cat: str | None = None
    landed: bool | None = None


class Envelope(msgspec.Struct):
    reports: list[RawReport]


_dec_one = msgspec.json.Decoder(RawReport)
_dec_list = msgspec.json.Decoder(list[RawReport])
_dec_env = msgspec.json.Decoder(Envelope)
_dec_any = msgspec.json.Decoder()


@dataclass(frozen=True)
class ReportError:
    """One rejected report (or a whole rejected frame when ``index`` is None)."""

    code: str
    message: str
    field: str | None = None
    index: int | None = None
    aircraft: str | None = None

    def to_wire(self) -> dict[str, object]:
        d: dict[str, object] = {"type": "error", "code": self.code, "message": self.message}
        if self.field is not None:
            d["field"] = self.field
        if self.index is not None:
            d["index"] = self.index
        if self.aircraft is not None:
            d["id"] = self.aircraft
        return d


@dataclass
class ReportBatch:
    """Valid reports of one frame as arrays (velocity east/north/up m/s; altitude with its reference)."""

    ids: list[str]
    t: F64
    lon: F64
    lat: F64
    alt: F64
    agl: npt.NDArray[np.bool_]
    """True where ``alt`` is above ground level; converted to AMSL with the terrain model at ingest."""
    vx: F64
    vy: F64
    vz: F64
    battery: F64
    source: npt.NDArray[np.int8]
    category: list[str | None]
    errors: list[ReportError] = field(default_factory=list)
    landed: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    """True where the device reported it is on the ground (``"landed": true``)."""

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, mask: npt.NDArray[np.bool_]) -> ReportBatch:
        idx = np.flatnonzero(mask)
        return ReportBatch(
            ids=[self.ids[i] for i in idx], t=self.t[idx], lon=self.lon[idx], lat=self.lat[idx],
            alt=self.alt[idx], agl=self.agl[idx], vx=self.vx[idx], vy=self.vy[idx], vz=self.vz[idx],
            battery=self.battery[idx], source=self.source[idx], category=[self.category[i] for i in idx],
            errors=self.errors, landed=self.landed[idx],
        )


def _msgspec_field(msg: str) -> str | None:
    # msgspec: "Expected `float`, got `str` - at `$[3].lat`" / "Object missing required field `lat` - at `$[0]`"
    if "missing required field `" in msg:
        return msg.split("missing required field `", 1)[1].split("`", 1)[0]
    if "at `$" in msg:
        path = msg.rsplit("at `$", 1)[1].rstrip("`")
        tail = path.split(".")[-1] if "." in path else None
        return tail
    return None


def _parse_time(value: float | str) -> float:
    if isinstance(value, str):
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset (e.g. 2026-11-24T08:00:00Z)")
        return dt.timestamp()
    return float(value)


def decode_frame(
    data: bytes | str, *, now: float, service_bbox: tuple[float, float, float, float]
) -> ReportBatch:
    """Decode one websocket frame into valid reports plus an error for every invalid one.

    Never raises for bad input: a frame that cannot be read at all yields an empty batch with
    one frame-level error.
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_FRAME_BYTES:
        return _empty([ReportError("frame_too_large", f"frame of {len(raw)} bytes exceeds {MAX_FRAME_BYTES}")])
    errors: list[ReportError] = []
    reports: list[tuple[int, RawReport]]
    try:
        head = raw.lstrip()[:1]
        if head == b"[":
            items = _dec_list.decode(raw)
        elif b'"reports"' in raw:
            items = _dec_env.decode(raw).reports
        else:
            items = [_dec_one.decode(raw)]
        reports = list(enumerate(items))
    except msgspec.DecodeError as exc:
        try:
            generic = _dec_any.decode(raw)
        except msgspec.DecodeError:
            return _empty([ReportError("malformed_json", f"not valid JSON: {exc}")])
        if isinstance(generic, dict) and "reports" in generic:
            generic = generic["reports"]
        if isinstance(generic, dict):
            generic = [generic]
        if not isinstance(generic, list):
            return _empty([ReportError("bad_frame", "a frame is a report object, a list, or {\"reports\": [...]}")])
        reports = []
        for k, obj in enumerate(generic):
            try:
                reports.append((k, msgspec.convert(obj, RawReport)))
            except msgspec.ValidationError as e:
                aid = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
                errors.append(ReportError("invalid_report", str(e), _msgspec_field(str(e)), k, aid))
    if len(reports) > MAX_REPORTS_PER_FRAME:
        return _empty([ReportError("too_many_reports", f"{len(reports)} reports in one frame; max {MAX_REPORTS_PER_FRAME}")])
    return _validate(reports, errors, now=now, service_bbox=service_bbox)


def validate_reports(
    reports: Sequence[RawReport], *, now: float, service_bbox: tuple[float, float, float, float]
) -> ReportBatch:
    """Reports already built as typed structs (the device feeds, ``lowalt.feeds``): the same checks as
    :func:`decode_frame` gives a frame's reports, without encoding them to JSON and parsing it back."""
    if len(reports) > MAX_REPORTS_PER_FRAME:
        return _empty([ReportError("too_many_reports", f"{len(reports)} reports in one frame; max {MAX_REPORTS_PER_FRAME}")])
    return _validate(list(enumerate(reports)), [], now=now, service_bbox=service_bbox)


def _empty(errors: list[ReportError]) -> ReportBatch:
    z = np.zeros(0)
    return ReportBatch([], z, z, z, z, np.zeros(0, bool), z, z, z, z, np.zeros(0, np.int8), [], errors,
                       np.zeros(0, bool))


def _validate(
    reports: list[tuple[int, RawReport]], errors: list[ReportError], *, now: float,
    service_bbox: tuple[float, float, float, float],
) -> ReportBatch:
    m = len(reports)
    ids: list[str] = []
    t = np.empty(m)
    lon = np.empty(m)
    lat = np.empty(m)
    alt = np.empty(m)
    agl = np.zeros(m, dtype=np.bool_)
    vx = np.empty(m)
    vy = np.empty(m)
    vz = np.empty(m)
    bat = np.empty(m)
    src = np.zeros(m, dtype=np.int8)
    landed = np.zeros(m, dtype=np.bool_)
    gs = np.zeros(m)
    trk = np.zeros(m)
    cats: list[str | None] = []
    ok = np.ones(m, dtype=np.bool_)
    index = np.empty(m, dtype=np.int64)

    def bad(k: int, code: str, fld: str, message: str) -> None:
        if ok[k]:
            errors.append(ReportError(code, message, fld, int(index[k]), ids[k]))
            ok[k] = False

    # per-report field shape checks (cheap scalar work; ranges are checked vectorized below)
    for k, (i, r) in enumerate(reports):
        index[k] = i
        ids.append(r.id)
        cats.append(r.cat)
        lon[k], lat[k], alt[k] = r.lon, r.lat, r.alt
        if not 0 < len(r.id) <= 64:
            bad(k, "invalid_report", "id", "id must be 1..64 characters")
        try:
            t[k] = _parse_time(r.t)
        except (ValueError, OverflowError) as exc:
            t[k] = math.nan
            bad(k, "invalid_report", "t", f"bad timestamp: {exc}")
        ref = r.ref.upper()
        if ref not in ("AGL", "AMSL"):
            bad(k, "invalid_report", "ref", f"altitude reference must be AGL or AMSL, got {r.ref!r}")
        agl[k] = ref == "AGL"
        if r.vx is not None and r.vy is not None:
            vx[k], vy[k] = r.vx, r.vy
        elif r.gs is not None and r.trk is not None:
            gs[k], trk[k] = r.gs, r.trk
            rad = math.radians(r.trk) if math.isfinite(r.trk) else math.nan
            vx[k], vy[k] = r.gs * math.sin(rad), r.gs * math.cos(rad)
        else:
            vx[k] = vy[k] = math.nan
            bad(k, "invalid_report", "gs", "velocity missing: give gs and trk, or vx and vy")
        v = r.vs if r.vs is not None else r.vz
        vz[k] = 0.0 if v is None else v
        bat[k] = math.nan if r.bat is None else r.bat
        landed[k] = bool(r.landed)
        s = SOURCE_NAMES.get(r.src.lower())
        if s is None:
            bad(k, "invalid_report", "src", f"unknown source {r.src!r}; one of {sorted(SOURCE_NAMES)}")
        else:
            src[k] = s

    west, south, east, north = service_bbox
    checks: list[tuple[str, str, npt.NDArray[np.bool_], str]] = [
        ("non_finite", "lon", ~np.isfinite(lon), "lon is NaN or infinite"),
        ("non_finite", "lat", ~np.isfinite(lat), "lat is NaN or infinite"),
        ("non_finite", "alt", ~np.isfinite(alt), "alt is NaN or infinite"),
        ("non_finite", "t", ~np.isfinite(t), "t is NaN or infinite"),
        ("non_finite", "vx", ~np.isfinite(vx), "vx (or gs/trk) is NaN or infinite"),
        ("non_finite", "vy", ~np.isfinite(vy), "vy (or gs/trk) is NaN or infinite"),
        ("non_finite", "vs", ~np.isfinite(vz), "vs is NaN or infinite"),
        ("out_of_range", "lat", np.abs(lat) > 90, "lat outside [-90, 90] (lon/lat swapped?)"),
        ("out_of_range", "lon", np.abs(lon) > 180, "lon outside [-180, 180]"),
        ("outside_service_area", "lon", ~((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)),
         f"position outside the service area [{west}, {south}, {east}, {north}] (lon/lat swapped?)"),
        ("out_of_range", "alt", (alt < ALT_RANGE_M[0]) | (alt > ALT_RANGE_M[1]),
         f"alt outside [{ALT_RANGE_M[0]:.0f}, {ALT_RANGE_M[1]:.0f}] m"),
        ("non_finite", "bat", np.isinf(bat), "bat is infinite"),
        ("out_of_range", "gs", (gs < 0) | (gs > MAX_SPEED_MS) | ~np.isfinite(gs),
         f"gs outside [0, {MAX_SPEED_MS:.0f}] m/s"),
        ("out_of_range", "trk", (trk < 0) | (trk > 360) | ~np.isfinite(trk), "trk outside [0, 360] degrees"),
        ("out_of_range", "vx", np.abs(vx) > MAX_SPEED_MS, f"vx outside [-{MAX_SPEED_MS:.0f}, {MAX_SPEED_MS:.0f}] m/s"),
        ("out_of_range", "vy", np.abs(vy) > MAX_SPEED_MS, f"vy outside [-{MAX_SPEED_MS:.0f}, {MAX_SPEED_MS:.0f}] m/s"),
        ("out_of_range", "gs", np.hypot(vx, vy) > MAX_SPEED_MS, f"ground speed above {MAX_SPEED_MS:.0f} m/s"),
        ("out_of_range", "vs", np.abs(vz) > MAX_VERTICAL_MS,
         f"vs (vertical rate) outside [-{MAX_VERTICAL_MS:.0f}, {MAX_VERTICAL_MS:.0f}] m/s"),
        ("out_of_range", "bat", (bat < BATTERY_RANGE[0]) | (bat > BATTERY_RANGE[1]), "bat outside [0, 100] %"),
        ("future_timestamp", "t", t > now + MAX_FUTURE_S, f"timestamp more than {MAX_FUTURE_S:.0f} s in the future"),
        ("stale_timestamp", "t", t < now - MAX_AGE_S, f"timestamp more than {MAX_AGE_S:.0f} s in the past"),
    ]
    with np.errstate(invalid="ignore"):
        for code, fld, mask, message in checks:
            for kk in np.flatnonzero(mask & ok).tolist():
                bad(kk, code, fld, message)
    batch = ReportBatch(ids, t, lon, lat, alt, agl, vx, vy, vz, bat, src, cats, errors, landed)
    return batch if ok.all() else batch.select(ok)
