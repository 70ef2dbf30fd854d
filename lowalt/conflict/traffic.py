"""Seeded synthetic low-altitude traffic pictures (for benchmarks, simulators and load tests).

The picture mimics a busy day around Jingdezhen/Fuliang in a local ENU frame (metres):
about 10 vertiports inside a ``extent_m`` square with clustered traffic around them, about 8
route corridors between vertiports with traffic along them, and a uniform background.
Types, speeds and altitude bands (regulations_cn.md I5 layering convention):

=============  ==========  ================  =============================
type           share       speed (m/s)       altitude band AMSL-ish (m)
=============  ==========  ================  =============================
multirotor     60 %        5-15 (10 % hover)  30-120 (levels every 15 m)
fixed-wing     22 %        20-35              120-300 (levels every 30 m)
eVTOL          12 %        40-60              300-600 (levels every 60 m)
helicopter     6 %         50-70              150-600 (levels every 150 m)
=============  ==========  ================  =============================

Altitudes scatter around the level with sigma 3 m. 80 % of aircraft fly level; the rest climb or
descend at 1-5 m/s. Around vertiports positions scatter with sigma ``cluster_sigma_m``, along
routes with sigma ``corridor_sigma_m`` across the track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lowalt.aircraft_category import AircraftCategory as C

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Traffic:
    """A traffic picture: positions (N, 3) m, velocities (N, 3) m/s, category codes (N,) int8."""

    pos: F64
    vel: F64
    category: NDArray[np.int8]
    vertiports: F64
    """(V, 2) vertiport positions (m)."""


_TYPES = (
    # share, speed lo, hi, alt lo, hi, band step, categories (uniform choice)
    (0.60, 5.0, 15.0, 30.0, 120.0, 15.0, (C.MICRO_UAV, C.LIGHT_UAV, C.SMALL_UAV)),
    (0.22, 20.0, 35.0, 120.0, 300.0, 30.0, (C.MEDIUM_UAV, C.LARGE_UAV)),
    (0.12, 40.0, 60.0, 300.0, 600.0, 60.0, (C.EVTOL,)),
    (0.06, 50.0, 70.0, 150.0, 600.0, 150.0, (C.HELICOPTER,)),
)


def generate_traffic(
    n: int,
    *,
    seed: int = 0,
    extent_m: float = 60_000.0,
    n_vertiports: int = 10,
    n_routes: int = 8,
    cluster_sigma_m: float = 2_500.0,
    corridor_sigma_m: float = 150.0,
    shares: tuple[float, float, float] = (0.55, 0.30, 0.15),
) -> Traffic:
    """Generate ``n`` aircraft; same ``seed`` gives the same picture.

    ``shares`` = fractions around vertiports, along routes and uniform background.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    ports = rng.uniform(0.1 * extent_m, 0.9 * extent_m, size=(n_vertiports, 2))
    routes = np.array([rng.choice(n_vertiports, size=2, replace=False) for _ in range(n_routes)])

    where = rng.choice(3, size=n, p=np.asarray(shares) / np.sum(shares))
    xy = np.empty((n, 2))
    heading = rng.uniform(0.0, 2.0 * np.pi, size=n)

    m = where == 0
    k = int(m.sum())
    xy[m] = ports[rng.integers(0, n_vertiports, size=k)] + rng.normal(0.0, cluster_sigma_m, size=(k, 2))

    m = where == 1
    k = int(m.sum())
    r = routes[rng.integers(0, n_routes, size=k)]
    a, b = ports[r[:, 0]], ports[r[:, 1]]
    s = rng.uniform(0.0, 1.0, size=(k, 1))
    d = b - a
    length = np.linalg.norm(d, axis=1, keepdims=True)
    unit = d / np.maximum(length, 1.0)
    normal = np.stack((-unit[:, 1], unit[:, 0]), axis=1)
    xy[m] = a + s * d + normal * rng.normal(0.0, corridor_sigma_m, size=(k, 1))
    along = np.arctan2(unit[:, 1], unit[:, 0]) + np.where(rng.random(k) < 0.5, 0.0, np.pi)
    heading[m] = along + rng.normal(0.0, 0.05, size=k)

    m = where == 2
    xy[m] = rng.uniform(0.0, extent_m, size=(int(m.sum()), 2))

    kind = rng.choice(len(_TYPES), size=n, p=[t[0] for t in _TYPES])
    speed = np.empty(n)
    alt = np.empty(n)
    cat = np.empty(n, dtype=np.int8)
    for t, (_, slo, shi, alo, ahi, step, cats) in enumerate(_TYPES):
        mt = kind == t
        k = int(mt.sum())
        speed[mt] = rng.uniform(slo, shi, size=k)
        bands = np.arange(alo, ahi + 1e-9, step)
        alt[mt] = rng.choice(bands, size=k) + rng.normal(0.0, 3.0, size=k)
        cat[mt] = np.array([c.separation_code for c in cats], dtype=np.int8)[rng.integers(0, len(cats), size=k)]
    hover = (kind == 0) & (rng.random(n) < 0.10)
    speed[hover] = 0.0

    vz = np.where(rng.random(n) < 0.2, rng.uniform(1.0, 5.0, size=n) * rng.choice([-1.0, 1.0], size=n), 0.0)
    vz[hover] = 0.0
    pos = np.column_stack((xy, np.maximum(alt, 10.0)))
    vel = np.column_stack((speed * np.cos(heading), speed * np.sin(heading), vz))
    return Traffic(pos=pos, vel=vel, category=cat, vertiports=ports)
