"""EUROCAE ED-269 (UAS geographical zones) JSON export and import.

Written from the ED-269 ``UASZoneVersion`` structure (no copy of the standard was at hand;
check field spellings against the published schema before exchanging with a third party).

Field mapping (export):

=========================  =============================================================
ED-269                      lowalt
=========================  =============================================================
title / description         arguments of :func:`to_ed269`
identifier                  Volume.id / Restriction.id (ED-269 limits it to 7 characters;
                            ids are exported as is)
country                     "CHN"
name                        name_en (name_zh in extendedProperties)
type                        COMMON for volumes, CUSTOMIZED for temporary restrictions
restriction                 no_fly -> PROHIBITED; restricted -> REQ_AUTHORISATION if some
                            categories are admitted, else PROHIBITED; controlled and open
                            G/A-E -> REQ_AUTHORISATION; corridor and open W -> CONDITIONAL;
                            restriction -> PROHIBITED (REQ_AUTHORISATION with exemptions)
restrictionConditions       ["categories: <allowed categories>"]
reason                      controlled/corridor/open -> AIR_TRAFFIC (POPULATION for the
                            city overlay, i.e. controlled class G); restricted/no_fly ->
                            SENSITIVE; restriction reason event -> POPULATION,
                            emergency -> EMERGENCY, police -> SENSITIVE, weather/other -> OTHER
otherReasonInfo / message   notes / source
zoneAuthority               [{name, service, purpose "AUTHORIZATION", intervalBefore "PT0S"}]
applicability               no schedule -> [{"permanent": "YES"}]; weekly windows ->
                            {"permanent": "NO", "schedule": [{"day": [MON..], "startTime",
                            "endTime"}]} (local time of the schedule's timezone);
                            one-off activations / restriction [start, end) ->
                            {"permanent": "NO", "startDateTime", "endDateTime"} (UTC, Z)
geometry                    one item per polygon part: {"uomDimensions": "M",
                            "lowerLimit", "lowerVerticalReference" AGL/AMSL, "upperLimit",
                            "upperVerticalReference", "horizontalProjection" (GeoJSON Polygon)}
extendedProperties.lowalt   everything ED-269 cannot carry (class, kind, categories,
                            provenance, deactivations, timezone, ...) so that
                            export -> import is lossless
=========================  =============================================================

Import uses ``extendedProperties.lowalt`` when present; otherwise it maps the standard
fields back (PROHIBITED -> no_fly, REQ_AUTHORISATION -> controlled, CONDITIONAL ->
restricted, NO_RESTRICTION -> open G), with provenance ``derived``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
from lowalt.airspace.schedule import DAY_NAMES, Schedule, TimeInterval, WeeklyWindow
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


@dataclass(frozen=True)
class Ed269Zones:
    """Result of :func:`from_ed269`."""

    volumes: tuple[Volume, ...]
    """Zones imported as volumes."""
    restrictions: tuple[Restriction, ...]
    """Zones that were lowalt temporary restrictions (only with extendedProperties)."""


def _z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _geometry_items(poly: Polygon | MultiPolygon, floor: Altitude, ceiling: Altitude) -> list[Json]:
    parts = list(poly.geoms) if isinstance(poly, MultiPolygon) else [poly]
    return [{
        "uomDimensions": "M",
        "lowerLimit": floor.value_m,
        "lowerVerticalReference": floor.reference.value,
        "upperLimit": ceiling.value_m,
        "upperVerticalReference": ceiling.reference.value,
        "horizontalProjection": mapping(p),
    } for p in parts]


def _applicability(schedule: Schedule | None) -> list[Json]:
    if schedule is None:
        return [{"permanent": "YES"}]
    out: list[Json] = []
    if schedule.weekly:
        out.append({"permanent": "NO", "schedule": [
            {"day": [DAY_NAMES[d - 1] for d in sorted(w.days)], "startTime": w.start.strftime("%H:%M:%S"),
             "endTime": w.end.strftime("%H:%M:%S")} for w in schedule.weekly]})
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


def volume_to_ed269(v: Volume) -> Json:
    """One volume -> ED-269 UASZoneVersion-like object."""
    return {
        "identifier": v.id,
        "country": "CHN",
        "name": v.name_en,
        "type": "COMMON",
        "restriction": _restriction_level(v),
        "restrictionConditions": ["categories: " + ", ".join(sorted(c.value for c in v.allowed_categories))],
        "region": 0,
        "reason": _reasons(v),
        "otherReasonInfo": v.notes,
        "regulationExemption": "NO",
        "message": v.source,
        "zoneAuthority": [dict(AUTHORITY)],
        "applicability": _applicability(v.schedule),
        "geometry": _geometry_items(v.polygon, v.floor, v.ceiling),
        "extendedProperties": {"lowalt": {
            "record": "volume",
            "name_zh": v.name_zh, "name_en": v.name_en,
            "class": v.airspace_class.value, "kind": v.kind.value,
            "allowed_categories": sorted(c.value for c in v.allowed_categories),
            "schedule": schedule_to_json(v.schedule),
            "provenance": v.provenance.value, "source": v.source, "notes": v.notes,
        }},
    }


def restriction_to_ed269(r: Restriction) -> Json:
    """One temporary restriction -> ED-269 CUSTOMIZED zone."""
    return {
        "identifier": r.id,
        "country": "CHN",
        "name": r.name_en or r.id,
        "type": "CUSTOMIZED",
        "restriction": "REQ_AUTHORISATION" if r.exempt_categories else "PROHIBITED",
        "restrictionConditions": ["exempt categories: " + ", ".join(sorted(c.value for c in r.exempt_categories))],
        "region": 0,
        "reason": [_REASON_OF_RESTRICTION[r.reason]],
        "otherReasonInfo": r.reason.value,
        "regulationExemption": "NO",
        "message": r.source,
        "zoneAuthority": [dict(AUTHORITY)],
        "applicability": [{"permanent": "NO", "startDateTime": _z(r.start), "endDateTime": _z(r.end)}],
        "geometry": _geometry_items(r.polygon, r.floor, r.ceiling),
        "extendedProperties": {"lowalt": {
            "record": "restriction",
            "name_zh": r.name_zh, "name_en": r.name_en, "reason": r.reason.value,
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
    """Volumes and restrictions -> ED-269-like document ``{"title", "description", "features"}``."""
    features = [volume_to_ed269(v) for v in volumes] + [restriction_to_ed269(r) for r in restrictions]
    return {"title": title, "description": description, "features": features}


# ---------------------------------------------------------------- import


def _polygon(items: list[Mapping[str, Any]]) -> Polygon | MultiPolygon:
    polys = [shape(g["horizontalProjection"]) for g in items]
    if len(polys) == 1:
        return polys[0]  # type: ignore[no-any-return]
    if all(isinstance(p, Polygon) for p in polys):
        return MultiPolygon(polys)
    merged = unary_union(polys)
    return merged  # type: ignore[no-any-return]


def _limits(items: list[Mapping[str, Any]]) -> tuple[Altitude, Altitude]:
    g = items[0]
    for k in ("lowerVerticalReference", "upperVerticalReference"):
        if g[k] not in ("AGL", "AMSL"):
            raise ValueError(f"unsupported vertical reference {g[k]!r} (only AGL/AMSL)")
    return (Altitude(float(g["lowerLimit"]), AltitudeReference(g["lowerVerticalReference"])),
            Altitude(float(g["upperLimit"]), AltitudeReference(g["upperVerticalReference"])))


def _schedule_from_applicability(app: list[Mapping[str, Any]]) -> Schedule | None:
    from datetime import time

    weekly: list[WeeklyWindow] = []
    acts: list[TimeInterval] = []
    for a in app:
        if a.get("permanent") == "YES":
            continue
        for s in a.get("schedule", []) or []:
            days = frozenset(DAY_NAMES.index(d) + 1 for d in s["day"]) if s["day"] != ["ANY"] else frozenset(range(1, 8))
            weekly.append(WeeklyWindow(days, time.fromisoformat(s["startTime"].rstrip("Z")),
                                       time.fromisoformat(s["endTime"].rstrip("Z"))))
        if "startDateTime" in a:
            acts.append(TimeInterval(parse_datetime(a["startDateTime"], "startDateTime"),
                                     parse_datetime(a["endDateTime"], "endDateTime")))
    if not weekly and not acts:
        return None
    return Schedule(weekly=tuple(weekly), activations=tuple(acts))


_KIND_OF_RESTRICTION = {
    "PROHIBITED": VolumeKind.NO_FLY,
    "REQ_AUTHORISATION": VolumeKind.CONTROLLED,
    "CONDITIONAL": VolumeKind.RESTRICTED,
    "NO_RESTRICTION": VolumeKind.OPEN,
}


def from_ed269(doc: Mapping[str, Any]) -> Ed269Zones:
    """ED-269-like document -> volumes (and lowalt restrictions, when marked as such)."""
    volumes: list[Volume] = []
    restrictions: list[Restriction] = []
    for f in doc.get("features", []):
        items = list(f["geometry"])
        poly = _polygon(items)
        floor, ceiling = _limits(items)
        ext = (f.get("extendedProperties") or {}).get("lowalt")
        if ext and ext.get("record") == "restriction":
            restrictions.append(Restriction(
                id=f["identifier"], reason=RestrictionReason(ext["reason"]), polygon=poly, floor=floor,
                ceiling=ceiling, start=parse_datetime(ext["start"], "start"), end=parse_datetime(ext["end"], "end"),
                created_by=ext["created_by"], name_zh=ext["name_zh"], name_en=ext["name_en"],
                exempt_categories=frozenset(AircraftCategory(c) for c in ext["exempt_categories"]),
                source=ext["source"]))
            continue
        if ext:
            volumes.append(Volume(
                id=f["identifier"], name_zh=ext["name_zh"], name_en=ext["name_en"], polygon=poly,
                floor=floor, ceiling=ceiling, airspace_class=AirspaceClass(ext["class"]),
                kind=VolumeKind(ext["kind"]),
                allowed_categories=frozenset(AircraftCategory(c) for c in ext["allowed_categories"]),
                schedule=schedule_from_json(ext["schedule"]), provenance=Provenance(ext["provenance"]),
                source=ext["source"], notes=ext["notes"]))
            continue
        volumes.append(Volume(
            id=str(f["identifier"]), name_zh="", name_en=str(f.get("name", "")), polygon=poly,
            floor=floor, ceiling=ceiling, airspace_class=AirspaceClass.G,
            kind=_KIND_OF_RESTRICTION.get(f.get("restriction", ""), VolumeKind.CONTROLLED),
            allowed_categories=frozenset(), schedule=_schedule_from_applicability(f.get("applicability", [])),
            provenance=Provenance.DERIVED,
            source=f"ED-269 import ({doc.get('title', '')}): {f.get('message', '')}".strip(),
            notes=str(f.get("otherReasonInfo", "") or "")))
    return Ed269Zones(tuple(volumes), tuple(restrictions))
