"""Flight plans (``/plans``), the centre's queue, weather warnings, and ``/ws/plans`` notifications.

Wire types live here and only here; they are converted to :class:`FlightPlan` by
functions below. Bodies are read with a size cap (422 on ``body`` beyond ``MAX_BODY``, before
parsing) and validated into field-level 422s: GeoJSON (RFC 7946, [lon, lat]) geometry validity,
zero-length routes, swapped coordinates, inverted windows and bands, unknown enums.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from shapely.geometry import LineString, Point, Polygon, mapping, shape
from starlette.websockets import WebSocketDisconnect

from lowalt.airspace.model import AircraftCategory
from lowalt.api import authz
from lowalt.api.auth import accept_websocket, require
from lowalt.api.deps import filing_service
from lowalt.api.errors import ApiError, error_body, inline_defs
from lowalt.api.guard import access_of
from lowalt.api.schemas import PlanOut, WarningOut, documented
from lowalt.filing.model import FlightPlan, MissionType, PlanState
from lowalt.filing.rules import WeatherWarning
from lowalt.filing.service import (
    ApprovalRefused,
    Filer,
    FilingService,
    IdempotencyMismatch,
    PlanNotFound,
    TransitionRefused,
    WarningNotFound,
    new_plan_id,
)
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.identity.model import Principal, Role
from lowalt.store import aircraft_repo

router = APIRouter(tags=["plans"])

MAX_BODY = 1 << 20
MAX_VERTICES = 5000
Operator = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE))]
Centre = Annotated[Principal, Depends(require(Role.CENTRE))]
Anyone = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE, Role.VIEWER))]


# ------------------------------------------------------------------ wire types


class AltitudeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value_m: Annotated[float, Field(ge=-500, le=20000, description="metres above the reference")]
    reference: AltitudeReference


class BandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    floor: AltitudeIn
    ceiling: AltitudeIn

    @model_validator(mode="after")
    def _ordered(self) -> BandIn:
        if self.floor.reference is self.ceiling.reference and self.floor.value_m >= self.ceiling.value_m:
            raise ValueError("ceiling: must be above floor")
        return self


def _check_position(pos: Any, where: str) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) not in (2, 3) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
        raise ValueError(f"{where}: a position is [longitude, latitude] (numbers)")
    lon, lat = float(pos[0]), float(pos[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = " (looks like [latitude, longitude]; RFC 7946 wants [longitude, latitude])" \
            if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise ValueError(f"{where}: position {pos} out of range{hint}")
    return lon, lat


class GeometryIn(BaseModel):
    """A GeoJSON LineString (route) or Polygon (operating area), RFC 7946 [lon, lat]."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["LineString", "Polygon"]
    coordinates: list[Any]
    bbox: list[float] | None = None
    """RFC 7946 §5 bounding box (accepted, not used)."""

    @model_validator(mode="after")
    def _valid(self) -> GeometryIn:
        if self.type == "LineString":
            pts = [_check_position(p, "coordinates") for p in self.coordinates]
            if len(pts) < 2:
                raise ValueError("coordinates: a route needs at least 2 positions")
            if len(pts) > MAX_VERTICES:
                raise ValueError(f"coordinates: at most {MAX_VERTICES} positions")
            if LineString(pts).length == 0:
                raise ValueError("coordinates: the route has zero length")
        else:
            if not self.coordinates or not all(isinstance(r, list) for r in self.coordinates):
                raise ValueError("coordinates: a polygon is a list of linear rings")
            total = 0
            for ring in self.coordinates:
                pts = [_check_position(p, "coordinates") for p in ring]
                total += len(pts)
                if len(pts) < 4 or pts[0] != pts[-1]:
                    raise ValueError("coordinates: each ring needs >= 4 positions and must be closed")
            if total > MAX_VERTICES:
                raise ValueError(f"coordinates: at most {MAX_VERTICES} positions")
            poly = shape({"type": "Polygon", "coordinates": self.coordinates})
            if not poly.is_valid:
                raise ValueError(f"coordinates: invalid polygon ({shapely.is_valid_reason(poly)})")
            if poly.area == 0:
                raise ValueError("coordinates: the polygon has zero area")
        return self

    def to_shape(self) -> LineString | Polygon:
        return shape({"type": self.type, "coordinates": self.coordinates})


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: list[Any]
    bbox: list[float] | None = None

    @field_validator("coordinates")
    @classmethod
    def _pos(cls, v: list[Any]) -> list[Any]:
        _check_position(v, "coordinates")
        return v


