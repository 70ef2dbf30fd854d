"""``lowalt cluster``: a cluster on this machine (``make demo-cluster``).

Starts the managed PostGIS (``DATA_DIR/cluster``), a ``nats-server`` with JetStream
(``DATA_DIR/cluster-nats``), and N ``lowalt serve`` nodes on consecutive ports, all on the same
database and bus, every node with the ``monitor`` and ``history`` roles: one of them holds the
monitor lease at a time (``GET /metrics``: ``lowalt_monitor_takeovers_total``), another takes over
within seconds when it dies. With
``--aircraft N`` (> 0) the ``demo`` scenario flies against node 1. Prints each node's map URL with
a centre token; Ctrl-C stops traffic, nodes, bus and database (in that order).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from lowalt.identity.model import Role
from lowalt.settings import Settings
from lowalt.store import identity_repo
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import open_database


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lowalt cluster", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--nodes", type=int, default=2, help="API/ingest nodes (default 2)")
    p.add_argument("--port", type=int, default=8000, help="first node's port; the others follow")
    p.add_argument("--nats-port", type=int, default=4222)
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("LOWALT_DATA_DIR", ".lowalt")))
    p.add_argument("--aircraft", type=int, default=0, help="fly the demo scenario with this many aircraft")
    return p


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


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the node exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url}: not healthy after {timeout:.0f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    nats_bin = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(nats_bin).exists():
        print("lowalt cluster: nats-server is not installed (scripts/bootstrap.sh installs it)", file=sys.stderr)
        return 1
    pg = ManagedCluster(args.data_dir / "cluster")
    pg_started = pg.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        store = args.data_dir / "cluster-nats"
        store.mkdir(parents=True, exist_ok=True)
        nats_url = f"nats://127.0.0.1:{args.nats_port}"
        procs.append(subprocess.Popen([nats_bin, "-js", "-a", "127.0.0.1", "-p", str(args.nats_port),
                                       "-sd", str(store.resolve())]))
        settings = Settings(database_url=pg.url(), data_dir=args.data_dir)
        tokens = asyncio.run(_tokens(settings))
        urls = []
        for k in range(args.nodes):
            port = args.port + k
            env = {**os.environ, "LOWALT_DATABASE_URL": pg.url(), "LOWALT_NATS_URL": nats_url,
                   "LOWALT_NODE_ID": f"node-{k + 1}", "LOWALT_NODE_ROLES": "monitor,history",
                   "LOWALT_PORT": str(port)}
            procs.append(subprocess.Popen([sys.executable, "-m", "lowalt.cli", "serve"], env=env))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs[1:], strict=True):
            _wait_healthy(url, proc)
        print(f" lowalt cluster: {args.nodes} nodes on {nats_url} (JetStream in {store}) and {pg.url()}", flush=True)
        for k, url in enumerate(urls):
            print(f"  node-{k + 1} (monitor candidate, history): map {url}/?token={tokens['centre']}", flush=True)
        print(f" centre token: {tokens['centre']}\n admin token:  {tokens['admin']}", flush=True)
        if args.aircraft > 0:
            procs.append(subprocess.Popen([sys.executable, "-m", "lowalt.cli", "simulate", "demo", "--url", urls[0],
                                           "--token", tokens["admin"], "--aircraft", str(args.aircraft),
                                           "--duration", "86400", "--quiet"]))
        signal.signal(signal.SIGTERM, _interrupt)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print(" lowalt cluster: a process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):  # traffic, nodes, then the bus
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if pg_started:
            pg.stop()


if __name__ == "__main__":
    raise SystemExit(main())
