"""Broad phase (strip-and-sweep) edge cases and its radix sort helper."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lowalt.conflict.broadphase import argsort_keys, overlapping_pairs


@given(st.integers(0, 2**32 - 1), st.integers(0, 200), st.sampled_from([1, 2, 3]),
       st.sampled_from([1.0, (2.0, 8.0), 0.05, 50.0]))
def test_broadphase_on_a_lattice_finds_touching_and_identical_boxes(
    seed: int, n: int, d: int, scale: float | tuple[float, float]
) -> None:
    # integer corners on a small lattice: many boxes touch exactly (lower == other's upper), share
    # a lower x (ties in the sweep order) or are identical; tiny strips force the outlier path
    rng = np.random.default_rng(seed)
    lower = rng.integers(0, 12, (n, d)).astype(float)
    upper = lower + rng.integers(0, 4, (n, d))
    i, j = overlapping_pairs(lower, upper, cell_scale=scale)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == i.size and bool(np.all(i < j))
    ii, jj = np.triu_indices(n, 1)
    ov = np.all((lower[ii] <= upper[jj]) & (lower[jj] <= upper[ii]), axis=1)
    assert got == set(zip(ii[ov].tolist(), jj[ov].tolist(), strict=True))


@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 255, 2**16, 2**16 + 1, 2**32, 2**33, 2**48 + 3, 2**62]))
def test_argsort_keys_is_a_stable_argsort(seed: int, bound: int) -> None:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, bound, 3000)
    key[::7] = key[0]  # many ties: stability matters
    assert np.array_equal(argsort_keys(key, bound), np.argsort(key, kind="stable"))


def _brute(lower: np.ndarray, upper: np.ndarray) -> set[tuple[int, int]]:
    ii, jj = np.triu_indices(lower.shape[0], 1)
    ov = np.all((lower[ii] <= upper[jj]) & (lower[jj] <= upper[ii]), axis=1)
    return set(zip(ii[ov].tolist(), jj[ov].tolist(), strict=True))


def test_far_apart_clusters_of_small_boxes_get_wider_strips_not_a_huge_grid() -> None:
    # two clusters 10,000 km apart on both strip axes: strips one median box wide would make a
    # grid of ~1e13 strips; the guard widens them and the pairs stay exact
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [1e7, 1e7, 1e7]])
    lower = centres[rng.integers(0, 2, 400)] + rng.uniform(0.0, 50.0, (400, 3))
    upper = lower + rng.uniform(0.0, 5.0, (400, 3))
    i, j = overlapping_pairs(lower, upper)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(lower, upper)
    assert i.size > 0


def test_compiled_kernel_is_bit_identical_to_its_python_source() -> None:
    # numba must not reassociate or fuse (fastmath, FMA): the compiled pass and the same source run
    # as Python give the same bits, boundary pairs (exactly at the minimum) included
    from lowalt.conflict import kernel

    rng = np.random.default_rng(11)
    n = 300
    pos = rng.uniform(-400.0, 400.0, (n, 3))
    vel = rng.uniform(-30.0, 30.0, (n, 3))
    vel[::5] = 0.0
    pos[3], vel[3] = pos[0] + [50.0, 0.0, 0.0], vel[0]  # same class, exactly at its 50 m: no conflict
    ii, jj = np.triu_indices(n, 1)
    i, j = ii.astype(np.int64), jj.astype(np.int64)
    codes = (np.arange(n) % 3).astype(np.intp)
    h_flat = np.array([50.0, 152.4, 1219.2, 152.4, 152.4, 1219.2, 1219.2, 1219.2, 152.4])
    v_flat = np.array([15.0, 30.48, 137.16, 30.48, 30.48, 137.16, 137.16, 137.16, 30.48])
    none = np.empty(0)
    outs = []
    for fn in (kernel._evaluate, kernel._evaluate.py_func):
        mask = np.zeros(i.size, dtype=bool)
        out = np.empty((4, i.size))
        with np.errstate(divide="ignore", invalid="ignore"):  # the Python run divides numpy scalars
            count = fn(pos, vel, i, j, codes, 3, h_flat, v_flat, none, none, False, 60.0, mask, out)
        outs.append((mask, out[:, :count]))
    assert outs[0][0].any() and not outs[0][0][2]  # pair (0, 3)
    assert np.array_equal(outs[0][0], outs[1][0])
    # t_in, t_out, t_cpa: the same bits (an FMA in b = dx dvx + dy dvy would change t_cpa); d_cpa
    # within one ulp, as Python's math.hypot is CPython's own, the compiled one libm's (np.hypot's)
    assert np.array_equal(outs[0][1][:3].view(np.int64), outs[1][1][:3].view(np.int64))
    np.testing.assert_array_max_ulp(outs[0][1][3], outs[1][1][3], maxulp=1)
