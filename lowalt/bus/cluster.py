"""``lowalt cluster``: a cluster on this machine (``make demo-cluster``).

Starts the managed PostGIS (``DATA_DIR/cluster``), a ``nats-server`` with JetStream
(``DATA_DIR/cluster-nats``), and N ``lowalt serve`` nodes on consecutive ports, all on the same
database and bus, every node with the ``monitor`` and ``history`` roles and ``LOWALT_MONITOR_SHARDS``
= ``--shards`` (default 2): the conflict monitor is split into that many shards by cell
(``lowalt.live.shards``), each node holds one shard's NATS KV lease (``monitor.<k>``), and when a node
dies another takes its shard within seconds (``GET /metrics``: ``lowalt_monitor_takeovers_total``).
Prints which node holds which shard once every shard is held. With ``--aircraft N`` (> 0) the ``demo``
scenario flies against node 1. Prints each node's map URL with a centre token; Ctrl-C stops traffic,
nodes, bus and database (in that order).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lowalt.identity.model import Role
from lowalt.launch import NatsProcess, ServerProcess, nats_server_binary, start_serve
from lowalt.settings import MONITOR_SHARDS_MAX, Settings
from lowalt.store import identity_repo
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import open_database

MAX_NODES = 16
"""Nodes one machine runs in a demo cluster (each a server process with its monitor process)."""


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lo`` to ``hi``, both included; anything else is refused with
    the range in the message (argparse names the option)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is outside {lo}..{hi}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lowalt cluster", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--nodes", type=_int_in(1, MAX_NODES), default=2, help=f"API/ingest nodes, 1-{MAX_NODES} (default 2)")
    p.add_argument("--port", type=_int_in(1, 65535), default=8000, help="first node's port; the others follow")
    p.add_argument("--nats-port", type=_int_in(1, 65535), default=4222)
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("LOWALT_DATA_DIR", ".lowalt")))
    p.add_argument("--aircraft", type=_int_in(0, 100_000), default=0,
                   help="fly the demo scenario with this many aircraft (0: none)")
    p.add_argument("--shards", type=_int_in(1, MONITOR_SHARDS_MAX), default=2,
                   help=f"monitor shards, 1-{MONITOR_SHARDS_MAX} (LOWALT_MONITOR_SHARDS, default 2)")
    return p


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = _parser()
    args = p.parse_args(argv)
    if args.port + args.nodes - 1 > 65535:
        p.error(f"argument --port: {args.nodes} nodes from port {args.port} run past 65535")
    if args.port <= args.nats_port < args.port + args.nodes:
        p.error(f"argument --nats-port: {args.nats_port} is one of the nodes' ports ({args.port}..{args.port + args.nodes - 1})")
    return args


async def _shard_holders(nats_url: str, shards: int, nodes: int, timeout: float = 15.0) -> dict[str, str]:
    """Monitor lease key (``monitor`` or ``monitor.<k>``) -> the node holding it, read from the NATS KV
    bucket once every shard is held and by as many nodes as can hold them (a node gives a second shard back
    to a node holding none within ~2 s), or what is held after ``timeout``."""
    import nats

    from lowalt.bus.natsbus import LEASES
    from lowalt.bus.port import read_lease_record

    nc = await nats.connect(servers=[nats_url], connect_timeout=3)
    held: dict[str, str] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = {}
            with contextlib.suppress(Exception):  # no node has taken a lease yet: no bucket, no keys
                kv = await nc.jetstream().key_value(LEASES)
                for key in await kv.keys():
                    if key.startswith("monitor"):
                        entry = await kv.get(key)
                        if entry.value:
                            held[key] = read_lease_record(entry.value.decode())[0]
            if len(held) == shards and len(set(held.values())) == min(shards, nodes):
                break
            await asyncio.sleep(0.5)
    finally:
        await nc.close()
    return dict(sorted(held.items()))


async def _tokens(settings: Settings) -> dict[str, str]:
    db = await open_database(settings)
    tokens: dict[str, str] = {}
    try:
        async with db.unit_of_work() as uow:
            suffix = str(int(time.time()))
            for role in (Role.ADMIN, Role.CENTRE):
                uid = await identity_repo.add_user(uow.conn, f"cluster-{role.value}-{suffix}", role)
                tokens[role.value] = await identity_repo.issue_token(uow.conn, uid, label="lowalt cluster")
            await uow.commit()
    finally:
        await db.close(stop_cluster=False)
    return tokens


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    if nats_server_binary() is None:
        print("lowalt cluster: nats-server is not installed (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return 1
    pg = ManagedCluster(args.data_dir / "cluster")
    pg_started = pg.start()
    procs: list[subprocess.Popen[bytes]] = []
    store = args.data_dir / "cluster-nats"
    nats = NatsProcess(f"nats://127.0.0.1:{args.nats_port}", args.nats_port, store.resolve())
    try:
        nats.start(own_session=True)  # stopped last, after the nodes (a terminal Ctrl-C reaches those)
        nats_url = nats.url
        settings = Settings(database_url=pg.url(), data_dir=args.data_dir)
        tokens = asyncio.run(_tokens(settings))
        def node(k: int) -> ServerProcess:
            started = start_serve({"LOWALT_DATABASE_URL": pg.url(), "LOWALT_NATS_URL": nats_url,
                                   "LOWALT_NODE_ID": f"node-{k + 1}", "LOWALT_NODE_ROLES": "monitor,history",
                                   "LOWALT_MONITOR_SHARDS": str(args.shards)},
                                  port=args.port + k, output=None, quiet=False)
            procs.append(started.proc)
            return started

        # node 1 first: on a new database it loads the airspace data set; two nodes loading it at once
        # collided on its primary key and one exited
        nodes = [node(0)]
        nodes[0].wait_ready_blocking()
        nodes += [node(k) for k in range(1, args.nodes)]
        urls = [n.url for n in nodes]
        for started in nodes[1:]:
            started.wait_ready_blocking()
        print(f" lowalt cluster: {args.nodes} nodes on {nats_url} (JetStream in {store}) and {pg.url()}", flush=True)
        for k, url in enumerate(urls):
            print(f"  node-{k + 1} (monitor candidate, history): map {url}/?token={tokens['centre']}", flush=True)
        holders = asyncio.run(_shard_holders(nats_url, args.shards, args.nodes))
        print(f" monitor: {args.shards} shard(s) (LOWALT_MONITOR_SHARDS={args.shards}; the service area's 0.25 deg "
              "cells cut into a grid of rectangles, two shards meeting at 117.25 E; each shard reads its cells "
              "plus a 19.2 km halo and raises only the alerts it owns)", flush=True)
        for key, holder in holders.items():
            print(f"  NATS KV lease lowalt_leases/{key} (shard {key.partition('.')[2] or 0}) held by {holder}",
                  flush=True)
        print("  kill -9 a node: another takes its shard within ~4 s and continues its alerts under their ids",
              flush=True)
        print(f" centre token: {tokens['centre']}\n admin token:  {tokens['admin']}", flush=True)
        if args.aircraft > 0:
            procs.append(subprocess.Popen([sys.executable, "-m", "lowalt.cli", "simulate", "demo", "--url", urls[0],
                                           "--token", tokens["admin"], "--aircraft", str(args.aircraft),
                                           "--duration", "86400", "--quiet"]))
        signal.signal(signal.SIGTERM, _interrupt)
        told: set[int] = set()
        # a node that dies (kill -9 it to see the failover) leaves the others running; the cluster stops
        # when no node is left or the bus exits
        while any(n.proc.poll() is None for n in nodes) and nats.proc is not None and nats.proc.poll() is None:
            for k, n in enumerate(nodes):
                if k not in told and n.proc.poll() is not None:
                    told.add(k)
                    print(f" lowalt cluster: node-{k + 1} exited ({n.proc.returncode}); the other nodes take over "
                          "its monitor shard", file=sys.stderr, flush=True)
            time.sleep(0.5)
        print(" lowalt cluster: no node left (or the bus exited); stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):  # traffic, then the nodes
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        nats.stop()  # then the bus
        if pg_started:
            pg.stop()


if __name__ == "__main__":
    raise SystemExit(main())
