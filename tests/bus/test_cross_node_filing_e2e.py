"""Centre inputs and plan events across two nodes (one PostGIS, one real nats-server).

A restriction or a weather warning issued on node A takes effect on node B (B's filing decides with
it, B's monitor watches the restriction), and a ``/ws/plans`` subscriber on node B sees the plan
events decided on node A. Carried by PostgreSQL NOTIFY in the deciding transaction, with B's
periodic catch-up reading ``airspace_restrictions`` and ``weather_warnings`` (docs/scale.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.db import Database
from tests.bus.conftest import NatsServer
from tests.conftest import auth, serving, wait_until
from tests.filing.conftest import OPEN_W_ROUTE, plan_body, soon

ORG = "跨节点文旅"


def _node(settings: Settings, nats: NatsServer, name: str, roles: str) -> Settings:
    return replace(settings, tick_s=0.5, nats_url=nats.url, node_id=name, node_roles=roles)


def _square(lon: float, lat: float, d: float = 0.03) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


@asynccontextmanager
async def _two_nodes(database: Database, settings: Settings, nats: NatsServer) -> AsyncIterator[tuple[Any, Any, Any]]:
    """Node A (monitor candidate) and node B on one database and one nats-server: (B's app, A, B)."""
    app_a = create_app(_node(settings, nats, "node-a", "monitor,history"), db=database)
    app_b = create_app(_node(settings, nats, "node-b", "history"), db=database)
    async with serving(app_a) as a, serving(app_b) as b:
        yield app_b, a, b


async def _operator(node: Any, make_token: Any, aircraft: tuple[str, ...]) -> str:
    """An operator of ORG with these light UAVs registered (on ``node``); returns its token."""
    op: str = await make_token("operator", organisation=ORG)
    for aid in aircraft:
        r = await node.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201, r.text
    return op


async def _event(ws: Any, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The first ``/ws/plans`` frame matching ``pred`` (waits on the condition, not on a clock)."""
    async def scan() -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if pred(frame):
                return frame

    return await asyncio.wait_for(scan(), timeout)


async def test_restriction_and_plan_events_from_node_a_take_effect_on_node_b(
        database: Database, settings: Settings, nats_server: NatsServer, make_token: Any) -> None:
    async with _two_nodes(database, settings, nats_server) as (app_b, a, b):
        op = await _operator(a, make_token, ("XN-1", "XN-2", "XN-3"))
        other = await make_token("operator", organisation="别家")
        centre = await make_token("centre", organisation="景德镇通航协调运行中心")
        start = soon(20)
        rid = "TR-XNODE-1"
        async with connect(f"{b.ws_url}/ws/plans?token={op}") as ws_b, \
                connect(f"{b.ws_url}/ws/plans?token={other}") as ws_other:
            assert json.loads(await ws_b.recv())["type"] == "subscribed"
            assert json.loads(await ws_other.recv())["type"] == "subscribed"
            p1 = (await a.http.post("/plans", headers=auth(op), json=plan_body("XN-1", start=start))).json()
            assert p1["state"] == "approved", p1
            # decided on A, seen on B's /ws/plans with the decision
            ev = await _event(ws_b, lambda f: f.get("plan_id") == p1["id"])
            assert (ev["type"], ev["from_state"], ev["to_state"]) == ("plan_state", "submitted", "approved")
            assert ev["details"]["decision"]["verdict"] == "approved"
            # a restriction issued on A over the plan: A withdraws it, B's subscriber hears of it
            r = await a.http.post("/airspace/restrictions", headers=auth(centre), json={
                "id": rid, "reason": "police", "geometry": _square(*OPEN_W_ROUTE[0]),
                "floor": {"value_m": 0, "ref": "AGL"}, "ceiling": {"value_m": 500, "ref": "AGL"},
                "start": datetime.now(UTC).isoformat(), "end": (start + timedelta(hours=2)).isoformat(),
                "name_zh": "警务活动"})
            assert r.status_code == 201, r.text
            ev = await _event(ws_b, lambda f: f.get("plan_id") == p1["id"])
            assert (ev["from_state"], ev["to_state"]) == ("approved", "withdrawn")
            assert ev["details"]["restriction"] == rid
            assert ev["details"]["message_zh"]
            # another organisation's subscriber on B heard nothing of it (both were sent B's frames at once)
            ws_other_frames: list[Any] = []
            with contextlib.suppress(TimeoutError):
                ws_other_frames.append(await asyncio.wait_for(ws_other.recv(), 0.5))
            assert ws_other_frames == []

        # B's filing decides with A's restriction
        async def b_has_it() -> bool:
            return rid in {x.id for x in app_b.state.filing.view.index.restrictions}

        await wait_until(b_has_it, timeout=30, what="node B's index to hold A's restriction")
        p2 = (await b.http.post("/plans", headers=auth(op), json=plan_body("XN-2", start=start))).json()
        assert p2["state"] == "rejected", p2
        forbidden = [x for x in p2["decision"]["reasons"] if x["code"] == "airspace_forbidden"]
        assert forbidden and rid in {v["volume"] for v in forbidden[0]["details"]["volumes"]}
        # B's monitor watches it (the intrusion volumes it would check tracks against)
        watched = app_b.state.live.intrusion_cache(time.time())
        assert watched is not None and rid in list(watched.ids)
        # B withdrew nothing itself: the one withdrawal is A's
        events = (await b.http.get(f"/plans/{p1['id']}", headers=auth(op))).json()["events"]
        assert [e["to_state"] for e in events].count("withdrawn") == 1

        # lifted on A: B's filing approves there again, B's monitor no longer watches it
        r = await a.http.delete(f"/airspace/restrictions/{rid}", headers=auth(centre))
        assert r.status_code == 200, r.text

        async def b_dropped_it() -> bool:
            return not await b_has_it()

        await wait_until(b_dropped_it, timeout=30, what="node B's index to drop the lifted restriction")
        p3 = (await b.http.post("/plans", headers=auth(op), json=plan_body("XN-3", start=start))).json()
        assert p3["state"] == "approved", p3
        watched = app_b.state.live.intrusion_cache(time.time())
        assert watched is None or rid not in list(watched.ids)


async def test_weather_warning_on_node_a_takes_effect_on_node_b(
        database: Database, settings: Settings, nats_server: NatsServer, make_token: Any) -> None:
    async with _two_nodes(database, settings, nats_server) as (app_b, a, b):
        op = await _operator(b, make_token, ("XW-1", "XW-2"))
        centre = await make_token("centre", organisation="景德镇通航协调运行中心")
        start = soon(30)
        async with connect(f"{b.ws_url}/ws/plans?token={op}") as ws_b:
            assert json.loads(await ws_b.recv())["type"] == "subscribed"
            p1 = (await b.http.post("/plans", headers=auth(op), json=plan_body("XW-1", start=start))).json()
            assert p1["state"] == "approved", p1
            await _event(ws_b, lambda f: f.get("plan_id") == p1["id"] and f["to_state"] == "approved")
            w = await a.http.post("/weather/warnings", headers=auth(centre), json={
                "kind": "thunderstorm", "start": soon(0).isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(), "area": _square(*OPEN_W_ROUTE[0]),
                "text": "雷暴黄色预警"})
            assert w.status_code == 201, w.text
            # the plan filed on B, withdrawn on A by A's warning: B's subscriber hears it
            ev = await _event(ws_b, lambda f: f.get("plan_id") == p1["id"])
            assert (ev["from_state"], ev["to_state"]) == ("approved", "withdrawn")
            assert ev["details"]["kind"] == "thunderstorm" and ev["details"]["message_zh"]

        async def b_has_it() -> bool:
            return w.json()["id"] in {x.id for x in app_b.state.filing.weather}

        await wait_until(b_has_it, timeout=30, what="node B's filing to know A's warning")
        p2 = (await b.http.post("/plans", headers=auth(op), json=plan_body("XW-2", start=start))).json()
        assert p2["state"] == "rejected", p2
        assert "weather_thunderstorm" in {x["code"] for x in p2["decision"]["reasons"]}
