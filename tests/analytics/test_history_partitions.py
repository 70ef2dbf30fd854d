"""``track_points`` partitioned by Beijing day (migration 0018, ``lowalt.store.track_partitions``): a report
with no day partition lands in the default one and is never refused; upkeep creates days ahead (moving
the default's reports of that day), drops days past the retention (the boundary day kept, the one
before dropped), reads on ``t`` skip other days; the migration keeps existing rows and their ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.store import live_repo
from lowalt.store import track_partitions as tp
from lowalt.store.db import Database, alembic_config, make_engine

DAY = date(2031, 5, 20)
"""A day far from the test's clock: no partition of it exists after migrating."""


def test_plan_upkeep_creates_ahead_and_drops_before_the_retention_boundary() -> None:
    today = date(2026, 11, 30)
    have = {today - timedelta(days=k) for k in range(1, 40)} | {today}
    plan = tp.plan_upkeep(have, today, ahead_days=3, retention_days=30)
    assert plan.create == tuple(today + timedelta(days=k) for k in (1, 2, 3))
    cutoff = today - timedelta(days=30)  # kept: today and the 30 days before it
    assert cutoff not in plan.drop and cutoff - timedelta(days=1) in plan.drop
    assert plan.drop == tuple(sorted(d for d in have if d < cutoff)) and len(plan.drop) == 9
    assert tp.plan_upkeep(have, today, retention_days=0).drop == ()  # 0 keeps everything
    assert tp.plan_upkeep(set(), today, ahead_days=0).create == (today,)
    assert tp.day_of("track_points_20261130") == today and tp.day_of(tp.DEFAULT) is None
    assert tp.is_partition(tp.DEFAULT) and tp.is_partition("track_points_20261130")
    assert not tp.is_partition("track_points") and not tp.is_partition("track_points_old")


def _report(ac: str, t: datetime) -> tuple[Any, ...]:
    return (ac, t.timestamp(), 117.25, 29.4, 120.0, 0.0, 0.0, 0.0, 0)


async def _where(conn: AsyncConnection) -> dict[str, str]:
    """Each aircraft's reports by partition (``aircraft -> partition``)."""
    rows = await conn.execute(text("SELECT aircraft_id, tableoid::regclass::text FROM track_points"))
    return {a: p for a, p in rows}


async def test_reports_without_a_day_land_in_default_and_upkeep_moves_them_and_keeps_the_retention(
        database: Database) -> None:
    start, _ = tp.bounds(DAY)
    async with database.unit_of_work() as uow:
        today = tp.beijing_day(datetime.now(UTC))
        assert {today, today + timedelta(days=tp.AHEAD_DAYS)} <= await tp.existing_days(uow.conn)  # migrated
        # one report on each side of the day's start (Beijing midnight), one far ahead: all accepted
        written = [_report("before", start - timedelta(microseconds=1000)), _report("first", start),
                   _report("far", start + timedelta(days=9))]
        assert await live_repo.copy_track_points(uow.conn, written) == 3
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert set((await _where(uow.conn)).values()) == {tp.DEFAULT}
        ids: dict[str, int] = dict((await uow.conn.execute(text("SELECT aircraft_id, id FROM track_points"))).all())
        done = await tp.upkeep(uow.conn, now=start + timedelta(hours=1), ahead_days=0)
        assert done.create == (DAY,)
        assert await tp.upkeep(uow.conn, now=start + timedelta(hours=1), ahead_days=0) == tp.Upkeep((), ())
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await _where(uow.conn) == {"before": tp.DEFAULT, "first": tp.partition_name(DAY), "far": tp.DEFAULT}
        assert dict((await uow.conn.execute(text("SELECT aircraft_id, id FROM track_points"))).all()) == ids
        history = await live_repo.track_history(uow.conn, "first", start - timedelta(minutes=1), start + timedelta(1))
        assert [r["t_epoch"] for r in history] == [start.timestamp()]
        # a read of the day's hour on ``t`` reads that day's partition (and the default) only
        plan = "\n".join((await uow.conn.execute(text(
            "EXPLAIN SELECT count(*) FROM track_points WHERE t >= :s AND t < :e"),
            {"s": start, "e": start + timedelta(hours=1)})).scalars())
        assert tp.partition_name(DAY) in plan and tp.DEFAULT in plan
        assert tp.partition_name(today) not in plan

        # retention of 2 days on DAY + 3: DAY + 1 is the boundary day (kept), DAY is dropped, and the
        # default's reports before DAY + 1 with it
        later = DAY + timedelta(days=3)
        await tp.ensure_days(uow.conn, [DAY + timedelta(days=1)])
        await live_repo.copy_track_points(uow.conn, [_report("boundary", tp.bounds(DAY + timedelta(days=1))[0])])
        had = await tp.existing_days(uow.conn)
        done = await tp.upkeep(uow.conn, now=tp.bounds(later)[0], retention_days=2, ahead_days=0)
        assert DAY in done.drop and done.create == (later,)
        assert done.drop == tuple(sorted(d for d in had if d <= DAY))  # the migrated days (today...) too
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await _where(uow.conn) == {"boundary": tp.partition_name(DAY + timedelta(days=1)), "far": tp.DEFAULT}
        assert DAY not in await tp.existing_days(uow.conn)


def _migrate(sync_conn: Connection, to: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    if to == "head":
        command.upgrade(cfg, to)
    else:
        command.downgrade(cfg, to)


async def test_the_migration_keeps_existing_reports_and_their_ids(database: Database) -> None:
    start, _ = tp.bounds(DAY)
    async with database.engine.begin() as conn:
        await conn.run_sync(_migrate, "0017")  # one plain table, as before
        await live_repo.copy_track_points(conn, [_report("old", start), _report("older", start - timedelta(days=2))])
        kept = (await conn.execute(text("SELECT aircraft_id, id, t FROM track_points ORDER BY id"))).all()
        await conn.run_sync(_migrate, "head")
    async with database.unit_of_work() as uow:
        assert (await uow.conn.execute(text("SELECT aircraft_id, id, t FROM track_points ORDER BY id"))).all() == kept
        assert await _where(uow.conn) == {"old": tp.partition_name(DAY),
                                          "older": tp.partition_name(DAY - timedelta(days=2))}
        await live_repo.copy_track_points(uow.conn, [_report("new", start)])  # ids continue after the old ones
        new_id = (await uow.conn.execute(text("SELECT id FROM track_points WHERE aircraft_id = 'new'"))).scalar()
        assert new_id > max(k[1] for k in kept)


async def test_the_history_node_task_keeps_the_partitions(database: Database) -> None:
    """``Roller.run_once`` runs the upkeep first (here with the roll-up off): the days ahead of its clock."""
    from lowalt.services.analytics_rollup import Roller

    roller = Roller(make_engine(database.url, command_timeout_s=None), 3600.0, rolls=False,
                    now=lambda: tp.bounds(DAY)[0] + timedelta(hours=23, minutes=59))
    try:
        assert await roller.run_once() == []
    finally:
        await roller.stop()
    async with database.unit_of_work() as uow:
        assert {DAY + timedelta(days=k) for k in range(tp.AHEAD_DAYS + 1)} <= await tp.existing_days(uow.conn)
        assert DAY - timedelta(days=1) not in await tp.existing_days(uow.conn)
