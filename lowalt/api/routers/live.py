"""Aircraft registration, current tracks, track history, alerts, and Prometheus metrics."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from lowalt.aircraft_category import AircraftCategory
from lowalt.api import authz
from lowalt.api.auth import CurrentPrincipal, require
from lowalt.api.deps import app_metrics, live_service
from lowalt.api.errors import ApiError
from lowalt.api.guard import access_of
from lowalt.api.media import GeoJSONResponse
from lowalt.api.schemas import AircraftOut, Alert, FeatureCollection, RegisteredAircraft, documented
from lowalt.coordination import feed_scope
from lowalt.identity.model import Principal, Role
from lowalt.live.service import AircraftInfo, LiveService
from lowalt.store import aircraft_repo, identity_repo, live_repo

router = APIRouter(tags=["live"])
log = logging.getLogger(__name__)

Viewer = Annotated[Principal, Depends(require(Role.VIEWER, Role.CENTRE, Role.OPERATOR))]
Centre = Annotated[Principal, Depends(require(Role.CENTRE))]
Watcher = Annotated[Principal, Depends(require(Role.VIEWER, Role.CENTRE, Role.OPERATOR, Role.POLICE, Role.MILITARY,
                                               Role.ATC))]
"""Who reads alerts: the map's roles and the parties (#19), each its scope (``lowalt.coordination.feed_scope``)."""


class NewAircraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
    category: Annotated[AircraftCategory, Field(description="the category in law and for separation")]
    registration: Annotated[str | None, Field(max_length=64)] = None
    organisation: Annotated[str | None, Field(max_length=200, description="centre/admin only; operators "
                                                                          "register for their own")] = None
    device: Annotated[str | None, Field(max_length=120, description="name of the device user bound to it")] = None


def _live(request: Request) -> LiveService:
    return live_service(request)


@router.post("/aircraft", status_code=201, response_model=RegisteredAircraft,
             summary="Register an aircraft (operator: for its own organisation)")
async def register_aircraft(body: NewAircraft, request: Request,
                            principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE))]
                            ) -> dict[str, Any]:
    org = principal.organisation if principal.role is Role.OPERATOR else (body.organisation or principal.organisation)
    async with request.app.state.db.unit_of_work() as uow:
        device_id = None
        if body.device:
            device = await identity_repo.user_info(uow.conn, body.device)
            if device is None or not authz.device_binding_allowed(principal, device, org):
                # the same answer whether the user does not exist or is not this organisation's device
                raise HTTPException(422, f"device: no device user {body.device!r} in organisation {org!r}")
            device_id = int(device["id"])  # type: ignore[call-overload]
        try:
            await aircraft_repo.add_aircraft(uow.conn, body.id, category=body.category.value, organisation=org,
                                             registration=body.registration, device_user_id=device_id)
        except aircraft_repo.DuplicateAircraft:
            raise HTTPException(409, f"id: aircraft id {body.id!r} is not available; choose another") from None
        await uow.commit()
    _live(request).register_aircraft(AircraftInfo(body.id, body.category.value, org, device_id))
    return {"id": body.id, "category": body.category.value, "organisation": org, "device": body.device}


@router.get("/aircraft", response_model=list[AircraftOut], summary="Registered aircraft (operators see their own organisation's)")
async def list_aircraft(request: Request, principal: Viewer) -> list[dict[str, Any]]:
    org = principal.organisation if principal.role is Role.OPERATOR else None
    async with request.app.state.db.unit_of_work() as uow:
        rows = await aircraft_repo.list_aircraft(uow.conn, org)
    return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
                                 description="Why (kept in the aircraft's audit trail)")]


class AircraftAuditEntry(BaseModel):
    id: int
    aircraft_id: str
    action: Literal["suspend", "reinstate"]
    reason: str
    by_user: str
    at: datetime


class AircraftSuspension(BaseModel):
    id: str
    suspended: bool
    audit: AircraftAuditEntry = Field(description="The audit row this change added")


AircraftId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]


async def _suspend(request: Request, aircraft_id: str, suspended: bool, reason: str, by: Principal
                   ) -> AircraftSuspension:
    """Set the flag and audit it in one transaction; then tell this node's live picture (and, through
    the bus, the others) and drop cached token checks so the aircraft's device token is refused at once
    here and within the cache time (2 s) on other nodes."""
    async with request.app.state.db.unit_of_work() as uow:
        try:
            audit = await aircraft_repo.set_suspended(uow.conn, aircraft_id, suspended, by_user=by.name, reason=reason)
        except aircraft_repo.UnknownAircraft:
            raise ApiError(404, f"aircraft_id: no aircraft {aircraft_id!r}", f"aircraft_id：没有航空器 {aircraft_id!r}",
                           field="aircraft_id") from None
        row = await aircraft_repo.get_aircraft(uow.conn, aircraft_id)
        await uow.commit()
    assert row is not None
    _live(request).register_aircraft(AircraftInfo(row["id"], row["category"], row["organisation"],
                                                  row["device_user_id"], suspended))
    request.app.state.auth.forget()
    log.info("aircraft_suspended" if suspended else "aircraft_reinstated",
             extra={"aircraft": aircraft_id, "by": by.name})
    return AircraftSuspension(id=aircraft_id, suspended=suspended, audit=AircraftAuditEntry(**audit))


@router.post("/aircraft/{aircraft_id}/suspend", response_model=AircraftSuspension,
             summary="Suspend an aircraft (centre): its device token is refused (403, open sockets close 4403), "
                     "its reports get an error frame, filing for it is refused (409); audited")
async def suspend_aircraft(aircraft_id: AircraftId, body: SuspensionIn, request: Request, principal: Centre
                           ) -> AircraftSuspension:
    return await _suspend(request, aircraft_id, True, body.reason, principal)


