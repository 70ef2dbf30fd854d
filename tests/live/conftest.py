"""A real server (uvicorn, in this event loop) on a fresh PostGIS database, and websocket helpers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest
import uvicorn

from lowalt.settings import Settings
from lowalt.store.db import Database


@dataclass
class Server:
    url: str
    ws_url: str
    app: object
    http: httpx.AsyncClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(database: Database, settings: Settings) -> AsyncIterator[Server]:
    from lowalt.api.app import create_app

    port = _free_port()
    app = create_app(replace(settings, tick_s=0.5), db=database)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
                            ws_max_size=16 * 1024 * 1024)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app, http)
    srv.should_exit = True
    await asyncio.wait_for(task, 15)
