"""The roll-up in the server (``lowalt.services.analytics_rollup``): it runs on a history node, survives
PostGIS being away (logged once, retried, recovery logged once), and only one roller works at a time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from lowalt.services import analytics_rollup
from lowalt.services.analytics_rollup import Roller, start_rollup
from lowalt.settings import Settings
from lowalt.store import analytics_repo
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import Database, make_engine
from tests.analytics import history as hist
from tests.analytics.history import T0
from tests.conftest import wait_until

NOW = T0 + timedelta(hours=1, minutes=31)
"""10:00 closed and settled, 11:00-11:29 closed and settled minute by minute."""
LOGGER = analytics_rollup.__name__


async def _store_history(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await hist.store(conn, hist.build())
    finally:
        await engine.dispose()


async def _hours(db: Database) -> set[object]:
    async with db.unit_of_work() as uow:
        return set(await analytics_repo.rolled_hours(uow.conn, T0 - timedelta(days=1), T0 + timedelta(days=30)))


@pytest.fixture
async def history_db(database: Database) -> AsyncIterator[Database]:
    await _store_history(database.url)
    yield database


async def test_a_history_node_rolls_up_in_the_background(database: Database, settings: Settings) -> None:
    from lowalt.api.app import create_app, start_services, stop_services

    app = create_app(replace(settings, analytics_rollup_s=0.05), db=database)
    await start_services(app)
    try:
        roller = app.state.analytics_rollup
        assert isinstance(roller, Roller)
        await _store_history(database.url)  # after start: the generated points are not a loadable airspace
        # the real clock: the generated day is in the past, so its hours roll from raw history
        await wait_until(lambda: _has(database, {T0, T0 + timedelta(hours=1)}), what="the day's hours rolled")
        assert not roller.failing
    finally:
        await stop_services(app)


async def _has(db: Database, hours: set[object]) -> bool:
    return hours <= await _hours(db)


async def test_only_history_nodes_run_it_and_zero_turns_rolling_off() -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    bus = {"nats_url": "nats://127.0.0.1:4222"}
    assert start_rollup(Settings(**bus, node_roles="monitor"), url) is None
    assert start_rollup(Settings(**bus, node_roles="none"), url) is None
    upkeep_only = start_rollup(Settings(analytics_rollup_s=0, history_retention_days=7), url)
    assert upkeep_only is not None  # the history's partitions are still kept, hourly
    try:
        assert (upkeep_only.rolls, upkeep_only.period_s, upkeep_only.retention_days) == (False, 3600.0, 7)
    finally:
        await upkeep_only.stop()
    rolling = start_rollup(Settings(), url)
    assert rolling is not None
    try:
        assert (rolling.rolls, rolling.period_s, rolling.retention_days) == (True, 20.0, 0)
    finally:
        await rolling.stop()
    for ok in (0, 3600):  # 0 (off) and an hour are the bounds, both included
        assert Settings(analytics_rollup_s=ok).analytics_rollup_s == ok
    for bad in (-0.001, 3600.001):
        with pytest.raises(ValidationError, match="analytics_rollup_s"):
            Settings(analytics_rollup_s=bad)


async def test_postgis_away_is_logged_once_retried_and_recovered(pg_cluster: ManagedCluster, template_db: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The roller's database does not exist yet (connections refused): runs fail, one warning; once it
    exists, the next run rolls and one line says so."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    name = f"t_{uuid.uuid4().hex[:12]}"
    roller = Roller(make_engine(pg_cluster.url(name), command_timeout_s=None), 0.02, now=lambda: NOW)
    roller.start()
    try:
        await wait_until(lambda: _ran(roller, 3), what="three failed runs")
        assert roller.failing and roller.rolled_hours == []
        pg_cluster.create_database(name, template=template_db)
        await _store_history(pg_cluster.url(name))
        await wait_until(lambda: _rolled(roller), what="a run after the database came back")
        assert roller.rolled_hours == [T0] and not roller.failing
    finally:
        await roller.stop()
        pg_cluster.drop_database(name)
    mine = [r for r in caplog.records if r.name == LOGGER]
    assert [r.getMessage() for r in mine if r.levelno >= logging.WARNING] == ["analytics_rollup_failed"]
    assert [r.getMessage() for r in mine].count("analytics_rollup_recovered") == 1


async def _ran(roller: Roller, n: int) -> bool:
    return roller.runs >= n


async def _rolled(roller: Roller) -> bool:
    return bool(roller.rolled_hours)


async def test_one_roller_at_a_time(history_db: Database) -> None:
    """While another node holds the roll-up lock a run rolls nothing; after it lets go, the next one does."""
    roller = Roller(make_engine(history_db.url, command_timeout_s=None), 60.0, now=lambda: NOW)
    try:
        async with history_db.engine.connect() as other:
            await other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": analytics_repo.ROLLUP_LOCK})
            assert await roller.run_once() == []
            await other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": analytics_repo.ROLLUP_LOCK})
            await other.commit()
        assert await _hours(history_db) == set()
        assert await roller.run_once() == [T0]
        async with history_db.unit_of_work() as uow:
            got = await analytics_repo.rolled(uow.conn, T0, NOW)
        assert got.hours == {T0} and max(got.minutes) == T0 + timedelta(hours=1, minutes=29)
    finally:
        await roller.stop()
