"""``lowalt bench analytics``: the daily report's time and the dashboard queries' p95 on a generated history.

Example::

    lowalt bench analytics --aircraft 1000 --hours 24 --json

Starts the managed PostGIS under ``--data-dir`` (default ``.lowalt/bench``), creates a fresh database with
the Fuliang airspace, and generates in the database itself (``INSERT ... SELECT generate_series``, so
Python is not the bottleneck) ``--aircraft`` aircraft reporting at 1 Hz for ``--hours`` hours of one
Beijing day (about centred on noon, starting on a whole hour): a third fly along the published routes, the rest circle a take-off point
at 100-1000 m. Each aircraft has a plan per 30 minutes taking off at its point (completed; every 17th
still approved, a no-show; every 23rd cancelled), filing events (every 5th referred and decided by the
centre 10 minutes later), approved plans for the next day (the demand), and an alert per aircraft and
5 hours (conflict, intrusion, nonconformance in turn).

Then it rolls the history up as the server's roller would have (``lowalt.services.analytics_rollup``),
in two steps. First as of one roll-up period (``LIVE_LAG``) before the history's end: hours before the
last two from raw history, the last two by the minute (``live_rollup_s``); the dashboard's six requests
over the last hour then read rolled minutes and the last minutes raw (``live_query_p95_ms`` /
``live_per_measure_p95_ms``: the live hour). Then once the last hour has settled: it rolls from its
minutes (``rollup_s`` is both steps, ``rollup_s_per_history_hour`` per hour of history: what the
incremental maintenance costs). It times ``lowalt report daily`` for that day (gather + write,
``report_s``), the day's cells measure from raw history without the rollup (``raw_cells_s``), and the
six requests over the last hour rolled up (``query_p95_ms`` / ``per_measure_p95_ms``: a past hour),
``--repeat`` times each. Also ``points``, ``seed_s``, ``cpus``, ``loadavg_1m`` (other work on the machine
during the run).
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
from lowalt.store import airspace_repo, analytics_repo
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
INSERT INTO track_points (aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src)
SELECT id, :t0 + s, ST_X(ll), ST_Y(ll), 250, 0, 0, 0, 0
FROM (SELECT id, s, ST_Transform(g, 4326) AS ll FROM pos) q ORDER BY s, id"""

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