class PlanIn(BaseModel):
    """A flight plan (operational intent) as filed."""

    model_config = ConfigDict(extra="forbid")
    aircraft_id: Annotated[str, Field(min_length=1, max_length=64)]
    category: AircraftCategory
    pilot: Annotated[str, Field(min_length=1, max_length=120)]
    licence_id: Annotated[str | None, Field(max_length=64)] = None
    mission: MissionType
    geometry: GeometryIn
    half_width_m: Annotated[float, Field(gt=0, le=10000, description="route corridor half-width")] = 50.0
    altitude: BandIn
    takeoff: PointIn | None = None
    landing: PointIn | None = None
    start: AwareDatetime
    end: AwareDatetime
    flags: list[Literal["relay_network", "dangerous_goods", "drops_objects", "over_crowds", "moving_vehicle",
                        "swarm"]] = []
    corridor_id: Annotated[str | None, Field(max_length=120)] = None
    urgent: bool = False
    organisation: Annotated[str | None, Field(max_length=200, description="centre only")] = None

    @model_validator(mode="after")
    def _window(self) -> PlanIn:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Annotated[str, Field(max_length=2000)] = ""


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=2000)] = ""


class WarningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["thunderstorm", "wind", "visibility", "precipitation"]
    start: AwareDatetime
    end: AwareDatetime
    value: float | None = None
    area: GeometryIn | None = None
    text: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _window(self) -> WarningIn:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


def _warning_out(w: WeatherWarning, affected: list[str] | None = None) -> dict[str, Any]:
    out = {"id": w.id, "kind": w.kind, "start": _utc(w.start), "end": _utc(w.end), "value": w.value,
           "area": mapping(w.area) if w.area is not None else None, "text": w.text}
    if affected is not None:
        out["affected_plans"] = affected
    return out


# ------------------------------------------------------------------ helpers


def _svc(request: Request | WebSocket) -> FilingService:
    return filing_service(request)


def _filer(p: Principal) -> Filer:
    return Filer(p.name, p.organisation, p.has_role(Role.CENTRE))


async def _body(request: Request, model: type[BaseModel]) -> Any:
    """Read at most MAX_BODY bytes and validate; errors name fields under ``body``."""
    too_big = RequestValidationError([{"loc": ("body",), "type": "too_large",
                                       "msg": f"request body larger than {MAX_BODY} bytes (a plan needs far less)"}])
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise too_big  # refused before reading it
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_big
        chunks.append(chunk)
    raw = b"".join(chunks) or b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            loc = ("body", *e.get("loc", ()))
            msg = str(e.get("msg", ""))
            # "field: message" from a model validator names the field itself
            if msg.startswith("Value error, ") and ": " in msg[13:]:
                name, _, rest = msg[13:].partition(": ")
                if " " not in name:
                    loc, msg = (*loc, name), rest
            errors.append({"loc": loc, "msg": msg, "type": e.get("type", "value_error")})
        raise RequestValidationError(errors) from None


def _utc(t: datetime) -> str:
    """Every instant leaves in UTC, ISO 8601 with ``+00:00`` (requests may use any offset)."""
    return t.astimezone(UTC).isoformat()


def request_hash(body: BaseModel) -> str:
    """SHA-256 of the validated body in canonical JSON (sorted keys, defaults filled in), so the same
    plan sent with other whitespace, key order or offsets hashes alike and any change does not."""
    canon = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def _alt(a: Altitude) -> dict[str, Any]:
    return {"value_m": a.value_m, "reference": a.reference.value}


def plan_out(p: FlightPlan, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id, "state": p.state.value, "organisation": p.organisation, "submitted_by": p.submitted_by,
        "aircraft_id": p.aircraft_id, "category": p.category.value, "pilot": p.pilot, "licence_id": p.licence_id,
        "mission": p.mission.value, "priority": int(p.priority), "geometry": mapping(p.geometry),
        "half_width_m": p.half_width_m, "altitude": {"floor": _alt(p.floor), "ceiling": _alt(p.ceiling)},
        "takeoff": mapping(p.takeoff), "landing": mapping(p.landing), "start": _utc(p.start),
        "end": _utc(p.end), "flags": sorted(p.flags), "corridor_id": p.corridor_id, "urgent": p.urgent,
        "decision": p.decision, "decide_by": p.decision.get("decide_by"),
        "created_at": _utc(p.created_at) if p.created_at else None,
        "updated_at": _utc(p.updated_at) if p.updated_at else None,
    }
    if events is not None:
        out["events"] = events
    return out


