"""``lowalt bench pipeline``: N aircraft reporting at a rate, end to end, through a real server.

Starts ``lowalt serve`` on the managed PostGIS (its own data folder, ``.lowalt/bench`` by
default), registers N aircraft for one fleet, then drives them over ``--gateways`` fleet-gateway
websockets (each sends its share of the fleet in batches every 100 ms) while one ``/ws/live``
subscriber, in a process of its own so the load generator cannot delay its reads,
measures report-to-feed latency: the report's own timestamp versus the moment the
row carrying it arrives on the feed. Positions come from the seeded traffic picture of
``lowalt.conflict.traffic`` laid over Jingdezhen and flown in straight lines.

At the end it reads ``/metrics`` and accounts for every report sent: accepted, rejected (by
reason), or unexplained (sent but neither accepted nor rejected). Feed skips and history drops
are reported too.

``--nodes N`` (N > 1) runs the same load through a cluster on this machine, configured as ``lowalt
cluster`` runs one: a ``nats-server`` with JetStream and N ``lowalt serve`` nodes on the same managed
PostGIS, every node a monitor candidate and a history writer, ``LOWALT_MONITOR_SHARDS`` = ``--shards``
(default 2, as ``lowalt cluster``; 1: one monitor, held by one node). The gateways are spread over the
nodes and the subscriber reads the last node, so most reports it measures crossed the bus. Counters
are summed over the nodes.

Where the time goes: each feed message carries its publication time, so the subscriber splits a
report's latency into the server part (report time to the feed message's publication on the node it
reads: the gateway's send, ingest, JetStream, the other node's apply, the wait for the next feed cycle)
and the delivery part (publication to the moment the subscriber read it: the hub's fan-out, the
socket, the subscriber's own parsing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from lowalt.launch import nats_process, start_serve
from lowalt.store.cluster import ManagedCluster

CENTRE_LON_LAT = (117.20, 29.33)  # between Jingdezhen and Fuliang


@dataclass
class Fleet:
    ids: list[str]
    x0: np.ndarray
    y0: np.ndarray
    alt: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    vz: np.ndarray
    category: list[str]

    def positions(self, t: float, sl: slice) -> tuple[np.ndarray, np.ndarray]:
        from lowalt.geo.crs import to_wgs84

        return to_wgs84(self.x0[sl] + self.vx[sl] * t, self.y0[sl] + self.vy[sl] * t)


def make_fleet(n: int, seed: int = 7) -> Fleet:
    from lowalt.aircraft_category import CATEGORIES
    from lowalt.conflict.traffic import generate_traffic
    from lowalt.geo.crs import to_local

    tr = generate_traffic(n, seed=seed, extent_m=80_000.0)
    cx, cy = to_local(np.array([CENTRE_LON_LAT[0]]), np.array([CENTRE_LON_LAT[1]]))
    x0 = tr.pos[:, 0] - 40_000.0 + cx[0]
    y0 = tr.pos[:, 1] - 40_000.0 + cy[0]
    # level flight keeps altitudes plausible over a long run
    return Fleet([f"B{k:06d}" for k in range(n)], x0, y0, tr.pos[:, 2] + 50.0, tr.vel[:, 0], tr.vel[:, 1],
                 np.zeros(n), [CATEGORIES[int(c)].value for c in tr.category])  # traffic has no unknowns


@dataclass
class Results:
    sent: int = 0
    acked: int = 0
    rejected_acks: int = 0
    latencies: list[np.ndarray] = field(default_factory=list)
    server_part: list[np.ndarray] = field(default_factory=list)
    """Per latency sample: the feed message's publication time minus the report time (ms)."""
    received_at: list[np.ndarray] = field(default_factory=list)
    """Per latency sample, when its feed message was read (epoch s): for the settled p99."""
    per_second: list[tuple[float, float, int]] = field(default_factory=list)
    tracks_seen: set[str] = field(default_factory=set)
    repeats: int = 0
    """Feed rows whose report the subscriber had already received (a track sent again because its
    status changed, or it started coasting): counted in the latencies with their old report time."""
    repeated_as: dict[str, int] = field(default_factory=dict)
    """Repeated rows by what changed: ``status:<was>><now>``, ``coasting``, or ``same`` (nothing the feed shows)."""
    max_first_ms: float = 0.0
    """The longest latency of a report's first arrival on the feed."""
    max_ack_wait_s: float = 0.0
    """The longest a gateway's frame waited for its ack (how far the server's reading fell behind)."""
    slots_skipped: int = 0
    """Send slots a gateway skipped because ``max_in_flight`` frames were still unacknowledged."""


