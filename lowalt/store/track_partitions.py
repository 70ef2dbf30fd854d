"""``track_points`` partitions: one per Beijing day, created ahead, dropped after the retention (issue #20).

Why partitions: a day of 1,000 aircraft at 1 Hz is 86 M reports (about 15 GB with its indexes); a
partition per day keeps each day's indexes the size of a day, lets a day's reads touch one table, and
makes retention a ``DROP TABLE`` instead of deleting 86 M rows a day (and vacuuming after).

How (migration 0018): ``track_points`` is ``PARTITION BY RANGE (t_epoch)`` (PostgreSQL 15 cannot partition
by the generated column ``t``); every day partition also carries ``CHECK (t >= day AND t < next day)``,
so the planner excludes other days for the reads, which all filter on ``t`` (constraint exclusion, on by
default for partitions), with no change to their SQL. A ``DEFAULT`` partition takes what has no day
partition yet (a late report, a far-future clock): the history writer's COPY is never refused.

Days are Beijing calendar days (the centre's day and the daily report's, ``lowalt.analytics.report``), so
a day's report reads one partition.

The functional core is ``plan_upkeep`` (which days to create and drop); ``upkeep`` runs it against the
catalogue. ``lowalt.services.analytics_rollup`` calls ``upkeep`` on the history node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The service time zone (``lowalt.airspace.schedule.LOCAL_TZ``) as a fixed offset: China has no daylight
saving time, so SQL literals carry ``+08`` exactly."""
PARENT = "track_points"
DEFAULT = f"{PARENT}_default"
AHEAD_DAYS = 3
"""Day partitions kept ready after today (Beijing), so a day never starts in the default partition while
the server is down for a day or two."""
LOCK_TIMEOUT = "5s"
"""Creating or dropping a partition locks ``track_points``; wait at most this long for the history
writer's COPY (the next run retries) rather than queue the writer behind it."""
_NAME = re.compile(rf"^{PARENT}_(\d{{8}})$")
COLUMNS = "aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src"
"""The stored (not generated) columns, but ``id``."""


def is_partition(name: str) -> bool:
    """Whether ``name`` is a partition of ``track_points`` (not in ``lowalt.store.tables``: made at run time)."""
    return name == DEFAULT or _NAME.match(name) is not None


def partition_name(day: date) -> str:
    return f"{PARENT}_{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    """The day of a day partition's name; None for any other name (the default partition)."""
    found = _NAME.match(name)
    if found is None:
        return None
    d = found.group(1)
    return date(int(d[:4]), int(d[4:6]), int(d[6:]))


def beijing_day(t: datetime) -> date:
    return t.astimezone(BEIJING).date()


def bounds(day: date) -> tuple[datetime, datetime]:
    """The day's window ``[00:00, next 00:00)`` Beijing time."""
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def create_sql(day: date) -> str:
    """``CREATE TABLE`` of the day's partition: its epoch range and the matching ``CHECK`` on ``t``."""
    start, end = bounds(day)
    name = partition_name(day)
    return (f"CREATE TABLE {name} PARTITION OF {PARENT} (CONSTRAINT {name}_t CHECK "
            f"(t >= '{start.isoformat()}' AND t < '{end.isoformat()}')) "
            f"FOR VALUES FROM ({start.timestamp():.0f}) TO ({end.timestamp():.0f})")


@dataclass(frozen=True)
class Upkeep:
    create: tuple[date, ...]
    drop: tuple[date, ...]


def plan_upkeep(existing: Iterable[date], today: date, *, ahead_days: int = AHEAD_DAYS,
                retention_days: int = 0) -> Upkeep:
    """The day partitions to create (today and ``ahead_days`` after it, when missing) and to drop (days
    before ``today - retention_days``; ``retention_days`` 0 keeps every day). With a retention of N days
    the history holds today and the N days before it."""
    have = set(existing)
    want = [today + timedelta(days=k) for k in range(ahead_days + 1)]
    cutoff = None if retention_days <= 0 else today - timedelta(days=retention_days)
    return Upkeep(create=tuple(d for d in want if d not in have and (cutoff is None or d >= cutoff)),
                  drop=tuple(sorted(d for d in have if cutoff is not None and d < cutoff)))


async def existing_days(conn: AsyncConnection) -> set[date]:
    rows = await conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:p AS regclass)"), {"p": PARENT})
    return {d for (name,) in rows if (d := day_of(name)) is not None}


async def create_day(conn: AsyncConnection, day: date) -> int:
    """Create the day's partition, moving the default partition's reports of that day into it (a new
    partition cannot be attached over rows the default holds); returns the reports moved. In the caller's
    transaction."""
    start, end = bounds(day)
    span = {"s": start.timestamp(), "e": end.timestamp()}
    moved = (await conn.execute(text(
        f"SELECT count(*) FROM {DEFAULT} WHERE t_epoch >= :s AND t_epoch < :e"), span)).scalar() or 0
    if moved:
        await conn.execute(text(f"CREATE TEMP TABLE track_points_moving ON COMMIT DROP AS "
                                f"SELECT {COLUMNS}, id FROM {DEFAULT} WHERE false"))
        await conn.execute(text(
            f"WITH gone AS (DELETE FROM {DEFAULT} WHERE t_epoch >= :s AND t_epoch < :e RETURNING {COLUMNS}, id) "
            f"INSERT INTO track_points_moving SELECT * FROM gone"), span)
    await conn.execute(text(create_sql(day)))
    if moved:
        await conn.execute(text(f"INSERT INTO {PARENT} ({COLUMNS}, id) OVERRIDING SYSTEM VALUE "
                                f"SELECT {COLUMNS}, id FROM track_points_moving"))
        await conn.execute(text("DROP TABLE track_points_moving"))
    return int(moved)


async def ensure_days(conn: AsyncConnection, days: Iterable[date]) -> list[date]:
    """Create the partitions of ``days`` that are missing (idempotent); returns those created."""
    have = await existing_days(conn)
    made = []
    for day in sorted(set(days) - have):
        await create_day(conn, day)
        made.append(day)
    return made


async def upkeep(conn: AsyncConnection, *, now: datetime, retention_days: int = 0,
                 ahead_days: int = AHEAD_DAYS) -> Upkeep:
    """Create the missing day partitions from today (Beijing) to ``ahead_days`` after it, drop those older
    than the retention (and the default partition's reports as old), in the caller's transaction; returns
    what it did. Waits at most ``LOCK_TIMEOUT`` for the table (raises then: the caller retries later)."""
    today = beijing_day(now)
    todo = plan_upkeep(await existing_days(conn), today, ahead_days=ahead_days, retention_days=retention_days)
    if not todo.create and not todo.drop and retention_days <= 0:
        return todo
    await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    for day in todo.create:
        await create_day(conn, day)
    for day in todo.drop:
        await conn.execute(text(f"DROP TABLE {partition_name(day)}"))
    if retention_days > 0:
        cutoff, _ = bounds(today - timedelta(days=retention_days))
        await conn.execute(text(f"DELETE FROM {DEFAULT} WHERE t_epoch < :c"), {"c": cutoff.timestamp()})
    return todo
