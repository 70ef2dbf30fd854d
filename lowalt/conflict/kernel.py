"""Narrow phase: exact loss-of-separation intervals for given pairs, one compiled pass over the pairs.

Definitions (the contract of :func:`lowalt.conflict.detect_conflicts`), for a pair with relative
position ``dp = p_j - p_i`` and velocity ``dv = v_j - v_i`` under straight-line extrapolation:

* horizontal loss ``H = {t : |dp_h + dv_h t| < h}``: an open interval (solution of
  ``a t^2 + 2 b t + c - h^2 < 0`` with ``a = |dv_h|^2``, ``b = dp_h . dv_h``, ``c = |dp_h|^2``);
  all of R when ``a == 0`` and ``c < h^2``; empty when ``a == 0`` and ``c >= h^2`` or when the
  discriminant is ``<= 0`` (a tangent pass touches the boundary only and is *not* a conflict).
* vertical loss ``V = {t : |dz + dvz t| < v}``: an open interval, all of R when ``dvz == 0`` and
  ``|dz| < v``, empty when ``dvz == 0`` and ``|dz| >= v``.
* the pair conflicts when the open interval ``H ∩ V = (lo, hi)`` meets the closed window
  ``[0, lookahead]``: ``lo < hi and lo < lookahead and hi > 0``. For ``lookahead > 0`` the
  intersection then has positive length; for ``lookahead == 0`` it is "in loss right now".
* ``t_in = max(lo, 0)``, ``t_out = min(hi, lookahead)`` (so ``t_in == 0`` means already in loss).
* ``t_cpa``: time in ``[0, lookahead]`` minimising the *horizontal* distance, i.e.
  ``clip(-b / a, 0, lookahead)``, and ``0`` when ``a == 0`` (no relative horizontal motion).
* ``d_cpa``: horizontal distance at ``t_cpa`` (metres).

Strict inequalities throughout: a pair exactly at ``h`` or ``v`` is not in conflict.
The fast engine and the brute-force reference both call :func:`evaluate_pairs` with ``i < j``, so
their floating-point results are bit-identical pair by pair; only the pruning differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lowalt.conflict.jit import jit

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

Minimum = float | F64 | Callable[[I64, I64], F64]
"""A separation minimum (m): one value, one per pair, or ``fn(i, j) -> ndarray`` per pair."""


@dataclass(frozen=True, slots=True)
class TableMinimum:
    """Per-pair minimum from a class table: ``table[codes[i], codes[j]]`` (m).

    Attributes
    ----------
    codes : ndarray of intp, shape (N,)
        Class (category) code per aircraft, in ``[0, C)``.
    flat : ndarray of float64, shape (C * C,)
        The C x C table, row-major.
    size : int
        C.
    """

    codes: NDArray[np.intp]
    flat: F64
    size: int

    def pair_codes(self, i: I64, j: I64) -> NDArray[np.intp]:
        """``codes[i] * C + codes[j]``, shape (P,)."""
        pair: NDArray[np.intp] = np.take(self.codes, i) * self.size
        pair += np.take(self.codes, j)
        return pair

    def __call__(self, i: I64, j: I64) -> F64:
        return np.take(self.flat, self.pair_codes(i, j))


@dataclass(frozen=True, slots=True)
class PairResult:
    """Kernel output for the pairs that conflict (``mask`` selects them from the input pairs)."""

    mask: NDArray[np.bool_]
    t_in: F64
    t_out: F64
    t_cpa: F64
    d_cpa: F64


def _per_pair(sep: Minimum, i: I64, j: I64) -> F64:
    """Minima (m) for every pair ``i, j``, shape (P,)."""
    if callable(sep):
        return np.ascontiguousarray(sep(i, j), dtype=np.float64)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(sep, dtype=np.float64), i.shape))


def _nan_min(a: float, b: float) -> float:
    """``np.minimum`` on two floats: NaN if either is NaN."""
    if a != a or b != b:
        return math.nan
    return a if a < b else b


def _nan_max(a: float, b: float) -> float:
    """``np.maximum`` on two floats: NaN if either is NaN."""
    if a != a or b != b:
        return math.nan
    return a if a > b else b


_nan_min = jit(_nan_min)
_nan_max = jit(_nan_max)


def _evaluate(
    pos: F64, vel: F64, i: I64, j: I64, codes: NDArray[np.intp], size: int, h_flat: F64, v_flat: F64,
    h_pair: F64, v_pair: F64, per_pair: bool, lookahead: float,
    mask: NDArray[np.bool_], out: F64,
) -> int:
    """Evaluate pairs ``k`` (``i[k] < j[k]``); fill ``mask`` and the first rows of ``out`` (4, P).

    Minima: ``h_pair[k]``/``v_pair[k]`` when ``per_pair``, else ``flat[codes[i] * size + codes[j]]``.
    Returns the number of conflicts; ``out[:, :count]`` holds their ``t_in``, ``t_out``,
    ``t_cpa``, ``d_cpa`` in pair order. Same arithmetic, in the same order, as the definitions
    in the module docstring; the vertical test comes first (it is the cheaper one).
    """
    count = 0
    for k in range(i.shape[0]):
        a_, b_ = i[k], j[k]
        if per_pair:
            h = h_pair[k]
            v = v_pair[k]
        else:
            pc = codes[a_] * size + codes[b_]
            h = h_flat[pc]
            v = v_flat[pc]
        # vertical open interval; dvz == 0 needs no special case: inside (|dz| < v) the bounds
        # are -inf and +inf, outside both are the same infinity (empty) or one is 0/0 = NaN,
        # which fails every comparison (empty), as does v == 0
        dz = pos[b_, 2] - pos[a_, 2]
        dvz = vel[b_, 2] - vel[a_, 2]
        ta = (-v - dz) / dvz
        tb = (v - dz) / dvz
        v_lo = _nan_min(ta, tb)
        v_hi = _nan_max(ta, tb)
        if not (v_lo < v_hi and v_lo < lookahead and v_hi > 0.0 and h > 0.0):
            continue
        # horizontal open interval: roots of a t^2 + 2 b t + cm = 0
        dx = pos[b_, 0] - pos[a_, 0]
        dy = pos[b_, 1] - pos[a_, 1]
        dvx = vel[b_, 0] - vel[a_, 0]
        dvy = vel[b_, 1] - vel[a_, 1]
        a = dvx * dvx + dvy * dvy
        b = dx * dvx + dy * dvy
        cm = (dx * dx + dy * dy) - h * h
        if a == 0.0:  # no relative horizontal motion: all of R inside the minimum, else empty
            if not cm < 0.0:
                continue
            h_lo, h_hi = -math.inf, math.inf
        else:
            disc = b * b - a * cm
            if not disc > 0.0:  # no real roots (or NaN): empty; a tangent pass is no conflict
                continue
            sq = math.sqrt(disc)
            q = -(b + math.copysign(sq, b))  # numerically stable roots q/a and cm/q
            r1 = q / a
            r2 = cm / q
            h_lo = _nan_min(r1, r2)
            h_hi = _nan_max(r1, r2)
        lo = _nan_max(h_lo, v_lo)
        hi = _nan_min(h_hi, v_hi)
        if not (lo < hi and lo < lookahead and hi > 0.0):
            continue
        mask[k] = True
        t_cpa = 0.0
        if a != 0.0:
            t_cpa = min(max(-b / a, 0.0), lookahead)
        out[0, count] = max(lo, 0.0)
        out[1, count] = min(hi, lookahead)
        out[2, count] = t_cpa
        out[3, count] = math.hypot(dx + dvx * t_cpa, dy + dvy * t_cpa)
        count += 1
    return count


_evaluate = jit(_evaluate)


def evaluate_pairs(
    pos: F64,
    vel: F64,
    i: I64,
    j: I64,
    h_sep: Minimum,
    v_sep: Minimum,
    lookahead: float,
) -> PairResult:
    """Evaluate candidate pairs exactly (one compiled pass over the pairs, see :func:`_evaluate`).

    Parameters
    ----------
    pos, vel : ndarray, shape (N, 3)
        Positions (m) and velocities (m/s), local east-north-up.
    i, j : ndarray of int64, shape (P,)
        Candidate pairs, ``i < j``.
    h_sep, v_sep : float, ndarray of shape (P,), or callable
        Horizontal and vertical minima (m): scalar, per pair, or ``fn(i, j) -> ndarray``. Two
        :class:`TableMinimum` over the same codes (the production case) are looked up inside the
        pass; anything else is evaluated per pair first.
    lookahead : float
        Window length (s), ``>= 0``.

    Returns
    -------
    PairResult
        ``mask`` (P,) plus ``t_in``, ``t_out``, ``t_cpa`` (s) and ``d_cpa`` (m) for the conflicting pairs.
    """
    p = np.ascontiguousarray(pos, dtype=np.float64)
    v = np.ascontiguousarray(vel, dtype=np.float64)
    ii = np.ascontiguousarray(i, dtype=np.int64)
    jj = np.ascontiguousarray(j, dtype=np.int64)
    none = np.empty(0, dtype=np.float64)
    if isinstance(h_sep, TableMinimum) and isinstance(v_sep, TableMinimum) and h_sep.codes is v_sep.codes \
            and h_sep.size == v_sep.size:
        codes = np.ascontiguousarray(h_sep.codes, dtype=np.intp)
        size, h_flat, v_flat, h_pair, v_pair, per_pair = h_sep.size, h_sep.flat, v_sep.flat, none, none, False
    elif isinstance(h_sep, float | int) and isinstance(v_sep, float | int):
        codes = np.zeros(p.shape[0], dtype=np.intp)
        size, per_pair = 1, False
        h_flat, v_flat = np.array([float(h_sep)]), np.array([float(v_sep)])
        h_pair = v_pair = none
    else:
        codes = np.zeros(0, dtype=np.intp)
        size, h_flat, v_flat, per_pair = 1, none, none, True
        h_pair, v_pair = _per_pair(h_sep, ii, jj), _per_pair(v_sep, ii, jj)
    mask = np.zeros(ii.shape, dtype=bool)
    out = np.empty((4, ii.size), dtype=np.float64)
    count = _evaluate(p, v, ii, jj, codes, size, np.ascontiguousarray(h_flat, dtype=np.float64),
                      np.ascontiguousarray(v_flat, dtype=np.float64), h_pair, v_pair, per_pair,
                      float(lookahead), mask, out)
    return PairResult(mask=mask, t_in=out[0, :count], t_out=out[1, :count], t_cpa=out[2, :count],
                      d_cpa=out[3, :count])
