"""Broad phase: all pairs of overlapping axis-aligned boxes, by sweep within strips (compiled loops).

Why strips plus a sweep rather than a 3-D grid: low-altitude traffic is clustered in 2-D (around
vertiports and along corridors) and spread over tens of kilometres, so a plain sweep on one axis
returns every aircraft in a whole north-south strip, whereas a uniform grid whose cells are about
one box wide pairs every two boxes that share a cell, overlapping or not, once per shared cell
(9.5 in-cell pairs per overlapping pair on the 10k per-category picture, where a helicopter's
1.2 km well-clear radius makes its box a hundred cells big). Here the space is cut into strips on
every axis but the first (a grid over ``y, z``); each box is registered in every strip it covers
(a counting sort, in order of lower ``x``, so every strip lists its boxes by lower ``x``); within
a strip each box is paired with the boxes that start inside its own ``x`` extent (the scan stops at
the first that starts beyond it), which is an exact overlap test on ``x``. A pair sharing several
strips is kept only in the strip holding the minimum corner of the two boxes' intersection, so
every overlapping pair is emitted exactly once without a ``unique``; the remaining axes are then
tested exactly. The scan is branch-free (every scanned pair is written, the count advances only
for kept ones): half the scanned pairs are duplicates of another strip, so a branch would mispredict.

The loops are compiled with numba (:mod:`lowalt.conflict.jit`): vectorised, the same sweep needed
one array pass per step over all scanned pairs and ran 2.5x slower (docs/benchmarks/conflict.md).

Strip size is adaptive: the median box extent per axis, times ``cell_scale``, raised so that at
most about 1/1024 of the boxes span more than ``MAX_SPAN`` strips on any axis. Those few outliers
(e.g. one aircraft climbing at 30 m/s among drones) are not registered; they are tested against
all boxes. Far-apart clusters of small boxes get wider strips (``MAX_STRIPS_PER_BOX``), so the
grid's memory stays O(N).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lowalt.conflict.jit import jit

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

MAX_STRIPS_PER_BOX = 8
"""The grid of strips has at most this many strips per box (plus a few): far-apart clusters of
small boxes get wider strips instead of a huge, empty grid."""


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


def argsort_keys(key: I64, bound: int) -> IDX:
    """Stable ``argsort`` of non-negative keys below ``bound``; LSD radix on 16-bit digits (numpy).

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


def _grow(arr: I64, need: int) -> I64:
    """``arr`` copied into a buffer of at least ``need`` elements (doubling)."""
    out = np.empty(max(need, 2 * arr.shape[0]), dtype=np.int64)
    out[: arr.shape[0]] = arr
    return out


_grow = jit(_grow)


def _room(out_i: I64, out_j: I64, need: int) -> tuple[I64, I64]:
    """The pair buffers, grown together to hold at least ``need`` pairs."""
    if need > out_i.shape[0]:
        return _grow(out_i, need), _grow(out_j, need)
    return out_i, out_j


_room = jit(_room, inline=True)


def _put(out_i: I64, out_j: I64, at: int, a: int, b: int) -> None:
    """Write the pair ``(a, b)`` at ``at``, lower index first (the callers' ``i < j`` order)."""
    out_i[at] = min(a, b)
    out_j[at] = max(a, b)


_put = jit(_put, inline=True)


def _register(
    lower: F64, ids: I64, c0: I64, spans: I64, stride: I64, start: I64,
    cursor: I64, e_rank: I64, e_lox: F64, e_first: NDArray[np.uint8],
) -> None:
    """Enumerate (box, covered strip) entries in ``ids`` order.

    Counting pass (``cursor`` empty): ``start[s + 1] += 1`` per entry of strip ``s``. Filling pass:
    entry ``cursor[s]`` of strip ``s`` gets the box's rank in ``ids``, its lower ``x`` and its
    "first strip on axis ``ax``" bits. The strips a box covers are walked as an odometer over the
    strip axes.
    """
    k = c0.shape[1]
    fill = cursor.shape[0] > 0
    off = np.zeros(max(k, 1), dtype=np.int64)
    for r in range(ids.shape[0]):
        b = ids[r]
        base = 0
        for ax in range(k):
            base += c0[b, ax] * stride[ax]
            off[ax] = 0
        while True:
            s = base
            first = 0
            for ax in range(k):
                s += off[ax] * stride[ax]
                if off[ax] == 0:
                    first |= 1 << ax
            if fill:
                q = cursor[s]
                cursor[s] = q + 1
                e_rank[q] = r
                e_lox[q] = lower[b, 0]
                e_first[q] = first
            else:
                start[s + 1] += 1
            ax = k - 1
            while ax >= 0:
                off[ax] += 1
                if off[ax] < spans[b, ax]:
                    break
                off[ax] = 0
                ax -= 1
            if ax < 0:
                break


_register = jit(_register)


