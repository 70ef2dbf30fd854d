"""Airspace REST: GeoJSON FeatureCollections, temporary restrictions, and point queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import numpy as np
import shapely
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import box, shape
from shapely.validation import explain_validity

from lowalt.airspace.ed269 import to_ed269
from lowalt.airspace.geojson import to_feature
from lowalt.airspace.model import AircraftCategory, Restriction, RestrictionReason
from lowalt.airspace.validate import SERVICE_AREA_BBOX
from lowalt.api.auth import CurrentPrincipal, require
from lowalt.api.deps import airspace_service
from lowalt.api.media import GeoJSONResponse
from lowalt.api.schemas import ED269, AirspaceVerdict, Deleted, Feature, FeatureCollection, documented
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.identity.model import Principal, Role
from lowalt.services.airspace import AirspaceService, DuplicateRestriction

router = APIRouter(prefix="/airspace", tags=["airspace"])
Centre = Annotated[Principal, Depends(require(Role.CENTRE))]


def _service(request: Request) -> AirspaceService:
    return airspace_service(request)


At = Annotated[str | None, Query(description="An instant with its UTC offset (RFC 3339); default now",
                                 json_schema_extra={"format": "date-time"})]


def parse_at(value: str | None) -> datetime:
    """An RFC 3339 instant (``T``/``t`` separator, ``Z``/``z`` or an offset); naive times are refused."""
    if value is None:
        return datetime.now(UTC)
    v = value.strip()
    if len(v) > 10 and v[10] == "t":
        v = f"{v[:10]}T{v[11:]}"
    try:
        t = datetime.fromisoformat(v[:-1] + "+00:00" if v[-1:] in ("Z", "z") else v)
    except ValueError as exc:
        raise HTTPException(422, f"at: not an ISO 8601 time: {value!r}") from exc
    if t.tzinfo is None:
        raise HTTPException(422, "at: needs a UTC offset, e.g. 2026-11-24T08:00:00+08:00")
    return t


def parse_bbox(value: str | None) -> shapely.Geometry | None:
    if value is None:
        return None
    try:
        w, s, e, n = (float(v) for v in value.split(","))
    except ValueError as exc:
        raise HTTPException(422, "bbox: four numbers west,south,east,north") from exc
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise HTTPException(422, "bbox: needs -180 <= west < east <= 180 and -90 <= south < north <= 90")
    return box(w, s, e, n)


def _collection(items: list[Any], geoms: list[Any], flags: list[tuple[str, bool]] | None,
                bbox: shapely.Geometry | None, at: datetime) -> dict[str, Any]:
    feats = []
    keep = np.ones(len(items), dtype=bool) if bbox is None or not items else shapely.intersects(
        np.array(geoms, dtype=object), bbox)
    for k, item in enumerate(items):
        if not keep[k]:
            continue
        f = to_feature(item)
        if flags is not None:
            f["properties"][flags[k][0]] = flags[k][1]
        feats.append(f)
    return {"type": "FeatureCollection", "metadata": {"at": at.isoformat()}, "features": feats}


@router.get("/volumes", response_class=GeoJSONResponse, response_model=None, responses=documented(FeatureCollection),
            summary="Airspace volumes (layers, controlled/restricted/no-fly areas) as GeoJSON")
async def volumes(request: Request, _: CurrentPrincipal, at: At = None,
                  bbox: str | None = None) -> dict[str, Any]:
    t, b = parse_at(at), parse_bbox(bbox)
    vols = list(_service(request).index.airspace.volumes)
    return _collection(vols, [v.polygon for v in vols], [("active", v.is_active(t)) for v in vols], b, t)


@router.get("/points", response_class=GeoJSONResponse, response_model=None, responses=documented(FeatureCollection),
            summary="Take-off/landing points (起降点) as GeoJSON")
async def points(request: Request, _: CurrentPrincipal, at: At = None,
                 bbox: str | None = None) -> dict[str, Any]:
    t, b = parse_at(at), parse_bbox(bbox)
    pts = list(_service(request).index.airspace.vertiports)
    return _collection(pts, [p.point for p in pts], [("open", p.is_open(t)) for p in pts], b, t)


@router.get("/routes", response_class=GeoJSONResponse, response_model=None, responses=documented(FeatureCollection),
            summary="Routes: centrelines (or corridor polygons with ?geometry=corridor) as GeoJSON")
async def routes(request: Request, _: CurrentPrincipal, at: At = None, bbox: str | None = None,
                 geometry: Literal["centreline", "corridor"] = "centreline") -> dict[str, Any]:
    from lowalt.airspace.schedule import is_active

    t, b = parse_at(at), parse_bbox(bbox)
    rts = list(_service(request).index.airspace.routes)
    fc = _collection(rts, [r.centreline for r in rts], [("active", is_active(r.schedule, t)) for r in rts], b, t)
    if geometry == "corridor":
        by_id = {r.id: r for r in rts}
        for f in fc["features"]:
            f["geometry"] = shapely.geometry.mapping(by_id[f["id"]].corridor())
    return fc


@router.get("/restrictions", response_class=GeoJSONResponse, response_model=None,
            responses=documented(FeatureCollection), summary="Temporary restrictions active at ?at= (default now), or all current ones")
async def list_restrictions(request: Request, _: CurrentPrincipal, at: At = None,
                            bbox: str | None = None, all: bool = False) -> dict[str, Any]:
    t, b = parse_at(at), parse_bbox(bbox)
    rs = [r for r in _service(request).index.restrictions if all or r.is_active(t)]
    return _collection(rs, [r.polygon for r in rs], [("active", r.is_active(t)) for r in rs], b, t)


class LimitIn(BaseModel):
    value_m: Annotated[float, Field(ge=-500, le=20_000)]
    ref: AltitudeReference


class NewRestriction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str | None, Field(max_length=120, pattern=r"^[\w.:-]+$")] = None
    reason: RestrictionReason
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat (RFC 7946)")
    floor: LimitIn
    ceiling: LimitIn
    start: datetime | None = Field(default=None, description="default: now (takes effect at once)")
    end: datetime
    name_zh: Annotated[str, Field(max_length=200)] = ""
    name_en: Annotated[str, Field(max_length=200)] = ""
    exempt_categories: list[AircraftCategory] = []
    source: Annotated[str, Field(max_length=500)] = ""


def _restriction_geometry(raw: dict[str, Any]) -> shapely.Geometry:
    if raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise HTTPException(422, "geometry: must be a GeoJSON Polygon or MultiPolygon")
    try:
        geom = shape(raw)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise HTTPException(422, f"geometry: not valid GeoJSON: {exc}") from exc
    if geom.is_empty or not geom.is_valid:
        raise HTTPException(422, f"geometry: invalid polygon ({explain_validity(geom)})")
    w, s, e, n = SERVICE_AREA_BBOX
    if not geom.intersects(box(w, s, e, n)):
        hint = " (lon/lat swapped?)" if shapely.transform(geom, lambda c: c[:, ::-1]).intersects(box(w, s, e, n)) else ""
        raise HTTPException(422, f"geometry: outside the service area {SERVICE_AREA_BBOX}{hint}")
    return geom


@router.post("/restrictions", status_code=201, response_model=None, responses=documented(Feature, 201),
            summary="Issue a temporary restriction (centre); effective at once")
async def create_restriction(body: NewRestriction, request: Request, principal: Centre) -> dict[str, Any]:
    geom = _restriction_geometry(body.geometry)
    start = body.start or datetime.now(UTC)
    for name, t in (("start", start), ("end", body.end)):
        if t.tzinfo is None:
            raise HTTPException(422, f"{name}: needs a UTC offset")
    if body.end <= start:
        raise HTTPException(422, "end: must be after start")
    if body.floor.ref == body.ceiling.ref and body.floor.value_m >= body.ceiling.value_m:
        raise HTTPException(422, "floor: must be below ceiling")
    svc = _service(request)
    r = Restriction(
        id=body.id or svc.new_restriction_id(), reason=body.reason, polygon=geom,
        floor=Altitude(body.floor.value_m, body.floor.ref), ceiling=Altitude(body.ceiling.value_m, body.ceiling.ref),
        start=start, end=body.end, created_by=principal.name, name_zh=body.name_zh, name_en=body.name_en,
        exempt_categories=frozenset(body.exempt_categories), source=body.source,
    )
    try:
        await svc.add_restriction(r)
    except DuplicateRestriction as exc:
        raise HTTPException(409, str(exc)) from exc
    return to_feature(r)


@router.delete("/restrictions/{restriction_id}", response_model=Deleted,
            summary="Lift a temporary restriction (centre)")
async def delete_restriction(restriction_id: str, request: Request, _: Centre) -> dict[str, Any]:
    if not await _service(request).remove_restriction(restriction_id):
        raise HTTPException(404, f"no current restriction {restriction_id!r}")
    return {"id": restriction_id, "deleted": True}


@router.get("/query", response_model=AirspaceVerdict,
            summary="What is allowed at a point, altitude and time for a category")
async def query(
    request: Request, _: CurrentPrincipal,
    lon: Annotated[float, Query(ge=-180, le=180)], lat: Annotated[float, Query(ge=-90, le=90)],
    alt: Annotated[float, Query(ge=-500, le=20_000, description="metres")],
    category: AircraftCategory, ref: AltitudeReference = AltitudeReference.AGL, at: At = None,
) -> dict[str, Any]:
    t = parse_at(at)
    index = _service(request).index
    c = index.classify([lon], [lat], [alt], ref, category, t)
    return {
        "verdict": c.verdicts()[0].value, "reason": c.reasons()[0].value, "volume": c.responsible_ids()[0],
        "containing_active": c.containing_ids(0, active_only=True), "containing": c.containing_ids(0),
        "altitude_amsl_m": round(float(c.altitude_amsl[0]), 1),
        "terrain_m": None if not np.isfinite(c.terrain_m[0]) else round(float(c.terrain_m[0]), 1),
        "at": t.isoformat(), "category": category.value,
    }


@router.get("/ed269", response_model=None, responses=documented(ED269),
            summary="Volumes and restrictions as EUROCAE ED-269 UAS geographical zones")
async def ed269(request: Request, _: CurrentPrincipal) -> dict[str, Any]:
    index = _service(request).index
    return to_ed269(index.airspace.volumes, index.restrictions)