@router.post("/aircraft/{aircraft_id}/reinstate", response_model=AircraftSuspension,
             summary="Lift an aircraft's suspension (centre); audited")
async def reinstate_aircraft(aircraft_id: AircraftId, body: SuspensionIn, request: Request, principal: Centre
                             ) -> AircraftSuspension:
    return await _suspend(request, aircraft_id, False, body.reason, principal)


@router.get("/aircraft/{aircraft_id}/audit", response_model=list[AircraftAuditEntry],
            summary="Who suspended or reinstated an aircraft, when and why (centre)")
async def aircraft_audit(aircraft_id: AircraftId, request: Request, _: Centre) -> list[AircraftAuditEntry]:
    async with request.app.state.db.unit_of_work() as uow:
        if await aircraft_repo.get_aircraft(uow.conn, aircraft_id) is None:
            raise ApiError(404, f"aircraft_id: no aircraft {aircraft_id!r}", f"aircraft_id：没有航空器 {aircraft_id!r}",
                           field="aircraft_id")
        rows = await aircraft_repo.audit_trail(uow.conn, aircraft_id)
    return [AircraftAuditEntry(**r) for r in rows]


def _org_of(request: Request) -> authz.OrgOf:
    registry = _live(request).aircraft

    def org_of(aircraft_id: str) -> str | None:
        info = registry.get(aircraft_id)
        return info.organisation if info is not None else None

    return org_of


@router.get("/tracks", response_class=GeoJSONResponse, response_model=None, responses=documented(FeatureCollection),
            summary="Current live tracks (GeoJSON points); operators: their own aircraft")
async def current_tracks(request: Request, principal: Viewer) -> dict[str, Any]:
    live = _live(request)
    snap = live._full_snapshot()
    access, org_of = access_of(request.scope), _org_of(request)
    feats = [
        {"type": "Feature", "id": aid,
         "geometry": {"type": "Point", "coordinates": [float(snap.lon[k]), float(snap.lat[k]), float(snap.alt[k])]},
         "properties": {"id": aid, "alt_amsl_m": float(snap.alt[k]), "vx": float(snap.vx[k]), "vy": float(snap.vy[k]),
                        "vz": float(snap.vz[k]), "t": float(snap.t[k]), "cooperative": bool(snap.cooperative[k]),
                        "status": live.statuses.get(aid, "unknown")}}
        for k, aid in enumerate(snap.ids) if authz.may_see_aircraft(principal, access, aid, org_of)
    ]
    return {"type": "FeatureCollection", "features": feats}


def _parse_time(value: str | None, field: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(422, f"{field}: not an ISO 8601 time: {value!r}") from exc
    if dt.tzinfo is None:
        raise HTTPException(422, f"{field}: needs a UTC offset, e.g. 2026-11-24T08:00:00Z")
    return dt


@router.get("/tracks/{aircraft_id}/history", response_class=GeoJSONResponse, response_model=None,
            responses=documented(FeatureCollection),
            summary="Track history from PostGIS as GeoJSON; operators: their own aircraft only")
async def track_history(
    aircraft_id: Annotated[str, Path(max_length=120)], request: Request, principal: Viewer,
    from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    end = _parse_time(to, "to", now + timedelta(minutes=1))
    start = _parse_time(from_, "from", end - timedelta(hours=1))
    if end <= start:
        raise HTTPException(422, "to: must be after from")
    if not authz.may_see_aircraft(principal, access_of(request.scope), aircraft_id, _org_of(request)):
        raise HTTPException(404, f"no history for aircraft {aircraft_id!r}")  # as for an unknown id
    async with request.app.state.db.unit_of_work() as uow:
        rows = await live_repo.track_history(uow.conn, aircraft_id, start, end)
    coords = [[r["lon"], r["lat"], r["alt_amsl"]] for r in rows]
    features: list[dict[str, Any]] = []
    if len(coords) >= 2:
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                         "properties": {"aircraft": aircraft_id, "kind": "track", "points": len(coords)}})
    features += [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": c},
         "properties": {"aircraft": aircraft_id, "kind": "report",
                        "t": datetime.fromtimestamp(r["t_epoch"], tz=UTC).isoformat(), "alt_amsl_m": r["alt_amsl"],
                        "vx": r["vx"], "vy": r["vy"], "vz": r["vz"], "src": r["src"]}}
        for c, r in zip(coords, rows, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


@router.get("/alerts", response_model=None, responses=documented(list[Alert]),
            summary="Active alerts (from memory), or the alert log (?log=true, from PostGIS); operators: their "
                    "aircraft's; police, military, ATC: their party's, as on /ws/live")
async def alerts(request: Request, principal: Watcher, log: bool = False,
                 state: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None) -> list[dict[str, Any]]:
    scope, org_of = feed_scope.scope_of(principal.role, principal.organisation), _org_of(request)
    if not log:
        return feed_scope.visible_alerts(scope, await _live(request).current_alerts(), org_of)  # type: ignore[return-value]
    async with request.app.state.db.unit_of_work() as uow:
        rows = await live_repo.list_alerts(uow.conn, state=state)
    shown = feed_scope.visible_alerts(scope, rows, org_of)
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in shown]


@router.post("/alerts/{alert_id}/ack", response_model=None, responses=documented(Alert), summary="Acknowledge an alert (centre)")
async def acknowledge(alert_id: str, request: Request, principal: Centre) -> dict[str, Any]:
    live = _live(request)
    alert = await live.acknowledge(alert_id, principal.name, time.time())
    if alert is None:
        raise HTTPException(404, f"no active alert {alert_id!r}")
    return alert


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics", tags=["health"])
async def metrics(request: Request) -> str:
    return app_metrics(request).render()


__all__ = ["router", "CurrentPrincipal"]
