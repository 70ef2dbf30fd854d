"""Browser tests of the live map: Debian's chromium driven by Playwright (Python) against a real server.

The server is ``tests/conftest.py``'s (uvicorn in this event loop, fresh PostGIS database);
traffic is sent over ``/ws/telemetry`` by :class:`Traffic` below, as a fleet gateway would.
Chromium comes from Debian (``scripts/bootstrap.sh`` installs it); Playwright's own browser
downloads are never used. Without /usr/bin/chromium the tests are skipped, not failed, unless
``LOWALT_REQUIRE_BROWSER=1`` or ``CI=true`` makes that an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from tests.conftest import REPO, Server, auth

CHROMIUM = os.environ.get("LOWALT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
    "--enable-unsafe-swiftshader",  # WebGL on SwiftShader (no GPU here); chromium >= 137 asks for this flag
    "--use-angle=swiftshader",
]
ARTIFACTS = REPO / "artifacts"
CENTRE = (117.23, 29.26)  # open countryside south-east of the city
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        return f"{CHROMIUM} not installed (scripts/bootstrap.sh installs Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("LOWALT_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield b
    finally:
        await b.close()
        await pw.stop()


@dataclass
class PageWatch:
    """Every request the page makes, and every script error or console error."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        from urllib.parse import urlsplit

        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS and f"[{parts.hostname}]" not in LOCAL_HOSTS:
                out.append(url)
        return out


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[tuple[Any, PageWatch]]:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN",
                                    timezone_id="Asia/Shanghai")
    watch = PageWatch()
    pg = await ctx.new_page()
    pg.on("request", lambda r: watch.requests.append(r.url))
    pg.on("pageerror", lambda e: watch.errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: watch.errors.append(f"console: {m.text}") if m.type == "error" else None)
    try:
        yield pg, watch
    finally:
        await ctx.close()


def lonlat(dx: float, dy: float, origin: tuple[float, float] = CENTRE) -> tuple[float, float]:
    from lowalt.geo.crs import to_local, to_wgs84

    x0, y0 = to_local(np.array([origin[0]]), np.array([origin[1]]))
    lon, lat = to_wgs84(x0 + dx, y0 + dy)
    return float(lon[0]), float(lat[0])


@dataclass
class Flight:
    """Straight and level from (x0, y0) metres off CENTRE at (vx, vy) m/s, from t0."""

    id: str
    x0: float
    y0: float
    vx: float
    vy: float
    alt: float = 150.0
    t0: float = field(default_factory=time.time)

    def report(self, now: float) -> dict[str, Any]:
        dt = now - self.t0
        lon, lat = lonlat(self.x0 + self.vx * dt, self.y0 + self.vy * dt)
        return {"id": self.id, "t": now, "lon": lon, "lat": lat, "alt": self.alt, "ref": "AMSL",
                "vx": self.vx, "vy": self.vy}


class Traffic:
    """A fleet gateway: every ``period`` s, one batch with a report for each flight over /ws/telemetry."""

    def __init__(self, srv: Server, token: str, period: float = 0.5) -> None:
        self.server = srv
        self.token = token
        self.period = period
        self.flights: dict[str, Flight] = {}
        self.sent = 0
        self.rejected = 0
        self._task: asyncio.Task[None] | None = None

    def add(self, *flights: Flight) -> None:
        for f in flights:
            self.flights[f.id] = f

    async def __aenter__(self) -> Traffic:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(f"{self.server.ws_url}/ws/telemetry?token={self.token}") as ws:
            while True:
                now = time.time()
                frame = [f.report(now) for f in list(self.flights.values())]
                if frame:
                    await ws.send(orjson.dumps(frame).decode())
                    ack = orjson.loads(await ws.recv())
                    while ack.get("type") != "ack":
                        ack = orjson.loads(await ws.recv())
                    self.sent += len(frame)
                    self.rejected += ack["rejected"]
                await asyncio.sleep(self.period)


async def register(srv: Server, make_token: Any, org: str, aircraft: dict[str, str]) -> tuple[str, str]:
    """An operator with its aircraft and a device token for them: (operator token, device token)."""
    op = await make_token("operator", organisation=org)
    for aid, cat in aircraft.items():
        r = await srv.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": cat})
        assert r.status_code == 201, r.text
    return op, await make_token("device", organisation=org)


def ring(n: int, radius: float = 2500.0, speed: float = 15.0, prefix: str = "FLT") -> list[Flight]:
    """n aircraft spread on a circle, flying tangentially (well apart: no conflicts among them)."""
    out = []
    for k in range(n):
        a = 2 * math.pi * k / n
        out.append(Flight(f"{prefix}-{k:02d}", radius * math.cos(a), radius * math.sin(a),
                          -speed * math.sin(a), speed * math.cos(a), alt=120.0 + 10 * k))
    return out


async def wait_js(page: Any, expr: str, timeout: float = 15.0) -> Any:
    """Poll a JS expression until truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        v = await page.evaluate(expr)
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expr}")
        await asyncio.sleep(0.2)
