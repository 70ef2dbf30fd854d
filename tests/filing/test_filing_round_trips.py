"""A filing in few round trips (issue 16's throughput): what the folded statements must still guarantee.

The writes of a filing are one statement (``filing_repo.file_plan``): a key another request committed
first must leave nothing of the second filing, in PostGIS or in the node's index. The reads under the
locks go to asyncpg directly, which is only safe inside the unit of work's transaction. Other nodes'
notices name the cells to catch up on. Filings serialise on cell-hours (cells alone made plans over
one town on different days wait for each other).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import text

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import AircraftCategory
from lowalt.filing.deconfliction import cell_hour_keys, cell_keys, hour_of_key
from lowalt.filing.model import FlightPlan, MissionType
from lowalt.filing.policy import load_policy
from lowalt.filing.service import Filer, FilingService
from lowalt.geo.altitude import agl
from lowalt.services.filing import filing_service
from lowalt.settings import DEFAULT_AIRSPACE
from lowalt.store import aircraft_repo, filing_repo
from lowalt.store.db import Database
from tests.conftest import wait_until
from tests.filing.conftest import OPEN_W_ROUTE, soon

ORG = "往返通航"


def _service(database: Database) -> FilingService:
    svc = filing_service(database, load_airspace(DEFAULT_AIRSPACE), load_policy(DEFAULT_AIRSPACE / "policy.yaml"))
    svc.due_every_s = svc.sync_every_s = 0  # no background loops: the test drives everything
    return svc


@asynccontextmanager
async def _two_nodes(database: Database, aircraft_id: str) -> AsyncIterator[tuple[FilingService, FilingService]]:
    """Two started filing services on one database (two nodes), and a registered aircraft."""
    async with database.unit_of_work() as uow:
        await aircraft_repo.add_aircraft(uow.conn, aircraft_id, category="light_uav", organisation=ORG)
        await uow.commit()
    a, b = _service(database), _service(database)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


def _plan(aircraft_id: str) -> FlightPlan:
    line = LineString(OPEN_W_ROUTE)
    start = soon(30).replace(microsecond=0)
    return FlightPlan(id=uuid4().hex, organisation=ORG, submitted_by="op", aircraft_id=aircraft_id,
                      category=AircraftCategory.LIGHT_UAV, pilot="张伟", licence_id=None,
                      mission=MissionType.TOURISM, geometry=line, half_width_m=50.0, floor=agl(0), ceiling=agl(100),
                      takeoff=Point(line.coords[0]), landing=Point(line.coords[-1]), start=start,
                      end=start + timedelta(minutes=30))


async def test_a_key_filed_first_on_another_node_leaves_nothing_of_the_second_filing(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Node B checked the key before node A committed it (the race ``file_plan`` settles): B replays A's
    decision, writes no plan, no audit row, bumps no cell, and its index does not keep B's tentative hold."""
    async with _two_nodes(database, "RT-1") as (a, b):
        first = _plan("RT-1")
        filed, replayed = await a.submit(first, Filer("op", ORG), "key-1", "hash-1")
        assert filed.state.value == "approved" and not replayed
        checks = 0
        real = b._replay

        async def missed_once(*args: Any) -> Any:  # B's check ran before A's commit
            nonlocal checks
            checks += 1
            return None if checks == 1 else await real(*args)

        monkeypatch.setattr(b, "_replay", missed_once)
        second = replace(_plan("RT-1"), id=uuid4().hex)
        got, replayed = await b.submit(second, Filer("op", ORG), "key-1", "hash-1")
        assert replayed and got.id == filed.id and checks == 2
        assert second.id not in b.held and second.id not in b.index
        async with database.unit_of_work() as uow:
            plans = (await uow.conn.execute(text("SELECT id FROM plans WHERE idempotency_key = 'key-1'"))).all()
            events = (await uow.conn.execute(text("SELECT plan_id, reason FROM plan_events"))).all()
            changes = (await uow.conn.execute(text("SELECT plan_ids FROM filing_changes"))).all()
        assert [p[0] for p in plans] == [filed.id]
        assert {e[0] for e in events} == {filed.id} and len(events) == 2  # filed + decided, A's only
        assert all(second.id not in c[0] for c in changes) and any(filed.id in c[0] for c in changes)


