"""A handed-over alert that no shard adopts, over a real nats-server: two shard services, each on its own
NATS connection, hear each other's assessments (with the hand-over and the clear) through the bus only."""

from __future__ import annotations

import time

from lowalt.bus.natsbus import NatsBus
from lowalt.live.monitor import ConflictMonitor
from lowalt.live.service import LiveService
from lowalt.live.shards import UNADOPTED_AFTER_S, halo_m
from lowalt.metrics import Metrics
from tests.bus.conftest import NatsServer
from tests.bus.test_shards_unit import conflict_ids, ingest_pair, tick_heard


async def test_an_alert_handed_over_as_its_aircraft_go_silent_is_cleared_once_across_the_bus(
        nats_server: NatsServer) -> None:
    buses = [NatsBus(nats_server.url, f"s{k}") for k in (0, 1)]
    try:
        svcs = []
        for k, bus in enumerate(buses):
            await bus.start()
            svc = LiveService(None, Metrics(), monitor=ConflictMonitor(), bus=bus, node_id=f"s{k}",  # type: ignore[arg-type]
                              shards=2, halo=halo_m(60.0))
            await bus.subscribe_feed(svc.apply_remote_feed)
            await svc._set_held(frozenset({1 - k}))  # s0 the east shard, s1 the west one
            svcs.append(svc)
        s0, s1 = svcs
        t0 = time.time()
        for svc in svcs:  # both nodes hear the reports (the report stream is not what this test is about)
            ingest_pair(svc, t0, (-1.5, 0.5))  # the pair's midpoint west of the edge: s1's
        await tick_heard(s1, s0, t0)
        (alert_id,) = conflict_ids(s1)
        assert conflict_ids(s0) == {alert_id}  # s0's picture has it from s1's assessment
        for svc in svcs:
            ingest_pair(svc, t0 + 1, (-0.5, 1.5))  # the last reports: the midpoint crossed east
        await tick_heard(s1, s0, t0 + 1)
        assert alert_id in s0._pool  # handed over to s0 through the bus
        await tick_heard(s0, s1, t0 + 1 + s0.config.lost_after_s + 1)  # silent by s0's tick: nothing adopted
        assert alert_id not in s0._own_active and alert_id in s1._handed_out
        await tick_heard(s1, s0, t0 + 1 + UNADOPTED_AFTER_S)
        assert alert_id not in s0._pool and alert_id not in s0.active_alerts and alert_id not in s1.active_alerts
        assert [(e, a["details"].get("cleared_reason")) for svc in svcs for e, a in svc._alert_events
                if a["id"] == alert_id] == [("raised", None), ("cleared", "handed_over_unadopted")]
    finally:
        for bus in buses:
            await bus.close()
