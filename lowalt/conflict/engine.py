"""Traffic-traffic conflict detection: strip-and-sweep broad phase + exact narrow phase (compiled loops).

See :mod:`lowalt.conflict.kernel` for the precise definitions of a conflict and of
``t_in``, ``t_out``, ``t_cpa`` and ``d_cpa``; :mod:`lowalt.conflict.broadphase` for the pruning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lowalt.conflict._validate import as_points, as_scalar
from lowalt.conflict.broadphase import CELL_SCALE, argsort_keys, overlapping_pairs
from lowalt.conflict.kernel import Minimum, evaluate_pairs

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

PairMinimaFn = Callable[[I64, I64], F64]
"""``fn(i, j) -> minima`` (m), one value per pair; ``i``, ``j`` are int64 arrays of equal length."""


@dataclass(frozen=True, slots=True)
class PairwiseMinimum:
    """A separation minimum that depends on the pair (e.g. on the aircraft categories).

    Attributes
    ----------
    fn : callable
        ``fn(i, j) -> ndarray (P,)`` minima in metres for pairs ``i < j``; values must lie in
        ``[0, bound]``.
    radius : ndarray, shape (N,)
        Per-aircraft pruning radius (m) such that ``radius[i] + radius[j] >= fn(i, j)`` for every
        pair; the swept box of aircraft ``i`` is expanded by ``radius[i]``.
    """

    fn: PairMinimaFn
    radius: F64


Separation = float | PairwiseMinimum


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Predicted pairwise losses of separation, one row per pair, sorted by ``(i, j)``.

    Attributes
    ----------
    i, j : ndarray of int64, shape (K,)
        Row indices into ``pos``/``vel``, ``i < j``.
    t_in, t_out : ndarray of float64, shape (K,)
        Start and end (s from now) of simultaneous horizontal and vertical loss, clipped to
        ``[0, lookahead]``; ``t_in == 0`` means already in loss.
    t_cpa : ndarray of float64, shape (K,)
        Time (s) in ``[0, lookahead]`` of minimum horizontal distance (0 if no relative
        horizontal motion).
    d_cpa : ndarray of float64, shape (K,)
        Horizontal distance (m) at ``t_cpa``.
    """

    i: I64
    j: I64
    t_in: F64
    t_out: F64
    t_cpa: F64
    d_cpa: F64

    def __len__(self) -> int:
        return int(self.i.shape[0])

    @classmethod
    def empty(cls) -> Conflicts:
        z = np.empty(0, dtype=np.float64)
        k = np.empty(0, dtype=np.int64)
        return cls(k, k.copy(), z, z.copy(), z.copy(), z.copy())


@dataclass(frozen=True, slots=True)
class DetectionStats:
    """Work counters of one pass (for benchmarks)."""

    candidates: int
    """Pairs passed from the broad phase to the exact narrow phase."""


def _check_sep(value: Separation, name: str, n: int) -> tuple[Separation, F64]:
    """Validate a separation argument; return it with the per-aircraft pruning radius."""
    if isinstance(value, PairwiseMinimum):
        radius = np.asarray(value.radius, dtype=np.float64)
        if radius.shape != (n,) or not np.isfinite(radius).all() or (radius < 0).any():
            raise ValueError(f"{name}.radius must be a finite non-negative array of shape ({n},)")
        return value, radius
    sep = as_scalar(value, name)
    return sep, np.full(n, sep / 2.0)


def _minima(sep: Separation) -> Minimum:
    if isinstance(sep, PairwiseMinimum):
        return sep.fn
    return sep


def _validate(
    pos: ArrayLike, vel: ArrayLike, h_sep: Separation, v_sep: Separation, lookahead: float
) -> tuple[F64, F64, Separation, F64, Separation, F64, float]:
    p = as_points(pos, "pos")
    v = as_points(vel, "vel", p.shape[0])
    hs, rh = _check_sep(h_sep, "h_sep", p.shape[0])
    vs, rv = _check_sep(v_sep, "v_sep", p.shape[0])
    la = as_scalar(lookahead, "lookahead")
    return p, v, hs, rh, vs, rv, la


def assemble(pos: F64, vel: F64, i: I64, j: I64, h_sep: Minimum, v_sep: Minimum, lookahead: float) -> Conflicts:
    """Evaluate candidate pairs ``i < j`` exactly and return the conflicts sorted by ``(i, j)``.

    Parameters
    ----------
    pos, vel : ndarray, shape (N, 3)
        Validated positions (m) and velocities (m/s).
    i, j : ndarray of int64, shape (P,)
        Candidate pairs, ``i < j``, each at most once, any order.
    h_sep, v_sep : float, ndarray (P,) or callable
        Minima (m): scalar, per candidate, or ``fn(i, j) -> ndarray`` evaluated lazily (the
        horizontal one only on the pairs that pass the vertical test).
    lookahead : float
        Window (s).
    """
    if i.size == 0:
        return Conflicts.empty()
    res = evaluate_pairs(pos, vel, i, j, h_sep, v_sep, lookahead)
    ci = np.compress(res.mask, i)
    cj = np.compress(res.mask, j)
    n = pos.shape[0]
    # one integer key per pair (unique, so any sort gives the order of lexsort((cj, ci))): radix
    # passes while they are few, else numpy's quicksort
    key = ci * n + cj
    order = argsort_keys(key, n * n) if n <= 1 << 16 else np.argsort(key)
    return Conflicts(
        i=np.take(ci, order),
        j=np.take(cj, order),
        t_in=np.take(res.t_in, order),
        t_out=np.take(res.t_out, order),
        t_cpa=np.take(res.t_cpa, order),
        d_cpa=np.take(res.d_cpa, order),
    )


