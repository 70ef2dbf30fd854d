"""The notification stream on a real server: the displaced operator hears of it, others don't."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from websockets.asyncio.client import connect

from tests.conftest import Server, auth
from tests.filing.conftest import plan_body, soon


async def _frames(ws: Any, timeout: float = 3.0) -> list[dict[str, Any]]:
    out = []
    try:
        while True:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
            timeout = 0.3
    except TimeoutError:
        return out


async def test_withdrawn_operator_is_notified_over_websocket(server: Server, make_token: Any) -> None:
    tours = await make_token("operator", organisation="浮梁文旅")
    rescue = await make_token("operator", organisation="景德镇急救中心")
    other = await make_token("operator", organisation="别家")
    for token, aid, cat in ((tours, "FL-001", "light_uav"), (rescue, "MED-1", "small_uav")):
        r = await server.http.post("/aircraft", headers=auth(token), json={"id": aid, "category": cat})
        assert r.status_code == 201
    start = soon(15)
    commercial = (await server.http.post("/plans", headers=auth(tours), json=plan_body("FL-001", start=start))).json()
    async with connect(f"{server.ws_url}/ws/plans?token={tours}") as ws_tours, \
            connect(f"{server.ws_url}/ws/plans?token={other}") as ws_other:
        assert json.loads(await ws_tours.recv())["type"] == "subscribed"
        assert json.loads(await ws_other.recv())["type"] == "subscribed"
        r = await server.http.post("/plans", headers=auth(rescue), json=plan_body(
            "MED-1", "small_uav", start=start, mission="emergency_rescue", urgent=True, licence_id="L-1"))
        assert r.json()["state"] == "approved"
        got = await _frames(ws_tours)
        assert [(f["type"], f["plan_id"], f["to_state"]) for f in got] == [
            ("plan_state", commercial["id"], "withdrawn"), ("plan_preempted", commercial["id"], "withdrawn")]  # #19
        assert got[0]["details"]["preempted_by"] == "another-organisation"  # not whose (docs/security.md)
        assert got[0]["details"]["alternatives"][0]["kind"] == "time"
        assert await _frames(ws_other, 0.5) == []


async def test_websocket_needs_a_token(server: Server) -> None:
    async with connect(f"{server.ws_url}/ws/plans") as ws:
        assert json.loads(await ws.recv())["code"] == "unauthorized"


async def test_weather_warning_withdrawal_reaches_the_operator_over_websocket(server: Server,
                                                                             make_token: Any) -> None:
    tours = await make_token("operator", organisation="浮梁文旅")
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    r = await server.http.post("/aircraft", headers=auth(tours), json={"id": "FL-001", "category": "light_uav"})
    assert r.status_code == 201
    start = soon(60)
    plan = (await server.http.post("/plans", headers=auth(tours), json=plan_body("FL-001", start=start))).json()
    assert plan["state"] == "approved"
    async with connect(f"{server.ws_url}/ws/plans?token={tours}") as ws:
        assert json.loads(await ws.recv())["type"] == "subscribed"
        w = await server.http.post("/weather/warnings", headers=auth(centre), json={
            "kind": "wind", "value": 18, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
        assert w.status_code == 201, w.text
        got = await _frames(ws)
    assert [(f["plan_id"], f["to_state"]) for f in got] == [(plan["id"], "withdrawn")]
    assert got[0]["details"]["kind"] == "wind" and got[0]["details"]["message_zh"]
