"""``lowalt bench airspace --n 10000 [--repeat 21] [--seed 1] [--json]``.

Classifies N seeded points, clustered like real traffic (around the city, Fuliang, Yaoli,
the logistics hub and along the routes), against the full Fuliang data set at one instant
(Monday 10:00 Asia/Shanghai), and prints n, seconds_median (of ``repeat`` timed calls after
one warm-up; terrain, projection and STRtree query included) and per-verdict counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely

from lowalt.aircraft_category import AircraftCategory as C
from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import AirspaceSet
from lowalt.geo.altitude import AGL_CODE, AMSL_CODE
from lowalt.geo.terrain import airspace_data_dir, default_terrain

BENCH_TIME = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CLUSTERS = [  # lon, lat, sigma_deg, weight
    (117.1986, 29.2917, 0.03, 0.30),  # city centre
    (117.2150, 29.3527, 0.02, 0.10),  # Fuliang seat
    (117.5630, 29.5090, 0.02, 0.08),  # Yaoli
    (117.1600, 29.2550, 0.015, 0.07),  # logistics hub
    (117.3300, 29.3000, 0.02, 0.05),  # Fuliang GA (illustrative)
]
CATEGORY_WEIGHTS = {C.MICRO_UAV: 0.2, C.LIGHT_UAV: 0.3, C.SMALL_UAV: 0.2, C.MEDIUM_UAV: 0.12, C.LARGE_UAV: 0.05,
                    C.EVTOL: 0.08, C.HELICOPTER: 0.05}


def traffic(aset: AirspaceSet, n: int, seed: int) -> tuple[npt.NDArray[np.generic], ...]:
    """Seeded clustered traffic: (lon, lat, alt, ref_codes, category_codes)."""
    rng = np.random.default_rng(seed)
    w_clusters = sum(c[3] for c in CLUSTERS)
    n_routes = int(n * 0.30)
    n_clusters = int(n * w_clusters)
    n_uniform = n - n_routes - n_clusters
    k = rng.choice(len(CLUSTERS), size=n_clusters, p=np.array([c[3] for c in CLUSTERS]) / w_clusters)
    c = np.array(CLUSTERS)
    lon_c = c[k, 0] + rng.normal(0, 1, n_clusters) * c[k, 2]
    lat_c = c[k, 1] + rng.normal(0, 1, n_clusters) * c[k, 2]
    lines = [r.centreline for r in aset.routes]
    ridx = rng.integers(0, len(lines), n_routes)
    frac = rng.random(n_routes)
    on = shapely.line_interpolate_point(np.array(lines, dtype=object)[ridx], frac, normalized=True)
    lon_r = shapely.get_x(on) + rng.normal(0, 0.002, n_routes)
    lat_r = shapely.get_y(on) + rng.normal(0, 0.002, n_routes)
    lon_u = rng.uniform(115.8, 118.5, n_uniform)
    lat_u = rng.uniform(28.8, 29.9, n_uniform)
    lon = np.concatenate([lon_c, lon_r, lon_u])
    lat = np.concatenate([lat_c, lat_r, lat_u])
    u = rng.random(n)
    alt = np.where(u < 0.6, rng.uniform(0, 150, n), np.where(u < 0.85, rng.uniform(150, 600, n),
                                                             rng.uniform(200, 2300, n)))
    ref = np.where(u < 0.85, AGL_CODE, AMSL_CODE).astype(np.int8)
    codes = np.array([c.separation_code for c in CATEGORY_WEIGHTS], dtype=np.intp)  # = the index's codes
    cat = codes[rng.choice(len(codes), size=n, p=np.array(list(CATEGORY_WEIGHTS.values())))]
    perm = rng.permutation(n)
    return lon[perm], lat[perm], alt[perm], ref[perm], cat[perm]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lowalt bench airspace", description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--path", default=None, help="data folder (default airspace_data/fuliang)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    aset = load_airspace(args.path or airspace_data_dir() / "fuliang")
    t0 = time.perf_counter()
    index = AirspaceIndex(aset, default_terrain())
    build_s = time.perf_counter() - t0
    lon, lat, alt, ref, cat = traffic(aset, args.n, args.seed)
    result = index.classify(lon, lat, alt, ref, cat, BENCH_TIME)  # warm-up
    times = []
    for _ in range(args.repeat):
        t1 = time.perf_counter()
        result = index.classify(lon, lat, alt, ref, cat, BENCH_TIME)
        times.append(time.perf_counter() - t1)
    out = {
        "n": args.n,
        "volumes": len(index.volumes),
        "pairs": int(result.pair_point.shape[0]),
        "seconds_median": statistics.median(times),
        "seconds_min": min(times),
        "index_build_seconds": build_s,
        "repeat": args.repeat,
        "verdicts": result.counts(),
        "reasons": {r.value: int((np.array(result.reasons(), dtype=object) == r).sum()) for r in set(result.reasons())},
        "at": BENCH_TIME.isoformat(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0
