"""Separation minima per category pair, category-aware detection, and right-of-way.

Provenance of the defaults (``docs/reference/regulations_cn.md`` section I). China
publishes no numeric UAV-UAV separation (I1: 条例 Art. 32 defers to the national ATM authority),
so every number here is a *configurable default* taken from international references:

* **NMAC** 500 ft / 100 ft = 152.4 m / 30.48 m (I2, DO-365B / sNMAC, confidence H): floor for any
  pair involving a medium/large UAV or an eVTOL, and for crewed-crewed pairs (the monitor alerts at
  NMAC; crewed-crewed separation itself is ATC's job).
* **DO-365B well clear, Phase I**: DTHR 0.66 NM ≈ 4000 ft = 1219.2 m, ZTHR 450 ft = 137.16 m
  (I3, confidence H): any UAV or eVTOL vs crewed traffic (helicopter, crewed GA).
  (Terminal/Phase II is 1500 ft = 457.2 m; pass a custom matrix for operations near 浮梁.)
* **DO-365B non-cooperative**: 2200 ft = 670.56 m / 450 ft = 137.16 m (I3): any pair involving an
  ``unknown`` (non-cooperative) target, crewed traffic included.
* **ASSUMED** 50 m / 15 m between small drones (micro, light, small) (I4: *an assumption, not a
  sourced number*; tune it).

Right-of-way follows 条例 Art. 33 (regulations_cn.md D11), see :func:`right_of_way`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lowalt.aircraft_category import (
    CATEGORIES,
    SEPARATION_KEYS,
    UNKNOWN_SEPARATION_CODE,
    UNKNOWN_SEPARATION_KEY,
    AircraftCategory,
    LegalClass,
)
from lowalt.conflict._validate import as_points, as_scalar, as_vector
from lowalt.conflict.broadphase import CELL_SCALE
from lowalt.conflict.engine import Conflicts, DetectionStats, PairwiseMinimum, detect_conflicts_with_stats
from lowalt.conflict.kernel import TableMinimum

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


ROWS = len(SEPARATION_KEYS)
"""Rows (and columns) of a separation matrix: one per category by separation code, then ``unknown``."""


def separation_row(name: AircraftCategory | str) -> int:
    """Matrix row of a category (wire value or separation key) or of ``unknown``; anything else raises."""
    if name == UNKNOWN_SEPARATION_KEY:
        return UNKNOWN_SEPARATION_CODE
    return AircraftCategory.parse(name).separation_code


_SMALL_DRONES = tuple(c.separation_code for c in CATEGORIES
                      if c.legal_class in (LegalClass.MICRO, LegalClass.LIGHT, LegalClass.SMALL))
_CREWED = tuple(c.separation_code for c in CATEGORIES if c.is_crewed)
CREWED_ROWS: NDArray[np.bool_] = np.array([c.is_crewed for c in CATEGORIES] + [True])
"""Crewed per row, for right-of-way; ``unknown`` counts as crewed (conservative)."""

NMAC_H_M = 152.4
NMAC_V_M = 30.48
WELL_CLEAR_H_M = 1219.2
WELL_CLEAR_V_M = 137.16
NONCOOP_H_M = 670.56
SMALL_DRONE_H_M = 50.0  # ASSUMED (regulations_cn.md I4)
SMALL_DRONE_V_M = 15.0  # ASSUMED (regulations_cn.md I4)

_PRIORITY = {
    AircraftCategory.MICRO_UAV: 0, AircraftCategory.LIGHT_UAV: 1, AircraftCategory.SMALL_UAV: 2,
    AircraftCategory.MEDIUM_UAV: 3, AircraftCategory.LARGE_UAV: 4, AircraftCategory.EVTOL: 5,
    AircraftCategory.HELICOPTER: 7, AircraftCategory.CREWED_GA: 7,
}
UNKNOWN_PRIORITY = 6
PRIORITY: tuple[int, ...] = (*(_PRIORITY[c] for c in CATEGORIES), UNKNOWN_PRIORITY)
"""Default right-of-way priority by row (higher has the right of way); an ASSUMED ordering used only
after the 条例 Art. 33 rules (crewed, swarm, micro) have not decided."""


def _default_tables() -> tuple[F64, F64]:
    h = np.full((ROWS, ROWS), NMAC_H_M)
    v = np.full((ROWS, ROWS), NMAC_V_M)
    for a in _SMALL_DRONES:
        for b in _SMALL_DRONES:
            h[a, b] = SMALL_DRONE_H_M
            v[a, b] = SMALL_DRONE_V_M
    for c in range(ROWS):
        if CREWED_ROWS[c]:
            continue
        for k in _CREWED:
            h[c, k] = h[k, c] = WELL_CLEAR_H_M
            v[c, k] = v[k, c] = WELL_CLEAR_V_M
    u = UNKNOWN_SEPARATION_CODE
    h[u, :] = h[:, u] = np.maximum(h[u, :], NONCOOP_H_M)
    v[u, :] = v[:, u] = np.maximum(v[u, :], WELL_CLEAR_V_M)
    return h, v


@dataclass(frozen=True, slots=True, eq=False)
class SeparationMatrix:
    """Horizontal and vertical minima (m) indexed by ``[code_i, code_j]`` (symmetric).

    Build with ``SeparationMatrix()`` for the documented defaults, or :meth:`from_dict` /
    :meth:`from_json` to override pairs::

        {"pairs": [{"a": "micro_uav", "b": "light_uav", "h_m": 60, "v_m": 20}, ...]}

    ``a`` and ``b`` are wire values (``micro_uav``), separation keys (``micro``) or ``unknown``.
    """

    h: F64 = field(default_factory=lambda: _default_tables()[0])
    v: F64 = field(default_factory=lambda: _default_tables()[1])

    def __post_init__(self) -> None:
        n = ROWS
        for name in ("h", "v"):
            m = np.array(getattr(self, name), dtype=np.float64)
            if m.shape != (n, n):
                raise ValueError(f"{name} must have shape ({n}, {n}), got {m.shape}")
            if not np.isfinite(m).all() or (m < 0).any():
                raise ValueError(f"{name} must be finite and non-negative")
            if not np.array_equal(m, m.T):
                raise ValueError(f"{name} must be symmetric")
            m.setflags(write=False)
            object.__setattr__(self, name, m)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeparationMatrix):
            return NotImplemented
        return bool(np.array_equal(self.h, other.h) and np.array_equal(self.v, other.v))

    __hash__ = None  # type: ignore[assignment]

    def minima(self, a: AircraftCategory | str, b: AircraftCategory | str) -> tuple[float, float]:
        """``(h_m, v_m)`` for one category pair (wire values, separation keys or ``unknown``)."""
        ca, cb = separation_row(a), separation_row(b)
        return float(self.h[ca, cb]), float(self.v[ca, cb])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: SeparationMatrix | None = None) -> SeparationMatrix:
        """Override pairs of ``base`` (defaults if omitted) from ``{"pairs": [{a, b, h_m, v_m}]}``."""
        base = base or cls()
        h = base.h.copy()
        v = base.v.copy()
        pairs = data.get("pairs", [])
        if not isinstance(pairs, list):
            raise ValueError("pairs must be a list")
        for k, item in enumerate(pairs):
            try:
                a, b = separation_row(item["a"]), separation_row(item["b"])
            except (KeyError, ValueError) as exc:
                raise ValueError(f"pairs[{k}]: a and b must be categories {list(SEPARATION_KEYS)}") from exc
            if "h_m" in item:
                h[a, b] = h[b, a] = as_scalar(item["h_m"], f"pairs[{k}].h_m")
            if "v_m" in item:
                v[a, b] = v[b, a] = as_scalar(item["v_m"], f"pairs[{k}].v_m")
        return cls(h=h, v=v)

    @classmethod
    def from_json(cls, text: str) -> SeparationMatrix:
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        """Every pair (a <= b by code, named by separation key) as ``{"pairs": [...]}``; round-trips
        through :meth:`from_dict`."""
        out = []
        for x in range(ROWS):
            for y in range(x, ROWS):
                out.append(
                    {"a": SEPARATION_KEYS[x], "b": SEPARATION_KEYS[y],
                     "h_m": float(self.h[x, y]), "v_m": float(self.v[x, y])}
                )
        return {"pairs": out}


def _radii(table: F64, counts: NDArray[np.int64]) -> F64:
    """Per-category pruning radius r with r[a] + r[b] >= table[a, b] for all present a, b.

    Starts at half the diagonal (so same-category pairs hold) and, for each violated pair, lifts
    the category with fewer aircraft (tie: the larger row sum) by the deficit: a few helicopters
    get a wide box while the many drones next to them keep a small one. Greedy, O(C^2) per lift,
    C = number of categories; off the hot path.
    """
    present = counts > 0
    both = present[:, None] & present[None, :]
    r = np.where(present, np.diag(table) / 2.0, 0.0)
    rowsum = np.where(present[None, :], table, 0.0).sum(axis=1)
    for _ in range(table.size):
        deficit = np.where(both, table - (r[:, None] + r[None, :]), 0.0)
        if deficit.max() <= 0.0:
            break
        a, b = np.unravel_index(int(np.argmax(deficit)), deficit.shape)
        k = min((a, b), key=lambda c: (counts[c], -rowsum[c]))
        r[k] += deficit[a, b]
    return r


def _codes(cat_codes: ArrayLike, n: int | None = None) -> NDArray[np.intp]:
    if n is None:
        n = np.asarray(cat_codes).shape[0] if np.ndim(cat_codes) else 0
    codes = as_vector(cat_codes, "cat_codes", n, dtype=np.intp)
    if ((codes < 0) | (codes >= ROWS)).any():
        raise ValueError(f"cat_codes must be in [0, {ROWS})")
    return codes


def _lookup(table: F64, codes: NDArray[np.intp]) -> TableMinimum:
    """``fn(i, j) -> table[codes[i], codes[j]]`` through a flat table (one ``take`` per array)."""
    return TableMinimum(codes, np.ascontiguousarray(table, dtype=np.float64).ravel(), int(table.shape[0]))


def category_minima(cat_codes: ArrayLike, matrix: SeparationMatrix) -> tuple[PairwiseMinimum, PairwiseMinimum]:
    """Per-pair horizontal and vertical minima for aircraft with the given category codes."""
    codes = _codes(cat_codes)
    counts = np.bincount(codes, minlength=ROWS)
    return (
        PairwiseMinimum(_lookup(matrix.h, codes), _radii(matrix.h, counts)[codes]),
        PairwiseMinimum(_lookup(matrix.v, codes), _radii(matrix.v, counts)[codes]),
    )


def detect_conflicts_by_category_with_stats(
    pos: ArrayLike,
    vel: ArrayLike,
    cat_codes: ArrayLike,
    matrix: SeparationMatrix,
    *,
    lookahead: float,
    cell_scale: float | tuple[float, ...] = CELL_SCALE,
) -> tuple[Conflicts, DetectionStats]:
    """:func:`detect_conflicts_by_category` plus work counters (same arguments; ``cell_scale``
    tunes the broad phase, see :func:`lowalt.conflict.broadphase.overlapping_pairs`)."""
    p = as_points(pos, "pos")
    if np.shape(cat_codes) != (p.shape[0],):
        raise ValueError(f"cat_codes must have shape ({p.shape[0]},), got {np.shape(cat_codes)}")
    h, v = category_minima(cat_codes, matrix)
    return detect_conflicts_with_stats(p, vel, h_sep=h, v_sep=v, lookahead=lookahead, cell_scale=cell_scale)


def detect_conflicts_by_category(
    pos: ArrayLike,
    vel: ArrayLike,
    cat_codes: ArrayLike,
    matrix: SeparationMatrix,
    *,
    lookahead: float,
) -> Conflicts:
    """:func:`~lowalt.conflict.detect_conflicts` with minima ``matrix[cat_i, cat_j]`` per pair.

    Same contract as :func:`~lowalt.conflict.detect_conflicts` (exact: the same pairs and values
    as :func:`~lowalt.conflict.detect_conflicts_bruteforce` with :func:`category_minima`; memory
    O(N + candidates)). One broad phase expands each aircraft's swept box by a per-category radius
    (``r_a + r_b >= minimum`` for every present category pair, see :func:`_radii`); the exact
    kernel then applies each pair's own minima, looked up by ``code_i * C + code_j`` in a flat
    C x C table (the vertical ones first, the horizontal ones only for pairs that pass).

    Parameters
    ----------
    pos, vel : array_like, shape (N, 3)
        Positions (m) and velocities (m/s), local ENU.
    cat_codes : array_like of int, shape (N,)
        Separation code per aircraft (:attr:`AircraftCategory.separation_code`, or
        :data:`~lowalt.aircraft_category.UNKNOWN_SEPARATION_CODE`).
    matrix : SeparationMatrix
        Minima per category pair.
    lookahead : float
        Prediction window (s).

    Returns
    -------
    Conflicts
        As :func:`~lowalt.conflict.detect_conflicts`.
    """
    return detect_conflicts_by_category_with_stats(pos, vel, cat_codes, matrix, lookahead=lookahead)[0]


class GiveWay(IntEnum):
    """Which aircraft of a pair should give way."""

    BOTH = 0
    I = 1  # noqa: E741
    J = 2


def right_of_way(
    i: ArrayLike,
    j: ArrayLike,
    cat_codes: ArrayLike,
    *,
    swarm: ArrayLike | None = None,
    priority: ArrayLike | None = None,
) -> NDArray[np.int8]:
    """Decide who gives way, vectorized over pairs (条例 Art. 33, regulations_cn.md D11).

    Rules, first that decides wins:

    1. a UAV (incl. eVTOL) gives way to crewed traffic (``unknown`` counts as crewed);
    2. between UAVs, a single UAV gives way to a swarm (``swarm`` flag per aircraft);
    3. between UAVs, a micro UAV gives way to any other;
    4. otherwise the lower ``priority`` gives way (default :data:`PRIORITY` by category);
    5. tie: both give way.

    Parameters
    ----------
    i, j : array_like of int, shape (P,)
        Aircraft rows of each pair.
    cat_codes : array_like of int, shape (N,)
        Separation code per aircraft.
    swarm : array_like of bool, shape (N,), optional
        True for members of a swarm (集群).
    priority : array_like of int, shape (N,), optional
        Per-aircraft priority overriding the category default (higher has the right of way).

    Returns
    -------
    ndarray of int8, shape (P,)
        :class:`GiveWay` codes.
    """
    codes = np.asarray(cat_codes, dtype=np.int64)
    n = codes.shape[0]
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    if ii.shape != jj.shape or ii.ndim != 1:
        raise ValueError("i and j must be 1-D arrays of equal length")
    sw = np.zeros(n, dtype=bool) if swarm is None else as_vector(swarm, "swarm", n, dtype=bool)
    if priority is None:
        prio = np.array(PRIORITY, dtype=np.int64)[codes]
    else:
        prio = as_vector(priority, "priority", n, dtype=np.int64)
    crewed_tab = CREWED_ROWS
    micro_code = AircraftCategory.MICRO_UAV.separation_code

    ci, cj = codes[ii], codes[jj]
    cr_i, cr_j = crewed_tab[ci], crewed_tab[cj]
    uav = ~cr_i & ~cr_j
    out = np.full(ii.shape, GiveWay.BOTH, dtype=np.int8)
    pi_, pj_ = prio[ii], prio[jj]
    out[pi_ < pj_] = GiveWay.I
    out[pi_ > pj_] = GiveWay.J
    # rule 3, 2, 1 applied in reverse so the earlier rule overrides
    mi, mj = ci == micro_code, cj == micro_code
    out[uav & mi & ~mj] = GiveWay.I
    out[uav & mj & ~mi] = GiveWay.J
    si, sj = sw[ii], sw[jj]
    out[uav & sj & ~si] = GiveWay.I
    out[uav & si & ~sj] = GiveWay.J
    out[~cr_i & cr_j] = GiveWay.I
    out[cr_i & ~cr_j] = GiveWay.J
    return out
