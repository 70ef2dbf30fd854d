"""Routers get the app's services through the typed dependencies of ``lowalt.api.deps``, never by
reading the untyped ``app.state`` bag behind a ``type: ignore``."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from lowalt.api.deps import Live
from lowalt.live.service import LiveService
from tests.conftest import REPO

UNTYPED = re.compile(r"app\.state\.\w+.*#\s*type:\s*ignore")
SERVICE_READ = re.compile(r"request\.app\.state\.(live|filing|airspace|metrics|coordination)\b")


def test_no_router_reads_app_state_behind_a_type_ignore() -> None:
    found = [f"{p.relative_to(REPO)}:{k}" for p in sorted((REPO / "lowalt" / "api").rglob("*.py"))
             for k, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if UNTYPED.search(line) or (p.parent.name == "routers" and SERVICE_READ.search(line))]
    assert not found, f"use lowalt.api.deps instead: {found}"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/n")
    async def n(live: Live) -> int:
        return len(live.aircraft)

    return app


@pytest.mark.parametrize("value", [None, object(), "live"])
async def test_a_missing_or_wrong_service_is_a_503_naming_it(value: object) -> None:
    app = _app()
    app.state.live = value
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.get("/n")
    assert r.status_code == 503 and "live" in r.text


async def test_the_service_is_handed_over_typed() -> None:
    app = _app()
    app.state.live = LiveService.__new__(LiveService)
    app.state.live.aircraft = {"A": object()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.get("/n")).json() == 1
