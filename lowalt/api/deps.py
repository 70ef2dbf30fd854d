"""Typed FastAPI dependencies for the services the app factory keeps on ``app.state``.

``app.state`` is an untyped bag: reading ``request.app.state.live`` gives ``Any``, which routers
used to paper over with ``# type: ignore``. Each function here reads one service, checks its type
(so a missing or wrong service is a clear 503, not an ``AttributeError`` deep in a handler) and
returns it typed; the ``Annotated`` aliases let an endpoint declare what it needs::

    @router.get("/tracks")
    async def tracks(live: Live) -> ...

The functions take an ``HTTPConnection`` so websocket endpoints and plain helpers can use them too.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from lowalt.filing.service import FilingService
from lowalt.live.service import LiveService
from lowalt.metrics import Metrics
from lowalt.services.airspace import AirspaceService
from lowalt.store.db import Database

T = TypeVar("T")


def app_service(conn: HTTPConnection, name: str, kind: type[T]) -> T:
    """``conn.app.state.<name>`` as a ``kind``; 503 naming the service when it is not (yet) there."""
    svc = getattr(conn.app.state, name, None)
    if not isinstance(svc, kind):
        raise HTTPException(503, f"service unavailable: {name} is not running")
    return svc


def live_service(conn: HTTPConnection) -> LiveService:
    return app_service(conn, "live", LiveService)


def filing_service(conn: HTTPConnection) -> FilingService:
    return app_service(conn, "filing", FilingService)


def airspace_service(conn: HTTPConnection) -> AirspaceService:
    return app_service(conn, "airspace", AirspaceService)


def app_metrics(conn: HTTPConnection) -> Metrics:
    return app_service(conn, "metrics", Metrics)


def database(conn: HTTPConnection) -> Database:
    return app_service(conn, "db", Database)


Live = Annotated[LiveService, Depends(live_service)]
Filing = Annotated[FilingService, Depends(filing_service)]
Airspace = Annotated[AirspaceService, Depends(airspace_service)]
AppMetrics = Annotated[Metrics, Depends(app_metrics)]
Db = Annotated[Database, Depends(database)]