async def _seed(db_url: str, fleet: Fleet) -> dict[str, str]:
    """Users, tokens and the fleet's aircraft, written straight to the store before the server starts."""
    from lowalt.identity.model import Role
    from lowalt.settings import Settings
    from lowalt.store import identity_repo
    from lowalt.store.db import open_database
    from lowalt.store.tables import aircraft

    db = await open_database(Settings(database_url=db_url))
    try:
        async with db.unit_of_work() as uow:
            gw = await identity_repo.add_user(uow.conn, "bench-gateway", Role.DEVICE, "bench-fleet")
            vw = await identity_repo.add_user(uow.conn, "bench-viewer", Role.VIEWER)
            tokens = {"gateway": await identity_repo.issue_token(uow.conn, gw),
                      "viewer": await identity_repo.issue_token(uow.conn, vw)}
            from sqlalchemy import insert

            rows = [{"id": i, "category": c, "organisation": "bench-fleet"} for i, c in zip(fleet.ids, fleet.category, strict=True)]
            for k in range(0, len(rows), 5000):
                await uow.conn.execute(insert(aircraft), rows[k:k + 5000])
            await uow.commit()
        return tokens
    finally:
        await db.close(stop_cluster=False)


async def _gateway(ws_url: str, token: str, fleet: Fleet, sl: slice, rate: float, until: float,
                   res: Results, start: float, max_in_flight: int | None = None) -> None:
    """One fleet gateway: a frame of its aircraft's reports every 0.1 s. With ``max_in_flight`` it waits for
    the server's acks as a real gateway does (one ack per frame) and skips a slot while that many frames are
    unacknowledged: without it, a server starved of CPU reads behind an ever longer queue of frames in the
    socket, and the keepalive ping queued behind them times out (websockets closes with 1011)."""
    from websockets.asyncio.client import connect

    ids = fleet.ids[sl]
    n = len(ids)
    period = 0.1
    sent_at: deque[float] = deque()
    async with connect(f"{ws_url}/ws/telemetry?token={token}", max_size=None) as ws:
        async def read_acks() -> None:
            async for raw in ws:
                msg = orjson.loads(raw)
                if msg["type"] == "ack":
                    res.acked += msg["accepted"]
                    res.rejected_acks += msg["rejected"]
                    if sent_at:
                        res.max_ack_wait_s = max(res.max_ack_wait_s, time.monotonic() - sent_at.popleft())

        reader = asyncio.create_task(read_acks())
        per_slot = max(1, int(round(n * rate * period)))  # each aircraft reports `rate` times a second
        cursor = 0
        next_at = time.monotonic()
        while time.time() < until:
            if max_in_flight is not None and len(sent_at) >= max_in_flight:
                res.slots_skipped += 1
                next_at = max(next_at + period, time.monotonic())
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                continue
            take = np.arange(cursor, cursor + per_slot) % n
            cursor = (cursor + per_slot) % n
            now = time.time()
            lon, lat = fleet.positions(now - start, sl)
            lon, lat = lon[take], lat[take]
            g = sl.start + take
            frame = {"reports": [
                {"id": ids[k], "t": now, "lon": float(lo), "lat": float(la), "alt": float(fleet.alt[gi]),
                 "ref": "AMSL", "vx": float(fleet.vx[gi]), "vy": float(fleet.vy[gi])}
                for k, gi, lo, la in zip(take.tolist(), g.tolist(), lon.tolist(), lat.tolist(), strict=True)
            ]}
            sent_at.append(time.monotonic())
            await ws.send(orjson.dumps(frame).decode())
            res.sent += len(take)
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.sleep(1.0)  # let the last acks arrive
        reader.cancel()


