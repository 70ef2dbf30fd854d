"""EUROCAE ED-269 (UAS geographical zones) JSON export and import.

The export validates against the InterUSS ``uas-standards`` ED-269 model
(``uas_standards.eurocae_ed269.ED269Schema``; a test parses every export with it): identifiers of at
most 7 characters, texts within the standard's lengths, integer limits, times with their zone.
Everything the standard cannot carry exactly sits in ``extendedProperties.lowalt``, so that
export -> import is lossless.

Field mapping (export):

=========================  =============================================================
ED-269                      lowalt
=========================  =============================================================
title / description         arguments of :func:`to_ed269`
identifier                  Volume.id / Restriction.id when it is an ED-269 identifier
                            (1-7 letters, digits, ``-`` or ``_``); otherwise a stable
                            7-character code derived from the id (:func:`ed269_identifier`).
                            The lowalt id is ``extendedProperties.lowalt.id``;
                            :func:`identifier_map` gives the mapping of a document
country                     "CHN"
name                        name_en (at most 200 characters; name_zh in extendedProperties)
type                        COMMON for volumes, CUSTOMIZED for temporary restrictions
restriction                 no_fly -> PROHIBITED; restricted -> REQ_AUTHORISATION if some
                            categories are admitted, else PROHIBITED; controlled and open
                            G/A-E -> REQ_AUTHORISATION; corridor and open W -> CONDITIONAL;
                            restriction -> PROHIBITED (REQ_AUTHORISATION with exemptions)
restrictionConditions       ["categories: <allowed categories>"] /
                            ["exempt categories: <...>"]; absent when there are none
reason                      controlled/corridor/open -> AIR_TRAFFIC (POPULATION for the
                            city overlay, i.e. controlled class G); restricted/no_fly ->
                            SENSITIVE; restriction reason event -> POPULATION,
                            emergency -> EMERGENCY, police -> SENSITIVE, weather/other -> OTHER
otherReasonInfo             the restriction's reason when ``reason`` is OTHER (<= 30 chars)
message                     source (at most 200 characters; in full in extendedProperties)
zoneAuthority               [{name, service, purpose "AUTHORIZATION", intervalBefore "PT0S"}]
applicability               no schedule -> [{"permanent": "YES"}]; weekly windows ->
                            {"permanent": "NO", "schedule": [{"day": [MON..], "startTime",
                            "endTime"}]}: local wall-clock times of the schedule's zone with
                            that zone's UTC offset (``06:00:00.00+0800``; zones with daylight
                            saving time are exported with their standard offset, the IANA zone
                            is in extendedProperties); one-off activations / restriction
                            [start, end) -> {"permanent": "NO", "startDateTime",
                            "endDateTime"} (UTC, Z)
geometry                    one item per polygon part: {"uomDimensions": "M",
                            "lowerLimit" (metres rounded down), "lowerVerticalReference"
                            AGL/AMSL, "upperLimit" (rounded up: the zone covers the volume),
                            "upperVerticalReference", "horizontalProjection" (GeoJSON Polygon,
                            lon/lat)}; exact limits in extendedProperties
extendedProperties.lowalt   everything ED-269 cannot carry (id, class, kind, categories,
                            exact limits, provenance, deactivations, timezone, ...)
=========================  =============================================================

Import uses ``extendedProperties.lowalt`` when present; otherwise it maps the standard
fields back (PROHIBITED -> no_fly, REQ_AUTHORISATION -> controlled, CONDITIONAL ->
restricted, NO_RESTRICTION -> open G), with provenance ``derived``; schedule times with an
offset are read in that offset's zone (+0800 -> Asia/Shanghai), times without one in
Asia/Shanghai.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union

from lowalt.airspace.geojson import (
    parse_datetime,
    schedule_from_json,
    schedule_to_json,
)
from lowalt.airspace.model import (
    AircraftCategory,
    AirspaceClass,
    Provenance,
    Restriction,
    RestrictionReason,
    Volume,
    VolumeKind,
)
from lowalt.airspace.schedule import DAY_NAMES, LOCAL_TZ, Schedule, TimeInterval, WeeklyWindow
from lowalt.geo.altitude import Altitude, AltitudeReference

Json = dict[str, Any]
AUTHORITY = {
    "name": "景德镇通用航空协调运行中心 (Jingdezhen general-aviation coordination centre)",
    "service": "low-altitude airspace",
    "purpose": "AUTHORIZATION",
    "intervalBefore": "PT0S",
}
_REASON_OF_RESTRICTION = {
    RestrictionReason.EVENT: "POPULATION",
    RestrictionReason.EMERGENCY: "EMERGENCY",
    RestrictionReason.POLICE: "SENSITIVE",
    RestrictionReason.WEATHER: "OTHER",
    RestrictionReason.OTHER: "OTHER",
}
# ED-269 (UASZoneVersion) text lengths
MAX_IDENTIFIER, MAX_NAME, MAX_OTHER_REASON, MAX_MESSAGE = 7, 200, 30, 200
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,7}")


@dataclass(frozen=True)
class Ed269Zones:
    """Result of :func:`from_ed269`."""

    volumes: tuple[Volume, ...]
    """Zones imported as volumes."""
    restrictions: tuple[Restriction, ...]
    """Zones that were lowalt temporary restrictions (only with extendedProperties)."""


def ed269_identifier(lowalt_id: str) -> str:
    """The ED-269 identifier of a lowalt id: the id itself when it is 1-7 letters, digits, ``-`` or
    ``_``; otherwise ``Z`` + 6 characters of its SHA-256 (base32), stable across exports."""
    if _IDENTIFIER.fullmatch(lowalt_id):
        return lowalt_id
    digest = base64.b32encode(hashlib.sha256(lowalt_id.encode()).digest()).decode()
    return "Z" + digest[: MAX_IDENTIFIER - 1]


def identifier_map(doc: Mapping[str, Any]) -> dict[str, str]:
    """ED-269 identifier -> lowalt id, for the features of an exported document."""
    out: dict[str, str] = {}
    for f in doc.get("features", []):
        ext = (f.get("extendedProperties") or {}).get("lowalt") or {}
        out[str(f["identifier"])] = str(ext.get("id", f["identifier"]))
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _altitude_json(a: Altitude) -> Json:
    return {"value_m": a.value_m, "ref": a.reference.value}


def _altitude_from_json(d: Mapping[str, Any]) -> Altitude:
    return Altitude(float(d["value_m"]), AltitudeReference(d["ref"]))


def _geometry_items(poly: Polygon | MultiPolygon, floor: Altitude, ceiling: Altitude) -> list[Json]:
    parts = list(poly.geoms) if isinstance(poly, MultiPolygon) else [poly]
    return [{
        "uomDimensions": "M",
        "lowerLimit": math.floor(floor.value_m),
        "lowerVerticalReference": floor.reference.value,
        "upperLimit": math.ceil(ceiling.value_m),
        "upperVerticalReference": ceiling.reference.value,
        "horizontalProjection": {"type": "Polygon", "coordinates": [
            [[float(x), float(y)] for x, y, *_ in ring] for ring in mapping(p)["coordinates"]]},
    } for p in parts]


def _offset_text(timezone: str) -> str:
    """The zone's standard UTC offset as ``+0800`` (``Z`` for UTC), as the ED-269 time type writes it."""
    offset = datetime(2001, 1, 1, tzinfo=ZoneInfo(timezone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _ed269_time(t: time, timezone: str) -> str:
    return f"{t.strftime('%H:%M:%S')}.{t.microsecond // 10000:02d}{_offset_text(timezone)}"


def _applicability(schedule: Schedule | None) -> list[Json]:
    if schedule is None:
        return [{"permanent": "YES"}]
    out: list[Json] = []
    if schedule.weekly:
        out.append({"permanent": "NO", "schedule": [
            {"day": [DAY_NAMES[d - 1] for d in sorted(w.days)],
             "startTime": _ed269_time(w.start, schedule.timezone),
             "endTime": _ed269_time(w.end, schedule.timezone)} for w in schedule.weekly]})
    for iv in schedule.activations:
        out.append({"permanent": "NO", "startDateTime": _z(iv.start), "endDateTime": _z(iv.end)})
    if not out:
        out.append({"permanent": "YES"})
    return out


def _restriction_level(v: Volume) -> str:
    if v.kind is VolumeKind.NO_FLY:
        return "PROHIBITED"
    if v.kind is VolumeKind.RESTRICTED:
        return "REQ_AUTHORISATION" if v.allowed_categories else "PROHIBITED"
    if v.kind is VolumeKind.CORRIDOR or (v.kind is VolumeKind.OPEN and v.airspace_class is AirspaceClass.W):
        return "CONDITIONAL"
    return "REQ_AUTHORISATION"


def _reasons(v: Volume) -> list[str]:
    if v.kind in (VolumeKind.NO_FLY, VolumeKind.RESTRICTED):
        return ["SENSITIVE"]
    if v.kind is VolumeKind.CONTROLLED and v.airspace_class is AirspaceClass.G:
        return ["POPULATION"]
    return ["AIR_TRAFFIC"]


def _conditions(label: str, categories: frozenset[AircraftCategory]) -> Json:
    if not categories:
        return {}
    return {"restrictionConditions": [f"{label}: " + ", ".join(sorted(c.value for c in categories))]}


def volume_to_ed269(v: Volume) -> Json:
    """One volume -> ED-269 UASZoneVersion."""
    return {
        "identifier": ed269_identifier(v.id),
        "country": "CHN",
        "name": _clip(v.name_en or v.id, MAX_NAME),
        "type": "COMMON",
        "restriction": _restriction_level(v),
        **_conditions("categories", v.allowed_categories),
        "region": 0,
        "reason": _reasons(v),
        "regulationExemption": "NO",
        "message": _clip(v.source, MAX_MESSAGE),
        "zoneAuthority": [dict(AUTHORITY)],
        "applicability": _applicability(v.schedule),
        "geometry": _geometry_items(v.polygon, v.floor, v.ceiling),
        "extendedProperties": {"lowalt": {
            "record": "volume", "id": v.id,
            "name_zh": v.name_zh, "name_en": v.name_en,
            "class": v.airspace_class.value, "kind": v.kind.value,
            "allowed_categories": sorted(c.value for c in v.allowed_categories),
            "floor": _altitude_json(v.floor), "ceiling": _altitude_json(v.ceiling),
            "schedule": schedule_to_json(v.schedule),
            "provenance": v.provenance.value, "source": v.source, "notes": v.notes,
        }},
    }


def restriction_to_ed269(r: Restriction) -> Json:
    """One temporary restriction -> ED-269 CUSTOMIZED zone."""
    reason = _REASON_OF_RESTRICTION[r.reason]
    return {
        "identifier": ed269_identifier(r.id),
        "country": "CHN",
        "name": _clip(r.name_en or r.id, MAX_NAME),
        "type": "CUSTOMIZED",
        "restriction": "REQ_AUTHORISATION" if r.exempt_categories else "PROHIBITED",
        **_conditions("exempt categories", r.exempt_categories),
        "region": 0,
        "reason": [reason],
        **({"otherReasonInfo": _clip(r.reason.value, MAX_OTHER_REASON)} if reason == "OTHER" else {}),
        "regulationExemption": "NO",
        "message": _clip(r.source, MAX_MESSAGE),
        "zoneAuthority": [dict(AUTHORITY)],
        "applicability": [{"permanent": "NO", "startDateTime": _z(r.start), "endDateTime": _z(r.end)}],
        "geometry": _geometry_items(r.polygon, r.floor, r.ceiling),
        "extendedProperties": {"lowalt": {
            "record": "restriction", "id": r.id,
            "name_zh": r.name_zh, "name_en": r.name_en, "reason": r.reason.value,
            "floor": _altitude_json(r.floor), "ceiling": _altitude_json(r.ceiling),
            "start": r.start.isoformat(), "end": r.end.isoformat(), "created_by": r.created_by,
            "exempt_categories": sorted(c.value for c in r.exempt_categories), "source": r.source,
        }},
    }


def to_ed269(
    volumes: Iterable[Volume],
    restrictions: Iterable[Restriction] = (),
    *,
    title: str = "Jingdezhen / Fuliang UAS geographical zones",
    description: str = "Exported by lowalt; see extendedProperties.lowalt for the full model",
) -> Json:
    """Volumes and restrictions -> ED-269 document ``{"title", "description", "features"}``.

    Raises ``ValueError`` when two ids map to the same ED-269 identifier (a hash collision)."""
    features = [volume_to_ed269(v) for v in volumes] + [restriction_to_ed269(r) for r in restrictions]
    seen: dict[str, str] = {}
    for f in features:
        lowalt_id = f["extendedProperties"]["lowalt"]["id"]
        other = seen.setdefault(f["identifier"], lowalt_id)
        if other != lowalt_id:
            raise ValueError(f"ids {other!r} and {lowalt_id!r} share the ED-269 identifier {f['identifier']!r}")
    return {"title": title, "description": description, "features": features}


# ---------------------------------------------------------------- import


def _polygon(items: list[Mapping[str, Any]]) -> Polygon | MultiPolygon:
    polys = [shape(g["horizontalProjection"]) for g in items]
    if len(polys) == 1:
        merged = polys[0]
    elif all(isinstance(p, Polygon) for p in polys):
        merged = MultiPolygon(polys)
    else:
        merged = unary_union(polys)
    if not isinstance(merged, Polygon | MultiPolygon):
        raise ValueError(f"horizontalProjection must be polygons, not {merged.geom_type}")
    return merged


def _limits(items: list[Mapping[str, Any]]) -> tuple[Altitude, Altitude]:
    g = items[0]
    for k in ("lowerVerticalReference", "upperVerticalReference"):
        if g[k] not in ("AGL", "AMSL"):
            raise ValueError(f"unsupported vertical reference {g[k]!r} (only AGL/AMSL)")
    return (Altitude(float(g["lowerLimit"]), AltitudeReference(g["lowerVerticalReference"])),
            Altitude(float(g["upperLimit"]), AltitudeReference(g["upperVerticalReference"])))


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?")


def _zone_of_offset(text: str | None) -> str:
    if text is None:
        return LOCAL_TZ
    if text == "Z":
        return "UTC"
    minutes = (int(text[1:3]) * 60 + int(text[-2:])) * (1 if text[0] == "+" else -1)
    if minutes == 0:
        return "UTC"
    if minutes == 480:
        return LOCAL_TZ
    if minutes % 60:
        raise ValueError(f"unsupported schedule offset {text!r} (whole hours only)")
    return f"Etc/GMT{-minutes // 60:+d}"  # POSIX sign: Etc/GMT-8 is UTC+8


def _ed269_time_from(text: str) -> tuple[time, str]:
    """``hh:mm[:ss[.ff]][offset]`` -> local wall-clock time and the IANA zone of its offset."""
    found = _TIME.fullmatch(text.strip())
    if not found:
        raise ValueError(f"not an ED-269 time: {text!r}")
    hh, mm, ss, frac, offset = found.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return time(int(hh), int(mm), int(ss or 0), micro), _zone_of_offset(offset)


def _schedule_from_applicability(app: list[Mapping[str, Any]]) -> Schedule | None:
    weekly: list[WeeklyWindow] = []
    acts: list[TimeInterval] = []
    zones: set[str] = set()
    for a in app:
        if a.get("permanent") == "YES":
            continue
        for s in a.get("schedule", []) or []:
            days = frozenset(DAY_NAMES.index(d) + 1 for d in s["day"]) if s["day"] != ["ANY"] else frozenset(range(1, 8))
            (start, z1), (end, z2) = _ed269_time_from(s["startTime"]), _ed269_time_from(s["endTime"])
            zones |= {z1, z2}
            weekly.append(WeeklyWindow(days, start, end))
        if "startDateTime" in a:
            acts.append(TimeInterval(parse_datetime(a["startDateTime"], "startDateTime"),
                                     parse_datetime(a["endDateTime"], "endDateTime")))
    if not weekly and not acts:
        return None
    if len(zones) > 1:
        raise ValueError(f"one zone's schedule mixes UTC offsets: {sorted(zones)}")
    return Schedule(weekly=tuple(weekly), activations=tuple(acts), timezone=zones.pop() if zones else LOCAL_TZ)


_KIND_OF_RESTRICTION = {
    "PROHIBITED": VolumeKind.NO_FLY,
    "REQ_AUTHORISATION": VolumeKind.CONTROLLED,
    "CONDITIONAL": VolumeKind.RESTRICTED,
    "NO_RESTRICTION": VolumeKind.OPEN,
}


def _limits_of(ext: Mapping[str, Any], items: list[Mapping[str, Any]]) -> tuple[Altitude, Altitude]:
    if "floor" in ext and "ceiling" in ext:
        return _altitude_from_json(ext["floor"]), _altitude_from_json(ext["ceiling"])
    return _limits(items)


def from_ed269(doc: Mapping[str, Any]) -> Ed269Zones:
    """ED-269 document -> volumes (and lowalt restrictions, when marked as such)."""
    volumes: list[Volume] = []
    restrictions: list[Restriction] = []
    for f in doc.get("features", []):
        items = list(f["geometry"])
        poly = _polygon(items)
        ext = (f.get("extendedProperties") or {}).get("lowalt")
        if ext and ext.get("record") == "restriction":
            floor, ceiling = _limits_of(ext, items)
            restrictions.append(Restriction(
                id=ext.get("id", f["identifier"]), reason=RestrictionReason(ext["reason"]), polygon=poly,
                floor=floor, ceiling=ceiling, start=parse_datetime(ext["start"], "start"),
                end=parse_datetime(ext["end"], "end"), created_by=ext["created_by"], name_zh=ext["name_zh"],
                name_en=ext["name_en"],
                exempt_categories=frozenset(AircraftCategory(c) for c in ext["exempt_categories"]),
                source=ext["source"]))
            continue
        if ext:
            floor, ceiling = _limits_of(ext, items)
            volumes.append(Volume(
                id=ext.get("id", f["identifier"]), name_zh=ext["name_zh"], name_en=ext["name_en"], polygon=poly,
                floor=floor, ceiling=ceiling, airspace_class=AirspaceClass(ext["class"]),
                kind=VolumeKind(ext["kind"]),
                allowed_categories=frozenset(AircraftCategory(c) for c in ext["allowed_categories"]),
                schedule=schedule_from_json(ext["schedule"]), provenance=Provenance(ext["provenance"]),
                source=ext["source"], notes=ext["notes"]))
            continue
        floor, ceiling = _limits(items)
        volumes.append(Volume(
            id=str(f["identifier"]), name_zh="", name_en=str(f.get("name", "")), polygon=poly,
            floor=floor, ceiling=ceiling, airspace_class=AirspaceClass.G,
            kind=_KIND_OF_RESTRICTION.get(f.get("restriction", ""), VolumeKind.CONTROLLED),
            allowed_categories=frozenset(), schedule=_schedule_from_applicability(f.get("applicability", [])),
            provenance=Provenance.DERIVED,
            source=f"ED-269 import ({doc.get('title', '')}): {f.get('message', '')}".strip(),
            notes=str(f.get("otherReasonInfo", "") or "")))
    return Ed269Zones(tuple(volumes), tuple(restrictions))
