"""``lowalt bench analytics``: the daily report's time and the dashboard queries' p95 on a generated history.

Example (a day of 1,000 aircraft, 86.4 M reports, generated and measured over several runs of at most
about 5 minutes each, the database kept between them: run the same command until it prints the figures)::

    lowalt bench analytics --aircraft 1000 --hours 24 --roll-hours 1 --roll-minutes 12 --db day1000 \
        --budget-s 300 --index-need-s 200 --keep-cluster --json

Starts the managed PostGIS under ``--data-dir`` (default ``.lowalt/bench``), creates the database (fresh
and dropped at the end; with ``--db`` kept, and a run continues where the last one stopped: the steps done
are in its ``bench_steps`` table) with the Fuliang airspace, and generates in the database itself
(``INSERT ... SELECT generate_series``, so Python is not the bottleneck) ``--aircraft`` aircraft reporting
at 1 Hz for ``--hours`` hours of one Beijing day (about centred on noon, starting on a whole hour): a third
fly along the published routes, the rest circle a take-off point at 100-1000 m. Each aircraft has a plan
per 30 minutes taking off at its point (completed; every 17th still approved, a no-show; every 23rd
cancelled), filing events (every 5th referred and decided by the centre 10 minutes later), approved plans
for the 24 h after the history's end (the demand: one per aircraft and 30 minutes, whatever ``--hours``), and an alert per aircraft and 5 hours (conflict, intrusion, nonconformance
in turn).

The reports go into the day's ``track_points`` partition (``lowalt.store.track_partitions``) as a bulk
load is done: its table filled first (``WRITERS`` sessions, in time order, ``SLICE_S`` of history a
slice), then its indexes built (one step each), then attached.

Then it rolls the history up as the server's roller does (``lowalt.store.analytics_repo.roll_up``), one
call per minute of history, each as of that minute's end plus ``MINUTE_SETTLE``, each timed
(``rollup_s_per_minute_*``: keeping up with 1 Hz means well under 60 s a minute), over the last
``--roll-hours`` (default all; with ``--roll-minutes`` only that many minutes, the rest of the last hour's
minutes up to the live edge get copies of theirs). Hours before those are marked rolled and, once the first rolled hour has
settled, get copies of its roll-up rows (``rollup_replicated``: the history repeats its shape every hour;
it lets the report be timed on a day when rolling every minute would take longer than the session has).
As of ``LIVE_LAG`` before the end it times the dashboard's six requests over the last hour (rolled
minutes, the last ones raw: ``live_query_p95_ms``); once the last hour has settled, ``lowalt report daily``
for the day (``report_s``) and the six requests over that past hour (``query_p95_ms``), ``--repeat`` times
each. Also ``points``, ``partition_gb`` (the day partition with its indexes), ``seed_s`` and its steps,
``cpus``, ``loadavg_1m`` and the load at each step's end (other work on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lowalt.airspace.geojson import load_airspace
from lowalt.analytics.report import day_window
from lowalt.services.daily_report import make_report
from lowalt.settings import DEFAULT_AIRSPACE
from lowalt.store import airspace_repo, analytics_repo, track_partitions
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import make_engine, migrate

DAY = date(2026, 11, 24)
ORGS = 5
RADIUS_M = 150.0
SLICE_S = 300
"""Seconds of every aircraft's history per generating statement (bounded transactions). History is written
in time order, as the server's history writer does, so the BRIN index on ``t`` narrows a minute's reads as
it does in service (written aircraft by aircraft, every BRIN range would span the whole history)."""
LIVE_LAG = timedelta(seconds=20)
"""The live hour is measured as the server's roller leaves it just before its next run (its default period):
the last minute unsettled and one more not rolled yet."""

_TRACKS = """
WITH fleet AS (
    SELECT a, 'BA-' || lpad(a::text, 5, '0') AS id, a % 3 = 0 AS on_route, r.line, r.len, p.g AS centre,
           100.0 + (a * 37 % 900) AS radius, (a * 0.61803) % 1.0 AS phase, 12.0 + (a % 7) AS speed
    FROM generate_series(CAST(:a0 AS int), CAST(:a1 AS int) - 1) a
    CROSS JOIN LATERAL (
        SELECT ST_Transform(geom, 4548) AS line, ST_Length(ST_Transform(geom, 4548)) AS len FROM airspace_features
        WHERE collection = 'routes' ORDER BY id OFFSET (a % :nroutes) LIMIT 1) r
    CROSS JOIN LATERAL (
        SELECT ST_Transform(geom, 4548) AS g FROM airspace_features
        WHERE collection = 'points' ORDER BY id OFFSET (a % :npoints) LIMIT 1) p),
