"""GeoJSON (RFC 7946) reading and writing of the airspace model.

One FeatureCollection per collection, lon/lat order, WGS84. Each FeatureCollection may
carry a ``metadata`` foreign member (sources, which features are illustrative). Feature
``id`` equals ``properties.id``. Property names are documented in ``airspace_data/README.md``:

- volumes.geojson (Polygon/MultiPolygon): id, name_zh, name_en, class, kind, floor_m,
  floor_ref, ceiling_m, ceiling_ref, allowed_categories, schedule, provenance, source, notes
- points.geojson (Point): id, name_zh, name_en, kind, elevation_m, capacity_per_15min,
  opening_hours, allowed_categories, provenance, source
- routes.geojson (LineString): id, name_zh, name_en, kind, direction, half_width_m, floor_m,
  floor_ref, ceiling_m, ceiling_ref, allowed_categories, schedule, from_id, to_id, crossings,
  class, provenance, source
- restrictions.geojson (Polygon/MultiPolygon, optional): id, name_zh, name_en, reason,
  floor_m, floor_ref, ceiling_m, ceiling_ref, start, end, created_by, exempt_categories, source

``schedule`` / ``opening_hours`` is null (always) or
``{"timezone": "Asia/Shanghai", "weekly": [{"days": ["MON", ...], "start": "07:00",
"end": "19:00"}], "activations": [{"start": ISO8601, "end": ISO8601}], "deactivations": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping, shape

from lowalt.airspace.model import (
    AircraftCategory,
    AirspaceClass,
    AirspaceSet,
    Area,
    Provenance,
    Restriction,
    RestrictionReason,
    Route,
    RouteDirection,
    RouteKind,
    Vertiport,
    VertiportKind,
    Volume,
    VolumeKind,
)
from lowalt.airspace.schedule import DAY_NAMES, Schedule, TimeInterval, WeeklyWindow
from lowalt.geo.altitude import Altitude, AltitudeReference

VOLUMES_FILE = "volumes.geojson"
POINTS_FILE = "points.geojson"
ROUTES_FILE = "routes.geojson"
RESTRICTIONS_FILE = "restrictions.geojson"

Json = dict[str, Any]
E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class FeatureError(ValueError):
    """A feature could not be turned into a model object (message names the property)."""


class AirspaceDataError(ValueError):
    """A data file is wrong; carries the file and feature id."""

    def __init__(self, file: str, feature_id: str | None, message: str) -> None:
        super().__init__(f"{file}: {feature_id or '-'}: {message}")
        self.file = file
        self.feature_id = feature_id
        self.message = message


# ---------------------------------------------------------------- schedules, times


def _fmt_time(t: time) -> str:
    return t.strftime("%H:%M:%S") if t.second else t.strftime("%H:%M")


def _fmt_dt(t: datetime) -> str:
    return t.isoformat()


def parse_datetime(value: object, what: str) -> datetime:
    """ISO 8601 with an offset (``Z`` allowed) -> aware datetime; naive is an error."""
    if not isinstance(value, str):
        raise FeatureError(f"{what}: expected an ISO 8601 string, got {value!r}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FeatureError(f"{what}: not ISO 8601: {value!r}") from exc
    if t.tzinfo is None:
        raise FeatureError(f"{what}: datetime {value!r} has no timezone offset")
    return t


def schedule_to_json(s: Schedule | None) -> Json | None:
    """Schedule -> JSON object (None -> null = always active)."""
    if s is None:
        return None
    return {
        "timezone": s.timezone,
        "weekly": [
            {"days": [DAY_NAMES[d - 1] for d in sorted(w.days)], "start": _fmt_time(w.start), "end": _fmt_time(w.end)}
            for w in s.weekly
        ],
        "activations": [{"start": _fmt_dt(i.start), "end": _fmt_dt(i.end)} for i in s.activations],
        "deactivations": [{"start": _fmt_dt(i.start), "end": _fmt_dt(i.end)} for i in s.deactivations],
    }


def _parse_time(value: object, what: str) -> time:
    if not isinstance(value, str):
        raise FeatureError(f"{what}: expected HH:MM, got {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise FeatureError(f"{what}: expected HH:MM, got {value!r}") from exc


def _intervals(raw: object, what: str) -> tuple[TimeInterval, ...]:
    out = []
    for k, iv in enumerate(_as_list(raw, what)):
        if not isinstance(iv, Mapping):
            raise FeatureError(f"{what}[{k}]: expected an object with start/end")
        try:
            out.append(TimeInterval(parse_datetime(iv.get("start"), f"{what}[{k}].start"),
                                    parse_datetime(iv.get("end"), f"{what}[{k}].end")))
        except ValueError as exc:
            raise FeatureError(f"{what}[{k}]: {exc}") from exc
    return tuple(out)


def schedule_from_json(raw: object, what: str = "schedule") -> Schedule | None:
    """JSON object -> Schedule (null -> None)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise FeatureError(f"{what}: expected an object or null")
    weekly = []
    for k, w in enumerate(_as_list(raw.get("weekly", []), f"{what}.weekly")):
        if not isinstance(w, Mapping):
            raise FeatureError(f"{what}.weekly[{k}]: expected an object")
        days = set()
        for d in _as_list(w.get("days"), f"{what}.weekly[{k}].days"):
            if d not in DAY_NAMES:
                raise FeatureError(f"{what}.weekly[{k}].days: unknown day {d!r} (expected one of {', '.join(DAY_NAMES)})")
            days.add(DAY_NAMES.index(d) + 1)
        try:
            weekly.append(WeeklyWindow(frozenset(days), _parse_time(w.get("start"), f"{what}.weekly[{k}].start"),
                                       _parse_time(w.get("end"), f"{what}.weekly[{k}].end")))
        except FeatureError:
            raise
        except ValueError as exc:
            raise FeatureError(f"{what}.weekly[{k}]: {exc}") from exc
    tz = raw.get("timezone", "Asia/Shanghai")
    if not isinstance(tz, str):
        raise FeatureError(f"{what}.timezone: expected a string")
    return Schedule(
        weekly=tuple(weekly),
        activations=_intervals(raw.get("activations", []), f"{what}.activations"),
        deactivations=_intervals(raw.get("deactivations", []), f"{what}.deactivations"),
        timezone=tz,
    )


