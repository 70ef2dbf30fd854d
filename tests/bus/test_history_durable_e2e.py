"""History through JetStream: nothing acknowledged to a device is lost when PostGIS is away and the
nodes stop, and a device is acknowledged only after JetStream stored its reports."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import orjson
from sqlalchemy import text
from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import open_database
from tests.bus.conftest import NatsServer
from tests.conftest import Server, auth, serving, wait_until
from tests.live.test_db_outage import _seed
from tests.live.test_live_e2e import _read_until, _report

IDS = ("DUR-A", "DUR-B", "DUR-C")


async def _two_nodes(stack: AsyncExitStack, settings: Settings, nats: NatsServer) -> tuple[Server, Server]:
    base = replace(settings, nats_url=nats.url, tick_s=0.5)
    a = await stack.enter_async_context(serving(create_app(replace(base, node_id="a", node_roles="monitor,history"))))
    b = await stack.enter_async_context(serving(create_app(replace(base, node_id="b", node_roles="history"))))
    return a, b


async def _stored_points(settings: Settings) -> set[tuple[str, float]]:
    db = await open_database(settings)
    try:
        async with db.unit_of_work() as uow:
            rows = (await uow.conn.execute(text(
                "SELECT aircraft_id, t_epoch FROM track_points WHERE aircraft_id LIKE 'DUR-%'"))).all()
    finally:
        await db.close(stop_cluster=False)
    return {(r[0], float(r[1])) for r in rows}


async def test_postgis_outage_and_node_stop_lose_no_acknowledged_point(tmp_path: Path,
                                                                        nats_server: NatsServer) -> None:
    settings = Settings(data_dir=tmp_path / "state", log_json=False)
    cluster = ManagedCluster(settings.data_dir)
    acked: set[tuple[str, float]] = set()
    try:
        tokens = await _seed(settings)
        async with AsyncExitStack() as stack:
            a, b = await _two_nodes(stack, settings, nats_server)
            for aid in IDS:
                r = await a.http.post("/aircraft", json={"id": aid, "category": "small_uav"}, headers=auth(tokens["ops"]))
                assert r.status_code == 201
            async with connect(f"{a.ws_url}/ws/telemetry?token={tokens['dev']}") as tele_a, \
                    connect(f"{b.ws_url}/ws/telemetry?token={tokens['dev']}") as tele_b:
                cluster.stop(mode="immediate")  # PostGIS is gone (the devices were already connected)
                t0 = time.time()
                for k in range(40):  # both ingest nodes, 3 aircraft a frame
                    t = t0 + 0.05 * k
                    frame = [_report(aid, 30.0 * i + k, 10, t) for i, aid in enumerate(IDS)]
                    tele = tele_a if k % 2 else tele_b
                    await tele.send(orjson.dumps(frame))
                    ack = await _read_until(tele, lambda m: m["type"] == "ack", 15)
                    assert ack["accepted"] == 3, ack
                    acked.update((aid, t) for aid in IDS)
            assert len(acked) == 120
        # both nodes stopped (gracefully, as on SIGTERM) while PostGIS was away: nothing was written
        cluster.start()
        assert await _stored_points(settings) == set()
        async with AsyncExitStack() as stack:
            await _two_nodes(stack, settings, nats_server)

            async def all_written() -> bool:
                return acked <= await _stored_points(settings)

            await wait_until(all_written, timeout=30, what="every acknowledged point in track_points")
    finally:
        cluster.destroy()


async def test_ack_waits_for_jetstream(database: object, settings: Settings, nats_server: NatsServer,
                                       make_token: object) -> None:
    from tests.conftest import Database

    assert isinstance(database, Database)
    app = create_app(replace(settings, nats_url=nats_server.url, node_id="solo"), db=database)
    async with serving(app) as srv:
        op = await make_token("operator", organisation="fleet-y")  # type: ignore[operator]
        r = await srv.http.post("/aircraft", json={"id": "ACK-1", "category": "small_uav"}, headers=auth(op))
        assert r.status_code == 201
        device = await make_token("device", organisation="fleet-y")  # type: ignore[operator]
        async with connect(f"{srv.ws_url}/ws/telemetry?token={device}") as tele:
            await tele.send(orjson.dumps(_report("ACK-1", 0, 10, time.time())))
            assert (await _read_until(tele, lambda m: m["type"] == "ack", 10))["accepted"] == 1
            nats_server.stop()  # JetStream away: the device must not be told its report is safe
            lost = _report("ACK-1", 5, 10, time.time())
            await tele.send(orjson.dumps(lost))
            error = await _read_until(tele, lambda m: True, 20)
            assert error["type"] == "error" and error["code"] == "unavailable", error
            ack = await _read_until(tele, lambda m: m["type"] == "ack", 5)
            assert ack == {"type": "ack", "accepted": 0, "rejected": 1}
            nats_server.start()  # same store: the stream and the history consumer are still there

            async def resent() -> bool:  # the device sends the refused report again until it is taken
                await tele.send(orjson.dumps(lost))
                return bool((await _read_until(tele, lambda m: m["type"] == "ack", 20))["accepted"] == 1)

            await wait_until(resent, timeout=30, every=0.5, what="the resend to be acknowledged")

        async def in_history() -> bool:
            async with database.unit_of_work() as uow:
                n = (await uow.conn.execute(text("SELECT count(*) FROM track_points WHERE aircraft_id = 'ACK-1' "
                                                 "AND t_epoch = :t"), {"t": lost["t"]})).scalar_one()
            return bool(n >= 1)

        await wait_until(in_history, timeout=30, what="the resent report in track_points")


