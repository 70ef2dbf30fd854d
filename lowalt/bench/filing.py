"""``lowalt bench filing``: decision latency with N approved plans on file, on PostGIS.

Example::

    lowalt bench filing --plans 10000 --decisions 300 --json

Starts the managed PostGIS under ``--data-dir`` (default ``.lowalt/bench``), creates a
fresh database, seeds N approved plans (light UAVs on 1-4 km routes, W-layer bands,
spread over ~25 x 25 km around Jingdezhen and 7 days) through ``filing_repo``, starts the
real :class:`FilingService` (which loads them into its 4D index), then times M filings
end to end: registry read, rules, 4D deconfliction, alternatives for rejections, insert
and audit rows, commit. Prints ``plans``, ``decisions``, ``p50_ms``, ``p90_ms``,
``p99_ms``, ``max_ms``, ``decisions_per_s`` (sequential), ``verdicts``, ``load_s``; with
``--http`` also ``http_p50_ms`` / ``http_p99_ms`` for the same kind of filings through
``POST /plans`` (in-process ASGI: auth, validation, JSON). ``loadavg_1m`` shows whether
other work shared the machine during the run; ``cpu_p50_ms``/``cpu_p99_ms`` are this
process's CPU time per decision (PostGIS excluded), which contention does not inflate.

``--rate R`` offers R filings per second over all nodes instead (open loop: Poisson arrivals, as from
independent filers, or evenly spaced with ``--even``; arrivals do not wait for decisions, at most
``--concurrency`` in flight, latency from the scheduled arrival), the question "does
the centre decide 300 filings a second within 100 ms"; without it, N filers filing back to back have
a mean latency of N / throughput by Little's law (50 filers at 300/s: 167 ms), whatever the code.

``--concurrency N`` runs N filers at once (each filing in turn, one decision after the other) and
``--nodes K`` spreads them over K processes, each its own :class:`FilingService` (own index, own
connection pool, LISTEN/NOTIFY between them) on the same database: what several ``lowalt serve``
nodes do, without HTTP. The same keys come back: ``p50_ms``/``p99_ms`` over every decision,
``decisions_per_s`` over all filers from the first start to the last finish, plus ``concurrency``,
``nodes``, ``per_node``, ``cpus`` and ``pg_cpu_ms_per_decision`` (the managed PostGIS's CPU over
node 0's timed window, per decision of all nodes; absent when its processes cannot be read)::

    lowalt bench filing --plans 10000 --decisions 1500 --concurrency 50 --nodes 2 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import LineString, Point, mapping

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import AircraftCategory
from lowalt.api.app import freeze_long_lived
from lowalt.bench import run_on_server_loop
from lowalt.filing.model import FlightPlan, MissionType, PlanState
from lowalt.filing.policy import load_policy
from lowalt.filing.service import Filer, FilingService
from lowalt.geo.altitude import agl
from lowalt.identity.model import Role
from lowalt.services.filing import filing_service
from lowalt.settings import DEFAULT_AIRSPACE
from lowalt.store import aircraft_repo, filing_repo, identity_repo
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import Database, make_engine, migrate

ORG = "bench-org"
CENTRE = (117.42, 29.20)
"""South-east of the city: mostly open W airspace (the Luojia zones lie north-west)."""
BANDS = ((0.0, 40.0), (40.0, 80.0), (80.0, 120.0))
FLEET = 2000
"""Registered aircraft the timed filings use in turn. Seeded plans each have an aircraft of their own
(one aircraft holds one plan at a time: 10,000 plans on 50 aircraft would be mostly double bookings)."""


def _plan(rng: np.random.Generator, t0: datetime, k: int, state: PlanState) -> FlightPlan:
    lon = CENTRE[0] + rng.uniform(-0.13, 0.13)
    lat = CENTRE[1] + rng.uniform(-0.11, 0.11)
    length = rng.uniform(0.01, 0.04)
    ang = rng.uniform(0, 2 * np.pi)
    line = LineString([(lon, lat), (lon + length * np.cos(ang), lat + length * np.sin(ang))])
    lo, hi = BANDS[int(rng.integers(len(BANDS)))]
    start = t0 + timedelta(minutes=float(rng.uniform(0, 7 * 24 * 60)))
    start = start.replace(second=0, microsecond=0)
    return FlightPlan(
        id=uuid.uuid4().hex, organisation=ORG, submitted_by="bench-op",
        aircraft_id=f"B-{k % FLEET}" if state is PlanState.SUBMITTED else f"S-{k}",
        category=AircraftCategory.LIGHT_UAV, pilot="bench", licence_id=None, mission=MissionType.INSPECTION,
        geometry=line, half_width_m=30.0, floor=agl(lo), ceiling=agl(hi), takeoff=Point(line.coords[0]),
        landing=Point(line.coords[-1]), start=start, end=start + timedelta(minutes=float(rng.uniform(15, 60))),
        state=state, decision={"verdict": "approved", "pathway": "no_application", "seeded": True},
    )


def _wire(p: FlightPlan) -> dict[str, Any]:
    return {"aircraft_id": p.aircraft_id, "category": p.category.value, "pilot": p.pilot, "mission": p.mission.value,
            "geometry": mapping(p.geometry), "half_width_m": p.half_width_m,
            "altitude": {"floor": {"value_m": p.floor.value_m, "reference": p.floor.reference.value},
                         "ceiling": {"value_m": p.ceiling.value_m, "reference": p.ceiling.reference.value}},
            "start": p.start.isoformat(), "end": p.end.isoformat()}


async def _http(args: argparse.Namespace, db: Database, svc: FilingService, token: str,
                rng: np.random.Generator, t0: datetime) -> dict[str, Any]:
    """The same filings through the FastAPI app (validation, auth, JSON) in process, no sockets."""
    import httpx

    from lowalt.api.app import create_app
    from lowalt.settings import Settings

    app = create_app(Settings(data_dir=Path(args.data_dir)), db=db)
    app.state.filing = svc
    lat: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
        for k in range(args.decisions + 5):
            body = _wire(_plan(rng, t0, k, PlanState.SUBMITTED))
            s = time.perf_counter()
            r = await c.post("/plans", json=body, headers=headers)
            if k >= 5:
                lat.append((time.perf_counter() - s) * 1000)
            if r.status_code != 201:
                raise RuntimeError(f"bench filing failed: {r.status_code} {r.text[:300]}")
    q = np.percentile(lat, [50, 99])
    return {"http_p50_ms": round(float(q[0]), 2), "http_p99_ms": round(float(q[1]), 2)}


async def _filers(url: str, args: argparse.Namespace, node: int, t0: datetime, ready: Any = None,
                  pid_file: Path | None = None) -> dict[str, Any]:
    """One node: a FilingService on ``url`` and ``concurrency / nodes`` filers; latencies of its decisions."""
    db = Database(engine=make_engine(url), url=url)
    try:
        svc = filing_service(db, load_airspace(args.airspace), load_policy(Path(args.airspace) / "policy.yaml"))
        await svc.start()
        filer = Filer("bench-op", ORG)
        n_filers = max(1, args.concurrency // args.nodes)
        per_filer = max(1, args.decisions // (n_filers * args.nodes))
        rng = np.random.default_rng(args.seed + 1000 * (node + 1))
        base = 100_000 * (node + 1)
        # warm caches, code paths and the pool: as many filings at once as there are filers, as in a server
        # that has been running (its pool holds that many connections)
        for k in range(0, 2 * n_filers, n_filers):
            await asyncio.gather(*(svc.submit(_plan(rng, t0, base + k + f, PlanState.SUBMITTED), filer)
                                   for f in range(n_filers)))
        freeze_long_lived()  # as the server does after its start (lowalt.api.app)
        lat: list[float] = []
        verdicts: Counter[str] = Counter()

        def filings(f: int) -> list[FlightPlan]:
            """A filer's filings, made before the timed window: the filers are the node's clients, and
            what they cost to make is not the node's (an HTTP client runs elsewhere)."""
            local = np.random.default_rng(args.seed + 7919 * (node + 1) + f)
            return [_plan(local, t0, node * n_filers + f + i * n_filers * args.nodes, PlanState.SUBMITTED)
                    for i in range(per_filer)]

        ahead = [] if args.rate else [filings(f) for f in range(n_filers)]
        paced_rng = np.random.default_rng(args.seed + 7919 * (node + 1))
        arrivals = [_plan(paced_rng, t0, node + i * args.nodes, PlanState.SUBMITTED)
                    for i in range(per_filer * n_filers)] if args.rate else []  # made before the window, as above

        async def one_filer(f: int) -> None:
            for cand in ahead[f]:
                s = time.perf_counter()
                plan, _ = await svc.submit(cand, filer)
                lat.append((time.perf_counter() - s) * 1000)
                verdicts[plan.state.value] += 1

        async def paced() -> None:
            """Open loop: filings arrive at ``rate / nodes`` a second on each node whether or not earlier ones
            are decided, as a Poisson process (independent filers: exponential gaps, bursts included;
            ``--even``: one every ``nodes / rate`` s); at most ``n_filers`` are in flight, a later one waits
            for a free filer. Latency runs from the scheduled arrival (a late start counts: no coordinated
            omission)."""
            filers = asyncio.Semaphore(n_filers)
            mean_gap = args.nodes / args.rate
            gaps = np.full(len(arrivals), mean_gap) if args.even else \
                np.random.default_rng(args.seed + 31 * (node + 1)).exponential(mean_gap, len(arrivals))
            dues = np.concatenate([[0.0], np.cumsum(gaps)[:-1]]).tolist()
            t0_s = time.perf_counter()

            async def one(i: int, due: float) -> None:
                async with filers:
                    plan, _ = await svc.submit(arrivals[i], filer)
                lat.append((time.perf_counter() - due) * 1000)
                verdicts[plan.state.value] += 1

            tasks = []
            for i in range(len(arrivals)):
                due = t0_s + dues[i]
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tasks.append(asyncio.ensure_future(one(i, due)))
            await asyncio.gather(*tasks)

        if ready is not None:
            await asyncio.to_thread(ready.wait)  # every node starts timing together
        cpu, wall, pg = time.process_time(), time.perf_counter(), _pg_cpu_s(pid_file)
        if args.rate:
            await paced()
        else:
            await asyncio.gather(*(one_filer(f) for f in range(n_filers)))
        wall_end = time.time()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pg_end = _pg_cpu_s(pid_file)
        await svc.stop()
        return {"lat": lat, "verdicts": dict(verdicts), "wall_s": wall, "end": wall_end, "start": wall_end - wall,
                "cpu_ms_per_decision": cpu * 1000 / max(1, len(lat)), "index_size": len(svc.index),
                "pg_cpu_s": None if pg is None or pg_end is None else pg_end - pg,
                "synced": svc.synced}
    finally:
        await db.close(stop_cluster=False)


