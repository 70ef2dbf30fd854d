"""Property tests: the grid-pruned engine equals brute force; symmetry; kernel vs sampling.

Pair equality is exact (no tolerance): both paths evaluate each pair ``i < j`` with the same
kernel on the same numbers, so only pruning can differ, and pruning must be conservative. Times
are compared with a tiny tolerance only under permutation. The independent check of the kernel
maths against dense time sampling excludes pairs whose margin to a boundary is within ``EPS``
(where sampling itself cannot decide).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lowalt.conflict import (
    SeparationMatrix,
    detect_conflicts,
    detect_conflicts_bruteforce,
    detect_conflicts_by_category,
)
from lowalt.conflict.broadphase import overlapping_pairs
from lowalt.conflict.separation import ROWS, category_minima


def same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert np.array_equal(a.i, b.i) and np.array_equal(a.j, b.j)
    for f in ("t_in", "t_out", "t_cpa", "d_cpa"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


@st.composite
def pictures(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    n = draw(st.integers(0, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    mode = draw(st.sampled_from(["uniform", "clustered", "duplicates", "grid", "outliers", "hover"]))
    rng = np.random.default_rng(seed)
    h = draw(st.sampled_from([0.0, 15.0, 50.0, 152.4, 1000.0]))
    v = draw(st.sampled_from([0.0, 10.0, 30.48, 150.0]))
    la = draw(st.sampled_from([0.0, 1.0, 30.0, 60.0, 180.0]))
    extent = draw(st.sampled_from([200.0, 2000.0, 20000.0]))
    pos = rng.uniform(0, extent, (n, 3))
    pos[:, 2] = rng.uniform(0, 300, n)
    vel = rng.normal(0, 15, (n, 3))
    vel[:, 2] = rng.normal(0, 2, n) * (rng.random(n) < 0.3)
    if mode == "clustered" and n:
        centres = rng.uniform(0, extent, (3, 3))
        pos = centres[rng.integers(0, 3, n)] + rng.normal(0, 60, (n, 3))
    elif mode == "duplicates" and n:
        k = max(1, n // 4)
        pos = pos[rng.integers(0, k, n)]
        vel = np.where(rng.random((n, 1)) < 0.5, vel[rng.integers(0, k, n)], vel)
    elif mode == "grid":
        # positions on a lattice with spacing exactly h and v: many pairs at the boundary
        step_h = h if h > 0 else 10.0
        step_v = v if v > 0 else 10.0
        pos = np.column_stack((rng.integers(0, 6, n) * step_h, rng.integers(0, 6, n) * step_h,
                               rng.integers(0, 4, n) * step_v))
        vel = np.where(rng.random((n, 1)) < 0.5, 0.0, np.round(vel))
    elif mode == "outliers" and n:
        fast = rng.random(n) < 0.05
        vel[fast] *= 20.0  # ~300 m/s
        vel[0] = [300.0, -250.0, 40.0]
    elif mode == "hover":
        vel[rng.random(n) < 0.7] = 0.0
    return pos, vel, h, v, la


@given(pictures())
def test_fast_equals_bruteforce(pic: tuple[np.ndarray, np.ndarray, float, float, float]) -> None:
    pos, vel, h, v, la = pic
    same(detect_conflicts(pos, vel, h_sep=h, v_sep=v, lookahead=la),
         detect_conflicts_bruteforce(pos, vel, h_sep=h, v_sep=v, lookahead=la))


@given(pictures(), st.integers(0, 2**32 - 1))
def test_permutation_symmetry(pic: tuple[np.ndarray, np.ndarray, float, float, float], seed: int) -> None:
    pos, vel, h, v, la = pic
    perm = np.random.default_rng(seed).permutation(pos.shape[0])
    a = detect_conflicts(pos, vel, h_sep=h, v_sep=v, lookahead=la)
    b = detect_conflicts(pos[perm], vel[perm], h_sep=h, v_sep=v, lookahead=la)
    bi, bj = perm[b.i], perm[b.j]
    lo, hi = np.minimum(bi, bj), np.maximum(bi, bj)
    order = np.lexsort((hi, lo))
    assert np.array_equal(a.i, lo[order]) and np.array_equal(a.j, hi[order])
    for f in ("t_in", "t_out", "t_cpa", "d_cpa"):
        assert np.allclose(getattr(a, f), getattr(b, f)[order], rtol=0, atol=1e-9)


@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.sampled_from([1, 2, 3]))
def test_broadphase_equals_all_pairs(seed: int, n: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    lower = rng.uniform(0, 1000, (n, d)) * (rng.random((n, d)) < 0.9)
    size = rng.exponential(30, (n, d))
    size[rng.random(n) < 0.02] *= 100  # outliers
    upper = lower + size
    i, j = overlapping_pairs(lower, upper)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == i.size
    ii, jj = np.triu_indices(n, 1)
    ov = np.all((lower[ii] <= upper[jj]) & (lower[jj] <= upper[ii]), axis=1)
    assert got == set(zip(ii[ov].tolist(), jj[ov].tolist(), strict=True))


@given(st.integers(0, 2**32 - 1))
def test_kernel_against_time_sampling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, h, v, la = 40, 100.0, 30.0, 60.0
    pos = rng.uniform(0, 1500, (n, 3))
    pos[:, 2] = rng.uniform(0, 120, n)
    vel = rng.normal(0, 15, (n, 3))
    vel[:, 2] = rng.normal(0, 1.5, n)
    c = detect_conflicts(pos, vel, h_sep=h, v_sep=v, lookahead=la)
    found = set(zip(c.i.tolist(), c.j.tolist(), strict=True))
    t = np.linspace(0, la, 6001)
    ii, jj = np.triu_indices(n, 1)
    dp = pos[jj] - pos[ii]
    dv = vel[jj] - vel[ii]
    # per axis, (pairs, samples); horizontal distance squared (same comparisons, no 3-D array, no sqrt)
    rx = dp[:, 0:1] + dv[:, 0:1] * t
    ry = dp[:, 1:2] + dv[:, 1:2] * t
    dh2 = np.multiply(rx, rx, out=rx)
    dh2 += ry * ry
    dz = np.abs(dp[:, 2:3] + dv[:, 2:3] * t)
    eps = 0.5  # metres: a sample step moves a pair at most ~0.5 m at these speeds
    clearly_in = ((dh2 < (h - eps) ** 2) & (dz < v - eps)).any(axis=1)
    clearly_out = ~((dh2 < (h + eps) ** 2) & (dz < v + eps)).any(axis=1)
    dh_min = np.sqrt(dh2.min(axis=1))
    for k in range(ii.size):
        pair = (int(ii[k]), int(jj[k]))
        if clearly_in[k]:
            assert pair in found
        if clearly_out[k]:
            assert pair not in found
    # reported intervals: mid-point inside, CPA consistent with sampling
    for r in range(len(c)):
        tm = 0.5 * (c.t_in[r] + c.t_out[r])
        d = pos[c.j[r]] - pos[c.i[r]] + (vel[c.j[r]] - vel[c.i[r]]) * tm
        assert np.hypot(d[0], d[1]) < h + 1e-6 and abs(d[2]) < v + 1e-6
        k = int(np.flatnonzero((ii == c.i[r]) & (jj == c.j[r]))[0])
        assert c.d_cpa[r] <= dh_min[k] + 1e-9


@given(st.integers(0, 2**32 - 1), st.integers(0, 150))
def test_by_category_equals_bruteforce(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 5000, (n, 3))
    pos[:, 2] = rng.uniform(0, 400, n)
    vel = rng.normal(0, 20, (n, 3))
    vel[:, 2] *= 0.1
    codes = rng.integers(0, ROWS, n)
    if rng.random() < 0.5:
        codes = np.minimum(codes, 2)  # drones only: small radii
    matrix = SeparationMatrix()
    fast = detect_conflicts_by_category(pos, vel, codes, matrix, lookahead=60.0)
    h, v = category_minima(codes, matrix)
    ref = detect_conflicts_bruteforce(pos, vel, h_sep=h, v_sep=v, lookahead=60.0)
    same(fast, ref)
    # per-pair minima really applied: each pair is a conflict under its own scalar minima
    for r in range(min(len(fast), 20)):
        a, b = int(fast.i[r]), int(fast.j[r])
        hh, vv = matrix.h[codes[a], codes[b]], matrix.v[codes[a], codes[b]]
        one = detect_conflicts(pos[[a, b]], vel[[a, b]], h_sep=hh, v_sep=vv, lookahead=60.0)
        assert len(one) == 1 and one.t_in[0] == fast.t_in[r]
