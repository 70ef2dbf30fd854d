"""The FastAPI app factory: the composition root for HTTP and websocket entrypoints."""

from __future__ import annotations

import functools
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI

from lowalt import __version__
from lowalt.api import ws
from lowalt.api.auth import Authenticator
from lowalt.api.errors import ERROR_RESPONSES, install_error_handlers
from lowalt.api.guard import Guard
from lowalt.api.limits import Limits
from lowalt.api.routers import airspace, health, live, users
from lowalt.metrics import HttpMetrics, Metrics
from lowalt.settings import Settings
from lowalt.store.db import Database, open_database

log = logging.getLogger(__name__)


async def start_services(app: FastAPI) -> None:
    """Build the domain services on the open database and start their loops."""
    from lowalt.live.wiring import build_live_service
    from lowalt.services.airspace import AirspaceService, load_terrain

    settings: Settings = app.state.settings
    terrain = load_terrain(settings.dem_path)
    app.state.airspace = await AirspaceService.open(app.state.db, settings.airspace_dir, terrain)
    from lowalt.bus import open_bus

    settings = replace(settings, node_id=settings.node_id or uuid.uuid4().hex[:12])  # one name per start
    app.state.bus = open_bus(settings.nats_url, settings.node_id or "")
    await app.state.bus.start()
    app.state.live = await build_live_service(settings, app.state.db, app.state.metrics,
                                              airspace=app.state.airspace.index, bus=app.state.bus)
    app.state.airspace.listeners.append(app.state.live.intrusion_cache.invalidate)
    # -- filing service: start here (lowalt.filing) --
    from lowalt.services.filing import build_filing_service

    app.state.filing = await build_filing_service(settings, app.state.db, getattr(app.state, "airspace", None))
    _connect_plans_to_monitor(app, terrain)
    from lowalt.services.coordination import start_coordination  # three parties (issue #19)

    app.state.coordination = await start_coordination(app)
    await app.state.live.start()
    from lowalt.services.analytics_rollup import start_rollup  # analytics roll-up (issue #20)

    app.state.analytics_rollup = start_rollup(settings, app.state.db.url)
    if settings.feeds_file is not None:  # real device feeds (lowalt.feeds): off unless configured
        from lowalt.feeds.config import load_feeds
        from lowalt.feeds.endpoints import FeedEndpoints

        app.state.feeds = FeedEndpoints(load_feeds(settings.feeds_file), app.state.live, app.state.metrics)
        await app.state.feeds.start()
    freeze_long_lived()


@functools.cache
def freeze_long_lived() -> None:
    """Once per process, after the services' first start: what exists now (the plans on file, their
    footprints and the filing index, the airspace, the registry, the modules) lives as long as the process,
    so it leaves the cyclic collector's generations (``gc.freeze``). A full collection walked it all: with
    10,000 plans on file a pause of about 200 ms on the event loop, which every filing decision in flight
    waited out (docs/filing.md). Frozen objects are still freed by reference counting when released; only
    garbage in reference cycles that exists at this moment is never collected (once, at start-up). A
    process-wide setting, so it lives in the composition root, not in one service."""
    gc.freeze()


def _connect_plans_to_monitor(app: FastAPI, terrain: object) -> None:
    """Conformance, unauthorised flight and lost contact need the approved plans; first telemetry
    inside an approved window activates the plan."""
    from lowalt.live.plans import FilingPlanSource

    source = FilingPlanSource(app.state.filing)
    live = app.state.live
    live.monitor.plan_source = source
    live.monitor.terrain = terrain
    live.before_tick.append(source.refresh)
    live.on_snapshot.append(source.activate_flying)


async def stop_services(app: FastAPI) -> None:
    if getattr(app.state, "analytics_rollup", None) is not None:
        await app.state.analytics_rollup.stop()
    if getattr(app.state, "feeds", None) is not None:
        await app.state.feeds.stop()
    if getattr(app.state, "auth", None) is not None:
        await app.state.auth.stop()
    if getattr(app.state, "coordination", None) is not None:
        await app.state.coordination.stop()
    if getattr(app.state, "filing", None) is not None:
        await app.state.filing.stop()
    if getattr(app.state, "live", None) is not None:
        await app.state.live.stop()
    if getattr(app.state, "bus", None) is not None:
        await app.state.bus.close()


def create_app(settings: Settings | None = None, *, db: Database | None = None,
               limits: Limits | None = None) -> FastAPI:
    """Build the app. With ``db`` given (tests), the caller owns it; otherwise start-up opens it.
    Every request passes :class:`lowalt.api.guard.Guard` (authorisation, body and frame limits) first."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.db is None
        if owned:
            app.state.db = await open_database(settings)
            app.state.auth = Authenticator(app.state.db)
        await start_services(app)
        log.info("server_started", extra={"version": __version__})
        try:
            yield
        finally:
            await stop_services(app)
            if owned:
                await app.state.db.close(stop_cluster=False)
            log.info("server_stopped")

    app = FastAPI(
        title="lowalt",
        version=__version__,
        description="Low-altitude airspace operations for the Jingdezhen / Fuliang coordination centre "
                    "(景德镇浮梁通航协调运行中心).",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from bundled assets by lowalt.api.routers.web (offline)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.auth = Authenticator(db) if db is not None else None
    app.state.metrics = Metrics()
    app.state.live = None
    install_error_handlers(app)
    if settings.nats_url:  # innermost: a telemetry ack waits for JetStream (lowalt.bus.ackgate)
        from lowalt.bus.ackgate import DurableAckGate

        app.add_middleware(DurableAckGate)
    app.add_middleware(Guard, limits=limits or Limits())  # authorisation and limits before any work
    app.add_middleware(HttpMetrics, metrics=app.state.metrics)  # outermost: latency of every request
    app.include_router(health.router, responses={503: ERROR_RESPONSES[503]})
    app.include_router(users.router, responses=ERROR_RESPONSES)
    app.include_router(live.router, responses=ERROR_RESPONSES)
    app.include_router(airspace.router, responses=ERROR_RESPONSES)
    app.include_router(ws.router)
    from lowalt.api.routers import web

    app.include_router(web.router)
    from lowalt.api.routers import plans

    app.include_router(plans.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import rid  # network Remote ID display-provider query (lowalt.feeds.rid)

    app.include_router(rid.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import pilots  # the operator portal's pilot register (issue #22)

    app.include_router(pilots.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import analytics  # capacity and utilisation analytics (issue #20)

    app.include_router(analytics.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import fleet  # the operator portal's aircraft edits (issue #22)

    app.include_router(fleet.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import replay  # replay by area (issue 17)

    app.include_router(replay.router, responses=ERROR_RESPONSES)
    from lowalt.api.routers import coordination  # three-party coordination (issue #19)

    app.include_router(coordination.router, responses=ERROR_RESPONSES)
    return app
