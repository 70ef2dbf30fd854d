"""Liveness and database health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lowalt import __version__
from lowalt.api.schemas import Health, documented

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Server and database health", response_model=None,
            responses={**documented(Health), **documented(Health, 503, "The database is down")})
async def healthz(request: Request) -> JSONResponse:
    """200 with ``database: up`` when PostGIS answers; 503 with ``database: down`` otherwise.

    ``status`` is ``degraded`` (still 200) when the live path has a problem the database being up
    does not show, e.g. track points PostGIS refused (listed under ``live``).
    """
    up = await request.app.state.db.ping()
    live = getattr(request.app.state, "live", None)
    issues = live.health() if live is not None else {}
    status = "ok" if up and not issues else "degraded"
    body: dict[str, object] = {"status": status, "database": "up" if up else "down", "version": __version__}
    if issues:
        body["live"] = issues
    return JSONResponse(body, status_code=200 if up else 503)
