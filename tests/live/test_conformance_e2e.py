"""Approved plans reach the live monitor: activation on first telemetry, conformance, unauthorised flight."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.conftest import Server, auth
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
    body = plan_body("CONF-1", start=datetime.now(UTC) + timedelta(seconds=2), minutes=30)
    r = await server.http.post("/plans", headers=auth(op), json=body)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["state"] == "approved", plan["decision"]
    await asyncio.sleep(2.5)  # the window opens

    alerts: dict[str, dict[str, Any]] = {}
    statuses: dict[str, str] = {}

    async def pump(live: Any, seconds: float, tele: Any, where: tuple[float, float]) -> None:
        end = time.time() + seconds
        while time.time() < end:
            await tele.send(orjson.dumps([_at("CONF-1", *where), _at("ROGUE-1", 117.64, 29.28)]).decode())
            assert orjson.loads(await tele.recv())["accepted"] == 2
            try:
                while True:
                    msg = orjson.loads(await asyncio.wait_for(live.recv(), 0.1))
                    if msg["type"] == "alerts":
                        for a in msg["new"] + msg["updated"]:
                            alerts[a["id"]] = a
                    elif msg["type"] in ("tracks", "snapshot"):
                        tr = msg["tracks"]
                        statuses.update(zip(tr["ids"], tr["st"], strict=True))
            except TimeoutError:
                pass
            await asyncio.sleep(0.2)

    async with connect(f"{server.ws_url}/ws/live?token={viewer}") as live, \
            connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        await pump(live, 3.0, tele, ON_ROUTE)
        kinds = {(a["kind"], a["aircraft"][0]) for a in alerts.values()}
        assert ("unauthorised", "ROGUE-1") in kinds
        assert not any(aid == "CONF-1" for _, aid in kinds), alerts
        assert statuses.get("CONF-1") == "conforming" and statuses.get("ROGUE-1") == "unauthorised"
        got = await server.http.get(f"/plans/{plan['id']}", headers=auth(op))
        assert got.json()["state"] == "active"  # first telemetry inside the window activated it
        await pump(live, 2.5, tele, OFF_ROUTE)
        deviation = [a for a in alerts.values() if a["kind"] == "nonconformance" and a["aircraft"] == ["CONF-1"]]
        assert deviation and deviation[0]["details"]["reason"] == "outside_corridor"
        assert deviation[0]["details"]["plan"] == plan["id"]
        assert statuses.get("CONF-1") == "deviating"
        # landed: the operator completes the plan while the track is still reporting
        done = await server.http.post(f"/plans/{plan['id']}/complete", headers=auth(op))
        assert done.status_code == 200, done.text
        await pump(live, 2.0, tele, ON_ROUTE)
        assert not [a for a in alerts.values() if a["kind"] == "unauthorised" and a["aircraft"] == ["CONF-1"]]