async def _seed(conn: AsyncConnection, n: int, start: float, secs: int) -> int:
    """The history (see the module docstring); returns the track points written."""
    await airspace_repo.replace_airspace(conn, load_airspace(DEFAULT_AIRSPACE))
    counts = (await conn.execute(text(
        "SELECT count(*) FILTER (WHERE collection = 'routes' AND GeometryType(geom) = 'LINESTRING'), "
        "count(*) FILTER (WHERE collection = 'points') FROM airspace_features"))).one()
    await conn.execute(text(
        "INSERT INTO aircraft (id, category, organisation) SELECT 'BA-' || lpad(a::text, 5, '0'), 'light_uav', "
        "'org-' || (a % :orgs) FROM generate_series(0, CAST(:n AS int) - 1) a"), {"n": n, "orgs": ORGS})
    await conn.commit()
    for s0 in range(0, secs, SLICE_S):
        await conn.execute(text(_TRACKS), {"a0": 0, "a1": n, "nroutes": counts[0], "npoints": counts[1],
                                           "s0": s0, "s1": min(secs, s0 + SLICE_S), "t0": start})
        await conn.commit()
    common = {"n": n, "orgs": ORGS, "npoints": counts[1], "slots": max(1, secs // 1800)}
    await conn.execute(text(_PLANS), {**common, "t0": start, "future": False, "tag": "day"})
    await conn.execute(text(_PLANS), {**common, "t0": start + 86_400, "future": True, "tag": "next"})
    await conn.execute(text(_EVENTS))
    await conn.execute(text(_ALERTS), {"n": n, "t0": start, "secs": secs, "alerts": max(1, n * secs // 18_000)})
    await conn.execute(text("ANALYZE"))
    await conn.commit()
    return n * secs


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


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = ManagedCluster(Path(args.data_dir))
    started = cluster.start()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    cluster.create_database(name)
    engine = make_engine(cluster.url(name), command_timeout_s=None)
    try:
        await migrate(engine)
        day_start, _ = day_window(DAY)
        secs = int(args.hours * 3600)
        t0 = day_start + timedelta(hours=int((24 - args.hours) / 2))  # whole hours: the last one rolls up
        seed_t = time.perf_counter()
        async with engine.connect() as conn:
            points = await _seed(conn, args.aircraft, t0.timestamp(), secs)
        seed_s = time.perf_counter() - seed_t
        out = Path(args.report_out) if args.report_out else Path(tempfile.mkdtemp(prefix="lowalt-report-"))
        end = t0 + timedelta(seconds=secs)
        roll_t = time.perf_counter()
        async with engine.begin() as conn:  # what the roller has done by the live hour's last minutes
            rolled = await analytics_repo.roll_up(conn, now=end - LIVE_LAG)
        live_rollup_s = time.perf_counter() - roll_t
        live = await _timed(engine, _queries(end - timedelta(hours=1), end), args.repeat)
        roll_t = time.perf_counter()
        async with engine.begin() as conn:  # and once the last hour has closed and settled: from its minutes
            rolled += await analytics_repo.roll_up(conn, now=end + analytics_repo.SETTLE)
        rollup_s = live_rollup_s + time.perf_counter() - roll_t
        rep_t = time.perf_counter()
        files = await make_report(engine, DAY, out, radius_m=RADIUS_M, as_of=end + timedelta(days=1))
        report_s = time.perf_counter() - rep_t
        raw_t = time.perf_counter()
        async with engine.connect() as conn:  # the same day without the rollup: what it saves
            await analytics_repo.cell_use(conn, *day_window(DAY), org=None, use_rollup=False)
        raw_cells_s = time.perf_counter() - raw_t
        per = await _timed(engine, _queries(end - timedelta(hours=1), end), args.repeat)
        every = [v for vs in per.values() for v in vs]
        every_live = [v for vs in live.values() for v in vs]
        return {"aircraft": args.aircraft, "hours": args.hours, "points": points, "seed_s": round(seed_s, 1),
                "live_rollup_s": round(live_rollup_s, 2), "rollup_s": round(rollup_s, 2),
                "rollup_hours": len(rolled),
                "rollup_s_per_history_hour": round(rollup_s / args.hours, 2),
                "report_s": round(report_s, 2), "raw_cells_s": round(raw_cells_s, 2), "report_files": len(files), "report_dir": str(out),
                "query_p95_ms": round(float(np.percentile(every, 95)), 1),
                "per_measure_p95_ms": {k: round(float(np.percentile(v, 95)), 1) for k, v in per.items()},
                "live_query_p95_ms": round(float(np.percentile(every_live, 95)), 1),
                "live_per_measure_p95_ms": {k: round(float(np.percentile(v, 95)), 1) for k, v in live.items()},
                "repeat": args.repeat, "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
                "at": datetime.now(UTC).isoformat(timespec="seconds")}
    finally:
        await engine.dispose()
        if not args.keep_db:
            cluster.drop_database(name)
        if started and not args.keep_cluster:
            cluster.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lowalt bench analytics", description=__doc__.splitlines()[0])
    ap.add_argument("--aircraft", type=int, default=100, help="aircraft reporting at 1 Hz")
    ap.add_argument("--hours", type=float, default=2.0, help="hours of history (at most 24, one Beijing day)")
    ap.add_argument("--repeat", type=int, default=20, help="runs of each dashboard query")
    ap.add_argument("--report-out", default=None, help="write the daily report here (default: a temp folder)")
    ap.add_argument("--data-dir", default=".lowalt/bench", help="managed PostGIS location")
    ap.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    ap.add_argument("--keep-db", action="store_true", help="keep the generated database")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.aircraft < 1 or not 0 < args.hours <= 24 or args.repeat < 1:
        ap.error("--aircraft >= 1, 0 < --hours <= 24, --repeat >= 1")
    res = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    else:
        for k, v in res.items():
            print(f"{k:>20}: {v}")
    return 0