async def test_two_filings_racing_for_one_key_on_two_nodes_file_one_plan(database: Database) -> None:
    async with _two_nodes(database, "RT-2") as (a, b):
        plan = _plan("RT-2")
        results = await asyncio.gather(*(svc.submit(replace(plan, id=uuid4().hex), Filer("op", ORG), "key-2", "h")
                                         for svc in (a, b, a, b)))
        assert len({p.id for p, _ in results}) == 1 and sum(not r for _, r in results) == 1
        async with database.unit_of_work() as uow:
            n = (await uow.conn.execute(text("SELECT count(*) FROM plans"))).scalar_one()
            e = (await uow.conn.execute(text("SELECT count(*) FROM plan_events"))).scalar_one()
        assert (n, e) == (1, 2)


async def test_filing_statements_refuse_to_run_outside_a_transaction(database: Database) -> None:
    """Outside a transaction each statement would commit at once and the advisory locks would not hold."""
    async with database.engine.connect() as conn:
        with pytest.raises(RuntimeError, match="transaction"):
            await filing_repo._driver(conn)
    async with database.unit_of_work() as uow:  # begun at checkout (Database.unit_of_work)
        reg, register, versions, changed, bookings = await filing_repo.lock_and_read(
            uow.conn, [7], "RT-3", "op", ORG, {1: 0}, None, soon(0), soon(60))
        assert (reg.aircraft_category, register, versions, changed, bookings) == (None, [], {}, set(), [])
        assert (await filing_repo._driver(uow.conn)).is_in_transaction()
        held = (await uow.conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"))).scalar_one()
        assert held == 1  # the lock holds until the unit of work ends


async def test_notices_name_the_cells_to_catch_up_on(database: Database) -> None:
    """Another node's ``cells`` notice: those cells only; weather, airspace, a cut payload: everything."""
    svc = _service(database)
    svc._notified_cells = set()
    svc._on_notify(None, 0, "", f"{svc.node} cells 9,10")  # its own: ignored
    assert svc._notified_cells == set() and not svc._dirty.is_set()
    svc._on_notify(None, 0, "", "other cells 1,2")
    svc._on_notify(None, 0, "", "third cells 2,3")
    assert svc._notified_cells == {1, 2, 3} and svc._dirty.is_set()
    svc._on_notify(None, 0, "", "other weather")
    assert svc._notified_cells is None
    svc._notified_cells = set()
    svc._on_notify(None, 0, "", ("other cells " + "12345," * 2000)[:filing_repo.NOTIFY_MAX])
    assert svc._notified_cells is None  # cut at the NOTIFY limit: the last cell may be wrong
    svc._notified_cells = set()
    svc._on_notify(None, 0, "", "other cells 1,x")
    assert svc._notified_cells is None


def test_plans_that_can_conflict_share_a_cell_hour_and_other_days_do_not() -> None:
    """The lock keys are grid cells per hour of the window widened by the time buffer: any two windows
    the index would call overlapping (``e.end > t0 and e.start < t1``, t0/t1 widened) share a key."""
    import numpy as np

    cell = cell_keys(Polygon([(0, 0), (10, 0), (10, 10)]), 0.0)
    assert len(cell) == 1
    tb, h = 60.0, 3600.0
    day = 20_000 * 24 * h  # a day boundary in epoch seconds (UTC)

    def keys(start: float, end: float) -> set[int]:
        return set(cell_hour_keys(cell, start - tb, end + tb))

    ten = day + 10 * h
    assert keys(ten, ten + 1800) & keys(ten + 1800, ten + 3600)  # back to back: within the buffer
    assert not keys(ten, ten + 1800) & keys(ten + 24 * h, ten + 24 * h + 1800)  # the next day: no wait
    # the widened window is closed: reaching the next hour's first instant takes that hour too
    assert {hour_of_key(k) for k in keys(ten + 1800, ten + 3600 - tb - 1)} == {int(ten // h)}
    assert {hour_of_key(k) for k in keys(ten + 1800, ten + 3600 - tb)} == {int(ten // h), int(ten // h) + 1}
    assert hour_of_key(cell[0]) is None  # a plain cell key
    rng = np.random.default_rng(16)
    for _ in range(2000):
        a0, b0 = rng.uniform(0, 6 * h, 2) + day
        a1, b1 = a0 + rng.uniform(60, 3 * h), b0 + rng.uniform(60, 3 * h)
        if b1 > a0 - tb and b0 < a1 + tb:  # the index's test: they may conflict
            assert keys(a0, a1) & keys(b0, b1), (a0, a1, b0, b1)


async def test_a_pooled_connection_whose_server_process_died_is_replaced_at_checkout(database: Database) -> None:
    """A unit of work's BEGIN, sent at checkout instead of the pool's ping (``Database.unit_of_work``),
    finds a dead connection before the work uses it: the work runs on a new one instead of failing."""
    import asyncpg

    async with database.unit_of_work() as uow:
        pid = (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    other = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def gone() -> bool:
            return not await other.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)

        await wait_until(gone, 10, "the pooled connection's server process to exit")
    finally:
        await other.close()
    async with database.unit_of_work() as uow:  # the same pooled connection: its BEGIN fails, replaced
        assert (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid


async def test_decisions_share_the_catch_up_lock_and_a_catch_up_waits_for_them_and_goes_first() -> None:
    """Decisions (each under its own cells' advisory locks) read side by side; a catch-up reads alone,
    after the decisions in progress, and before decisions that come after it asked (no starvation)."""
    from lowalt.filing.service import _SharedOrAlone

    lock, order = _SharedOrAlone(), []
    first_in, release_first = asyncio.Event(), asyncio.Event()

    async def decision(name: str, hold: asyncio.Event | None = None) -> None:
        async with lock.shared():
            order.append(f"{name}+")
            if hold is not None:
                first_in.set()
                await hold.wait()
            order.append(f"{name}-")

    async def catch_up() -> None:
        async with lock.alone():
            order.append("catch-up")

    d1 = asyncio.ensure_future(decision("d1", release_first))
    await first_in.wait()
    await decision("d2")  # shares with d1, still inside
    assert order == ["d1+", "d2+", "d2-"]
    c = asyncio.ensure_future(catch_up())
    await asyncio.sleep(0)
    d3 = asyncio.ensure_future(decision("d3"))
    await asyncio.sleep(0)
    assert order[-1] == "d2-"  # the catch-up waits for d1; d3 waits behind the catch-up
    release_first.set()
    await asyncio.wait_for(asyncio.gather(d1, c, d3), 5)
    assert order[3:] == ["d1-", "catch-up", "d3+", "d3-"]


async def test_the_first_services_start_freezes_the_long_lived_objects(database: Database, settings: Any) -> None:
    """A full garbage collection over the plans on file paused every decision in flight (~200 ms at 10,000):
    the composition root moves what exists after the first start out of the collector's generations."""
    import gc

    from lowalt.api.app import create_app, freeze_long_lived
    from tests.conftest import serving

    gc.unfreeze()
    freeze_long_lived.cache_clear()
    assert gc.get_freeze_count() == 0
    async with serving(create_app(settings, db=database)):
        assert gc.get_freeze_count() > 0


async def test_a_decision_reads_the_change_log_through_its_key_not_by_scanning_it(database: Database) -> None:
    """``filing_changes`` only grows (a row per cell per approval). A decision's read of the changes in its
    cells (``filing_lock_and_read``) and a catch-up's (``changed_plans``) look each cell up by the primary
    key (cell, version). Joined to the cells (taken for ten rows, an array's default), the log was hashed
    from a scan of all of it in a plan the pooled connection then kept as the log grew: 0.13 ms of PostGIS
    per decision after 1,000 filings (migration 0021)."""
    import asyncpg

    async def log(first: int, last: int, analyze: bool = False) -> None:
        async with database.unit_of_work() as uow:
            await uow.conn.execute(text(
                "INSERT INTO filing_changes (cell, version, plan_ids) SELECT c, 1, ARRAY['p-' || c] "
                "FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS c"), {"a": first, "b": last})
            if analyze:
                await uow.conn.execute(text("ANALYZE filing_changes"))
            await uow.commit()

    async def reads(expected: set[str], flush: bool = False) -> None:
        async with database.unit_of_work() as uow:
            *_, changed, _ = await filing_repo.lock_and_read(
                uow.conn, [7], "RT-4", "op", ORG, {5: 0, 2999: 0}, None, soon(0), soon(60))
            assert changed == expected
            assert await filing_repo.changed_plans(uow.conn, {6: 0}, {6: 1, 8: 1}) == {"p-6", "p-8"}
            if flush:  # this session's counters go out when it is idle
                await uow.conn.execute(text("SELECT pg_stat_force_next_flush()"))
            await uow.commit()

    await log(1, 1000, analyze=True)
    for _ in range(8):  # one pooled connection (one filing at a time) keeps the plans it made now
        await reads({"p-5"})
    await log(1001, 3000)
    raw = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        async def scans() -> tuple[int, int]:
            await raw.execute("SELECT pg_stat_clear_snapshot()")
            r = await raw.fetchrow("SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'filing_changes'")
            return int(r["seq_scan"]), int(r["idx_scan"] or 0)

        await reads({"p-5", "p-2999"}, flush=True)  # the counters so far, then the reads counted
        seq0, idx0 = await wait_until(scans, 10, "the statistics")

        async def counted() -> tuple[int, int] | None:
            seq, idx = await scans()
            return (seq, idx) if (seq, idx) != (seq0, idx0) else None

        for _ in range(3):
            await reads({"p-5", "p-2999"}, flush=True)
        seq, _ = await wait_until(counted, 10, "the reads' scans in the statistics")
        assert seq == seq0, "the change log was scanned"
    finally:
        await raw.close()


async def test_a_begin_left_unanswered_fails_the_unit_of_work_and_the_next_ones_fail_fast(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen server (here: the pooled connection's own backend stopped) does not answer BEGIN: the unit of
    work gets ``DatabaseUnavailable`` after ``BEGIN_TIMEOUT_S``, not after a statement's timeout and a new
    connection's; for ``FAIL_FAST_S`` the next ones fail at once; then work goes on on a new connection.
    (The BEGIN's wait is shortened here: the rule, not the seconds, is under test.)"""
    import os
    import signal

    from lowalt.store import db as db_module
    from lowalt.store.db import DatabaseUnavailable

    monkeypatch.setattr(db_module, "BEGIN_TIMEOUT_S", 0.5)

    async with database.unit_of_work() as uow:
        pid = (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(DatabaseUnavailable, match="BEGIN"):
            async with database.unit_of_work():  # the same pooled connection: its BEGIN goes unanswered
                pass
        with pytest.raises(DatabaseUnavailable, match="a moment ago"):  # at once, the pool not asked
            async with database.unit_of_work():
                pass
    finally:
        os.kill(pid, signal.SIGCONT)

    async def works() -> bool:
        try:
            async with database.unit_of_work() as uow:
                return (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
        except DatabaseUnavailable:  # still within FAIL_FAST_S
            return False

    await wait_until(works, 10, "a unit of work on a new connection")


async def test_a_unit_of_work_is_checked_by_its_begin_not_by_the_pools_ping(database: Database,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """One round trip fewer per unit of work: its checkout skips the pool's ping (its BEGIN, sent at once, is
    the check); any other checkout is still pinged."""
    from lowalt.store import db as db_module

    pings: list[str] = []

    def ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not db_module._BEGIN_CHECKS.get():
            pings.append("pinged")

    from sqlalchemy import event

    event.listen(database.engine.sync_engine.pool, "checkout", ping)
    try:
        for _ in range(3):
            async with database.unit_of_work() as uow:
                await uow.conn.execute(text("SELECT 1"))
        assert pings == []
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        assert pings == ["pinged"]
    finally:
        event.remove(database.engine.sync_engine.pool, "checkout", ping)


async def test_fail_fast_ends_at_its_instant(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Units of work fail at once until ``_down_until`` and try PostGIS again from that instant on (the clock
    is set, not waited on: both sides of the boundary)."""
    from lowalt.store import db as db_module
    from lowalt.store.db import DatabaseUnavailable

    now = [100.0]
    monkeypatch.setattr(db_module, "monotonic", lambda: now[0])
    database._down_until = 100.0 + 1e-6
    with pytest.raises(DatabaseUnavailable, match="a moment ago"):
        async with database.unit_of_work():
            pass
    now[0] = 100.0 + 1e-6
    async with database.unit_of_work() as uow:  # at the instant itself: PostGIS is asked again
        assert (await uow.conn.execute(text("SELECT 1"))).scalar_one() == 1
