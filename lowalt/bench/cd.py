"""``lowalt bench cd``: time the conflict engine on a seeded synthetic traffic picture.

Example::

    OMP_NUM_THREADS=1 lowalt bench cd --n 10000 --lookahead 60 --json --check

Prints ``n``, ``pairs``, ``candidates``, ``seconds_median``, ``seconds_min``, ``peak_mb``
(tracemalloc peak of one extra untimed pass: numpy buffers are traced, so this is the engine's
peak transient allocation, inputs excluded), ``lookahead`` and ``nxn_float64_mb`` (one N x N
float64 matrix, for comparison). ``--check`` compares with the chunked brute force.
``--category`` times the production entry point, :func:`detect_conflicts_by_category` with the
default :class:`SeparationMatrix` (as the live monitor calls it); the brute-force check then uses
the same per-pair minima.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
from typing import Any

import numpy as np

from lowalt.conflict.broadphase import CELL_SCALE
from lowalt.conflict.engine import (
    Conflicts,
    detect_conflicts_bruteforce,
    detect_conflicts_with_stats,
)
from lowalt.conflict.separation import (
    NMAC_H_M,
    NMAC_V_M,
    SeparationMatrix,
    category_minima,
    detect_conflicts_by_category_with_stats,
)
from lowalt.conflict.traffic import generate_traffic

BASE_N = 10_000
BASE_EXTENT_KM = 60.0


def _same(a: Conflicts, b: Conflicts) -> tuple[bool, float]:
    if not (np.array_equal(a.i, b.i) and np.array_equal(a.j, b.j)):
        return False, float("nan")
    if len(a) == 0:
        return True, 0.0
    err = max(float(np.max(np.abs(getattr(a, f) - getattr(b, f)))) for f in ("t_in", "t_out", "t_cpa", "d_cpa"))
    return True, err


def run(args: argparse.Namespace) -> dict[str, Any]:
    extent_km = args.extent_km
    if extent_km is None:
        extent_km = BASE_EXTENT_KM * max(1.0, (args.n / BASE_N) ** 0.5)
    tiles = (extent_km / BASE_EXTENT_KM) ** 2
    traffic = generate_traffic(
        args.n, seed=args.seed, extent_m=extent_km * 1000.0,
        n_vertiports=max(1, round(10 * tiles)), n_routes=max(1, round(8 * tiles)),
    )
    matrix = SeparationMatrix()
    if args.category:
        h_sep, v_sep = category_minima(traffic.category, matrix)
    else:
        h_sep, v_sep = args.h_sep, args.v_sep
    kw: dict[str, Any] = {"h_sep": h_sep, "v_sep": v_sep, "lookahead": args.lookahead}
    scale = CELL_SCALE if args.cell_scale is None else tuple(args.cell_scale)

    def once() -> tuple[Conflicts, int]:
        if args.category:  # the production entry point, exactly as the live monitor calls it
            res, stats = detect_conflicts_by_category_with_stats(
                traffic.pos, traffic.vel, traffic.category, matrix, lookahead=args.lookahead, cell_scale=scale)
        else:
            res, stats = detect_conflicts_with_stats(traffic.pos, traffic.vel, cell_scale=scale, **kw)
        return res, stats.candidates

    result, candidates = once()  # warm-up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    once()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    out: dict[str, Any] = {
        "n": args.n,
        "lookahead": args.lookahead,
        "h_sep": "category" if args.category else args.h_sep,
        "v_sep": "category" if args.category else args.v_sep,
        "seed": args.seed,
        "extent_km": extent_km,
        "pairs": len(result),
        "candidates": candidates,
        "seconds_median": statistics.median(times),
        "seconds_min": min(times),
        "repeat": args.repeat,
        "peak_mb": peak / 2**20,
        "peak_mb_method": "tracemalloc peak of one untimed pass",
        "nxn_float64_mb": args.n * args.n * 8 / 2**20,
        "entry_point": "detect_conflicts_by_category" if args.category else "detect_conflicts",
        "cell_scale": list(np.atleast_1d(scale).astype(float)),
    }
    if args.check:
        t0 = time.perf_counter()
        ref = detect_conflicts_bruteforce(traffic.pos, traffic.vel, **kw)
        ok, err = _same(result, ref)
        out.update(check="identical pairs" if ok else "MISMATCH", check_pairs=len(ref),
                   check_max_abs_diff=err, check_seconds=time.perf_counter() - t0)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lowalt bench cd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="number of aircraft")
    parser.add_argument("--lookahead", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--extent-km", type=float, default=None,
        help=f"side of the square region; default {BASE_EXTENT_KM:g} km up to n={BASE_N}, then grown so "
        "the density stays that of the 10k picture (vertiports and routes scale with the area)",
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--h-sep", type=float, default=NMAC_H_M, help="metres (default NMAC 152.4)")
    parser.add_argument("--v-sep", type=float, default=NMAC_V_M, help="metres (default NMAC 30.48)")
    parser.add_argument("--category", action="store_true", help="use the default SeparationMatrix per pair")
    parser.add_argument("--cell-scale", type=float, nargs="+", default=None,
                        help=f"strip width multipliers per strip axis (y, z), default {' '.join(map(str, CELL_SCALE))}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="compare with brute force (slow past ~10k)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's allocator defaults (the server tunes them, see lowalt.perf)")
    args = parser.parse_args(argv)
    if not args.default_malloc:
        from lowalt.perf import tune_allocator

        tune_allocator()
    if args.n < 0 or args.repeat < 1:
        parser.error("--n must be >= 0 and --repeat >= 1")
    out = run(args)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>20}: {v:.6g}" if isinstance(v, float) else f"{k:>20}: {v}")
    return 1 if out.get("check") == "MISMATCH" else 0
