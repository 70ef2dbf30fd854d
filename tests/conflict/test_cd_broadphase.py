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
