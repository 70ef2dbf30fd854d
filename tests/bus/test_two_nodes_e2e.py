"""Two lowalt nodes on one PostGIS database and one real nats-server (JetStream).

Node A ingests; node B shows it on its /ws/live. Node A has the monitor role, so B's alerts come
over the bus; an aircraft registered on A may report through B."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import orjson
from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.db import Database
from tests.bus.conftest import NatsServer
from tests.conftest import auth, serving, wait_until
from tests.live.test_live_e2e import _read_until, _report


def _node(settings: Settings, nats: NatsServer, name: str, roles: str) -> Settings:
    return replace(settings, tick_s=0.5, nats_url=nats.url, node_id=name, node_roles=roles)


async def test_report_on_node_a_reaches_live_feed_on_node_b(
        database: Database, settings: Settings, nats_server: NatsServer, make_token: Any) -> None:
    app_a = create_app(_node(settings, nats_server, "node-a", "monitor,history"), db=database)
    app_b = create_app(_node(settings, nats_server, "node-b", "history"), db=database)
    async with serving(app_a) as a, serving(app_b) as b:
        op = await make_token("operator", organisation="fleet-x")
        for aid in ("BUS-1", "BUS-2"):
            r = await a.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "small_uav"})
            assert r.status_code == 201, r.text
        device = await make_token("device", organisation="fleet-x")
        viewer = await make_token("viewer")
        async with connect(f"{b.ws_url}/ws/live?token={viewer}") as live_b, \
                connect(f"{a.ws_url}/ws/telemetry?token={device}") as tele_a:
            assert orjson.loads(await live_b.recv())["type"] == "snapshot"
            now = time.time()
            await tele_a.send(orjson.dumps([_report("BUS-1", -100, 20, now), _report("BUS-2", 100, -20, now)]))
            ack = await _read_until(tele_a, lambda m: m["type"] == "ack", 30)
            assert ack == {"type": "ack", "accepted": 2, "rejected": 0}
            # the tracks, and the head-on pair's alert assessed on node A (monitor), reach B's feed in
            # either order (the assessment travels on its own subject)
            seen: dict[str, dict[str, Any]] = {}

            def tracks_and_alert(m: dict[str, Any]) -> bool:
                if m["type"] == "tracks" and "BUS-1" in m["tracks"]["ids"]:
                    seen.setdefault("tracks", m)
                if m["type"] == "alerts" and any(x["kind"] == "conflict" for x in m["new"]):
                    seen.setdefault("alert", m)
                return len(seen) == 2

            await _read_until(live_b, tracks_and_alert, 30)
            assert set(seen["tracks"]["tracks"]["ids"]) == {"BUS-1", "BUS-2"}
            conflict = next(x for x in seen["alert"]["new"] if x["kind"] == "conflict")
            assert set(conflict["aircraft"]) == {"BUS-1", "BUS-2"}

            async def b_lists_it() -> bool:
                r = await b.http.get("/alerts", headers=auth(viewer))
                return any(x["id"] == conflict["id"] for x in r.json())

            await wait_until(b_lists_it, timeout=30, what="node B's /alerts to list A's conflict")
            # acknowledged on B, applied by the monitor on A, seen on both
            centre = await make_token("centre", name="duty-officer")
            r = await b.http.post(f"/alerts/{conflict['id']}/ack", headers=auth(centre))
            assert r.status_code == 200, r.text
            assert r.json()["acknowledged_by"] == "duty-officer"

            async def a_has_it() -> bool:
                r = await a.http.get("/alerts", headers=auth(viewer))
                return any(x["id"] == conflict["id"] and x["acknowledged_by"] == "duty-officer" for x in r.json())

            await wait_until(a_has_it, timeout=30, what="the acknowledgement on node A")

        # an aircraft registered on A after B started may report through B
        async with connect(f"{b.ws_url}/ws/telemetry?token={device}") as tele_b:
            await tele_b.send(orjson.dumps(_report("BUS-1", 0, 20, time.time())))
            ack = await _read_until(tele_b, lambda m: m["type"] == "ack", 30)
            assert ack["accepted"] == 1, ack
        assert app_a.state.live.coop.slot.get("BUS-1") is not None
