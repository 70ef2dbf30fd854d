"""Liveness and database health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lowalt import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Server and database health")
async def healthz(request: Request) -> JSONResponse:
    """200 with ``database: up`` when PostGIS answers; 503 with ``database: down`` otherwise."""
    up = await request.app.state.db.ping()
    body = {"status": "ok" if up else "degraded", "database": "up" if up else "down", "version": __version__}
    return JSONResponse(body, status_code=200 if up else 503)
