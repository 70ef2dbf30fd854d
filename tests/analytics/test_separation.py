"""The corridor separation in numpy (``lowalt.analytics.separation``) against brute force over every pair,
and its edges: a pair exactly at a minimum is no loss (strict, horizontal and vertical), one aircraft
alone has no sample, a pair of one organisation counts once in its scope, aircraft in other seconds or
corridors are never compared (pure, no database)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from lowalt.analytics.separation import ALL, Part, Positions, measure, merge, sep_bins
from lowalt.conflict.separation import SeparationMatrix

M = SeparationMatrix()
LIGHT = 2  # light_uav's separation code (50 m / 15 m between small drones)


def brute(pos: Positions) -> dict[tuple[str, str], tuple[int, int, dict[int, int], int, int]]:
    """Every pair of each (corridor, second) compared, as the SQL did before."""
    out: dict[tuple[str, str], list[object]] = {}
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for k in range(len(pos.s)):
        groups[(pos.route[k], int(pos.s[k]))].append(k)

    def part(r: str, sc: str) -> list[object]:
        return out.setdefault((r, sc), [0, 0, {}, 0, 0])

    for (r, _s), ks in groups.items():
        for a in ks:
            for sc in {pos.scope[a], ALL}:
                p = part(r, sc)
                p[4] += 1  # type: ignore[operator]
            others = [math.sqrt((pos.x[a] - pos.x[b]) ** 2 + (pos.y[a] - pos.y[b]) ** 2) for b in ks if b != a]
            if others:
                d = min(others)
                for sc in {pos.scope[a], ALL}:
                    p = part(r, sc)
                    p[0] += 1  # type: ignore[operator]
                    p[1] += math.floor(d * 1000 + 0.5)  # type: ignore[operator]
                    b = int(sep_bins(np.array([d]))[0])
                    p[2][b] = p[2].get(b, 0) + 1  # type: ignore[attr-defined,index]
        for i, a in enumerate(ks):
            for b in ks[i + 1:]:
                d = math.sqrt((pos.x[a] - pos.x[b]) ** 2 + (pos.y[a] - pos.y[b]) ** 2)
                ca, cb = pos.code[a], pos.code[b]
                if d < M.h[ca, cb] and abs(pos.z[a] - pos.z[b]) < M.v[ca, cb]:
                    for sc in {pos.scope[a], pos.scope[b], ALL}:
                        part(r, sc)[3] += 1  # type: ignore[operator]
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}  # type: ignore[misc]


def got(parts: dict[tuple[str, str], Part]) -> dict[tuple[str, str], tuple[int, int, dict[int, int], int, int]]:
    return {k: (p.samples, p.sum_mm, p.bins, p.los_s, p.inside_s) for k, p in parts.items()}


def positions(rows: list[tuple[str, str, int, float, float, float, int]]) -> Positions:
    r, sc, s, x, y, z, c = zip(*rows, strict=True)
    return Positions.of(list(r), list(sc), list(s), list(x), list(y), list(z), list(c))


def test_against_brute_force_on_random_corridors() -> None:
    """Random corridors east-west and north-south, sparse and dense, every category: equal to brute force."""
    rng = np.random.default_rng(20)
    for trial in range(40):
        n = int(rng.integers(1, 300))
        long_axis = float(rng.choice([200, 3000, 30000]))
        ns = rng.random(n) < 0.5  # R2 runs north-south: the sweep goes along y there
        along, across = rng.uniform(0, long_axis, n), rng.uniform(0, 150, n)
        pos = Positions(list(np.where(ns, "R2", rng.choice(["R1", "R3"], n))),
                        list(rng.choice(["org:a", "org:b", "none"], n)), rng.integers(0, 4, n),
                        5e5 + np.where(ns, across, along), 3.2e6 + np.where(ns, along, across),
                        rng.uniform(100, 200, n), rng.integers(0, M.h.shape[0], n))
        assert got(measure(pos)) == brute(pos), trial


def test_the_nearest_two_places_along_the_sweep() -> None:
    """A's nearest (C, 200 m) is two places along the sweep axis, behind B (100 m along but 1 km across),
    and C's own nearest is D, 1 m away: the sweep keeps going for A's sake alone (A first, and last)."""
    for sign in (1, -1):  # A first along the sweep, then last
        pos = positions([("R1", "none", 0, 5e5 + sign * dx, 3.2e6 + dy, 100.0, LIGHT)
                         for dx, dy in [(0, 0), (100, 1000), (200, 0), (201, 0), (3000, 0)]])
        assert got(measure(pos)) == brute(pos), sign
        assert measure(pos)[("R1", ALL)].bins[200] == 1, sign  # A's sample


def test_a_pair_exactly_at_a_minimum_is_no_loss() -> None:
    """Light drones: 50 m / 15 m. 49.99 m and 14.99 m apart: a loss; 50 m or 15 m apart: none (both sides
    of each edge)."""
    def loss(dx: float, dz: float) -> int:
        pos = positions([("R1", "org:a", 0, 5e5, 3.2e6, 100.0, LIGHT), ("R1", "org:a", 0, 5e5 + dx, 3.2e6, 100.0 + dz,
                                                                         LIGHT)])
        return measure(pos)[("R1", ALL)].los_s

    assert (M.h[LIGHT, LIGHT], M.v[LIGHT, LIGHT]) == (50.0, 15.0)
    assert [loss(49.99, 14.99), loss(50.0, 0.0), loss(0.0, 15.0), loss(49.99, 15.0)] == [1, 0, 0, 0]


def test_alone_no_sample_and_one_organisation_counts_once() -> None:
    pos = positions([
        ("R1", "org:a", 10, 5e5, 3.2e6, 100.0, LIGHT), ("R1", "org:a", 10, 5e5 + 30, 3.2e6, 100.0, LIGHT),
        ("R1", "org:b", 11, 5e5, 3.2e6, 100.0, LIGHT),  # alone in its second: inside, no sample
        ("R2", "org:b", 10, 5e5 + 1, 3.2e6, 100.0, LIGHT)])  # another corridor: never compared with R1's
    parts = got(measure(pos))
    assert parts[("R1", "org:a")] == (2, 60_000, {30: 2}, 1, 2)  # the pair counts once in org:a
    assert parts[("R1", ALL)] == (2, 60_000, {30: 2}, 1, 3)
    assert parts[("R1", "org:b")] == (0, 0, {}, 0, 1) and parts[("R2", "org:b")] == (0, 0, {}, 0, 1)
    assert measure(positions([("R1", "none", 0, 5e5, 3.2e6, 0.0, LIGHT)]))[("R1", ALL)].samples == 0
    assert measure(Positions.of(None, None, None, None, None, None, None)) == {}


def test_minutes_merge_into_their_hour() -> None:
    """Two minutes' parts merged equal the parts of both minutes measured together (histograms add)."""
    rng = np.random.default_rng(3)
    n = 200
    s = rng.integers(0, 120, n)
    pos = Positions(["R1"] * n, list(rng.choice(["org:a", "org:b"], n)), s, 5e5 + rng.uniform(0, 800, n),
                    3.2e6 + rng.uniform(0, 60, n), np.full(n, 120.0), np.full(n, LIGHT))

    def part(mask: np.ndarray) -> Positions:
        return Positions([r for r, k in zip(pos.route, mask, strict=True) if k],
                         [c for c, k in zip(pos.scope, mask, strict=True) if k],
                         pos.s[mask], pos.x[mask], pos.y[mask], pos.z[mask], pos.code[mask])

    hour = merge(merge({}, measure(part(s < 60))), measure(part(s >= 60)))
    assert got(hour) == got(measure(pos))


@pytest.mark.parametrize(("d", "edge"), [(0.0, 0), (4.999, 0), (5.0, 5), (499.9, 495), (500.0, 500), (524.9, 500),
                                         (525.0, 525), (551.3, 551)])
def test_bins(d: float, edge: int) -> None:
    assert int(sep_bins(np.array([d]))[0]) == edge
