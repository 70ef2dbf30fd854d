"""PostGIS goes away: live tracking and conflict alerts go on from memory; history catches up later."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.identity.model import Role
from lowalt.launch import serve_app
from lowalt.settings import Settings
from lowalt.store import identity_repo
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import open_database
from tests.conftest import wait_until
from tests.live.test_live_e2e import _report


async def _seed(settings: Settings) -> dict[str, str]:
    db = await open_database(settings)
    async with db.unit_of_work() as uow:
        tokens = {}
        for name, role in (("ops", Role.OPERATOR), ("dev", Role.DEVICE), ("view", Role.VIEWER)):
            uid = await identity_repo.add_user(uow.conn, name, role, "fleet-x" if role is not Role.VIEWER else None)
            tokens[name] = await identity_repo.issue_token(uow.conn, uid)
        await uow.commit()
    await db.close(stop_cluster=False)
    return tokens


async def test_live_path_survives_database_outage(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state", tick_s=0.5, log_json=False)
    cluster = ManagedCluster(settings.data_dir)
    try:
        tokens = await _seed(settings)
        app = create_app(settings)
        async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as http:
            ws = "ws" + base.removeprefix("http")
            for aid in ("OUT-A", "OUT-B"):
                r = await http.post("/aircraft", json={"id": aid, "category": "small_uav"},
                                    headers={"Authorization": f"Bearer {tokens['ops']}"})
                assert r.status_code == 201
            async with connect(f"{ws}/ws/telemetry?token={tokens['dev']}") as tele, \
                    connect(f"{ws}/ws/live?token={tokens['view']}") as live:
                assert orjson.loads(await live.recv())["type"] == "snapshot"
                cluster.stop(mode="immediate")  # the database is gone
                assert (await http.get("/healthz")).status_code == 503
                start = time.time()
                seen: dict[str, Any] | None = None
                while seen is None and time.time() - start < 30:  # the bound only stops a broken run
                    el = time.time() - start
                    await tele.send(orjson.dumps([_report("OUT-A", -100 + 20 * el, 20, time.time()),
                                                  _report("OUT-B", 100 - 20 * el, -20, time.time())]).decode())
                    assert orjson.loads(await tele.recv())["accepted"] == 2  # ingest goes on
                    # paced by the live feed (a message every 0.2 s), not by a fixed sleep
                    msg = orjson.loads(await asyncio.wait_for(live.recv(), 10))
                    if msg["type"] == "alerts":
                        seen = next((a for a in msg["new"] if a["kind"] == "conflict"), None)
                assert seen is not None, "no conflict alert while the database was down"
                live_svc = app.state.live
                pending = live_svc._history_pending
                assert pending > 0  # buffered, not lost
                cluster.start()  # the database comes back

                async def drained() -> bool:  # nothing buffered and nothing being written, and it is in PostGIS
                    if live_svc._history_pending or live_svc._history_inflight:
                        return False
                    r = await http.get("/tracks/OUT-A/history", headers={"Authorization": f"Bearer {tokens['view']}"})
                    if r.status_code != 200:  # PostGIS still starting
                        return False
                    reports = [f for f in r.json()["features"] if f["properties"].get("kind") == "report"]
                    return len(reports) >= pending // 2

                await wait_until(drained, timeout=30, what="the buffered history written to PostGIS")
    finally:
        cluster.destroy()
