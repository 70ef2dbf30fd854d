"""Broad phase: all pairs of overlapping axis-aligned boxes, by sweep within strips (numpy only).

Why strips plus a sweep rather than a 3-D grid: low-altitude traffic is clustered in 2-D (around
vertiports and along corridors) and spread over tens of kilometres, so a plain sweep on one axis
returns every aircraft in a whole north-south strip, whereas a uniform grid whose cells are about
one box wide pairs every two boxes that share a cell, overlapping or not, once per shared cell
(9.5 in-cell pairs per overlapping pair on the 10k per-category picture, where a helicopter's
1.2 km well-clear radius makes its box a hundred cells big; 3.7 generated pairs per overlapping
pair here). Here the space is cut into strips on
every axis but the first (a grid over ``y, z``); each box is registered in every strip it covers;
within a strip the boxes are sorted by their lower ``x`` and each box is paired, by a binary
search, only with the boxes that start inside its own ``x`` extent, which is an exact overlap
test on ``x``. A pair sharing several strips is kept only in the strip holding the minimum corner
of the two boxes' intersection (``max`` of their lower strip indices per axis), so every
overlapping pair is emitted exactly once without ``np.unique``; the remaining axes are then
tested exactly.

Sorting without comparison sorts: boxes are ranked once by lower ``x`` (one ``argsort`` of N
floats); entries are enumerated in rank order and sorted by strip with a stable 16-bit radix
``argsort``, so within a strip they stay in rank order and the key ``strip * N + rank`` is sorted.
The end of a box's ``x`` extent is turned into a rank by ``searchsorted``, so the binary search
compares integers and is exact.

Strip size is adaptive: the median box extent per axis, times ``cell_scale``, raised so that at
most about 1/1024 of the boxes span more than ``MAX_SPAN`` strips on any axis. Those few outliers
(e.g. one aircraft climbing at 30 m/s among drones) are not registered; they are tested against
all boxes, in chunks, so memory stays O(N + pairs).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
IDX = NDArray[np.intp]

CELL_SCALE: tuple[float, ...] = (2.0, 8.0)
"""Default strip width per strip axis (``y``, then ``z`` and any further axis) in units of the
median box extent (tuned on ``lowalt bench cd``, docs/benchmarks/conflict.md): vertical extents
are skewed (level flight is thin, a climb over a minute is hundreds of metres), so the vertical
strips are wider to keep climbing aircraft out of the outlier path."""

MAX_SPAN = 8
"""Boxes spanning more strips than this on any strip axis take the outlier path."""

OUTLIER_FRACTION = 1.0 / 1024.0
"""Strip size is raised until at most this fraction of boxes (plus a few) are outliers."""

_SAMPLE = 2048
"""Boxes sampled to choose the strip size."""

_CHUNK_ELEMS = 1 << 22
"""Elements per chunk in the outlier path (outliers x all boxes)."""


def _empty() -> tuple[I64, I64]:
    e = np.empty(0, dtype=np.int64)
    return e, e.copy()


def _cell_sizes(lower: F64, upper: F64, scale: float | tuple[float, ...] | F64) -> F64:
    """Strip width per axis: ``scale`` x median box extent, raised so few boxes are outliers.

    Quantiles come from a strided sample of at most ``_SAMPLE`` boxes (deterministic, cheap).
    """
    n = lower.shape[0]
    step = max(1, n // _SAMPLE)
    ext = upper[::step] - lower[::step]
    k = ext.shape[0]
    sc = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    sc = np.concatenate((sc, np.full(max(0, lower.shape[1] - sc.size), sc[-1])))[: lower.shape[1]]
    mid = k // 2
    q = max(mid, min(k - 1, int(np.floor(k * (1.0 - OUTLIER_FRACTION))) - 1))
    part = np.partition(ext, (mid, q), axis=0)  # median and high quantile in one pass
    size = np.maximum(part[mid] * sc, part[q] / MAX_SPAN)
    # guard against zero-size boxes (all hovering at one point, zero separation)
    span = upper.max(axis=0) - lower.min(axis=0)
    return np.asarray(np.maximum(size, np.maximum(span, 1.0) * 1e-5), dtype=np.float64)


class _Strips:
    """Boxes of one set in sweep order, registered in the strips they cover.

    ``lo_x``/``up_x`` are the boxes' ``x`` extents sorted by lower ``x`` (index = rank); ``ids``
    maps rank to the caller's row. Entries (one per box and covered strip) are sorted by ``(strip, rank)``:
    ``own`` (rank), ``key`` (``strip * m + rank``), ``first`` (bit ``k`` set when the strip is the
    box's first on strip axis ``k``).
    """

    __slots__ = ("first", "full", "ids", "key", "lo_x", "m", "own", "strip", "up_x")

    def __init__(self, ids: IDX, lo_x: F64, up_x: F64, c0: I64, spans: I64, dims: I64) -> None:
        m, k = c0.shape
        self.m = m
        self.ids = ids
        self.lo_x = lo_x
        self.up_x = up_x
        self.full = np.uint8((1 << k) - 1)
        if k == 0:
            self.own = np.arange(m, dtype=np.intp)
            self.strip = np.zeros(m, dtype=np.int64)
            self.first = np.zeros(m, dtype=np.uint8)
            self.key = self.own.astype(np.int64)
            return
        # one entry per (box, covered strip), one axis at a time: repeat each entry once per strip
        # it covers on the axis, the offset being the rank within its run (no integer division)
        stride = np.cumprod(np.concatenate((dims[1:], [1]))[::-1])[::-1]
        own = np.arange(m, dtype=np.intp)
        strip = c0 @ stride
        first = np.zeros(m, dtype=np.uint8)
        for ax in range(k):
            sp = np.take(spans[:, ax], own)
            if sp.max(initial=1) == 1:
                first |= np.uint8(1 << ax)
                continue
            total = int(sp.sum())
            off = np.arange(total, dtype=np.intp) - np.repeat(np.cumsum(sp) - sp, sp)
            own = np.repeat(own, sp)
            strip = np.repeat(strip, sp) + off * stride[ax]
            first = np.repeat(first, sp) | ((off == 0).astype(np.uint8) << np.uint8(ax))
        bound = int(stride[0] * dims[0])
        # entries are in box (rank) order, so a stable sort by strip leaves them by (strip, rank)
        order = argsort_keys(strip, bound)
        self.own = np.take(own, order)
        self.strip = np.take(strip, order)
        self.first = np.take(first, order)
        self.key = self.strip * m + self.own


def argsort_keys(key: I64, bound: int) -> IDX:
    """Stable ``argsort`` of non-negative keys below ``bound``; LSD radix on 16-bit digits.

    numpy's stable sort is a radix sort for 16-bit integers, several times faster than
    comparison sorting int64; one stable pass per 16 bits of ``bound``.
    """
    o = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while bound > 1 << shift:
        o = np.take(o, np.argsort(((np.take(key, o) >> shift) & 0xFFFF).astype(np.uint16), kind="stable"))
        shift += 16
    return o


def _layout(lower: F64, upper: F64, size: F64, origin: F64) -> tuple[I64, I64]:
    """First strip and strip count per box on the strip axes (columns 1..D-1)."""
    c0 = np.floor((lower[:, 1:] - origin) / size).astype(np.int64)
    c1 = np.floor((upper[:, 1:] - origin) / size).astype(np.int64)
    return c0, c1 - c0 + 1


def _sorted_set(ids: IDX, lower: F64, upper: F64, c0: I64, spans: I64, dims: I64) -> _Strips:
    """Boxes ``ids`` (rows of ``lower``/``upper``) registered in their strips, in sweep order."""
    order = np.argsort(lower[:, 0])
    lo_x = np.take(lower[:, 0], order)
    up_x = np.take(upper[:, 0], order)
    return _Strips(np.take(ids, order), lo_x, up_x, _rows(c0, order), _rows(spans, order), dims)


def _rows(arr: I64, order: IDX) -> I64:
    """``arr[order]`` for a narrow 2-D array, column by column (faster than a row ``take``)."""
    out = np.empty((order.size, arr.shape[1]), dtype=arr.dtype)
    for ax in range(arr.shape[1]):
        out[:, ax] = np.take(arr[:, ax], order)
    return out


def _self_sweep(s: _Strips, lower: F64, upper: F64) -> tuple[I64, I64]:
    """Pairs of boxes of one set that overlap, each once (entry ``p`` with later entries ``q``).

    ``lower``/``upper`` (N, D) are all the caller's boxes (``s.ids`` are rows of them).
    """
    # entry p pairs with the later entries of its strip whose box starts within its x extent
    end_rank = np.searchsorted(s.lo_x, s.up_x, side="right")
    q_end = np.searchsorted(s.key, s.strip * s.m + np.take(end_rank, s.own), side="left")
    p1 = np.arange(1, s.key.size + 1, dtype=np.intp)
    cnt = q_end - p1
    g = int(cnt.sum())
    q = np.arange(g, dtype=np.intp)
    q += np.repeat(p1 - (np.cumsum(cnt) - cnt), cnt)
    # keep each pair in the strip holding the min corner of the boxes' intersection: as both
    # boxes cover the strip, that is "the strip is the first of at least one of them on every axis"
    keep = np.repeat(s.first, cnt)
    keep |= np.take(s.first, q)
    keep = keep == s.full
    a = np.take(s.ids, np.compress(keep, np.repeat(s.own, cnt)))
    b = np.take(s.ids, np.take(s.own, np.compress(keep, q)))
    del q, keep
    # x overlaps by construction; the strip axes must really overlap
    ok = np.ones(a.size, dtype=bool)
    for ax in range(1, lower.shape[1]):
        lo, up = np.ascontiguousarray(lower[:, ax]), np.ascontiguousarray(upper[:, ax])
        ok &= np.take(lo, a) <= np.take(up, b)
        ok &= np.take(lo, b) <= np.take(up, a)
    return np.compress(ok, a).astype(np.int64, copy=False), np.compress(ok, b).astype(np.int64, copy=False)


def overlapping_pairs(lower: F64, upper: F64, *, cell_scale: float | tuple[float, ...] | F64 = CELL_SCALE) -> tuple[I64, I64]:
    """Return every pair of boxes whose closed extents overlap on all axes.

    Parameters
    ----------
    lower, upper : ndarray, shape (N, D)
        Box corners, ``lower <= upper`` (any length unit), ``D >= 1``.
    cell_scale : float or sequence of float
        Multiplier on the adaptive strip width per strip axis (axes 1..D-1; the last value
        repeats), for tuning/benchmarks.

    Returns
    -------
    i, j : ndarray of int64, shape (P,)
        Pairs with ``i < j``, each overlapping pair exactly once, in no particular order.
    """
    lower = np.ascontiguousarray(lower, dtype=np.float64)
    upper = np.ascontiguousarray(upper, dtype=np.float64)
    n = lower.shape[0]
    if n < 2:
        return _empty()
    size, origin = _grid(lower, upper, cell_scale)
    c0, spans = _layout(lower, upper, size, origin)
    outlier: NDArray[np.bool_] = np.asarray((spans > MAX_SPAN).any(axis=1), dtype=bool)
    dims = c0.max(axis=0, initial=0) + spans.max(axis=0, initial=1)

    parts: list[tuple[I64, I64]] = []
    inl = np.flatnonzero(~outlier)
    if inl.size >= 2:
        s = _sorted_set(inl, lower[inl], upper[inl], c0[inl], spans[inl], dims)
        parts.append(_self_sweep(s, lower, upper))
    out = np.flatnonzero(outlier)
    if out.size:
        parts.append(_outlier_pairs(out, outlier, lower, upper))
    return _join(parts)


def _grid(lower: F64, upper: F64, cell_scale: float | tuple[float, ...] | F64) -> tuple[F64, F64]:
    if lower.shape[1] < 2:
        return np.empty(0), np.empty(0)
    size = _cell_sizes(lower[:, 1:], upper[:, 1:], cell_scale)
    return size, lower[:, 1:].min(axis=0)


def _join(parts: list[tuple[I64, I64]]) -> tuple[I64, I64]:
    if not parts:
        return _empty()
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    return np.minimum(i, j), np.maximum(i, j)


def _outlier_pairs(out: IDX, is_outlier: NDArray[np.bool_], lower: F64, upper: F64) -> tuple[I64, I64]:
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
        res_i.append(o[r].astype(np.int64))
        res_j.append(k.astype(np.int64))
    return np.concatenate(res_i), np.concatenate(res_j)