def swept_boxes(pos: F64, vel: F64, lookahead: float, rh: F64, rv: F64) -> tuple[F64, F64]:
    """Boxes (N, 3) swept over ``[0, lookahead]``, expanded by the pruning radii plus a slack.

    The slack (1 mm plus 1e-9 of the coordinate magnitude) absorbs floating-point rounding so the
    pruning stays conservative with respect to the exact kernel.
    """
    end = pos + vel * lookahead
    slack = 1e-3 + 1e-9 * (np.abs(pos).max(initial=0.0) + np.abs(end).max(initial=0.0))
    r = np.stack((rh, rh, rv), axis=1) + slack
    lower = np.minimum(pos, end) - r
    upper = np.maximum(pos, end) + r
    return lower, upper


def detect_conflicts_with_stats(
    pos: ArrayLike,
    vel: ArrayLike,
    *,
    h_sep: Separation,
    v_sep: Separation,
    lookahead: float,
    cell_scale: float | tuple[float, ...] | F64 = CELL_SCALE,
) -> tuple[Conflicts, DetectionStats]:
    """:func:`detect_conflicts` plus work counters (same arguments; ``cell_scale`` tunes the strips)."""
    p, v, hs, rh, vs, rv, la = _validate(pos, vel, h_sep, v_sep, lookahead)
    lower, upper = swept_boxes(p, v, la, rh, rv)
    i, j = overlapping_pairs(lower, upper, cell_scale=cell_scale)
    return assemble(p, v, i, j, _minima(hs), _minima(vs), la), DetectionStats(candidates=int(i.size))


def detect_conflicts(
    pos: ArrayLike,
    vel: ArrayLike,
    *,
    h_sep: Separation,
    v_sep: Separation,
    lookahead: float,
) -> Conflicts:
    """Find every pair predicted to lose separation within ``lookahead`` seconds.

    A pair conflicts when, under straight-line extrapolation, horizontal distance ``< h_sep`` and
    vertical distance ``< v_sep`` hold at the same time within ``[0, lookahead]`` (strict
    inequalities; touching the boundary, or an interval of zero length, is not a conflict).
    Candidates are pruned by a sweep within strips over each aircraft's swept 3-D box (see
    :mod:`lowalt.conflict.broadphase`), then evaluated exactly (see :mod:`lowalt.conflict.kernel`).
    Memory is O(N + candidates); no N x N matrix is built.

    Parameters
    ----------
    pos : array_like, shape (N, 3)
        Positions (m), local east-north-up (z = altitude, any common datum).
    vel : array_like, shape (N, 3)
        Velocities (m/s), same frame.
    h_sep, v_sep : float or PairwiseMinimum
        Horizontal and vertical minima (m), ``>= 0``; a :class:`PairwiseMinimum` gives per-pair
        minima (see :func:`lowalt.conflict.detect_conflicts_by_category`).
    lookahead : float
        Prediction window (s), ``>= 0``; 0 reports only current losses.

    Returns
    -------
    Conflicts
        Equal-length arrays ``i < j``, ``t_in``, ``t_out``, ``t_cpa``, ``d_cpa`` sorted by ``(i, j)``.

    Raises
    ------
    ValueError
        Naming the argument: NaN/inf in ``pos``/``vel``, wrong or mismatched shapes, negative or
        non-finite ``h_sep``/``v_sep``/``lookahead``.
    """
    return detect_conflicts_with_stats(pos, vel, h_sep=h_sep, v_sep=v_sep, lookahead=lookahead)[0]


def detect_conflicts_bruteforce(
    pos: ArrayLike,
    vel: ArrayLike,
    *,
    h_sep: Separation,
    v_sep: Separation,
    lookahead: float,
    chunk_pairs: int = 1 << 21,
) -> Conflicts:
    """Reference implementation: every pair ``i < j`` through the exact kernel, in chunks.

    O(N^2) time, O(N + chunk_pairs) memory; for tests and ``lowalt bench cd --check``.
    Same parameters and result as :func:`detect_conflicts`.
    """
    p, v, hs, _, vs, _, la = _validate(pos, vel, h_sep, v_sep, lookahead)
    n = p.shape[0]
    parts: list[Conflicts] = []
    start = 0
    while start < n - 1:
        # rows start..stop-1 paired with every later row
        remaining = n - 1 - np.arange(start, n - 1, dtype=np.int64)
        cum = np.cumsum(remaining)
        stop = start + max(1, int(np.searchsorted(cum, chunk_pairs, side="right")))
        rows = np.arange(start, stop, dtype=np.int64)
        cnt = n - 1 - rows
        i = np.repeat(rows, cnt)
        j = i + 1 + (np.arange(i.size, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        parts.append(assemble(p, v, i, j, _minima(hs), _minima(vs), la))
        start = stop
    if not parts:
        return Conflicts.empty()
    return Conflicts(*(np.concatenate([getattr(c, f.name) for c in parts]) for f in fields(Conflicts)))
