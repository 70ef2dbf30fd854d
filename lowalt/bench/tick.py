"""``lowalt bench tick``: one monitor pass (the whole tick's work) over the pipeline bench's picture.

The picture is the dense seeded fleet of ``lowalt bench pipeline`` (N aircraft over Jingdezhen,
every category, level flight) in the **production configuration**: per-category separation
minima, predicted intrusion into the Fuliang no-fly/restricted volumes, conformance (no plans
on file, so every cooperative aircraft is an unauthorised flight: the worst case for alert
building), lost contact and the alert lifecycle. Reports are 0-2 s old, so every track is
predicted to the tick's time. Ticks advance 1 s at a time so alerts are ongoing, as in a server.

Example::

    OMP_NUM_THREADS=1 lowalt bench tick --n 10000 --json

Prints ``n``, ``ticks``, ``seconds_median``, ``seconds_p90``, ``alerts_active``, ``phases_ms``
(median per phase: predict, conflicts, intrusions, conformance, lifecycle).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np


def build(n: int, seed: int = 7) -> tuple[Any, Any, float]:
    """(monitor, snapshot-at(t) function, t0) for the pipeline bench's picture."""
    from lowalt.airspace import AirspaceIndex, load_airspace
    from lowalt.bench.pipeline import make_fleet
    from lowalt.geo.terrain import default_terrain
    from lowalt.live.monitor import ConflictMonitor, category_code
    from lowalt.live.plans import EMPTY
    from lowalt.live.wiring import IntrusionCache
    from lowalt.settings import DEFAULT_AIRSPACE
    from lowalt.surveillance.tracks import TrackTable

    fleet = make_fleet(n, seed)
    terrain = default_terrain()
    index = AirspaceIndex(load_airspace(DEFAULT_AIRSPACE), terrain)

    class NoPlans:
        def picture(self, now: float) -> Any:
            return EMPTY

    monitor = ConflictMonitor(intrusion_source=IntrusionCache(index), plan_source=NoPlans(), terrain=terrain)
    cats = np.array([category_code(c) for c in fleet.category], dtype=np.int8)
    rng = np.random.default_rng(seed)
    t0 = time.time()

    def snapshot_at(t: float) -> Any:
        table = TrackTable(n)
        age = rng.uniform(0.0, 2.0, n)
        from lowalt.geo.crs import to_wgs84

        dt = t - t0 - age  # each aircraft's own report time
        lon, lat = to_wgs84(fleet.x0 + fleet.vx * dt, fleet.y0 + fleet.vy * dt)
        table.upsert(fleet.ids, lon=lon, lat=lat, alt=fleet.alt, vx=fleet.vx, vy=fleet.vy, vz=fleet.vz,
                     t=t - age, t_recv=t, category=cats)
        return table.snapshot()

    return monitor, snapshot_at, t0


def run(n: int, ticks: int, seed: int = 7) -> dict[str, Any]:
    from lowalt.perf import tune_allocator, tune_gc

    tune_allocator()
    tune_gc()
    monitor, snapshot_at, t0 = build(n, seed)
    gone = None
    times: list[float] = []
    phases: dict[str, list[float]] = {}
    for k in range(ticks + 2):  # two warm-up ticks: first alerts, then ongoing
        now = t0 + k
        snap = snapshot_at(now)
        started = time.perf_counter()
        result = monitor.assess(snap, now, gone)
        elapsed = time.perf_counter() - started
        if k >= 2:
            times.append(elapsed)
            for name, ms in monitor.last_phases_ms.items():
                phases.setdefault(name, []).append(ms)
    return {
        "n": n, "ticks": ticks, "configuration": "per-category minima, intrusion, conformance, lost contact, lifecycle",
        "seconds_median": statistics.median(times), "seconds_p90": float(np.quantile(times, 0.9)),
        "alerts_active": len(result.active),
        "phases_ms": {k: round(statistics.median(v), 2) for k, v in phases.items()},
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lowalt bench tick", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000, help="aircraft in the picture")
    p.add_argument("--ticks", type=int, default=7, help="timed ticks (after two warm-up ticks)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    out = run(args.n, args.ticks, args.seed)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"tick over {out['n']:,} tracks: median {out['seconds_median'] * 1000:.1f} ms, "
              f"p90 {out['seconds_p90'] * 1000:.1f} ms, {out['alerts_active']:,} active alerts")
        for name, ms in out["phases_ms"].items():
            print(f"  {name:12s} {ms:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
