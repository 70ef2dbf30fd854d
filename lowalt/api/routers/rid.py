"""Network Remote ID display-provider query (ASTM F3411-22a ``GetFlightsResponse``); see lowalt.feeds.rid."""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from lowalt.api import authz
from lowalt.api.auth import require
from lowalt.api.deps import live_service
from lowalt.api.guard import access_of
from lowalt.api.schemas import RIDFlights, documented
from lowalt.feeds.rid import flights_response, parse_view
from lowalt.identity.model import Principal, Role
from lowalt.surveillance.reports import Source

router = APIRouter(tags=["remote id"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER, Role.CENTRE, Role.OPERATOR))]
DRONE_SOURCES = (int(Source.TELEMETRY), int(Source.RID))


@router.get("/rid/flights", response_model=None, responses=documented(RIDFlights),
            summary="Remote ID flights in a view (F3411-22a GetFlightsResponse; drones only)")
async def rid_flights(request: Request, principal: Viewer,
                      view: Annotated[str, Query(max_length=120, description="lat1,lng1,lat2,lng2")]) -> dict[str, Any]:
    try:
        w, s, e, n = parse_view(view)
    except ValueError as exc:
        raise HTTPException(413 if "limit" in str(exc) else 422, f"view: {exc}") from exc
    live = live_service(request)
    snap = live._full_snapshot()
    access = access_of(request.scope)

    def org_of(aircraft_id: str) -> str | None:
        info = live.aircraft.get(aircraft_id)
        return info.organisation if info is not None else None

    inside = (snap.lon >= w) & (snap.lon <= e) & (snap.lat >= s) & (snap.lat <= n) & np.isin(snap.source, DRONE_SOURCES)
    landed = snap.landed if snap.landed is not None else np.zeros(snap.n, dtype=np.bool_)
    rows = [{"id": snap.ids[k], "t": float(snap.t[k]), "lon": float(snap.lon[k]), "lat": float(snap.lat[k]),
             "alt": float(snap.alt[k]), "vx": float(snap.vx[k]), "vy": float(snap.vy[k]), "vz": float(snap.vz[k]),
             "landed": bool(landed[k])}
            for k in np.flatnonzero(inside) if authz.may_see_aircraft(principal, access, snap.ids[k], org_of)]
    feeds = getattr(request.app.state, "feeds", None)
    return flights_response(rows, time.time(), geoid_undulation_m=feeds.config.geoid_undulation_m if feeds else 0.0)
