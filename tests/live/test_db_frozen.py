"""A frozen PostGIS (SIGSTOP: stuck storage, a partition) answers 503 within seconds, never hangs.

Filings and /healthz answer 503 within 5 s (a unit of work's BEGIN waits 2 s, a new connection 3 s; then
units of work fail at once for a moment: ``lowalt.store.db.FAIL_FAST_S``) while live tracking goes on;
after SIGCONT everything answers again. Runs on its own cluster:
freezing the shared test cluster would freeze every other test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
from websockets.asyncio.client import connect

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.cluster import ManagedCluster
from tests.conftest import serving
from tests.live.test_db_outage import _seed
from tests.live.test_live_e2e import _report

BOUND_S = 5.0  # issue 16: a frozen database answers 503 within 5 s (BEGIN 2 s or connect 3 s, then fail fast)


def _postgres_processes(cluster: ManagedCluster) -> list[psutil.Process]:
    pid_file = next(Path(p) for p in (cluster.cluster_dir / "postmaster.pid", cluster.cluster_dir / "pgdata" /
                                      "postmaster.pid") if Path(p).exists())
    master = psutil.Process(int(pid_file.read_text().split()[0]))
    return [master, *master.children(recursive=True)]


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, tz=UTC).isoformat()


async def test_frozen_database_answers_503_within_the_timeouts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state", tick_s=0.5, log_json=False)
    cluster = ManagedCluster(settings.data_dir)
    frozen: list[psutil.Process] = []
    try:
        tokens = await _seed(settings)
        async with serving(create_app(settings)) as srv:
            ops = {"Authorization": f"Bearer {tokens['ops']}"}
            r = await srv.http.post("/aircraft", json={"id": "FRZ-1", "category": "small_uav"}, headers=ops)
            assert r.status_code == 201
            assert (await srv.http.get("/healthz")).status_code == 200
            async with connect(f"{srv.ws_url}/ws/telemetry?token={tokens['dev']}") as tele:
                frozen = _postgres_processes(cluster)
                for p in frozen:
                    os.kill(p.pid, signal.SIGSTOP)
                health = await asyncio.wait_for(srv.http.get("/healthz", timeout=30), BOUND_S)
                assert health.status_code == 503 and health.json()["database"] == "down"
                start = time.time() + 3 * 3600
                plan: dict[str, Any] = {
                    "aircraft_id": "FRZ-1", "category": "small_uav", "pilot": "王芳", "mission": "inspection",
                    "geometry": {"type": "LineString", "coordinates": [[117.60, 29.30], [117.63, 29.32]]},
                    "half_width_m": 50,
                    "altitude": {"floor": {"value_m": 0, "reference": "AGL"},
                                 "ceiling": {"value_m": 100, "reference": "AGL"}},
                    "start": _iso(start), "end": _iso(start + 1800)}
                asked = time.monotonic()
                filing = await asyncio.wait_for(srv.http.post("/plans", json=plan, headers=ops, timeout=30),
                                                BOUND_S)
                print(f"filing answered {filing.status_code} in {time.monotonic() - asked:.2f} s")
                assert filing.status_code == 503, filing.text  # never a hang, never a 500, never approved
                # live tracking goes on from memory
                await tele.send(orjson.dumps(_report("FRZ-1", 0, 5, time.time())).decode())
                assert orjson.loads(await asyncio.wait_for(tele.recv(), BOUND_S))["accepted"] == 1
            for p in frozen:
                os.kill(p.pid, signal.SIGCONT)
            frozen = []

            async def healthy() -> bool:
                return (await srv.http.get("/healthz", timeout=30)).status_code == 200

            from tests.conftest import wait_until

            await wait_until(healthy, timeout=30, what="the database to answer again")
    finally:
        for p in frozen:
            os.kill(p.pid, signal.SIGCONT)
        cluster.destroy()
