"""kill -9 of a node: its monitor shard moves to another node (NATS KV lease) and its alerts go on under
the same ids; acknowledged telemetry of a killed node reaches the history."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import Database
from tests.bus.conftest import NatsServer
from tests.bus.nodes import start_node
from tests.bus.test_history_durable_e2e import _stored_points
from tests.conftest import auth, serving, wait_until
from tests.live.test_db_outage import _seed
from tests.live.test_live_e2e import _read_until, _report


async def test_kill_9_during_a_postgis_outage_loses_no_acknowledged_point(
        tmp_path: Path, nats_server: NatsServer) -> None:
    settings = Settings(data_dir=tmp_path / "state", log_json=False)
    cluster = ManagedCluster(settings.data_dir)
    acked: set[tuple[str, float]] = set()
    try:
        tokens = await _seed(settings)
        db_settings = replace(settings, database_url=cluster.url())
        node = await start_node(cluster.url(), nats_server.url, "k", "monitor,history", tmp_path / "k.log")
        try:
            async with httpx.AsyncClient(base_url=node.url) as http:
                r = await http.post("/aircraft", json={"id": "DUR-K", "category": "small_uav"},
                                    headers=auth(tokens["ops"]))
                assert r.status_code == 201
            async with connect(f"{node.ws_url}/ws/telemetry?token={tokens['dev']}") as tele:
                cluster.stop(mode="immediate")
                t0 = time.time()
                for k in range(30):
                    t = t0 + 0.05 * k
                    await tele.send(orjson.dumps(_report("DUR-K", k, 10, t)))
                    assert (await _read_until(tele, lambda m: m["type"] == "ack", 15))["accepted"] == 1
                    acked.add(("DUR-K", t))
                node.kill()  # kill -9 with every point acknowledged and none written
        finally:
            if node.proc.poll() is None:
                node.kill()
        cluster.start()
        assert await _stored_points(db_settings) == set()
        app = create_app(replace(db_settings, nats_url=nats_server.url, node_id="after", node_roles="history"))
        async with serving(app):

            async def all_written() -> bool:
                return acked <= await _stored_points(db_settings)

            await wait_until(all_written, timeout=30, what="every acknowledged point in track_points")
    finally:
        cluster.destroy()


EDGE_LON = 117.25
"""With two shards of the service area, cells west of 117.25 E belong to shard 0, east of it to shard 1
(lowalt.live.shards)."""
EDGE_LAT = 29.6
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(EDGE_LAT))


async def test_two_monitor_shards_one_alert_per_pair_and_kill_9_of_a_shard(
        database: Database, settings: Settings, nats_server: NatsServer, make_token: Any, tmp_path: Path) -> None:
    """Two shards (node A in its own process, node B in this one): a conflict pair straddling the shard
    boundary is raised once, by the shard owning its midpoint; each aircraft's unauthorised alert by the
    owner of its cell; both nodes' GET /alerts show all of them. kill -9 A: B takes A's shard and A's
    alerts go on under their ids."""
    node_a = await start_node(database.url, nats_server.url, "a", "monitor,history", tmp_path / "a.log",
                              {"LOWALT_MONITOR_SHARDS": "2"})
    try:
        app_b = create_app(replace(settings, tick_s=0.5, nats_url=nats_server.url, node_id="b",
                                   node_roles="monitor,history", monitor_shards=2), db=database)
        async with serving(app_b) as b:
            live_b = app_b.state.live

            async def one_shard_each() -> bool:  # A took both at its start; it gives one back to B
                return len(live_b.held) == 1

            await wait_until(one_shard_each, timeout=20, what="b to hold one shard")
            shard_a = 1 - next(iter(live_b.held))
            side = 1.0 if shard_a == 1 else -1.0  # east of the edge is shard 1's
            op = await make_token("operator", organisation="fleet-s")
            for aid in ("SH-1", "SH-2"):
                r = await b.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "small_uav"})
                assert r.status_code == 201
            device, viewer = await make_token("device", organisation="fleet-s"), await make_token("viewer")
            # hovering 40 m apart across the edge, the midpoint 10 m inside A's shard
            lon = {aid: EDGE_LON + side * dx / M_PER_DEG_LON for aid, dx in (("SH-1", -10.0), ("SH-2", 30.0))}
            async with connect(f"{b.ws_url}/ws/telemetry?token={device}") as tele:

                async def report() -> None:
                    now = time.time()
                    await tele.send(orjson.dumps([{"id": aid, "t": now, "lon": x, "lat": EDGE_LAT, "alt": 300.0,
                                                   "ref": "AMSL", "vx": 0.0, "vy": 0.0} for aid, x in lon.items()]))
                    assert (await _read_until(tele, lambda m: m["type"] == "ack", 10))["accepted"] == 2

                async def raised() -> list[tuple[str, str, str]] | None:
                    await report()
                    async with database.unit_of_work() as uow:
                        rows = (await uow.conn.execute(text(
                            "SELECT kind, aircraft, node, alert_id FROM alert_events WHERE event = 'raised' "
                            "AND aircraft && ARRAY['SH-1', 'SH-2'] ORDER BY kind, aircraft"))).all()
                    got = [(r[0], ",".join(r[1]), r[2], r[3]) for r in rows]
                    kinds = [g[0] for g in got]
                    return got if kinds.count("conflict") and kinds.count("unauthorised") == 2 else None

                events = await wait_until(raised, timeout=30, what="the pair's alerts in the alert log")
                owner_of = {"SH-1": "b", "SH-2": "a"}  # SH-1 is on B's side of the edge, SH-2 on A's
                assert [(k, ac, node) for k, ac, node, _ in events] == [
                    ("conflict", "SH-1,SH-2", "a"), ("unauthorised", "SH-1", owner_of["SH-1"]),
                    ("unauthorised", "SH-2", owner_of["SH-2"])]
                conflict_id = events[0][3]

                async def merged_on(http: httpx.AsyncClient) -> set[str] | None:
                    await report()
                    alerts = (await http.get("/alerts", headers=auth(viewer))).json()
                    ids = {x["id"] for x in alerts if set(x["aircraft"]) & {"SH-1", "SH-2"}}
                    return ids if ids == {e[3] for e in events} else None

                async with httpx.AsyncClient(base_url=node_a.url) as http_a:  # every node shows every shard's
                    await wait_until(lambda: merged_on(http_a), timeout=10, what="all three alerts on a")
                await wait_until(lambda: merged_on(b.http), timeout=10, what="all three alerts on b")
                async with connect(f"{b.ws_url}/ws/live?token={viewer}") as feed:  # b's map: a's alerts too
                    first = orjson.loads(await feed.recv())
                    assert first["type"] == "snapshot" and conflict_id in {x["id"] for x in first["alerts"]}
                # acknowledged on b, applied by a (the owner: b's shard does not answer for it)
                centre = await make_token("centre")
                ack = await b.http.post(f"/alerts/{conflict_id}/ack", headers=auth(centre))
                assert ack.status_code == 200 and ack.json()["acknowledged_by"], ack.text

                async def acked_in_a_tick() -> bool:  # a's next assessment carries it
                    await report()
                    return bool(live_b._remote.get("a")) and \
                        live_b._remote["a"][1].get(conflict_id, {}).get("acknowledged_by") is not None

                await wait_until(acked_in_a_tick, timeout=10, what="a's assessment with the acknowledgement")
                node_a.kill()
                killed = time.time()

                async def b_continues() -> bool:
                    await report()
                    if live_b.held != {0, 1}:
                        return False
                    r = await b.http.get("/alerts", headers=auth(viewer))
                    same = [x for x in r.json() if x["id"] == conflict_id]
                    return bool(same) and same[0]["last_seen"] > killed and same[0]["state"] != "cleared" \
                        and same[0]["acknowledged_by"] == ack.json()["acknowledged_by"]

                await wait_until(b_continues, timeout=15, what="b to take a's shard and continue its alert")
                print(f"shard takeover and alert continued {time.time() - killed:.1f} s after kill -9")
                r = await b.http.get("/alerts", headers=auth(viewer))
                assert [x["id"] for x in r.json() if x["kind"] == "conflict"] == [conflict_id]
                assert {x["id"] for x in r.json() if set(x["aircraft"]) & {"SH-1", "SH-2"}} == {e[3] for e in events}
    finally:
        if node_a.proc.poll() is None:
            node_a.kill()