# ---------------------------------------------------------------- property helpers


def _as_list(raw: object, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise FeatureError(f"{what}: expected a list, got {raw!r}")
    return raw


def _req(props: Mapping[str, Any], key: str) -> Any:
    if key not in props or props[key] is None:
        raise FeatureError(f"missing required property '{key}'")
    return props[key]


def _str(props: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = _req(props, key) if required else props.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeatureError(f"property '{key}': expected a string, got {value!r}")
    return value


def _num(props: Mapping[str, Any], key: str) -> float:
    value = _req(props, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeatureError(f"property '{key}': expected a number, got {value!r}")
    return float(value)


def _enum(enum: type[E], props: Mapping[str, Any], key: str) -> E:
    value = _req(props, key)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise FeatureError(f"property '{key}': unknown value {value!r} (expected one of {allowed})") from None


def _categories(props: Mapping[str, Any], key: str) -> frozenset[AircraftCategory]:
    raw = props.get(key, [])
    out = set()
    for c in _as_list(raw if raw is not None else [], f"property '{key}'"):
        try:
            out.add(AircraftCategory(c))
        except ValueError:
            allowed = ", ".join(m.value for m in AircraftCategory)
            raise FeatureError(f"property '{key}': unknown category {c!r} (expected one of {allowed})") from None
    return frozenset(out)


def _altitude(props: Mapping[str, Any], prefix: str) -> Altitude:
    return Altitude(_num(props, f"{prefix}_m"), _enum(AltitudeReference, props, f"{prefix}_ref"))


def _alt_props(prefix: str, a: Altitude) -> Json:
    return {f"{prefix}_m": a.value_m, f"{prefix}_ref": a.reference.value}


def _sorted_values(items: Iterable[StrEnum | str]) -> list[str]:
    return sorted(str(i) for i in items)


def _geometry(feature: Mapping[str, Any], kinds: tuple[type, ...]) -> Any:
    raw = feature.get("geometry")
    if not isinstance(raw, Mapping):
        raise FeatureError("missing geometry")
    try:
        geom = shape(raw)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad input
        raise FeatureError(f"unreadable geometry: {exc}") from exc
    if not isinstance(geom, kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise FeatureError(f"geometry type {geom.geom_type} (expected {names})")
    return geom


def feature_id(feature: Mapping[str, Any]) -> str | None:
    """Best-effort id of a raw feature (properties.id, else Feature id)."""
    props = feature.get("properties") or {}
    fid = props.get("id") if isinstance(props, Mapping) else None
    fid = fid if fid is not None else feature.get("id")
    return None if fid is None else str(fid)


def _props(feature: Mapping[str, Any]) -> Mapping[str, Any]:
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        raise FeatureError("missing properties object")
    return props


# ---------------------------------------------------------------- per type


def volume_to_feature(v: Volume) -> Json:
    props: Json = {
        "id": v.id, "name_zh": v.name_zh, "name_en": v.name_en,
        "class": v.airspace_class.value, "kind": v.kind.value,
        **_alt_props("floor", v.floor), **_alt_props("ceiling", v.ceiling),
        "allowed_categories": _sorted_values(v.allowed_categories),
        "schedule": schedule_to_json(v.schedule),
        "provenance": v.provenance.value, "source": v.source, "notes": v.notes,
    }
    return {"type": "Feature", "id": v.id, "geometry": mapping(v.polygon), "properties": props}


def volume_from_feature(feature: Mapping[str, Any]) -> Volume:
    p = _props(feature)
    poly: Area = _geometry(feature, (Polygon, MultiPolygon))
    return Volume(
        id=_str(p, "id"), name_zh=_str(p, "name_zh"), name_en=_str(p, "name_en"), polygon=poly,
        floor=_altitude(p, "floor"), ceiling=_altitude(p, "ceiling"),
        airspace_class=_enum(AirspaceClass, p, "class"), kind=_enum(VolumeKind, p, "kind"),
        allowed_categories=_categories(p, "allowed_categories"),
        schedule=schedule_from_json(p.get("schedule")),
        provenance=_enum(Provenance, p, "provenance"), source=_str(p, "source"),
        notes=_str(p, "notes", required=False),
    )


def vertiport_to_feature(v: Vertiport) -> Json:
    props: Json = {
        "id": v.id, "name_zh": v.name_zh, "name_en": v.name_en, "kind": v.kind.value,
        "elevation_m": v.elevation_m, "capacity_per_15min": v.capacity_per_15min,
        "opening_hours": schedule_to_json(v.opening_hours),
        "allowed_categories": _sorted_values(v.allowed_categories),
        "provenance": v.provenance.value, "source": v.source,
    }
    return {"type": "Feature", "id": v.id, "geometry": mapping(v.point), "properties": props}


def vertiport_from_feature(feature: Mapping[str, Any]) -> Vertiport:
    p = _props(feature)
    cap = _num(p, "capacity_per_15min")
    if cap != int(cap) or cap < 0:
        raise FeatureError(f"property 'capacity_per_15min': expected a non-negative integer, got {cap:g}")
    return Vertiport(
        id=_str(p, "id"), name_zh=_str(p, "name_zh"), name_en=_str(p, "name_en"),
        kind=_enum(VertiportKind, p, "kind"), point=_geometry(feature, (Point,)),
        elevation_m=_num(p, "elevation_m"), capacity_per_15min=int(cap),
        opening_hours=schedule_from_json(p.get("opening_hours"), "opening_hours"),
        allowed_categories=_categories(p, "allowed_categories"),
        provenance=_enum(Provenance, p, "provenance"), source=_str(p, "source"),
    )


def route_to_feature(r: Route) -> Json:
    props: Json = {
        "id": r.id, "name_zh": r.name_zh, "name_en": r.name_en, "kind": r.kind.value,
        "direction": r.direction.value, "half_width_m": r.half_width_m,
        **_alt_props("floor", r.floor), **_alt_props("ceiling", r.ceiling),
        "allowed_categories": _sorted_values(r.allowed_categories),
        "schedule": schedule_to_json(r.schedule),
        "from_id": r.from_id, "to_id": r.to_id, "crossings": sorted(r.crossings),
        "class": r.airspace_class.value,
        "provenance": r.provenance.value, "source": r.source,
    }
    return {"type": "Feature", "id": r.id, "geometry": mapping(r.centreline), "properties": props}


def route_from_feature(feature: Mapping[str, Any]) -> Route:
    p = _props(feature)
    half = _num(p, "half_width_m")
    if half <= 0:
        raise FeatureError(f"property 'half_width_m': must be positive, got {half:g}")
    crossings = p.get("crossings") or []
    return Route(
        id=_str(p, "id"), name_zh=_str(p, "name_zh"), name_en=_str(p, "name_en"),
        kind=_enum(RouteKind, p, "kind"), centreline=_geometry(feature, (LineString,)),
        half_width_m=half, floor=_altitude(p, "floor"), ceiling=_altitude(p, "ceiling"),
        direction=_enum(RouteDirection, p, "direction"),
        allowed_categories=_categories(p, "allowed_categories"),
        schedule=schedule_from_json(p.get("schedule")),
        from_id=p.get("from_id"), to_id=p.get("to_id"),
        crossings=frozenset(str(c) for c in _as_list(crossings, "property 'crossings'")),
        airspace_class=_enum(AirspaceClass, p, "class") if "class" in p else AirspaceClass.G,
        provenance=_enum(Provenance, p, "provenance"), source=_str(p, "source"),
    )


def restriction_to_feature(r: Restriction) -> Json:
    props: Json = {
        "id": r.id, "name_zh": r.name_zh, "name_en": r.name_en, "reason": r.reason.value,
        **_alt_props("floor", r.floor), **_alt_props("ceiling", r.ceiling),
        "start": _fmt_dt(r.start), "end": _fmt_dt(r.end), "created_by": r.created_by,
        "exempt_categories": _sorted_values(r.exempt_categories), "source": r.source,
    }
    return {"type": "Feature", "id": r.id, "geometry": mapping(r.polygon), "properties": props}


def restriction_from_feature(feature: Mapping[str, Any]) -> Restriction:
    p = _props(feature)
    try:
        return Restriction(
            id=_str(p, "id"), reason=_enum(RestrictionReason, p, "reason"),
            polygon=_geometry(feature, (Polygon, MultiPolygon)),
            floor=_altitude(p, "floor"), ceiling=_altitude(p, "ceiling"),
            start=parse_datetime(_req(p, "start"), "property 'start'"),
            end=parse_datetime(_req(p, "end"), "property 'end'"),
            created_by=_str(p, "created_by"), name_zh=_str(p, "name_zh", required=False),
            name_en=_str(p, "name_en", required=False),
            exempt_categories=_categories(p, "exempt_categories"), source=_str(p, "source", required=False),
        )
    except FeatureError:
        raise
    except ValueError as exc:
        raise FeatureError(str(exc)) from exc


# ---------------------------------------------------------------- collections

Item = Volume | Vertiport | Route | Restriction


def to_feature(item: Item) -> Json:
    """One model object -> GeoJSON Feature."""
    if isinstance(item, Volume):
        return volume_to_feature(item)
    if isinstance(item, Vertiport):
        return vertiport_to_feature(item)
    if isinstance(item, Route):
        return route_to_feature(item)
    return restriction_to_feature(item)


def to_geojson(items: Iterable[Item], metadata: Mapping[str, Any] | None = None) -> Json:
    """Model objects -> RFC 7946 FeatureCollection (with an optional ``metadata`` member)."""
    fc: Json = {"type": "FeatureCollection"}
    if metadata:
        fc["metadata"] = dict(metadata)
    fc["features"] = [to_feature(i) for i in items]
    return fc


PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    VOLUMES_FILE: volume_from_feature,
    POINTS_FILE: vertiport_from_feature,
    ROUTES_FILE: route_from_feature,
    RESTRICTIONS_FILE: restriction_from_feature,
}


def read_feature_collection(path: Path) -> Json:
    """Read and minimally check a FeatureCollection file (raises AirspaceDataError)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AirspaceDataError(path.name, None, f"cannot read JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise AirspaceDataError(path.name, None, "not a GeoJSON FeatureCollection")
    return doc


def parse_features(path: Path, parser: Callable[[Mapping[str, Any]], T]) -> tuple[list[T], Json]:
    """Parse every feature of one file, raising AirspaceDataError on the first bad one."""
    doc = read_feature_collection(path)
    out = []
    for f in doc["features"]:
        try:
            out.append(parser(f))
        except FeatureError as exc:
            raise AirspaceDataError(path.name, feature_id(f), str(exc)) from exc
    return out, doc.get("metadata") or {}


def load_airspace(path: str | Path) -> AirspaceSet:
    """Load ``<path>/{volumes,points,routes}.geojson`` (+ optional restrictions.geojson).

    Parses only; run :func:`lowalt.airspace.validate.validate_airspace` for the full checks.
    Raises :class:`AirspaceDataError` naming the file and feature on the first parse error.
    """
    folder = Path(path)
    metadata: dict[str, dict[str, object]] = {}
    loaded: dict[str, list[Any]] = {}
    for name, parser in PARSERS.items():
        fp = folder / name
        if not fp.exists():
            if name == RESTRICTIONS_FILE:
                loaded[name] = []
                continue
            raise AirspaceDataError(name, None, f"file missing in {folder}")
        loaded[name], metadata[name] = parse_features(fp, parser)
    return AirspaceSet(
        area=folder.name,
        volumes=tuple(loaded[VOLUMES_FILE]),
        vertiports=tuple(loaded[POINTS_FILE]),
        routes=tuple(loaded[ROUTES_FILE]),
        restrictions=tuple(loaded[RESTRICTIONS_FILE]),
        metadata=metadata,
    )


def dump_airspace(aset: AirspaceSet, path: str | Path, metadata: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Write an AirspaceSet as GeoJSON files (restrictions.geojson only if there are any)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**aset.metadata, **(metadata or {})}
    groups: list[tuple[str, Sequence[Item]]] = [
        (VOLUMES_FILE, aset.volumes), (POINTS_FILE, aset.vertiports), (ROUTES_FILE, aset.routes),
    ]
    if aset.restrictions:
        groups.append((RESTRICTIONS_FILE, aset.restrictions))
    for name, items in groups:
        fc = to_geojson(items, meta.get(name))
        (folder / name).write_text(json.dumps(fc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
