"""Broad phase: all pairs of overlapping axis-aligned boxes, by uniform grid hashing (numpy only).

Why a uniform grid rather than sort-and-sweep: low-altitude traffic is clustered in 2-D (around
vertiports and along corridors) and spread over tens of kilometres, so a sweep on one axis
returns every aircraft in a whole north-south strip (O(N * N * w / extent) pairs), whereas a grid
whose cell is about one swept box wide returns only local neighbours. Each box is registered in
every cell it covers; boxes sharing a cell are paired; a pair is kept only in the cell holding the
minimum corner of the two boxes' intersection (``max`` of their lower cell indices per axis), so
every overlapping pair is emitted exactly once without ``np.unique``.

Cell size is adaptive: the median box extent per axis (swept path plus separation), raised so
that at most about 1/1024 of the boxes span more than ``MAX_SPAN`` cells on any axis. Those
few outliers (e.g. one aircraft at 300 m/s among drones) are not registered in the grid; they go
through a separate path that tests each outlier box against all boxes, in chunks, so a single
huge box never explodes the cell count and memory stays O(N + pairs).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

CELL_SCALE = 2.0
"""Default cell edge in units of the median box extent (tuned on ``lowalt bench cd``, see
docs/benchmarks/conflict.md: larger cells mean fewer entries but more pairs per cell)."""

MAX_SPAN = 8
"""Boxes spanning more cells than this on any axis take the outlier path."""

OUTLIER_FRACTION = 1.0 / 1024.0
"""Cell size is raised until at most this fraction of boxes (plus a few) are outliers."""

_SAMPLE = 4096
"""Boxes sampled to choose the cell size."""

_CHUNK_ELEMS = 1 << 22
"""Elements per chunk in the outlier path (outliers x all boxes)."""


def _cell_sizes(lower: F64, upper: F64, scale: float | F64) -> F64:
    """Cell edge per axis: ``scale`` x median box extent, raised so few boxes are outliers.

    Quantiles come from a strided sample of at most ``_SAMPLE`` boxes (deterministic, cheap).
    """
    n = lower.shape[0]
    step = max(1, n // _SAMPLE)
    ext = upper[::step] - lower[::step]
    k = ext.shape[0]
    med = np.median(ext, axis=0) * np.asarray(scale, dtype=np.float64)
    q = max(0, min(k - 1, int(np.floor(k * (1.0 - OUTLIER_FRACTION))) - 1))
    high = np.partition(ext, q, axis=0)[q]
    size = np.maximum(med, high / MAX_SPAN)
    # guard against zero-size boxes (all hovering at one point, zero separation)
    span = upper.max(axis=0) - lower.min(axis=0)
    return np.maximum(size, np.maximum(span, 1.0) * 1e-5)


def overlapping_pairs(lower: F64, upper: F64, *, cell_scale: float | F64 = CELL_SCALE) -> tuple[I64, I64]:
    """Return every pair of boxes whose closed extents overlap on all axes.

    Parameters
    ----------
    lower, upper : ndarray, shape (N, D)
        Box corners, ``lower <= upper`` (any length unit).
    cell_scale : float
        Multiplier on the adaptive cell size (for tuning/benchmarks).

    Returns
    -------
    i, j : ndarray of int64, shape (P,)
        Pairs with ``i < j``, each overlapping pair exactly once, in no particular order.
    """
    n, d = lower.shape
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()

    size = _cell_sizes(lower, upper, cell_scale)
    origin = lower.min(axis=0)
    c0 = np.floor((lower - origin) / size).astype(np.int64)
    c1 = np.floor((upper - origin) / size).astype(np.int64)
    spans = c1 - c0 + 1
    outlier = (spans > MAX_SPAN).any(axis=1)

    parts_i: list[I64] = []
    parts_j: list[I64] = []

    inl = np.flatnonzero(~outlier)
    if inl.size >= 2:
        gi, gj = _grid_pairs(inl, lower[inl], upper[inl], c0[inl], spans[inl])
        parts_i.append(gi)
        parts_j.append(gj)

    out = np.flatnonzero(outlier)
    if out.size:
        oi, oj = _outlier_pairs(out, outlier, lower, upper)
        parts_i.append(oi)
        parts_j.append(oj)

    if not parts_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    i = np.concatenate(parts_i)
    j = np.concatenate(parts_j)
    return np.minimum(i, j), np.maximum(i, j)


def _argsort_keys(key: I64, bound: int) -> I64:
    """``argsort`` of non-negative keys below ``bound``; LSD radix on 16-bit digits when it fits.

    numpy's stable sort is a radix sort for 16-bit integers, several times faster than
    comparison sorting int64; two stable passes cover keys below 2**32.
    """
    if bound <= 1 << 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    if bound <= 1 << 32:
        o1 = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
        o2 = np.argsort((key[o1] >> 16).astype(np.uint16), kind="stable")
        return o1[o2]
    return np.argsort(key)


def _grid_pairs(ids: I64, lower: F64, upper: F64, c0: I64, spans: I64) -> tuple[I64, I64]:
    m, d = c0.shape
    ncell = np.prod(spans, axis=1)
    total = int(ncell.sum())
    # one entry per (box, covered cell); bit ``ax`` set when the cell is the box's first on axis ax
    owner = np.repeat(np.arange(m, dtype=np.int64), ncell)
    local = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(ncell) - ncell, ncell)
    dims = c0.max(axis=0) + spans.max(axis=0)
    stride = np.cumprod(np.concatenate((dims[1:], [1]))[::-1])[::-1]
    key = np.zeros(total, dtype=np.int64)
    bits = np.zeros(total, dtype=np.uint8)
    for ax in range(d - 1, -1, -1):
        sp = np.take(spans[:, ax], owner)
        off = local % sp
        local //= sp
        bits |= (off == 0).astype(np.uint8) << np.uint8(ax)
        key += (np.take(c0[:, ax], owner) + off) * stride[ax]
    del local, off, sp

    order = _argsort_keys(key, int(stride[0] * dims[0]))
    key_s = np.take(key, order)
    own_s = np.take(owner, order)
    bits_s = np.take(bits, order)
    del key, owner, bits, order
    # pairs of entries within each cell: entry p pairs with p+1 .. group_end-1
    starts = np.flatnonzero(np.concatenate(([True], key_s[1:] != key_s[:-1])))
    sizes = np.diff(np.append(starts, total))
    group_end = np.repeat(starts + sizes, sizes)
    cnt = group_end - np.arange(total, dtype=np.int64) - 1
    npairs = int(cnt.sum())
    if npairs == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    # the pair (p, q) of sorted entries: a = owner of p (repeated), q = p + 1 + rank within p's run
    q = np.arange(npairs, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt - 1 - np.arange(total), cnt)
    # keep the pair only in the cell holding the min corner of the boxes' intersection: as both
    # boxes cover the cell, that is "the cell is the first of at least one of them on every axis"
    keep = (np.repeat(bits_s, cnt) | np.take(bits_s, q)) == np.uint8((1 << d) - 1)
    # (np.compress and np.take are much faster than boolean/fancy indexing here)
    a = np.compress(keep, np.repeat(own_s, cnt))
    b = np.take(own_s, np.compress(keep, q))
    del q, keep
    # the boxes must really overlap
    keep = np.ones(a.size, dtype=bool)
    for ax in range(d):
        lo = np.ascontiguousarray(lower[:, ax])
        up = np.ascontiguousarray(upper[:, ax])
        keep &= np.take(lo, a) <= np.take(up, b)
        keep &= np.take(lo, b) <= np.take(up, a)
    return np.take(ids, np.compress(keep, a)), np.take(ids, np.compress(keep, b))


def _outlier_pairs(out: I64, is_outlier: NDArray[np.bool_], lower: F64, upper: F64) -> tuple[I64, I64]:
    n = lower.shape[0]
    step = max(1, _CHUNK_ELEMS // n)
    all_ids = np.arange(n, dtype=np.int64)
    res_i: list[I64] = []
    res_j: list[I64] = []
    for s in range(0, out.size, step):
        o = out[s : s + step]
        hit = np.ones((o.size, n), dtype=bool)
        for ax in range(lower.shape[1]):
            hit &= lower[o, ax][:, None] <= upper[None, :, ax]
            hit &= lower[None, :, ax] <= upper[o, ax][:, None]
        # outlier-outlier pairs once (o < k); never pair a box with itself
        hit &= ~is_outlier[None, :] | (all_ids[None, :] > o[:, None])
        hit[np.arange(o.size), o] = False
        r, k = np.nonzero(hit)
        res_i.append(o[r])
        res_j.append(k.astype(np.int64))
    return np.concatenate(res_i), np.concatenate(res_j)
