"""Two nodes on one real nats-server with different ``LOWALT_MONITOR_SHARDS``: the second refuses every
shard lease (it would own cells the first one's shards own too) and its ``/healthz`` says why."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lowalt.api.app import create_app
from lowalt.live.shards import ShardTerms, lease_holder
from lowalt.settings import Settings
from lowalt.store.db import Database
from tests.bus.conftest import NatsServer
from tests.conftest import serving, wait_until


async def test_a_node_with_another_shard_count_takes_no_shard_and_says_so_on_healthz(
        database: Database, settings: Settings, nats_server: NatsServer) -> None:
    def node(name: str, shards: int) -> Settings:
        return replace(settings, tick_s=0.5, nats_url=nats_server.url, node_id=name, node_roles="monitor,history",
                       monitor_shards=shards)

    app_a = create_app(node("a", 2), db=database)
    async with serving(app_a):
        live_a = app_a.state.live

        async def a_holds_both() -> bool:
            return bool(live_a.held == frozenset({0, 1}))

        await wait_until(a_holds_both, timeout=10, what="a to hold both shards")
        assert lease_holder(await live_a.bus.read_lease("monitor.0") or "") == ("a", ShardTerms(2))
        app_b = create_app(node("b", 3), db=database)
        async with serving(app_b) as b:
            live_b = app_b.state.live

            async def refused() -> dict[str, Any] | None:
                r = await b.http.get("/healthz")
                body: dict[str, Any] = r.json()
                return body if r.status_code == 200 and body["status"] == "degraded" else None

            body = await wait_until(refused, timeout=10, what="b's /healthz to say it refuses")
            why = body["live"]["monitor_shards_refused"]
            assert "node a with 2 monitor shard(s)" in why and "this node has 3" in why, why
            assert live_b.held == frozenset() and not live_b.monitor_role
            assert await live_b.bus.read_lease("monitor.2") is None  # the shard only b's setting has: not taken
            assert live_a.held == frozenset({0, 1})  # b never stood by (a would give it one)
            assert (await app_a.state.live.bus.read_lease("monitor.1") or "").startswith('{"node":"a"')