pos AS (
    SELECT f.id, s, CASE WHEN f.on_route
        THEN ST_LineInterpolatePoint(f.line, (f.phase + s * f.speed / f.len) - floor(f.phase + s * f.speed / f.len))
        ELSE ST_Translate(f.centre, f.radius * cos(2 * pi() * f.phase + s * f.speed / f.radius),
                          f.radius * sin(2 * pi() * f.phase + s * f.speed / f.radius)) END AS g
    FROM fleet f CROSS JOIN generate_series(CAST(:s0 AS int), CAST(:s1 AS int) - 1) s)
INSERT INTO {table} (aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src, id)
SELECT id, :t0 + s, ST_X(ll), ST_Y(ll), 250, 0, 0, 0, 0, nextval(pg_get_serial_sequence('track_points', 'id'))
FROM (SELECT id, s, ST_Transform(g, 4326) AS ll FROM pos ORDER BY s, id) q"""

_PLANS = """
WITH fleet AS (
    SELECT a, 'BA-' || lpad(a::text, 5, '0') AS id, 'org-' || (a % :orgs) AS org, p.geom AS port
    FROM generate_series(0, CAST(:n AS int) - 1) a
    CROSS JOIN LATERAL (SELECT geom FROM airspace_features WHERE collection = 'points'
                        ORDER BY id OFFSET (a % :npoints) LIMIT 1) p)
INSERT INTO plans (id, organisation, submitted_by, aircraft_id, category, pilot, mission, priority, geom, floor_m,
                   floor_ref, ceiling_m, ceiling_ref, takeoff, landing, starts_at, ends_at, state, decision, attrs)
SELECT md5(f.id || ':' || k || ':' || :tag), f.org, 'bench', f.id, 'light_uav', 'pilot', 'survey', 1,
       ST_MakeLine(f.port, ST_Translate(f.port, 0.01, 0.0)), 0, 'AGL', 120, 'AGL', f.port, f.port,
       to_timestamp(:t0 + k * 1800), to_timestamp(:t0 + k * 1800 + 1680),
       CASE WHEN :future THEN 'approved' WHEN (a + k) % 17 = 0 THEN 'approved'
            WHEN (a + k) % 23 = 0 THEN 'cancelled' ELSE 'completed' END,
       jsonb_build_object('pathway', (ARRAY['standard', 'long_term_corridor', 'no_application'])[1 + (a + k) % 3]),
       '{}'::jsonb
FROM fleet f CROSS JOIN generate_series(0, CAST(:slots AS int) - 1) k"""

_EVENTS = """
INSERT INTO plan_events (plan_id, from_state, to_state, by, at, reason, details)
SELECT id, NULL, 'submitted', 'bench', starts_at - interval '2 hours', 'filed', '{}'::jsonb FROM plans
UNION ALL
SELECT id, 'submitted', CASE WHEN abs(hashtext(id)) % 5 = 0 THEN 'referred' ELSE 'approved' END, 'system',
       starts_at - interval '2 hours' + interval '300 milliseconds', '',
       CASE WHEN abs(hashtext(id)) % 5 = 0 THEN '{"codes": ["airspace_needs_approval"]}'::jsonb ELSE '{}'::jsonb END
FROM plans
UNION ALL
SELECT id, 'referred', 'approved', 'centre-duty', starts_at - interval '110 minutes', '', '{}'::jsonb FROM plans
WHERE abs(hashtext(id)) % 5 = 0"""

_ALERTS = """
INSERT INTO alert_events (alert_id, event, kind, severity, state, aircraft, first_seen, last_seen, details)
SELECT 'bench-' || k, 'raised', (ARRAY['conflict', 'intrusion', 'nonconformance'])[1 + k % 3], 'warning', 'new',
       ARRAY['BA-' || lpad((k * 7919 % :n)::text, 5, '0')], to_timestamp(:t0 + (k * 104729) % :secs),
       to_timestamp(:t0 + (k * 104729) % :secs), '{}'::jsonb
