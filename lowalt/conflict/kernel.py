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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PairResult:
    """Kernel output for the pairs that conflict (``mask`` selects them from the input pairs)."""

    mask: NDArray[np.bool_]
    t_in: F64
    t_out: F64
    t_cpa: F64
    d_cpa: F64


def evaluate_pairs(
    pos: F64,
    vel: F64,
    i: I64,
    j: I64,
    h_sep: float | F64,
    v_sep: float | F64,
    lookahead: float,
) -> PairResult:
    """Evaluate candidate pairs exactly.

    Parameters
    ----------
    pos, vel : ndarray, shape (N, 3)
        Positions (m) and velocities (m/s), local east-north-up.
    i, j : ndarray of int64, shape (P,)
        Candidate pairs, ``i < j``.
    h_sep, v_sep : float or ndarray, shape (P,)
        Horizontal and vertical minima (m), scalar or per pair.
    lookahead : float
        Window length (s), ``>= 0``.

    Returns
    -------
    PairResult
        ``mask`` (P,) plus ``t_in``, ``t_out``, ``t_cpa`` (s) and ``d_cpa`` (m) for the conflicting pairs.
    """
    cols = np.ascontiguousarray(pos.T)
    vcols = np.ascontiguousarray(vel.T)
    h = np.broadcast_to(np.asarray(h_sep, dtype=np.float64), i.shape)
    v = np.broadcast_to(np.asarray(v_sep, dtype=np.float64), i.shape)

    # vertical open interval (v_lo, v_hi), first, on all pairs: it is the cheaper test
    dz = np.take(cols[2], j) - np.take(cols[2], i)
    dvz = np.take(vcols[2], j) - np.take(vcols[2], i)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (-v - dz) / dvz
        tb = (v - dz) / dvz
    v_lo = np.minimum(ta, tb)
    v_hi = np.maximum(ta, tb)
    static = dvz == 0.0
    if static.any():
        inside = np.abs(dz) < v
        np.putmask(v_lo, static, np.where(inside, -np.inf, np.inf))
        np.putmask(v_hi, static, np.where(inside, np.inf, -np.inf))
    sel = (v_lo < v_hi) & (v_lo < lookahead) & (v_hi > 0.0) & (h > 0.0)
    v_lo = np.compress(sel, v_lo)
    v_hi = np.compress(sel, v_hi)
    hs = np.compress(sel, h)
    ii = np.compress(sel, i)
    jj = np.compress(sel, j)

    # horizontal open interval (h_lo, h_hi) on the survivors
    dx = np.take(cols[0], jj) - np.take(cols[0], ii)
    dy = np.take(cols[1], jj) - np.take(cols[1], ii)
    dvx = np.take(vcols[0], jj) - np.take(vcols[0], ii)
    dvy = np.take(vcols[1], jj) - np.take(vcols[1], ii)
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
    h_hi = np.maximum(r1, r2)
    static = a == 0.0
    np.putmask(h_lo, static, -np.inf)
    np.putmask(h_hi, static, np.inf)
    empty = np.where(static, ~(cm < 0.0), ~(disc > 0.0))
    np.putmask(h_lo, empty, np.inf)
    np.putmask(h_hi, empty, -np.inf)

    lo = np.maximum(h_lo, v_lo)
    hi = np.minimum(h_hi, v_hi)
    ok = (lo < hi) & (lo < lookahead) & (hi > 0.0)
    mask = np.zeros(i.shape, dtype=bool)
    mask[np.compress(ok, np.flatnonzero(sel))] = True

    am = np.compress(ok, a)
    bm = np.compress(ok, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cpa = np.clip(-bm / am, 0.0, lookahead)
    np.putmask(t_cpa, am == 0.0, 0.0)
    d_cpa = np.hypot(np.compress(ok, dx) + np.compress(ok, dvx) * t_cpa,
                     np.compress(ok, dy) + np.compress(ok, dvy) * t_cpa)
    return PairResult(
        mask=mask,
        t_in=np.maximum(np.compress(ok, lo), 0.0),
        t_out=np.minimum(np.compress(ok, hi), lookahead),
        t_cpa=t_cpa,
        d_cpa=d_cpa,
    )