def _pg_cpu_s(pid_file: Path | None) -> float | None:
    """CPU seconds the managed PostGIS has used so far: the postmaster, its live backends and the ones
    that exited (``children_*``). None when it is not a local process this bench can read."""
    if pid_file is None:
        return None
    import psutil

    try:
        master = psutil.Process(int(pid_file.read_text().split()[0]))
        t = master.cpu_times()
        total = float(t.user + t.system + t.children_user + t.children_system)
        for child in master.children():
            with contextlib.suppress(psutil.Error):  # a backend exiting meanwhile
                c = child.cpu_times()
                total += c.user + c.system
        return total
    except (OSError, ValueError, psutil.Error):
        return None


def _node_process(url: str, args: argparse.Namespace, node: int, t0: datetime, ready: Any, out: Any,
                  pid_file: Path | None) -> None:
    out.put(run_on_server_loop(_filers(url, args, node, t0, ready, pid_file)))


async def _concurrent(args: argparse.Namespace, url: str, t0: datetime, pid_file: Path | None = None
                      ) -> dict[str, Any]:
    if args.nodes == 1:
        runs = [await _filers(url, args, 0, t0, pid_file=pid_file)]
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        ready, out = ctx.Barrier(args.nodes), ctx.Queue()
        procs = [ctx.Process(target=_node_process, args=(url, args, k, t0, ready, out, pid_file if k == 0 else None))
                 for k in range(args.nodes)]
        for p in procs:
            p.start()
        runs = [await asyncio.to_thread(out.get) for _ in procs]
        for p in procs:
            await asyncio.to_thread(p.join)
    lat = [x for r in runs for x in r["lat"]]
    wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    q = np.percentile(lat, [50, 90, 99])
    pg = [r["pg_cpu_s"] for r in runs if r["pg_cpu_s"] is not None]  # node 0's (the runs come in any order)
    verdicts: Counter[str] = Counter()
    for r in runs:
        verdicts.update(r["verdicts"])
    return {
        "plans": args.plans, "decisions": len(lat), "concurrency": args.concurrency, "nodes": args.nodes,
        **({"offered_per_s": args.rate, "arrivals": "even" if args.even else "poisson"} if args.rate else {}),
        "p50_ms": round(float(q[0]), 2), "p90_ms": round(float(q[1]), 2), "p99_ms": round(float(q[2]), 2),
        "max_ms": round(max(lat), 2), "mean_ms": round(statistics.fmean(lat), 2),
        "decisions_per_s": round(len(lat) / wall, 1), "verdicts": dict(verdicts),
        "per_node": [{"decisions": len(r["lat"]), "decisions_per_s": round(len(r["lat"]) / r["wall_s"], 1),
                      "cpu_ms_per_decision": round(r["cpu_ms_per_decision"], 2), "index_size": r["index_size"],
                      "catch_ups": r["synced"]} for r in runs],
        "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
        **({"pg_cpu_ms_per_decision": round(pg[0] * 1000 / len(lat), 2)} if pg else {}),
    }


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = ManagedCluster(Path(args.data_dir))
    started = cluster.start()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    cluster.create_database(name)
    db = Database(engine=make_engine(cluster.url(name)), url=cluster.url(name))
    try:
        await migrate(db.engine)
        rng = np.random.default_rng(args.seed)
        t0 = datetime.now(UTC) + timedelta(hours=1)
        seed_t = time.perf_counter()
        async with db.unit_of_work() as uow:
            uid = await identity_repo.add_user(uow.conn, "bench-op", Role.OPERATOR, ORG)
            token = await identity_repo.issue_token(uow.conn, uid)
            for k in range(FLEET):
                await aircraft_repo.add_aircraft(uow.conn, f"B-{k}", category="light_uav", organisation=ORG)
            batch = []
            for k in range(args.plans):
                batch.append(_plan(rng, t0, k, PlanState.APPROVED))
                if len(batch) == 2000:
                    await filing_repo.insert_plans_bulk(uow.conn, batch)
                    batch = []
            await filing_repo.insert_plans_bulk(uow.conn, batch)
            await uow.commit()
        seed_s = time.perf_counter() - seed_t
        if args.concurrency > 1 or args.nodes > 1:
            pid_file = cluster.cluster_dir / "postmaster.pid"
            return {**await _concurrent(args, db.url, t0, pid_file if pid_file.exists() else None),
                    "seed_s": round(seed_s, 2)}
        svc = filing_service(db, load_airspace(args.airspace), load_policy(Path(args.airspace) / "policy.yaml"))
        load_t = time.perf_counter()
        await svc.start()
        load_s = time.perf_counter() - load_t
        filer = Filer("bench-op", ORG)
        for k in range(5):  # warm caches, connection pool and code paths
            await svc.submit(_plan(rng, t0, k, PlanState.SUBMITTED), filer)
        freeze_long_lived()  # as the server does after its start (lowalt.api.app)
        lat: list[float] = []
        cpu: list[float] = []
        verdicts: Counter[str] = Counter()
        wall = time.perf_counter()
        for k in range(args.decisions):
            cand = _plan(rng, t0, k, PlanState.SUBMITTED)
            s, c = time.perf_counter(), time.process_time()
            plan, _ = await svc.submit(cand, filer)
            lat.append((time.perf_counter() - s) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            verdicts[plan.state.value] += 1
        wall = time.perf_counter() - wall
        q = np.percentile(lat, [50, 90, 99])
        http = await _http(args, db, svc, token, rng, t0) if args.http else {}
        return {**http,
            "plans": args.plans, "decisions": args.decisions, "index_size": len(svc.index),
            "p50_ms": round(float(q[0]), 2), "p90_ms": round(float(q[1]), 2), "p99_ms": round(float(q[2]), 2),
            "max_ms": round(max(lat), 2), "mean_ms": round(statistics.fmean(lat), 2),
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2), "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 2),
            "decisions_per_s": round(args.decisions / wall, 1), "verdicts": dict(verdicts),
            "seed_s": round(seed_s, 2), "load_s": round(load_s, 2),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        await db.close(stop_cluster=False)
        cluster.drop_database(name)
        if started and not args.keep_cluster:
            cluster.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lowalt bench filing", description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=10_000, help="approved plans on file")
    ap.add_argument("--decisions", type=int, default=300, help="timed filings")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-dir", default=".lowalt/bench", help="managed PostGIS location")
    ap.add_argument("--airspace", default=str(DEFAULT_AIRSPACE))
    ap.add_argument("--http", action="store_true", help="also time the same filings through the HTTP API")
    ap.add_argument("--concurrency", type=int, default=1, help="filers at once (1: sequential)")
    ap.add_argument("--nodes", type=int, default=1, help="filing nodes (processes) sharing the database")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="open loop: filings offered per second over all nodes, at most --concurrency in flight "
                         "(0: closed loop, each filer files again as soon as decided)")
    ap.add_argument("--even", action="store_true",
                    help="with --rate: arrivals evenly spaced (default: Poisson, as independent filers)")
    ap.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.plans < 0 or args.decisions < 1 or args.concurrency < 1 or not 1 <= args.nodes <= args.concurrency \
            or args.rate < 0:
        ap.error("--plans >= 0, --decisions >= 1, --concurrency >= 1, 1 <= --nodes <= --concurrency, --rate >= 0")
    if args.rate and args.concurrency == 1 and args.nodes == 1:
        args.concurrency = 2  # an offered rate is a concurrent run (the sequential path times one at a time)
    res = run_on_server_loop(_run(args))
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>16}: {v}")
    return 0