async def _subscriber(ws_url: str, token: str, until: float, res: Results, warmup_until: float) -> None:
    from websockets.asyncio.client import connect

    last_tr: dict[str, float] = {}
    last_st: dict[str, str] = {}
    async with connect(f"{ws_url}/ws/live?token={token}", max_size=None) as ws:
        while time.time() < until:
            try:
                raw = await asyncio.wait_for(ws.recv(), max(0.1, until - time.time()))
            except TimeoutError:
                break
            now = time.time()
            msg = orjson.loads(raw)
            if msg["type"] in ("tracks", "snapshot"):
                tr = msg["tracks"]
                res.tracks_seen.update(tr["ids"])
                if msg["type"] == "tracks" and tr["tr"] and now > warmup_until:
                    lat_ms = (now - np.asarray(tr["tr"], dtype=np.float64)) * 1000.0
                    res.latencies.append(lat_ms)
                    res.server_part.append((float(msg["t"]) - np.asarray(tr["tr"], dtype=np.float64)) * 1000.0)
                    res.received_at.append(np.full(len(lat_ms), now))
                    res.per_second.append((now, float(np.percentile(lat_ms, 99)), len(tr["ids"])))
                    first = [last_tr.get(i, -1.0) < r for i, r in zip(tr["ids"], tr["tr"], strict=True)]
                    res.repeats += len(first) - sum(first)
                    for k in (k for k, f in enumerate(first) if not f):
                        aid = tr["ids"][k]
                        why = (f"status:{last_st.get(aid)}>{tr['st'][k]}" if last_st.get(aid) != tr["st"][k]
                               else "coasting" if tr["co"][k] else "same")
                        res.repeated_as[why] = res.repeated_as.get(why, 0) + 1
                    if any(first):
                        res.max_first_ms = max(res.max_first_ms, float(lat_ms[np.asarray(first)].max()))
                last_tr.update(zip(tr["ids"], tr["tr"], strict=True))
                last_st.update(zip(tr["ids"], tr["st"], strict=True))


def _subscriber_process(ws_url: str, token: str, until: float, warmup_until: float, conn: Connection) -> None:
    """Run :func:`_subscriber` in this (separate) process and send its results back through ``conn``."""
    res = Results()
    try:
        asyncio.run(_subscriber(ws_url, token, until, res, warmup_until))
    finally:
        res.latencies = [np.concatenate(res.latencies)] if res.latencies else []
        res.server_part = [np.concatenate(res.server_part)] if res.server_part else []
        res.received_at = [np.concatenate(res.received_at)] if res.received_at else []
        conn.send(res)
        conn.close()


@contextmanager
def fresh_database(data_dir: Path) -> Iterator[str]:
    """A database of its own in the managed PostGIS under ``data_dir``, dropped afterwards; yields its URL.

    Each run starts empty: no alerts a previous run left open (the server would adopt them), no
    history rows from earlier runs in the tables and indexes the COPY writes to."""
    cluster = ManagedCluster(data_dir)
    started = cluster.start()
    name = f"bench_pipeline_{uuid.uuid4().hex[:8]}"
    cluster.create_database(name)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)
        if started:
            cluster.stop()


@asynccontextmanager
async def serving(data_dir: Path, *, quiet: bool = True, db_url: str | None = None,
                  extra_env: dict[str, str] | None = None) -> AsyncIterator[tuple[str, str]]:
    """``lowalt serve`` on the managed PostGIS in ``data_dir`` (its default database, or ``db_url``
    there), as a child process; yields (http_url, ws_url) once ``/healthz`` answers, and stops it
    (SIGTERM) on the way out."""
    env = {"LOWALT_DATA_DIR": str(data_dir), "LOWALT_LOG_LEVEL": "WARNING", **(extra_env or {})}
    if db_url:
        env["LOWALT_DATABASE_URL"] = db_url
    server = start_serve(env, quiet=quiet)
    try:
        await server.wait_ready(timeout=60)
        yield server.url, server.ws_url
    finally:
        server.stop()


