"""``lowalt demo``: managed PostGIS, a server with the Fuliang airspace, and the ``demo`` scenario
flying until Ctrl-C.

The server runs as its own process (``lowalt serve``, so the simulator's CPU does not sit on the
server's event loop) with the same-day filing policy of :mod:`simulators.server`; the Fuliang
airspace is loaded by the server at start-up. Ctrl-C (or SIGTERM) stops the traffic, prints the
run's figures, stops the server and then the database cluster if the demo started it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from simulators.runner import Runner, RunOptions
from simulators.scenario import load
from simulators.server import start_local_server


def _port_free(host: str, port: int) -> bool:
    """Whether the server can bind ``host:port`` as uvicorn does (``SO_REUSEADDR``): connections of a server
    stopped a moment ago, still in TIME_WAIT, do not make it busy."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _banner(host: str, port: int) -> Any:
    def show(tokens: dict[str, str]) -> None:
        url = f"http://{host}:{port}/"
        print("\n" + "=" * 78, flush=True)
        print(f" lowalt demo  |  map: {url}?token={tokens['centre']}", flush=True)
        print(f" centre token (map, alerts, ack): {tokens['centre']}", flush=True)
        print(f" viewer token (read-only map):    {tokens['viewer']}", flush=True)
        print(f" API docs: {url}docs   health: {url}healthz   metrics: {url}metrics", flush=True)
        print(" traffic: the 'demo' scenario (simulators/scenarios/demo.yaml); Ctrl-C stops everything", flush=True)
        print("=" * 78 + "\n", flush=True)

    return show


async def _fly(runner: Runner, stop: asyncio.Event) -> dict[str, Any] | None:
    """Run until a signal: while flying, stop at the end of the tick; during set-up, cancel at once."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(runner.run())

    def on_signal() -> None:
        stop.set()
        if not runner.clock_started:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await task
    except asyncio.CancelledError:
        return None


def main(host: str = "127.0.0.1", port: int = 8000, data_dir: Path = Path(".lowalt"),
         aircraft: int | None = None) -> int:
    if not _port_free(host, port):
        print(f"error: {host}:{port} is in use (another lowalt serve/demo?); pick one with --port", file=sys.stderr)
        return 1
    sc = load("demo")
    aircraft = aircraft or (int(os.environ["LOWALT_DEMO_AIRCRAFT"]) if os.environ.get("LOWALT_DEMO_AIRCRAFT")
                            else None)
    data_dir = data_dir / "demo"  # a store of its own, seeded with the simulation policy's airspace copy
    print(f"starting PostGIS ({data_dir}) and the server on {host}:{port} ...", file=sys.stderr, flush=True)
    server = start_local_server(data_dir, port=port, host=host, sim_policy=True, quiet=True)
    stop = asyncio.Event()
    opt = RunOptions(server.url, server.ws_url, server.admin_token, aircraft=aircraft, forever=True,
                     progress=True, on_ready=_banner(host, port), stop=stop)
    try:
        out = asyncio.run(_fly(Runner(sc, opt), stop))
        if out is None:
            print("\nstopped during set-up", flush=True)
            return 0
        print(f"\nflown: {out['flights_started']} flights, {out['reports_accepted']} reports accepted, "
              f"p99 report-to-feed {out['latency_ms']['p99']} ms, alerts {out['alerts_seen']}", flush=True)
        if out["alerts_expected_missing"]:
            print(f"expected alerts not seen (yet): {', '.join(out['alerts_expected_missing'])}", flush=True)
    finally:
        print("stopping the server and the database ...", file=sys.stderr, flush=True)
        server.stop(stop_cluster=True)
    return 0
