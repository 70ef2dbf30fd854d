"""The analytics roll-up in the server: every ``LOWALT_ANALYTICS_ROLLUP_S`` seconds, on a node with the
``history`` role, roll what has closed since the last run (``lowalt.store.analytics_repo.roll_up``: closed
minutes of the hour being flown, then closed hours), so the dashboard's reads stay a few rows per hour
and at most the last minute or two of raw history, however long the history grows.

Why here and not in ``lowalt.analytics``: this opens connections; ``lowalt.store`` already imports the
analytics' types, so the I/O lives in the service layer (as ``daily_report``).

- **Never blocks the event loop**: the work is SQL run by PostGIS, which the loop only awaits, and the
  corridor separation's numpy (``lowalt.analytics.separation``, ~20 ms a minute at 1,000 aircraft) in a
  worker thread.
- **Its own engine**, without the API's 5 s statement limit (an hour rolled from raw history at 1,000
  aircraft takes a minute or more), bounded instead by ``statement_timeout`` and a whole-run timeout (a
  frozen server answers nothing).
- **PostGIS away**: a failed run is logged once (``analytics_rollup_failed``), retried at the next
  period, and its recovery logged once (``analytics_rollup_recovered``); the server keeps running.
- **One roller at a time across nodes**: ``roll_up`` takes a transaction-scoped advisory lock and does
  nothing when another node (or a report) holds it.
- **The history's partitions** (``lowalt.store.track_partitions``): each run first creates the day partitions
  of ``track_points`` missing ahead and drops those past ``history_retention_days``; with the roll-up off
  (``analytics_rollup_s`` 0) the task runs hourly for that alone.
- **Bounded runs**: at most ``MAX_HOURS_PER_RUN`` hours from raw history a run (catching up on a long
  history spreads over runs, each its own transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lowalt.settings import Settings
from lowalt.store import analytics_repo, track_partitions
from lowalt.store.db import lower_backend_priority, make_engine

log = logging.getLogger(__name__)

MAX_HOURS_PER_RUN = 2
"""Hours rolled per run (each from its minutes, or from raw history when its minutes are missing)."""
STATEMENT_TIMEOUT = "10min"
"""Longest roll-up statement (PostgreSQL ``statement_timeout``): an hour from raw history at 1,000 aircraft
took 94 s on the loaded 2-core machine (docs/analytics.md)."""
RUN_TIMEOUT_S = 900.0
"""Longest run, whatever the server does (a frozen PostGIS never answers; the next period retries)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Roller:
    """The periodic roll-up task. ``now`` is the clock (tests give a fixed one)."""

    def __init__(self, engine: AsyncEngine, period_s: float, *, now: Callable[[], datetime] = _utcnow,
                 retention_days: int = 0, rolls: bool = True) -> None:
        self.engine = engine
        self.period_s = period_s
        self.now = now
        self.retention_days = retention_days
        """Days of raw history kept before today (``Settings.history_retention_days``; 0: all)."""
        self.rolls = rolls
        """Roll up (``analytics_rollup_s`` > 0); without it the task only keeps the partitions."""
        self.runs = 0
        """Runs finished, rolled or not (failed ones included)."""
        self.failing = False
        """The last run failed (PostGIS away, or a statement failed)."""
        self.rolled_hours: list[datetime] = []
        """Hours rolled by this roller, oldest first."""
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> list[datetime]:
        """The history's partition upkeep (days ahead, retention: ``track_partitions.upkeep``), then one
        roll-up, each in its own transaction; returns the hours rolled (none when another node holds the
        lock)."""
        async with self.engine.begin() as conn:
            done = await track_partitions.upkeep(conn, now=self.now(), retention_days=self.retention_days)
        if done.create or done.drop:
            log.info("history_partitions", extra={"days_created": [d.isoformat() for d in done.create],
                                                  "days_dropped": [d.isoformat() for d in done.drop]})
        if not self.rolls:
            return []
        async with self.engine.begin() as conn:
            await conn.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
            await lower_backend_priority(conn)  # yields the CPU to ingest, the feed and the history COPY
            return await analytics_repo.roll_up(conn, now=self.now(), max_hours=MAX_HOURS_PER_RUN)

    async def _step(self) -> None:
        try:
            hours = await asyncio.wait_for(self.run_once(), RUN_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # PostGIS away, a timeout, a failed statement: try again next period
            if not self.failing:
                log.warning("analytics_rollup_failed", extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            self.failing = True
        else:
            if self.failing:
                log.info("analytics_rollup_recovered")
            self.failing = False
            self.rolled_hours += hours
            if hours:
                log.info("analytics_rolled_up", extra={"hours": [h.isoformat() for h in hours]})
        self.runs += 1

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.period_s)  # first run one period after start: a short-lived server rolls nothing
            await self._step()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="analytics-rollup")

    async def stop(self) -> None:
        """Cancel the task (a run in progress rolls back: the next start redoes it) and close the engine."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.engine.dispose()


UPKEEP_ONLY_S = 3600.0
"""Period of the partition upkeep when the roll-up is off (``analytics_rollup_s`` 0)."""


def start_rollup(settings: Settings, url: str) -> Roller | None:
    """The started roller for this node, or None: only a node with the ``history`` role rolls up and keeps
    the history's partitions (it writes the history); with ``analytics_rollup_s`` 0 it only keeps the
    partitions, hourly."""
    if not settings.has_role("history"):
        return None
    rolls = settings.analytics_rollup_s > 0
    roller = Roller(make_engine(url, command_timeout_s=None),
                    settings.analytics_rollup_s if rolls else UPKEEP_ONLY_S,
                    retention_days=settings.history_retention_days, rolls=rolls)
    roller.start()
    return roller