def _sweep(lower: F64, upper: F64, ids: I64, c0: I64, spans: I64, dims: I64) -> tuple[I64, I64]:
    """Every overlapping pair of the boxes ``ids`` (rows of ``lower``/``upper``, sorted by lower ``x``).

    Each box is registered, in ``ids`` order, in every strip it covers (``c0``, ``spans`` and
    ``dims`` on the strip axes 1..D-1; a counting sort, so every strip lists its boxes by lower
    ``x``). Within a strip, entry ``p`` is paired with the later entries that start inside its
    ``x`` extent (the scan stops at the first that starts beyond it), kept only in the strip that
    holds the minimum corner of the two boxes' intersection (the strip is the first of at least
    one of them on every axis), then tested exactly on the strip axes. Returns ``(i, j)``, ``i < j``.
    """
    m = ids.shape[0]
    k = c0.shape[1]
    d = lower.shape[1]
    stride = np.ones(max(k, 1), dtype=np.int64)
    for ax in range(k - 2, -1, -1):
        stride[ax] = stride[ax + 1] * dims[ax + 1]
    n_strips = stride[0] * dims[0] if k > 0 else 1
    start = np.zeros(n_strips + 1, dtype=np.int64)
    none_i = np.empty(0, dtype=np.int64)
    _register(lower, ids, c0, spans, stride, start, none_i, none_i, np.empty(0), np.empty(0, dtype=np.uint8))
    for s in range(n_strips):
        start[s + 1] += start[s]
    n_entries = start[n_strips]
    e_rank = np.empty(n_entries, dtype=np.int64)
    e_lox = np.empty(n_entries, dtype=np.float64)
    e_first = np.empty(n_entries, dtype=np.uint8)
    _register(lower, ids, c0, spans, stride, start, start[:n_strips].copy(), e_rank, e_lox, e_first)
    full = (1 << k) - 1
    # the boxes' bounds in rank order: entries of a strip are in rank order, so the scan below
    # reads them forward
    lo_s = np.empty((m, d), dtype=np.float64)
    up_s = np.empty((m, d), dtype=np.float64)
    for r in range(m):
        for ax in range(d):
            lo_s[r, ax] = lower[ids[r], ax]
            up_s[r, ax] = upper[ids[r], ax]
    out_i = np.empty(max(1024, 4 * m), dtype=np.int64)
    out_j = np.empty(max(1024, 4 * m), dtype=np.int64)
    count = 0
    for s in range(n_strips):
        end = start[s + 1]
        for p in range(start[s], end):
            out_i, out_j = _room(out_i, out_j, count + end - p)
            rp = e_rank[p]
            up_x = up_s[rp, 0]
            fp = e_first[p]
            bp = ids[rp]
            for q in range(p + 1, end):
                if e_lox[q] > up_x:
                    break
                rq = e_rank[q]
                # branch-free: write the pair, advance only if it is kept and overlaps
                ok = (fp | e_first[q]) == full
                for ax in range(1, d):
                    ok &= (lo_s[rp, ax] <= up_s[rq, ax]) & (lo_s[rq, ax] <= up_s[rp, ax])
                _put(out_i, out_j, count, bp, ids[rq])
                count += ok
    return out_i[:count], out_j[:count]


_sweep = jit(_sweep)


def _outlier_pairs(out: I64, is_outlier: NDArray[np.bool_], lower: F64, upper: F64) -> tuple[I64, I64]:
    """Pairs of each outlier box with every box it overlaps (outlier pairs once), ``i < j``."""
    n, d = lower.shape
    out_i = np.empty(max(1024, 4 * out.shape[0]), dtype=np.int64)
    out_j = np.empty(max(1024, 4 * out.shape[0]), dtype=np.int64)
    count = 0
    for o in out:
        for b in range(n):
            if b == o or (is_outlier[b] and b < o):
                continue
            hit = True
            for ax in range(d):
                if lower[o, ax] > upper[b, ax] or lower[b, ax] > upper[o, ax]:
                    hit = False
                    break
            if not hit:
                continue
            out_i, out_j = _room(out_i, out_j, count + 1)
            _put(out_i, out_j, count, o, b)
            count += 1
    return out_i[:count], out_j[:count]


_outlier_pairs = jit(_outlier_pairs)


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
    while True:
        c0, spans = _layout(lower, upper, size, origin)
        dims = c0.max(axis=0, initial=0) + spans.max(axis=0, initial=1)
        strips = int(np.prod(dims.astype(float)))
        if strips <= MAX_STRIPS_PER_BOX * n + 4096:
            break
        # far-apart clusters of small boxes: wider strips (exact for any width, only slower)
        size = size * (strips / (MAX_STRIPS_PER_BOX * n + 4096)) ** (1.0 / size.size) * 1.01
    outlier: NDArray[np.bool_] = np.asarray((spans > MAX_SPAN).any(axis=1), dtype=bool)
    parts: list[tuple[I64, I64]] = []
    inl = np.flatnonzero(~outlier)
    if inl.size >= 2:
        ids = np.take(inl, np.argsort(np.take(lower[:, 0], inl))).astype(np.int64)
        parts.append(_sweep(lower, upper, ids, c0, spans, dims.astype(np.int64)))
    out = np.flatnonzero(outlier).astype(np.int64)
    if out.size:
        parts.append(_outlier_pairs(out, outlier, lower, upper))
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts])


def _grid(lower: F64, upper: F64, cell_scale: float | tuple[float, ...] | F64) -> tuple[F64, F64]:
    if lower.shape[1] < 2:
        return np.empty(0), np.empty(0)
    size = _cell_sizes(lower[:, 1:], upper[:, 1:], cell_scale)
    return size, lower[:, 1:].min(axis=0)