def to_plan(body: PlanIn, principal: Principal) -> FlightPlan:
    org = principal.organisation
    if body.organisation is not None and body.organisation != org:
        if not principal.has_role(Role.CENTRE):
            raise RequestValidationError([{"loc": ("body", "organisation"), "type": "forbidden_field",
                                           "msg": "only the centre files for another organisation; leave it out"}])
        org = body.organisation
    if not org:
        raise HTTPException(422, "organisation: the filer has no organisation")
    geom = body.geometry.to_shape()
    first = Point(geom.coords[0]) if isinstance(geom, LineString) else geom.exterior.centroid
    last = Point(geom.coords[-1]) if isinstance(geom, LineString) else first
    return FlightPlan(
        id=new_plan_id(), organisation=org, submitted_by=principal.name, aircraft_id=body.aircraft_id,
        category=body.category, pilot=body.pilot, licence_id=body.licence_id, mission=body.mission,
        geometry=geom, half_width_m=body.half_width_m,
        floor=Altitude(body.altitude.floor.value_m, body.altitude.floor.reference),
        ceiling=Altitude(body.altitude.ceiling.value_m, body.altitude.ceiling.reference),
        takeoff=Point(body.takeoff.coordinates[:2]) if body.takeoff else first,
        landing=Point(body.landing.coordinates[:2]) if body.landing else last,
        start=body.start, end=body.end, flags=frozenset(body.flags), corridor_id=body.corridor_id,
        urgent=body.urgent,
    )


def _parse_bbox(v: str | None) -> tuple[float, float, float, float] | None:
    if v is None:
        return None
    try:
        parts = tuple(float(x) for x in v.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise HTTPException(422, "bbox: expected minlon,minlat,maxlon,maxlat (4 numbers)")
    w, s_, e, n = parts
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s_ <= 90 and -90 <= n <= 90):
        raise HTTPException(422, "bbox: out of range; expected minlon,minlat,maxlon,maxlat (lon first)")
    if not (w < e and s_ < n):
        raise HTTPException(422, "bbox: min must be below max (minlon,minlat,maxlon,maxlat); swapped corners?")
    return parts


# ------------------------------------------------------------------ endpoints

def _doc(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {
        "schema": inline_defs(model.model_json_schema())}}}}  # read by hand: not in components


_PLAN_SCHEMA = _doc(PlanIn)
_PLAN_ACTION: dict[str, Any] = {"response_model": None, "responses": documented(PlanOut)}


async def _refuse_suspended_aircraft(request: Request, plan: FlightPlan) -> None:
    """A plan for an aircraft the centre has suspended is refused before it is filed (409 naming
    ``aircraft_id``), and no plan is recorded. Only the owner learns of the suspension: another
    organisation's aircraft goes on to the registration rule (rejected as not registered to it)."""
    async with request.app.state.db.unit_of_work() as uow:
        row = await aircraft_repo.get_aircraft(uow.conn, plan.aircraft_id)
    if row is not None and row["suspended"] and row["organisation"] == plan.organisation:
        raise ApiError(409, f"aircraft_id: aircraft {plan.aircraft_id!r} is suspended by the coordination centre; "
                            "no plan can be filed for it until it is reinstated",
                       f"aircraft_id：航空器 {plan.aircraft_id!r} 已被管制中心暂停使用，恢复前不能为其申报飞行计划",
                       code="aircraft_suspended", field="aircraft_id")


@router.post("/plans", status_code=201, openapi_extra=_PLAN_SCHEMA, response_model=None,
             responses={**documented(PlanOut, 201), **documented(PlanOut, 200, "A replay of an Idempotency-Key")},
             summary="File a flight plan; the decision (approved/referred/rejected) is returned once committed")