FROM generate_series(0, CAST(:alerts AS int) - 1) k"""


def _queries(start: datetime, end: datetime) -> dict[str, Callable[[AsyncConnection], Awaitable[Any]]]:
    """The dashboard's six requests (what ``/analytics/*`` runs for a window)."""
    return {
        "takeoff-points": lambda c: analytics_repo.slot_use(c, start, end, org=None, radius_m=RADIUS_M, as_of=end),
        "corridors": lambda c: analytics_repo.corridor_hours(c, start, end, org=None),
        "cells": lambda c: analytics_repo.cell_use(c, start, end, org=None),
        "filing": lambda c: analytics_repo.filing_summary(c, start, end, org=None),
        "operators": lambda c: analytics_repo.operator_use(c, start, end, org=None),
        "demand": lambda c: analytics_repo.demand(c, end, end + timedelta(hours=24), org=None, radius_m=RADIUS_M),
    }


async def _timed(engine: AsyncEngine, queries: dict[str, Callable[[AsyncConnection], Awaitable[Any]]],
                 repeat: int) -> dict[str, list[float]]:
    """Milliseconds of each query, ``repeat`` times each."""
    timings: dict[str, list[float]] = {}
    async with engine.connect() as conn:
        for measure, run in queries.items():
            for _ in range(repeat):
                s = time.perf_counter()
                await run(conn)
                timings.setdefault(measure, []).append((time.perf_counter() - s) * 1000)
    return timings


_PROGRESS = """
CREATE TABLE IF NOT EXISTS bench_steps (step text PRIMARY KEY, done double precision NOT NULL,
    seconds double precision NOT NULL DEFAULT 0, load double precision, result jsonb)"""
_MINUTES = """
CREATE TABLE IF NOT EXISTS bench_minutes (minute timestamptz PRIMARY KEY, seconds double precision NOT NULL,
    load double precision NOT NULL)"""
INDEXES = {
    "pkey": "ALTER TABLE {t} ADD CONSTRAINT {t}_pkey PRIMARY KEY (id, t_epoch)",
    "aircraft_t": "CREATE INDEX {t}_aircraft_id_t_idx ON {t} (aircraft_id, t)",
    "brin": "CREATE INDEX {t}_t_idx ON {t} USING brin (t)",
    "gist": "CREATE INDEX {t}_geom_idx ON {t} USING gist (geom)",
}
"""The day partition's indexes, built after its rows (``track_points``' own, as ``ATTACH`` adopts them):
one build is several times cheaper than 86 M insertions into each index."""


class OutOfTime(Exception):
    """This run's ``--budget-s`` is spent: run the same command again to continue."""


