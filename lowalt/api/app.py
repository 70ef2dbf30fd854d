"""The FastAPI app factory: the composition root for HTTP and websocket entrypoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lowalt import __version__
from lowalt.api.auth import Authenticator
from lowalt.api.errors import install_error_handlers
from lowalt.api.routers import health, users
from lowalt.settings import Settings
from lowalt.store.db import Database, open_database

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the app. With ``db`` given (tests), the caller owns it; otherwise start-up opens it."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.db is None
        if owned:
            app.state.db = await open_database(settings)
            app.state.auth = Authenticator(app.state.db)
        log.info("server_started", extra={"version": __version__})
        try:
            yield
        finally:
            if owned:
                await app.state.db.close(stop_cluster=False)
            log.info("server_stopped")

    app = FastAPI(
        title="lowalt",
        version=__version__,
        description="Low-altitude airspace operations for the Jingdezhen / Fuliang coordination centre "
                    "(景德镇浮梁通航协调运行中心).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.auth = Authenticator(db) if db is not None else None
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(users.router)
    return app