@contextmanager
def nats_server() -> Iterator[str]:
    """A throw-away ``nats-server -js`` on a free port; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="lowalt-bench-nats-") as store:
        nats = nats_process(Path(store))
        nats.start()
        try:
            yield nats.url
        finally:
            nats.stop()


async def _nodes(stack: AsyncExitStack, data_dir: Path, db_url: str, n: int, quiet: bool,
                 shards: int = 2) -> list[tuple[str, str]]:
    """One embedded server (n == 1), or n nodes on one nats-server as ``lowalt cluster`` starts them:
    every node ``monitor,history`` with ``LOWALT_MONITOR_SHARDS=shards``, node 1 ready before the others.
    With ``shards`` 1 only node 1 is a monitor candidate, so the lease does not move between runs."""
    if n <= 1:
        return [await stack.enter_async_context(serving(data_dir, quiet=quiet, db_url=db_url))]
    url = stack.enter_context(nats_server())
    return [await stack.enter_async_context(serving(data_dir, quiet=quiet, db_url=db_url, extra_env={
        "LOWALT_NATS_URL": url, "LOWALT_NODE_ID": f"bench-{k + 1}", "LOWALT_MONITOR_SHARDS": str(shards),
        "LOWALT_NODE_ROLES": "monitor,history" if k == 0 or shards > 1 else "history"})) for k in range(n)]


def _metric(text: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in re.finditer(rf"^{name}(?:\{{(.*?)\}})? ([0-9.e+-]+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def _merged(texts: list[str], name: str) -> dict[str, float]:
    """``name``'s samples by label set, summed over the nodes' /metrics texts."""
    out: dict[str, float] = {}
    for text in texts:
        for k, v in _metric(text, name).items():
            out[k] = out.get(k, 0.0) + v
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.data_dir)
    fleet = make_fleet(args.tracks, seed=args.seed)
    async with AsyncExitStack() as stack:
        db_url = stack.enter_context(fresh_database(data_dir))
        tokens = await _seed(db_url, fleet)
        nodes = await _nodes(stack, data_dir, db_url, args.nodes, args.quiet, args.shards)
        ws_url = nodes[-1][1]
        res = Results()
        start = time.time()
        until = start + args.duration
        warmup = start + min(5.0, args.duration / 4)
        g = max(1, args.gateways)
        bounds = np.linspace(0, args.tracks, g + 1).astype(int)
        # the subscriber measures in a process of its own: the load generator's event loop (building
        # and sending 10,000 reports a second) must not delay the moment a feed message is read
        ctx = multiprocessing.get_context("spawn")
        receiver, sender = ctx.Pipe(duplex=False)
        measurer = ctx.Process(target=_subscriber_process, args=(ws_url, tokens["viewer"], until + 1.0, warmup, sender),
                               name="bench-subscriber", daemon=True)
        measurer.start()
        sender.close()
        tasks = [asyncio.create_task(_gateway(nodes[k % len(nodes)][1], tokens["gateway"], fleet,
                                               slice(int(a), int(b)), args.rate, until, res, start))
                  for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)) if b > a]
        await asyncio.gather(*tasks)
        measured: Results = await asyncio.to_thread(receiver.recv)
        await asyncio.to_thread(measurer.join, 10.0)
        res.latencies, res.per_second, res.tracks_seen = measured.latencies, measured.per_second, measured.tracks_seen
        res.received_at, res.server_part = measured.received_at, measured.server_part
        res.repeats, res.max_first_ms, res.repeated_as = measured.repeats, measured.max_first_ms, measured.repeated_as
        async with httpx.AsyncClient(timeout=10) as http:
            per_node = [(await http.get(f"{url}/metrics")).text for url, _ in nodes]
    lat = np.concatenate(res.latencies) if res.latencies else np.array([np.nan])
    at = np.concatenate(res.received_at) if res.received_at else np.array([np.nan])
    server = np.concatenate(res.server_part) if res.server_part else np.array([np.nan])
    settled = lat[at > start + args.settle] if len(at) == len(lat) else np.array([])
    accepted = sum(_merged(per_node, "lowalt_reports_accepted_total").values())
    rejected = {k.split('"')[1]: v for k, v in _merged(per_node, "lowalt_reports_rejected_total").items() if k}
    drops: dict[str, float] = dict(rejected)
    for name, key in (("lowalt_live_skipped_total", "live_feed_skipped"), ("lowalt_live_dropped_total", "live_subscriber_dropped"),
                      ("lowalt_history_dropped_total", "history_dropped")):
        v = sum(_merged(per_node, name).values())
        if v:
            drops[key] = v
    unexplained = res.sent - accepted - sum(rejected.values())
    ticks = [_metric(text, "lowalt_tick_seconds").get("", float("nan")) for text in per_node]  # monitor nodes'
    out = {
        "tracks": args.tracks, "rate_hz": args.rate, "duration_s": args.duration, "gateways": args.gateways,
        "nodes": args.nodes, "shards": args.shards if args.nodes > 1 else 1,
        "reports_sent": res.sent, "reports_accepted": int(accepted),
        "reports_per_s": round(accepted / args.duration, 1),
        "p50_ms": round(float(np.nanpercentile(lat, 50)), 1), "p95_ms": round(float(np.nanpercentile(lat, 95)), 1),
        "p99_ms": round(float(np.nanpercentile(lat, 99)), 1), "max_ms": round(float(np.nanmax(lat)), 1),
        "max_first_ms": round(res.max_first_ms, 1), "rows_repeated": res.repeats,
        "rows_repeated_as": res.repeated_as,
        "server_p50_ms": round(float(np.nanpercentile(server, 50)), 1),
        "server_p99_ms": round(float(np.nanpercentile(server, 99)), 1),
        "delivery_p99_ms": round(float(np.nanpercentile(lat - server, 99)), 1) if len(server) == len(lat) else None,
        "latency_samples": int(np.isfinite(lat).sum()), "tracks_on_feed": len(res.tracks_seen),
        "settle_s": args.settle,
        "p99_settled_ms": round(float(np.percentile(settled, 99)), 1) if len(settled) else None,
        "settled_samples": int(len(settled)),
        "drops": drops, "unexplained": int(unexplained),
        "last_tick_ms": [round(t * 1000, 1) for t in ticks],
        "history_written": int(sum(_merged(per_node, "lowalt_history_written_total").values())),
        "monitor_takeovers": [int(sum(_metric(text, "lowalt_monitor_takeovers_total").values())) for text in per_node],
    }
    if args.report:
        _write_report(Path(args.report), out, res, start)
    return out


def _write_report(folder: Path, out: dict[str, Any], res: Results, start: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.json").write_text(json.dumps(out, indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not res.per_second:
        return
    t = np.array([p[0] - start for p in res.per_second])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(t, [p[1] for p in res.per_second], lw=0.8, label="p99 of each feed message (ms)")
    ax.axhline(300, color="r", ls="--", lw=0.8, label="target 300 ms")
    ax.set_xlabel("s since start")
    ax.set_ylabel("report-to-feed latency (ms)")
    ax.legend(loc="upper right")
    ax.set_title(f"{out['tracks']} tracks at {out['rate_hz']} Hz: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms")
    fig.tight_layout()
    fig.savefig(folder / "pipeline_latency.png", dpi=110)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lowalt bench pipeline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tracks", type=int, default=1000)
    p.add_argument("--rate", type=float, default=1.0, help="reports per aircraft per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    p.add_argument("--gateways", type=int, default=10, help="fleet-gateway websocket connections")
    p.add_argument("--settle", type=float, default=30.0,
                   help="p99_settled_ms: p99 of the samples read this many seconds after the start or later "
                        "(past the first ticks' alert storm); p99_ms counts every sample after the warm-up")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--nodes", type=int, default=1, help="servers on one nats-server (1: embedded, no bus)")
    p.add_argument("--shards", type=int, default=2,
                   help="with --nodes > 1: monitor shards (LOWALT_MONITOR_SHARDS; default 2, as lowalt cluster)")
    p.add_argument("--data-dir", default=".lowalt/bench")
    p.add_argument("--report", help="folder for pipeline.json and a latency plot")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="hide server logs")
    args = p.parse_args(argv)
    out = asyncio.run(run(args))
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>18}: {v}")
    return 0
