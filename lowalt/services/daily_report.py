"""``lowalt report daily --date YYYY-MM-DD --out DIR``: gather one Beijing day's measures from PostGIS and
write the report (``lowalt.analytics.report``).

Why here and not in ``lowalt.analytics``: this opens the database, and ``lowalt.store.analytics_repo``
already imports the analytics' types; keeping the I/O in the service layer keeps analytics <-> store
free of an import cycle. The queries run on an engine without the API's 5 s statement limit: a day of
history at scale takes longer than one request may.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from lowalt.analytics.report import DayData, day_window, write_report
from lowalt.store import analytics_repo


async def gather(engine: AsyncEngine, day: date, *, radius_m: float, as_of: datetime) -> DayData:
    """Every measure of the Beijing ``day``, plus demand for the 24 h after it. First rolls up what has
    closed and is not rolled yet (``analytics_repo.roll_up``, as the server's roller does; a no-op while
    the roller holds the lock), so the day's cells, corridors and flight hours are read from the rollups."""
    start, end = day_window(day)
    async with engine.begin() as conn:
        await analytics_repo.roll_up(conn, now=as_of)
    async with engine.connect() as conn:
        slots = await analytics_repo.slot_use(conn, start, end, org=None, radius_m=radius_m, as_of=as_of)
        corridors = await analytics_repo.corridor_hours(conn, start, end, org=None)
        cells = await analytics_repo.cell_use(conn, start, end, org=None)
        filing = await analytics_repo.filing_summary(conn, start, end, org=None)
        operators = await analytics_repo.operator_use(conn, start, end, org=None)
        demand = await analytics_repo.demand(conn, end, end + timedelta(hours=24), org=None, radius_m=radius_m)
    return DayData(day, start, end, slots, corridors, cells, filing, operators, demand)


async def make_report(engine: AsyncEngine, day: date, out: Path, *, radius_m: float, as_of: datetime
                      ) -> list[Path]:
    return write_report(await gather(engine, day, radius_m=radius_m, as_of=as_of), out)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lowalt report daily", description=(
        "One Beijing day's capacity and utilisation report: index.html with PNG plots, the CSVs behind them "
        "and a Chinese summary (summary_zh.txt). Reads LOWALT_DATABASE_URL, or the managed PostGIS."))
    p.add_argument("--date", required=True, type=date.fromisoformat, help="the day, YYYY-MM-DD (Beijing time)")
    p.add_argument("--out", required=True, type=Path, help="folder to write into (created)")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    from datetime import UTC

    from lowalt.filing.policy import load_policy
    from lowalt.settings import Settings
    from lowalt.store.db import make_engine, open_database

    settings = Settings.from_env()
    radius = load_policy(settings.airspace_dir).vertiport_radius_m

    async def go() -> list[Path]:
        db = await open_database(settings)
        engine = make_engine(db.url, command_timeout_s=None)
        try:
            return await make_report(engine, args.date, args.out, radius_m=radius, as_of=datetime.now(UTC))
        finally:
            await engine.dispose()
            await db.close(stop_cluster=False)

    t0 = time.perf_counter()
    files = asyncio.run(go())
    print(f"wrote {len(files)} files to {args.out} in {time.perf_counter() - t0:.1f} s "
          f"({args.out / 'index.html'})", file=sys.stderr)
    return 0