async def submit_plan(request: Request, response: Response, principal: Operator,
                      idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> dict[str, Any]:
    body: PlanIn = await _body(request, PlanIn)
    plan_in = to_plan(body, principal)
    await _refuse_suspended_aircraft(request, plan_in)
    try:
        plan, replayed = await _svc(request).submit(plan_in, _filer(principal), idempotency_key,
                                                    request_hash(body) if idempotency_key else None)
    except IdempotencyMismatch as exc:
        raise RequestValidationError([{"loc": ("header", "Idempotency-Key"), "type": "idempotency_key_reused",
                                       "msg": f"key {exc.key!r} was already used with a different request body; "
                                              "use a new key for a changed plan"}]) from None
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _view(request, plan_out(plan))


@router.get("/plans", response_model=None, responses=documented(list[PlanOut]), summary="Plans: operators see their organisation's, the centre sees all")
async def list_plans(
    request: Request, principal: Operator,
    state: Annotated[str | None, Query(description="comma-separated states")] = None,
    start: Annotated[AwareDatetime | None, Query(description="overlapping windows ending after")] = None,
    end: Annotated[AwareDatetime | None, Query(description="overlapping windows starting before")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    states = [s for s in (state or "").split(",") if s]
    bad = [s for s in states if s not in set(PlanState)]
    if bad:
        raise HTTPException(422, f"state: unknown {bad[0]!r}; one of {', '.join(PlanState)}")
    plans = await _svc(request).list_plans(_filer(principal), states=states, start=start, end=end,
                                     bbox=_parse_bbox(bbox), limit=limit, offset=offset)
    return [_view(request, plan_out(p)) for p in plans]


def _not_found(plan_id: str) -> HTTPException:
    return HTTPException(404, f"plan {plan_id!r} not found")


@router.get("/plans/{plan_id}", response_model=None, responses=documented(PlanOut), summary="One plan with its decision, reasons and audit trail")
async def get_plan(plan_id: str, request: Request, principal: Operator) -> dict[str, Any]:
    try:
        plan, events = await _svc(request).get(plan_id, _filer(principal))
    except PlanNotFound:
        raise _not_found(plan_id) from None
    return _view(request, plan_out(plan, events))


def _view(request: Request | WebSocket, out: dict[str, Any]) -> dict[str, Any]:
    """An operator's view: other organisations' plan ids (conflicts, preemptions) redacted (lowalt.api.authz)."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and principal.has_role(Role.CENTRE):
        return out
    svc, org = _svc(request), getattr(principal, "organisation", None)
    public = {w.id for w in svc.weather}  # warning ids share the format and are public

    def keep(plan_id: str) -> bool:
        entry = svc.index.get(plan_id)
        return plan_id in (out.get("id"), out.get("plan_id")) or plan_id in public or (
            entry is not None and org is not None and entry.organisation == org)

    return authz.redact_foreign_plan_ids(out, keep)  # type: ignore[no-any-return]


async def _act(request: Request, plan_id: str, coro: Any) -> Any:
    try:
        plan = await coro
    except PlanNotFound:
        raise _not_found(plan_id) from None
    except ApprovalRefused as exc:
        body = error_body(409, str(exc), code="approval_refused")
        body["error"]["reasons"] = exc.reasons  # type: ignore[index]
        body["error"]["message_zh"] = exc.message_zh  # type: ignore[index]
        return JSONResponse(body, status_code=409)
    except TransitionRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return _view(request, plan_out(plan))


async def _parties_decide(request: Request, plan_id: str) -> None:
    """A plan routed to the parties (issue #19, lowalt.services.coordination) is approved by their combined
    decision, not at the centre desk: 409 naming who has still to decide."""
    coordination = getattr(request.app.state, "coordination", None)
    waiting = await coordination.awaiting(plan_id) if coordination is not None else []
    if waiting:
        from lowalt.api.errors import ApiError

        raise ApiError(409, f"plan_id: awaiting the decision of {', '.join(waiting)} "
                       f"(POST /coordination/approvals/{plan_id}/decision)", "plan_id：该计划须由各审批部门决定，尚待："
                       + "、".join(waiting), field="plan_id")


@router.post("/plans/{plan_id}/approve", openapi_extra=_doc(Comment, False), **_PLAN_ACTION,
             summary="Centre approves a referred plan (re-deconflicted now)")
async def approve_plan(plan_id: str, request: Request, principal: Centre) -> Any:
    body: Comment = await _body(request, Comment)
    await _parties_decide(request, plan_id)
    return await _act(request, plan_id, _svc(request).approve(plan_id, _filer(principal), body.comment))


@router.post("/plans/{plan_id}/reject", openapi_extra=_doc(Comment, False), **_PLAN_ACTION,
             summary="Centre rejects a referred plan")
async def reject_plan(plan_id: str, request: Request, principal: Centre) -> Any:
    body: Comment = await _body(request, Comment)
    return await _act(request, plan_id, _svc(request).reject(plan_id, _filer(principal), body.comment))


@router.post("/plans/{plan_id}/cancel", openapi_extra=_doc(CancelIn, False), **_PLAN_ACTION,
             summary="Cancel a plan (its operator or the centre)")
async def cancel_plan(plan_id: str, request: Request, principal: Operator) -> Any:
    body: CancelIn = await _body(request, CancelIn)
    return await _act(request, plan_id, _svc(request).cancel(plan_id, _filer(principal), body.reason))


@router.post("/plans/{plan_id}/activate", **_PLAN_ACTION, summary="Confirm readiness and activate (条例 Art. 30, within 1 h)")
async def activate_plan(plan_id: str, request: Request, principal: Operator) -> Any:
    return await _act(request, plan_id, _svc(request).activate(plan_id, _filer(principal)))


@router.post("/plans/{plan_id}/complete", **_PLAN_ACTION, summary="Mark an active plan completed (landed)")
async def complete_plan(plan_id: str, request: Request, principal: Operator) -> Any:
    return await _act(request, plan_id, _svc(request).complete(plan_id, _filer(principal)))


@router.post("/weather/warnings", status_code=201, openapi_extra=_doc(WarningIn), response_model=None,
             responses=documented(WarningOut, 201),
             summary="Centre posts a weather warning; approved/referred plans in its area and window are re-evaluated")
async def post_warning(request: Request, principal: Centre) -> dict[str, Any]:
    body: WarningIn = await _body(request, WarningIn)
    svc = _svc(request)
    if body.end - body.start > svc.policy.max_warning:
        hours = svc.policy.max_warning.total_seconds() / 3600
        raise RequestValidationError([{"loc": ("body", "end"), "type": "too_long",
                                       "msg": f"a warning lasts at most {hours:g} h (policy weather.max_warning_h); "
                                              "post a new one, or a restriction for a longer closure"}])
    w = WeatherWarning(new_plan_id(), body.kind, body.start, body.end, body.value,
                       body.area.to_shape() if body.area else None, body.text)
    affected = await svc.add_weather_warning(w, _filer(principal))
    return _warning_out(w, affected)


async def _end_warning(request: Request, warning_id: str, principal: Principal) -> dict[str, Any]:
    try:
        w = await _svc(request).end_weather_warning(warning_id, _filer(principal))
    except WarningNotFound:
        raise HTTPException(404, f"warning {warning_id!r} not found or already ended") from None
    return {**_warning_out(w), "ended": True}


@router.post("/weather/warnings/{warning_id}/end", response_model=None, responses=documented(WarningOut),
             summary="Centre ends a weather warning early")
async def end_warning(warning_id: str, request: Request, principal: Centre) -> dict[str, Any]:
    return await _end_warning(request, warning_id, principal)


@router.delete("/weather/warnings/{warning_id}", response_model=None, responses=documented(WarningOut),
               summary="Centre withdraws a weather warning (same as .../end)")
async def delete_warning(warning_id: str, request: Request, principal: Centre) -> dict[str, Any]:
    return await _end_warning(request, warning_id, principal)


@router.get("/weather/warnings", response_model=None, responses=documented(list[WarningOut]), summary="Weather warnings in force or ahead")
async def list_warnings(request: Request, _: Anyone) -> list[dict[str, Any]]:
    now = datetime.now(tz=UTC)
    return [_warning_out(w) for w in _svc(request).weather if w.end > now]


@router.websocket("/ws/plans")
async def plan_events(ws: WebSocket) -> None:
    """State changes as JSON frames; operators get their organisation's, the centre everything."""
    principal = await accept_websocket(ws, Role.OPERATOR, Role.CENTRE, Role.VIEWER,
                                       Role.MILITARY, Role.ATC)  # parties: the plans routed to them (#19)
    if principal is None:
        return
    everything = principal.has_role(Role.CENTRE, Role.VIEWER)
    async with _svc(ws).notifier.subscribe() as queue:
        await ws.send_json({"type": "subscribed", "scope": "all" if everything else principal.organisation})
        closed = asyncio.ensure_future(_drain(ws))
        try:
            while not closed.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                view = authz.plan_event_view(principal, access_of(ws.scope), getter.result().as_dict())
                if view is not None:  # operators: their organisation's; viewers: without free text
                    await ws.send_json(_view(ws, view))
        except WebSocketDisconnect:
            pass
        finally:
            closed.cancel()
            with contextlib.suppress(BaseException):
                await closed


async def _drain(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()

