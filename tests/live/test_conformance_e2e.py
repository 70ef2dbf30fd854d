"""Approved plans reach the live monitor: activation on first telemetry, conformance, unauthorised flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.conftest import Server, auth, wait_until
from tests.filing.conftest import plan_body

ON_ROUTE = (117.615, 29.31)  # middle of the filed route (open class W east of the city)
OFF_ROUTE = (117.615, 29.33)  # ~2 km north of it


def _at(aid: str, lon: float, lat: float) -> dict[str, Any]:
    return {"id": aid, "t": time.time(), "lon": lon, "lat": lat, "alt": 60, "ref": "AGL", "gs": 8, "trk": 60}


async def test_plan_activation_conformance_and_unauthorised(server: Server, make_token: Any) -> None:
    op = await make_token("operator", organisation="fleet-conf")
    device = await make_token("device", organisation="fleet-conf")
    viewer = await make_token("viewer")
    for aid in ("CONF-1", "ROGUE-1"):
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201
    opens = datetime.now(UTC) + timedelta(seconds=2)
    body = plan_body("CONF-1", start=opens, minutes=30)
    r = await server.http.post("/plans", headers=auth(op), json=body)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["state"] == "approved", plan["decision"]

    async def window_open() -> bool:
        return datetime.now(UTC) >= opens

    await wait_until(window_open, timeout=10, what="the plan's window to open")

    alerts: dict[str, dict[str, Any]] = {}
    statuses: dict[str, str] = {}

    async def ticks() -> float:
        text = (await server.http.get("/metrics")).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("lowalt_tick_total"))

    async def pump(live: Any, tele: Any, where: tuple[float, float], done: Callable[[], Awaitable[bool]],
                   what: str, timeout: float = 20.0) -> None:
        """Report both aircraft, paced by the live feed (every 0.2 s), until ``done()`` or ``timeout``."""
        deadline = time.monotonic() + timeout
        while not await done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: alerts {alerts}, statuses {statuses}")
            await tele.send(orjson.dumps([_at("CONF-1", *where), _at("ROGUE-1", 117.64, 29.28)]).decode())
            assert orjson.loads(await tele.recv())["accepted"] == 2
            msg = orjson.loads(await asyncio.wait_for(live.recv(), 10))
            while True:
                if msg["type"] == "alerts":
                    for a in msg["new"] + msg["updated"]:
                        alerts[a["id"]] = a
                elif msg["type"] in ("tracks", "snapshot"):
                    tr = msg["tracks"]
                    statuses.update(zip(tr["ids"], tr["st"], strict=True))
                try:
                    msg = orjson.loads(await asyncio.wait_for(live.recv(), 0.01))
                except TimeoutError:
                    break

    def kinds() -> set[tuple[str, str]]:
        return {(a["kind"], a["aircraft"][0]) for a in alerts.values()}

    def deviation() -> list[dict[str, Any]]:
        return [a for a in alerts.values() if a["kind"] == "nonconformance" and a["aircraft"] == ["CONF-1"]]

    async with connect(f"{server.ws_url}/ws/live?token={viewer}") as live, \
            connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        async def first_picture() -> bool:
            return (("unauthorised", "ROGUE-1") in kinds() and statuses.get("CONF-1") == "conforming"
                    and statuses.get("ROGUE-1") == "unauthorised")

        await pump(live, tele, ON_ROUTE, first_picture, "the rogue's alert and both statuses")
        assert not any(aid == "CONF-1" for _, aid in kinds()), alerts
        got = await server.http.get(f"/plans/{plan['id']}", headers=auth(op))
        assert got.json()["state"] == "active"  # first telemetry inside the window activated it
        async def deviating() -> bool:
            return bool(deviation()) and statuses.get("CONF-1") == "deviating"

        await pump(live, tele, OFF_ROUTE, deviating, "the deviation alert")
        assert deviation()[0]["details"]["reason"] == "outside_corridor"
        assert deviation()[0]["details"]["plan"] == plan["id"]
        # landed: the operator completes the plan while the track is still reporting
        done = await server.http.post(f"/plans/{plan['id']}/complete", headers=auth(op))
        assert done.status_code == 200, done.text
        after = await ticks()

        async def four_ticks_later() -> bool:
            return await ticks() >= after + 4

        await pump(live, tele, ON_ROUTE, four_ticks_later, "four ticks after completion")
        assert not [a for a in alerts.values() if a["kind"] == "unauthorised" and a["aircraft"] == ["CONF-1"]]
