"""Narrow phase: exact loss-of-separation intervals for given pairs, vectorized over pairs.

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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


def _pair_minima(sep: Minimum, i: I64, j: I64, sel: NDArray[np.intp] | None) -> float | F64:
    """Minima for the pairs ``i, j`` (already restricted by ``sel``); arrays are indexed by ``sel``."""
    if callable(sep):
        return np.asarray(sep(i, j), dtype=np.float64)
    if np.ndim(sep) == 0:
        return float(sep)
    arr = np.asarray(sep, dtype=np.float64)
    return arr if sel is None else np.take(arr, sel)


def evaluate_pairs(
    pos: F64,
    vel: F64,
    i: I64,
    j: I64,
    h_sep: Minimum,
    v_sep: Minimum,
    lookahead: float,
) -> PairResult:
    """Evaluate candidate pairs exactly.

    Parameters
    ----------
    pos, vel : ndarray, shape (N, 3)
        Positions (m) and velocities (m/s), local east-north-up.
    i, j : ndarray of int64, shape (P,)
        Candidate pairs, ``i < j``.
    h_sep, v_sep : float, ndarray of shape (P,), or callable
        Horizontal and vertical minima (m): scalar, per pair, or ``fn(i, j) -> ndarray`` called on
        the pairs that need it (the horizontal one only on pairs that pass the vertical test).
    lookahead : float
        Window length (s), ``>= 0``.

    Returns
    -------
    PairResult
        ``mask`` (P,) plus ``t_in``, ``t_out``, ``t_cpa`` (s) and ``d_cpa`` (m) for the conflicting pairs.
    """
    cols = np.ascontiguousarray(pos.T)
    vcols = np.ascontiguousarray(vel.T)

    # vertical open interval (v_lo, v_hi), first, on all pairs: it is the cheaper test
    pair = None  # class-pair codes, shared by both minima when both come from one class table
    if isinstance(v_sep, TableMinimum) and isinstance(h_sep, TableMinimum) and v_sep.codes is h_sep.codes:
        pair = v_sep.pair_codes(i, j)
        v: float | F64 = np.take(v_sep.flat, pair)
    else:
        v = _pair_minima(v_sep, i, j, None)
    dz = np.take(cols[2], j)
    dz -= np.take(cols[2], i)
    dvz = np.take(vcols[2], j)
    dvz -= np.take(vcols[2], i)
    # dvz == 0 needs no special case: inside (|dz| < v) the numerators have opposite signs, so
    # the bounds are -inf and +inf; outside both are the same infinity (empty) or one is 0/0 = NaN,
    # which fails every comparison below (empty), as does v == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (-v - dz) / dvz
        tb = (v - dz) / dvz
    v_lo = np.minimum(ta, tb)
    v_hi = np.maximum(ta, tb, out=tb)
    del ta
    sel_mask = v_lo < v_hi
    sel_mask &= v_lo < lookahead
    sel_mask &= v_hi > 0.0
    sel = np.flatnonzero(sel_mask)
    del dz, dvz, sel_mask
    v_lo = np.take(v_lo, sel)
    v_hi = np.take(v_hi, sel)
    ii = np.take(i, sel)
    jj = np.take(j, sel)
    if pair is not None and isinstance(h_sep, TableMinimum):
        hs: float | F64 = np.take(h_sep.flat, np.take(pair, sel))
    else:
        hs = _pair_minima(h_sep, ii, jj, sel)
    if np.ndim(hs) == 0 and not hs > 0.0:  # a zero horizontal minimum never conflicts
        sel = sel[:0]
        v_lo, v_hi, ii, jj = v_lo[:0], v_hi[:0], ii[:0], jj[:0]

    # horizontal open interval (h_lo, h_hi) on the survivors
    dx = np.take(cols[0], jj)
    dx -= np.take(cols[0], ii)
    dy = np.take(cols[1], jj)
    dy -= np.take(cols[1], ii)
    dvx = np.take(vcols[0], jj)
    dvx -= np.take(vcols[0], ii)
    dvy = np.take(vcols[1], jj)
    dvy -= np.take(vcols[1], ii)
    a = dvx * dvx + dvy * dvy
    b = dx * dvx + dy * dvy
    cm = (dx * dx + dy * dy) - hs * hs
    disc = b * b - a * cm
    sq = np.sqrt(np.maximum(disc, 0.0))
    q = -(b + np.copysign(sq, b))  # numerically stable roots q/a and cm/q
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r1 = q / a
        r2 = cm / q
    h_lo = np.minimum(r1, r2)
    h_hi = np.maximum(r1, r2, out=r2)
    # no real roots (disc <= 0, or NaN): H is empty; no relative horizontal motion (a == 0): H is
    # all of R inside the minimum, else empty. Bounds of pairs with an empty H are never read.
    nonempty = disc > 0.0
    static = a == 0.0
    if static.any():
        np.putmask(h_lo, static, -np.inf)
        np.putmask(h_hi, static, np.inf)
        nonempty = np.where(static, cm < 0.0, nonempty)

    lo = np.maximum(h_lo, v_lo, out=h_lo)
    hi = np.minimum(h_hi, v_hi, out=h_hi)
    ok_mask = lo < hi
    ok_mask &= lo < lookahead
    ok_mask &= hi > 0.0
    ok_mask &= nonempty
    if np.ndim(hs):
        ok_mask &= hs > 0.0  # (rounding could leave a root pair for h == 0)
    ok = np.flatnonzero(ok_mask)
    mask = np.zeros(i.shape, dtype=bool)
    mask[np.take(sel, ok)] = True

    am = np.take(a, ok)
    bm = np.take(b, ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cpa = np.clip(-bm / am, 0.0, lookahead)
    np.putmask(t_cpa, am == 0.0, 0.0)
    d_cpa = np.hypot(np.take(dx, ok) + np.take(dvx, ok) * t_cpa,
                     np.take(dy, ok) + np.take(dvy, ok) * t_cpa)
    return PairResult(
        mask=mask,
        t_in=np.maximum(np.take(lo, ok), 0.0),
        t_out=np.minimum(np.take(hi, ok), lookahead),
        t_cpa=t_cpa,
        d_cpa=d_cpa,
    )