class Run:
    """One bench run against one database: the steps done so far (``bench_steps``, so a run continues where
    the last stopped) and this run's time budget."""

    def __init__(self, engine: AsyncEngine, budget_s: float | None) -> None:
        self.engine = engine
        self.deadline = None if budget_s is None else time.monotonic() + budget_s
        self.worked = False

    def check(self, need_s: float = 0.0) -> None:
        """Raise ``OutOfTime`` when less than ``need_s`` of the budget is left (a step that may take that long
        starts only at the beginning of a run, so a run ends near its budget); never before this run's first
        step (every run makes progress)."""
        if self.worked and self.deadline is not None and time.monotonic() + need_s > self.deadline:
            raise OutOfTime

    async def done(self, step: str) -> float | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT done FROM bench_steps WHERE step = :s"), {"s": step})).scalar()

    async def record(self, conn: AsyncConnection, step: str, done: float, seconds: float,
                     result: dict[str, Any] | None = None) -> None:
        """Record progress in the caller's transaction (seconds add up over runs)."""
        self.worked = True
        await conn.execute(text(
            "INSERT INTO bench_steps (step, done, seconds, load, result) VALUES (:s, :d, :x, :l, CAST(:r AS jsonb)) "
            "ON CONFLICT (step) DO UPDATE SET done = :d, seconds = bench_steps.seconds + :x, load = :l, "
            "result = coalesce(CAST(:r AS jsonb), bench_steps.result)"),
            {"s": step, "d": done, "x": seconds, "l": os.getloadavg()[0],
             "r": None if result is None else json.dumps(result)})

    async def once(self, step: str, work: Callable[[AsyncConnection], Awaitable[dict[str, Any] | None]], *,
                   need_s: float = 0.0) -> None:
        """Run ``work`` in one transaction unless done before; timed and recorded."""
        if await self.done(step) is not None:
            return
        self.check(need_s)
        s = time.perf_counter()
        async with self.engine.begin() as conn:
            result = await work(conn)
            await self.record(conn, step, 1, time.perf_counter() - s, result)

    async def results(self) -> dict[str, tuple[float, float, float | None, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT step, done, seconds, load, result FROM bench_steps"))
            return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


async def _setup(conn: AsyncConnection, n: int, start: float, secs: int, table: str) -> dict[str, Any]:
    """Airspace, aircraft, plans, filing events, alerts (see the module docstring) and the day partition's
    table, not attached yet and without indexes (filled by ``_tracks``)."""
    await airspace_repo.replace_airspace(conn, load_airspace(DEFAULT_AIRSPACE))
    counts = (await conn.execute(text(
        "SELECT count(*) FILTER (WHERE collection = 'routes' AND GeometryType(geom) = 'LINESTRING'), "
        "count(*) FILTER (WHERE collection = 'points') FROM airspace_features"))).one()
    await conn.execute(text(
        "INSERT INTO aircraft (id, category, organisation) SELECT 'BA-' || lpad(a::text, 5, '0'), 'light_uav', "
        "'org-' || (a % :orgs) FROM generate_series(0, CAST(:n AS int) - 1) a"), {"n": n, "orgs": ORGS})
    common = {"n": n, "orgs": ORGS, "npoints": counts[1], "slots": max(1, secs // 1800)}
    await conn.execute(text(_PLANS), {**common, "t0": start, "future": False, "tag": "day"})
    # the next 24 h's demand (from the history's end, what the dashboard asks): a plan per aircraft and 30
    # minutes whatever --hours is (48,000 approved plans at 1,000 aircraft)
    await conn.execute(text(_PLANS), {**common, "slots": 48, "t0": start + secs, "future": True, "tag": "next"})
    await conn.execute(text(_EVENTS))
    await conn.execute(text(_ALERTS), {"n": n, "t0": start, "secs": secs, "alerts": max(1, n * secs // 18_000)})
    await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))  # the migration's, if the day is today
    lo, hi = track_partitions.bounds(DAY)
    await conn.execute(text(
        f"CREATE TABLE {table} (LIKE track_points INCLUDING DEFAULTS INCLUDING GENERATED, "
        f"CONSTRAINT {table}_t CHECK (t >= '{lo.isoformat()}' AND t < '{hi.isoformat()}'), "
        f"CONSTRAINT {table}_epoch CHECK (t_epoch >= {lo.timestamp():.0f} AND t_epoch < {hi.timestamp():.0f}))"))
    return {"routes": counts[0], "points": counts[1]}


WRITERS = 2
"""Sessions generating each slice together, each for part of the fleet (both cores: the bench holds the
machine's lock). Each writes in time order, so the heap stays in time order to the BRIN index's grain."""


async def _tracks(run: Run, n: int, start: float, secs: int, table: str, counts: dict[str, Any]) -> None:
    """The reports, ``SLICE_S`` seconds of every aircraft per slice (``WRITERS`` transactions, one per part
    of the fleet), in time order; resumes after the last slice written."""
    s0 = int(await run.done("tracks") or 0)
    sql = text(_TRACKS.replace("{table}", table))
    cuts = [n * k // WRITERS for k in range(WRITERS + 1)]

    async def part(a0: int, a1: int, s0: int, s1: int) -> None:
        async with run.engine.begin() as conn:
            await conn.execute(sql, {"a0": a0, "a1": a1, "nroutes": counts["routes"], "npoints": counts["points"],
                                     "s0": s0, "s1": s1, "t0": start})

    while s0 < secs:
        run.check(30)
        t = time.perf_counter()
        s1 = min(secs, s0 + SLICE_S)
        await asyncio.gather(*(part(a0, a1, s0, s1) for a0, a1 in zip(cuts, cuts[1:], strict=False) if a1 > a0))
        async with run.engine.begin() as conn:
            await run.record(conn, "tracks", s1, time.perf_counter() - t)
        s0 = s1


async def _attach(conn: AsyncConnection, table: str) -> None:
    """Attach the filled day (its ``t_epoch`` CHECK spares the validating scan), then statistics."""
    lo, hi = track_partitions.bounds(DAY)
    await conn.execute(text(f"ALTER TABLE track_points ATTACH PARTITION {table} "
                            f"FOR VALUES FROM ({lo.timestamp():.0f}) TO ({hi.timestamp():.0f})"))
    await conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {table}_epoch"))
    await conn.execute(text("ANALYZE"))


async def _roll_minutes(run: Run, start: datetime, until: datetime) -> None:
    """The server's roller, minute by minute: ``roll_up`` as of each minute's end plus ``MINUTE_SETTLE`` (the
    closed minutes since the last call, then any hour closed ``SETTLE`` before), each timed
    (``bench_minutes``), up to ``until``; resumes after the last call."""
    at = await run.done("rollup")
    now = (start + timedelta(minutes=1) + analytics_repo.MINUTE_SETTLE if at is None
           else datetime.fromtimestamp(at, UTC) + timedelta(minutes=1))
    last = "SELECT max(minute) FROM analytics_rolled_minutes"
    while now <= until:
        run.check(30)
        t = time.perf_counter()
        async with run.engine.begin() as conn:
            before = (await conn.execute(text(last))).scalar()
            await analytics_repo.roll_up(conn, now=now)
            took = time.perf_counter() - t
            if (await conn.execute(text(last))).scalar() != before:  # a minute rolled (not a no-op call)
                await conn.execute(text(
                    "INSERT INTO bench_minutes VALUES (:m, :s, :l) ON CONFLICT (minute) DO UPDATE SET seconds = :s"),
                    {"m": now - analytics_repo.MINUTE_SETTLE - timedelta(minutes=1), "s": took,
                     "l": os.getloadavg()[0]})
            await run.record(conn, "rollup", now.timestamp(), took)
        now += timedelta(minutes=1)


ROLLUP_TABLES = {"analytics_cell_{span}s": "{span}", "analytics_corridor_{span}s": "{span}",
                 "analytics_separation": "at", "analytics_rolled_{span}s": "{span}"}
"""The roll-up's tables per ``span`` (``hour``, ``minute``) and their time column (``_replicate``); the
separation's rows of either span are told apart by its ``span`` column."""


async def _replicate(conn: AsyncConnection, span: str, sources: list[datetime], targets: list[datetime]
                     ) -> dict[str, Any]:
    """Copy the roll-up rows of the ``sources`` hours or minutes (rolled as the server does) to ``targets``,
    in turn: the rest of the history rolled up for the timings that read it, when rolling it all would take
    longer than the session has (the history repeats its shape every hour and every aircraft reports every
    second, so the rows per minute or hour are alike). Says so in the results."""
    have = set((await conn.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))).scalars())
    copied = 0
    for pattern, col_pattern in ROLLUP_TABLES.items():
        table, col = pattern.replace("{span}", span), col_pattern.replace("{span}", span)
        if table not in have:
            continue
        cols = [c for c in (await conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position"), {"t": table})).scalars()]
        where = f"{col} = :src" + (" AND span = :span" if "span" in cols else "")
        picks = ", ".join(f"{c} + :shift" if c == col else c for c in cols)
        for k, target in enumerate(targets):
            source = sources[k % len(sources)]
            res = await conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {picks} FROM {table} "
                                          f"WHERE {where} ON CONFLICT DO NOTHING"),
                                     {"src": source, "shift": target - source, "span": span})
            copied += res.rowcount or 0
    return {"span": span, "sources": len(sources), "targets": len(targets), "rows": copied}


def _p95(values: list[float], digits: int = 1) -> float:
    return round(float(np.percentile(values, 95)), digits)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = ManagedCluster(Path(args.data_dir))
    started = cluster.start()
    name = args.db or f"bench_{uuid.uuid4().hex[:8]}"
    cluster.create_database(name)  # idempotent: --db continues an existing one
    engine = make_engine(cluster.url(name), command_timeout_s=None)
    run = Run(engine, args.budget_s)
    try:
        return await _steps(run, args, cluster, name)
    except OutOfTime:
        return {"db": name, "out_of_time": True, "progress": {k: v[:2] for k, v in (await run.results()).items()},
                "loadavg_1m": round(os.getloadavg()[0], 2)}
    finally:
        await engine.dispose()
        if args.db is None and not args.keep_db:
            cluster.drop_database(name)
        if started and not args.keep_cluster:
            cluster.stop()


async def _steps(run: Run, args: argparse.Namespace, cluster: ManagedCluster, name: str) -> dict[str, Any]:
    engine = run.engine
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.execute(text(_PROGRESS))
        await conn.execute(text(_MINUTES))
    day_start, _ = day_window(DAY)
    secs = int(args.hours * 3600)
    t0 = day_start + timedelta(hours=int((24 - args.hours) / 2))  # whole hours: the last one rolls up
    end = t0 + timedelta(seconds=secs)
    table = track_partitions.partition_name(DAY)
    counts: dict[str, Any] = {}

    async def setup(conn: AsyncConnection) -> dict[str, Any]:
        return await _setup(conn, args.aircraft, t0.timestamp(), secs, table)

    await run.once("setup", setup)
    counts = (await run.results())["setup"][3]
    await _tracks(run, args.aircraft, t0.timestamp(), secs, table, counts)
    for index, sql in INDEXES.items():
        async def build(conn: AsyncConnection, sql: str = sql) -> None:
            await conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            await conn.execute(text("SET LOCAL max_parallel_maintenance_workers = 1"))  # btree: both cores
            await conn.execute(text(sql.replace("{t}", table)))
        await run.once(f"index_{index}", build, need_s=args.index_need_s)

    async def attach(conn: AsyncConnection) -> None:
        await _attach(conn, table)
    await run.once("attach", attach)
    # the server's roller as the history is flown, minute by minute, over the last --roll-hours; the hours
    # before are marked rolled here and get the first rolled hour's rows once it is rolled (replicated)
    roll_from = max(t0, end - timedelta(hours=args.roll_hours))
    roll_from = t0 + timedelta(hours=int((roll_from - t0) / timedelta(hours=1)))  # a whole hour
    before = [t0 + timedelta(hours=k) for k in range(int((roll_from - t0) / timedelta(hours=1)))]
    if before:
        async def mark(conn: AsyncConnection) -> None:
            await conn.execute(text("INSERT INTO analytics_rolled_hours (hour, points) SELECT h, 0 FROM "
                                    "unnest(CAST(:hs AS timestamptz[])) h ON CONFLICT DO NOTHING"), {"hs": before})
        await run.once("rollup_marked", mark)
    live_at = end - LIVE_LAG
    if args.roll_minutes is not None and roll_from + timedelta(minutes=args.roll_minutes) < live_at:
        # --roll-minutes the server's way, then the minutes up to the live edge replicated from them
        sample = [roll_from + timedelta(minutes=k) for k in range(args.roll_minutes)]
        await _roll_minutes(run, roll_from, sample[-1] + timedelta(minutes=1) + analytics_repo.MINUTE_SETTLE)
        rest = [sample[-1] + timedelta(minutes=k) for k in range(1, int((live_at - sample[-1]) / timedelta(minutes=1)))]

        async def fill(conn: AsyncConnection) -> dict[str, Any]:
            res = await _replicate(conn, "minute", sample, rest)
            await run.record(conn, "rollup", (live_at - timedelta(minutes=1)).timestamp(), 0)
            return res
        await run.once("minutes_replicated", fill)
    await _roll_minutes(run, roll_from, live_at)
    out = Path(args.report_out) if args.report_out else Path(tempfile.mkdtemp(prefix="lowalt-report-"))

    async def live(conn: AsyncConnection) -> dict[str, Any]:
        return dict(await _timed(engine, _queries(end - timedelta(hours=1), end), args.repeat))
    await run.once("live_queries", live)

    async def settle(conn: AsyncConnection) -> dict[str, Any]:  # the last hour closed and settled: from minutes
        return {"hours": [h.isoformat() for h in await analytics_repo.roll_up(conn, now=end + analytics_repo.SETTLE)]}
    await run.once("settle", settle)

    if before:
        async def replicate(conn: AsyncConnection) -> dict[str, Any]:
            return await _replicate(conn, "hour", [roll_from], before)
        await run.once("rollup_replicated", replicate)

    async def report(conn: AsyncConnection) -> dict[str, Any]:
        files = await make_report(engine, DAY, out, radius_m=RADIUS_M, as_of=end + timedelta(days=1))
        return {"files": len(files), "dir": str(out)}
    await run.once("report", report)

    async def past(conn: AsyncConnection) -> dict[str, Any]:
        return dict(await _timed(engine, _queries(end - timedelta(hours=1), end), args.repeat))
    await run.once("past_queries", past)
    steps = await run.results()
    async with engine.connect() as conn:
        points = (await conn.execute(text("SELECT count(*) FROM track_points"))).scalar() or 0
        size = (await conn.execute(text(
            "SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table})).scalar() or 0
        minutes = (await conn.execute(text("SELECT seconds FROM bench_minutes ORDER BY minute"))).scalars().all()
    seed_s = sum(v[1] for k, v in steps.items() if k in ("setup", "tracks", "attach") or k.startswith("index_"))
    live_t, past_t = steps["live_queries"][3], steps["past_queries"][3]
    minute_s = [float(m) for m in minutes]
    return {"aircraft": args.aircraft, "hours": args.hours, "points": points, "db": name,
            "partition_gb": round(size / 2**30, 1), "seed_s": round(seed_s, 1),
            "seed_steps_s": {k: round(v[1], 1) for k, v in steps.items()
                             if k in ("setup", "tracks", "attach") or k.startswith("index_")},
            "rollup_minutes": len(minute_s), "rollup_s_per_minute_median": round(float(np.median(minute_s)), 2),
            "rollup_s_per_minute_p95": _p95(minute_s, 2), "rollup_s_per_minute_max": round(max(minute_s), 2),
            "keeps_up_with_1hz": _p95(minute_s) < 60,
            "rollup_replicated": [steps.get(k, (0, 0, None, None))[3] for k in ("minutes_replicated", "rollup_replicated")],
            "settle_s": round(steps["settle"][1], 2),
            "report_s": round(steps["report"][1], 2), "report_dir": steps["report"][3]["dir"],
            "query_p95_ms": _p95([v for vs in past_t.values() for v in vs]),
            "per_measure_p95_ms": {k: _p95(v) for k, v in past_t.items()},
            "live_query_p95_ms": _p95([v for vs in live_t.values() for v in vs]),
            "live_per_measure_p95_ms": {k: _p95(v) for k, v in live_t.items()},
            "repeat": args.repeat, "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "load_per_step": {k: v[2] for k, v in steps.items()},
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lowalt bench analytics", description=__doc__.splitlines()[0])
    ap.add_argument("--aircraft", type=int, default=100, help="aircraft reporting at 1 Hz")
    ap.add_argument("--hours", type=float, default=2.0, help="hours of history (at most 24, one Beijing day)")
    ap.add_argument("--repeat", type=int, default=20, help="runs of each dashboard query")
    ap.add_argument("--roll-hours", type=float, default=24.0,
                    help="hours before the end rolled up minute by minute (the earlier ones get the first "
                         "rolled hour's rows: replicated)")
    ap.add_argument("--roll-minutes", type=int, default=None,
                    help="roll only this many minutes the server's way, the rest of the last hour replicated from them")
    ap.add_argument("--db", default=None,
                    help="keep the history in this database and continue it at each run (with --budget-s)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="stop after the step running when this many seconds have passed; run again to continue")
    ap.add_argument("--index-need-s", type=float, default=0.0,
                    help="with --budget-s: start an index build only with this much of the budget left")
    ap.add_argument("--report-out", default=None, help="write the daily report here (default: a temp folder)")
    ap.add_argument("--data-dir", default=".lowalt/bench", help="managed PostGIS location")
    ap.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    ap.add_argument("--keep-db", action="store_true", help="keep the generated database")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if (args.aircraft < 1 or not 0 < args.hours <= 24 or args.repeat < 1 or args.roll_hours <= 0
            or (args.roll_minutes is not None and args.roll_minutes < 1)):
        ap.error("--aircraft >= 1, 0 < --hours <= 24, --repeat >= 1, --roll-hours > 0, --roll-minutes >= 1")
    res = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    else:
        for k, v in res.items():
            print(f"{k:>20}: {v}")
    return 0
