"""Conformance of live tracks to their approved plans (operational intents), vectorized.

Each aircraft row carries a plan index (``-1`` = no plan: unauthorised). A plan is a corridor
polygon (already buffered, local metres), an altitude band ``[floor_m, ceiling_m]`` and an active
window ``[start_s, end_s]`` (epoch seconds). The boundary counts as inside (closed sets).

Status precedence (one code per aircraft): NO_PLAN, OUTSIDE_TIME_WINDOW, OUTSIDE_CORRIDOR,
OUTSIDE_ALTITUDE, CONFORMING.

Tolerance and hysteresis: ``h_tol_m``, ``v_tol_m``, ``t_tol_s`` widen the corridor, band and
window for aircraft that were conforming (or unknown) on the previous tick; an aircraft whose
``previous`` status was a non-conformance must be back inside the *un-widened* plan to return to
CONFORMING, so a track hugging the corridor edge does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from lowalt.conflict._validate import as_points, as_scalar, as_vector

F64 = NDArray[np.float64]


class ConformanceStatus(IntEnum):
    """Per-aircraft conformance (int8 codes in arrays)."""

    CONFORMING = 0
    OUTSIDE_CORRIDOR = 1
    OUTSIDE_ALTITUDE = 2
    OUTSIDE_TIME_WINDOW = 3
    NO_PLAN = 4
    """No approved plan: unauthorised flight."""


@dataclass(frozen=True, slots=True, eq=False)
class ConformancePlans:
    """Approved plans as arrays (P plans).

    Attributes
    ----------
    corridors : ndarray of shapely Polygon/MultiPolygon, shape (P,)
        Buffered corridor footprints, local metres.
    floor_m, ceiling_m : ndarray of float64, shape (P,)
        Altitude band (m, same datum as track z).
    start_s, end_s : ndarray of float64, shape (P,)
        Active window, epoch seconds.
    """

    corridors: NDArray[np.object_]
    floor_m: F64
    ceiling_m: F64
    start_s: F64
    end_s: F64

    def __post_init__(self) -> None:
        polys = np.asarray(self.corridors, dtype=object).reshape(-1)
        p = polys.shape[0]
        if p and not np.isin(shapely.get_type_id(polys), (3, 6)).all():
            raise ValueError("corridors must be shapely Polygons or MultiPolygons")
        shapely.prepare(polys)
        object.__setattr__(self, "corridors", polys)
        for name in ("floor_m", "ceiling_m", "start_s", "end_s"):
            object.__setattr__(self, name, as_vector(getattr(self, name), name, p))

    def __len__(self) -> int:
        return int(self.corridors.shape[0])


def check_conformance(
    pos: ArrayLike,
    t: ArrayLike,
    plan_idx: ArrayLike,
    plans: ConformancePlans,
    *,
    h_tol_m: float = 0.0,
    v_tol_m: float = 0.0,
    t_tol_s: float = 0.0,
    previous: ArrayLike | None = None,
) -> NDArray[np.int8]:
    """Classify each aircraft against its plan.

    Parameters
    ----------
    pos : array_like, shape (N, 3)
        Positions (m), local ENU, z in the plans' datum.
    t : float or array_like, shape (N,)
        Report time per aircraft (epoch s).
    plan_idx : array_like of int, shape (N,)
        Index into ``plans``; ``-1`` for none.
    plans : ConformancePlans
        The approved plans.
    h_tol_m, v_tol_m, t_tol_s : float
        Tolerances (m, m, s) for aircraft not already non-conforming (see module docstring).
    previous : array_like of int, shape (N,), optional
        Last tick's :class:`ConformanceStatus` codes, for hysteresis.

    Returns
    -------
    ndarray of int8, shape (N,)
        :class:`ConformanceStatus` codes.
    """
    p = as_points(pos, "pos")
    n = p.shape[0]
    tt = as_vector(t, "t", n)
    idx = as_vector(plan_idx, "plan_idx", n, dtype=np.int64)
    if ((idx < -1) | (idx >= len(plans))).any():
        raise ValueError(f"plan_idx must be -1 or in [0, {len(plans)})")
    h_tol = as_scalar(h_tol_m, "h_tol_m")
    v_tol = as_scalar(v_tol_m, "v_tol_m")
    t_tol = as_scalar(t_tol_s, "t_tol_s")
    if previous is None:
        strict = np.zeros(n, dtype=bool)
    else:
        prev = as_vector(previous, "previous", n, dtype=np.int64)
        strict = (prev != ConformanceStatus.CONFORMING) & (prev != ConformanceStatus.NO_PLAN)

    status = np.full(n, ConformanceStatus.NO_PLAN, dtype=np.int8)
    has = np.flatnonzero(idx >= 0)
    if has.size == 0:
        return status
    k = idx[has]
    ht = np.where(strict[has], 0.0, h_tol)
    vt = np.where(strict[has], 0.0, v_tol)
    tw = np.where(strict[has], 0.0, t_tol)

    in_time = (tt[has] >= plans.start_s[k] - tw) & (tt[has] <= plans.end_s[k] + tw)
    z = p[has, 2]
    in_alt = (z >= plans.floor_m[k] - vt) & (z <= plans.ceiling_m[k] + vt)
    geoms = plans.corridors[k]
    in_corr = shapely.intersects_xy(geoms, p[has, 0], p[has, 1])
    widen = ~in_corr & (ht > 0.0)
    if widen.any():
        pts = shapely.points(p[has[widen], :2])
        in_corr[widen] = shapely.dwithin(geoms[widen], pts, ht[widen])

    out = np.full(has.size, ConformanceStatus.CONFORMING, dtype=np.int8)
    out[~in_alt] = ConformanceStatus.OUTSIDE_ALTITUDE
    out[~in_corr] = ConformanceStatus.OUTSIDE_CORRIDOR
    out[~in_time] = ConformanceStatus.OUTSIDE_TIME_WINDOW
    status[has] = out
    return status
