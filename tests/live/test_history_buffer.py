"""The history buffer: bounded, every shed point counted, nothing newer lost when a write is slow."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from lowalt.identity.model import Principal, Role
from lowalt.live.monitor import ConflictMonitor
from lowalt.live.service import LiveConfig, LiveService
from lowalt.metrics import Metrics
from lowalt.store import live_repo


class SlowStore:
    """Stands in for PostGIS in a millisecond unit test: each write waits until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.written: list[tuple[Any, ...]] = []

    @asynccontextmanager
    async def unit_of_work(self):  # type: ignore[no-untyped-def]
        class Uow:
            conn = None

            async def commit(self) -> None:
                return None

        yield Uow()


def _frame(ids: list[str], t: float) -> bytes:
    import orjson

    return orjson.dumps([{"id": i, "t": t, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AMSL", "vx": 1, "vy": 0,
                          "src": "noncoop"} for i in ids])


async def test_slow_write_with_overflow_loses_only_counted_points(monkeypatch: Any) -> None:
    store = SlowStore()

    async def slow_copy(conn: Any, records: list[tuple[Any, ...]]) -> int:
        await store.release.wait()
        store.written.extend(records)
        return len(records)

    async def no_alerts(conn: Any, alerts: Any, **_: Any) -> None:
        return None

    monkeypatch.setattr(live_repo, "copy_track_points", slow_copy)
    monkeypatch.setattr(live_repo, "append_alert_events", no_alerts)
    metrics = Metrics()
    live = LiveService(store, metrics, monitor=ConflictMonitor(),  # type: ignore[arg-type]
                       config=LiveConfig(history_max_pending=30))
    admin = Principal(1, "a", Role.ADMIN, None, 1)
    t0 = 1_800_000_000.0
    live.ingest(admin, _frame([f"a{k}" for k in range(10)], t0), now=t0)  # chunk 1 (10 points)
    flushing = asyncio.create_task(live.flush_history())
    await asyncio.sleep(0)
    for step in range(1, 4):  # three more chunks while the write is stuck: one must be shed
        live.ingest(admin, _frame([f"a{k}" for k in range(10)], t0 + step), now=t0 + step)
    store.release.set()
    assert await flushing == 10
    shed = metrics.total("lowalt_history_dropped_total")
    assert shed == 10
    # what is left is exactly the newest chunks, and it all gets written next time
    assert live._history_pending == 20
    assert await live.flush_history() == 20
    times = sorted({r[1] for r in store.written})
    assert times == [t0, t0 + 2, t0 + 3]  # chunk 1 written, chunk 2 shed (counted), 3 and 4 kept
    assert np.isclose(len(store.written) + shed, 40)


async def test_a_backlog_is_written_in_bounded_batches_and_a_failure_keeps_the_rest(monkeypatch: Any) -> None:
    """After an outage the backlog goes in transactions of at most HISTORY_BATCH_ROWS; if the database
    fails half-way, the written batches are not written again and the rest stays buffered."""
    from lowalt.live import service as service_mod

    monkeypatch.setattr(service_mod, "HISTORY_BATCH_ROWS", 100)
    batches: list[int] = []
    budget = [2]  # batches the database takes before it goes away

    async def copy(conn: Any, records: list[tuple[Any, ...]]) -> int:
        if budget[0] == 0:
            raise ConnectionError("database went away")
        budget[0] -= 1
        batches.append(len(records))
        return len(records)

    async def no_alerts(conn: Any, alerts: Any, **_: Any) -> None:
        return None

    monkeypatch.setattr(live_repo, "copy_track_points", copy)
    monkeypatch.setattr(live_repo, "append_alert_events", no_alerts)
    live = LiveService(SlowStore(), Metrics(), monitor=ConflictMonitor())  # type: ignore[arg-type]
    for k in range(10):  # ten frames of 40 points
        live._history.append([(f"A{k}", float(j), 117.2, 29.3, 100.0, 0.0, 0.0, 0.0, 0) for j in range(40)])
        live._history_pending += 40
    assert await live.flush_history() == 160
    assert batches == [80, 80]  # whole frames, at most 100 rows a batch
    assert live._history_pending == 240 and live._history_inflight == 0
    budget[0] = 10  # the database is back: the rest, once
    assert await live.flush_history() == 240
    assert batches == [80, 80, 80, 80, 80] and live._history_pending == 0


async def test_alert_events_are_written_at_most_a_round_limit_at_a_time_in_order_and_all_at_stop(
        monkeypatch: Any) -> None:
    written: list[list[str]] = []

    async def no_points(conn: Any, records: list[tuple[Any, ...]]) -> int:
        return len(records)

    async def events(conn: Any, evs: Any, **_: Any) -> None:
        written.append([a["id"] for _, a in evs])

    monkeypatch.setattr(live_repo, "copy_track_points", no_points)
    monkeypatch.setattr(live_repo, "append_alert_events", events)
    live = LiveService(SlowStore(), Metrics(), monitor=ConflictMonitor())  # type: ignore[arg-type]
    ids = [f"a{k}" for k in range(25)]
    live._alert_events = [("raised", {"id": i}) for i in ids]
    await live.flush_history(events_limit=10)
    await live.flush_history(events_limit=10)
    assert written == [ids[:10], ids[10:20]]  # 10 (the limit itself) per round, in order
    live._alert_events.append(("cleared", {"id": "late"}))
    await live.stop()  # the stop writes everything left, whatever the limit
    assert written[-1] == [*ids[20:], "late"]
