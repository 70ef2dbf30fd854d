"""Corridor separation in numpy: each second's nearest other aircraft and the pairs in loss of separation.

Why here and not in SQL: comparing every pair of aircraft inside a corridor in each second cost the
roll-up ~12 s of PostGIS per minute of history at 1,000 aircraft (3.7 M pairs a minute, quadratic per
corridor and second), and the live hour did it again over its raw tail. The roller now fetches a
minute's positions inside the corridors (one indexed statement, ``measures.corridor_positions``) and
this module measures them: a **sort and sweep** per (corridor, second) along the corridor's longer axis,
so only pairs closer along that axis than the nearest found so far, or than the largest minimum, are
compared (about linear in the aircraft for aircraft spread along a corridor). scipy (a KD-tree) is not
in the stack; the conflict engine's broad phase finds pairs within a radius, not each one's nearest.

The measures are those of docs/analytics.md "Corridor separation": at each whole second, each aircraft
inside with another inside too has a *sample*, the horizontal distance (EPSG:4548) to the nearest other;
a pair inside together is in *loss of separation* that second when both below the monitor's horizontal
and vertical minima for their categories (strict). Samples count in the aircraft's scope and ``all``;
a pair-second once in ``all`` and once in each distinct scope of its two aircraft. Distances are the
same arithmetic as before (``sqrt(dx^2 + dy^2)`` in float64), sums in whole millimetres (half away from
zero, as PostgreSQL's ``round``), histogram bins as :func:`sep_bins` (as the SQL's were), so
minutes and hours still add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lowalt.conflict.separation import SeparationMatrix

ALL = "all"
"""The scope holding every aircraft's samples."""


@dataclass
class Part:
    """One (bucket, corridor, scope)'s separation parts, as ``analytics_separation`` keeps them."""

    samples: int = 0
    sum_mm: int = 0
    """Sum of the samples in whole millimetres (integers: the same in any order of the parts)."""
    bins: dict[int, int] = field(default_factory=dict)
    """Samples per histogram bin (its lower edge, whole metres)."""
    los_s: int = 0
    """Pair-seconds in loss of separation."""
    inside_s: int = 0
    """Aircraft-seconds inside (the density's numerator)."""

    def add(self, other: Part) -> None:
        self.samples += other.samples
        self.sum_mm += other.sum_mm
        for b, c in other.bins.items():
            self.bins[b] = self.bins.get(b, 0) + c
        self.los_s += other.los_s
        self.inside_s += other.inside_s

    def histogram(self) -> tuple[list[int], list[int]]:
        """(bins' lower edges ascending, counts beside)."""
        edges = sorted(self.bins)
        return edges, [self.bins[e] for e in edges]


Parts = dict[tuple[str, str], Part]
"""(route id, scope) -> its parts."""


@dataclass(frozen=True)
class Positions:
    """Aircraft inside corridors, one row per (route, aircraft, whole second): its first report of that
    second (``measures.corridor_positions``)."""

    route: Sequence[str]
    scope: Sequence[str]
    """``org:<name>`` or ``none``."""
    s: NDArray[np.int64]
    """The whole second (epoch)."""
    x: NDArray[np.float64]
    """EPSG:4548 metres."""
    y: NDArray[np.float64]
    z: NDArray[np.float64]
    """Altitude AMSL, metres."""
    code: NDArray[np.intp]
    """Separation code of the aircraft's category (``lowalt.aircraft_category.separation_code``)."""

    @classmethod
    def of(cls, route: Sequence[str] | None, scope: Sequence[str] | None, s: Iterable[int] | None,
           x: Iterable[float] | None, y: Iterable[float] | None, z: Iterable[float] | None,
           code: Iterable[int] | None) -> Positions:
        """From columns as a statement returns them (``array_agg``: None when there is no row)."""
        return cls(route or [], scope or [], np.asarray(s or [], dtype=np.int64),
                   np.asarray(x or [], dtype=np.float64), np.asarray(y or [], dtype=np.float64),
                   np.asarray(z or [], dtype=np.float64), np.asarray(code or [], dtype=np.intp))


def sep_bins(d: NDArray[np.float64]) -> NDArray[np.int64]:
    """Each distance's histogram bin as its lower edge in whole metres: 5 m wide below 500 m, 5 % wide above
    (500, 525, 551, ...). Why not the whole metre: an hour read from 60 rolled minutes merges their
    histograms, and at 1,000 aircraft a corridor-minute holds ~1,000 distinct metres (1.5 s to merge for the
    live hour); these bins keep it under 180 a row while the p95 stays within 5 m where the minima are
    (50-1,219 m) and 5 % beyond."""
    out = 5 * np.floor(d / 5)
    far = d >= 500
    if far.any():
        out[far] = np.floor(500 * np.power(1.05, np.floor(np.log(d[far] / 500) / np.log(1.05))))
    return out.astype(np.int64)


def _sweep(group: NDArray[np.int64], along: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64],
           reach: float) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Over points sorted by (group, along): each one's distance to the nearest other of its group (inf when
    alone), and every pair of a group closer than ``reach`` along the axis (i, j, distance), a superset of
    the pairs closer than ``reach``.

    Offset by offset (the pairs ``(i, i + k)``): a pair is compared while it may still matter to either
    end: its gap along the axis is under ``reach`` or under that end's nearest so far. Gaps only grow with
    ``k``, so once neither pair ``(i, i + k)`` (for ``i``) nor ``(i + 1, i + k + 1)`` (for ``i + k + 1``)
    matters, ``(i, i + k + 1)`` cannot either."""
    n = len(group)
    best = np.full(n, np.inf)
    pi: list[NDArray[np.intp]] = []
    pj: list[NDArray[np.intp]] = []
    pd: list[NDArray[np.float64]] = []
    idx = np.arange(n - 1, dtype=np.intp)
    i = idx[group[:-1] == group[1:]]
    k = 1
    while len(i):
        j = i + k
        d = np.sqrt((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2)
        best[i] = np.minimum(best[i], d)  # i (and j) unique within one offset
        best[j] = np.minimum(best[j], d)
        gap = along[j] - along[i]
        close = gap < reach
        pi.append(i[close])
        pj.append(j[close])
        pd.append(d[close])
        left = i[(gap < reach) | (gap < best[i])]
        right = i[(gap < reach) | (gap < best[j])] - 1
        k += 1
        i = np.union1d(left, right[right >= 0])
        i = i[i + k < n]
        i = i[group[i] == group[i + k]]
    if not pi:
        empty = np.zeros(0, dtype=np.intp)
        return best, empty, empty, np.zeros(0)
    return best, np.concatenate(pi), np.concatenate(pj), np.concatenate(pd)


def _codes(values: Sequence[str]) -> tuple[list[str], NDArray[np.intp]]:
    """The distinct values sorted, and each value's index among them (a dict: faster than sorting strings)."""
    names = sorted(set(values))
    at = {v: i for i, v in enumerate(names)}
    return names, np.fromiter((at[v] for v in values), dtype=np.intp, count=len(values))


def measure(pos: Positions, matrix: SeparationMatrix | None = None) -> Parts:
    """The separation parts of ``pos`` per (route, scope), for each scope with an aircraft inside and ``all``
    (one bucket: the caller's). ``matrix``: the minima (default the monitor's, ``SeparationMatrix()``)."""
    m = matrix or SeparationMatrix()
    n = len(pos.s)
    parts: Parts = {}
    if n == 0:
        return parts
    route_names, route = _codes(pos.route)
    scope_names, scope = _codes([*pos.scope, ALL])
    every_code = int(scope[-1])
    scope = scope[:-1]
    nscopes = len(scope_names)
    # sweep along each corridor's longer extent (any axis bounds the distance from below)
    lo_x, hi_x = np.full(len(route_names), np.inf), np.full(len(route_names), -np.inf)
    lo_y, hi_y = lo_x.copy(), hi_x.copy()
    np.minimum.at(lo_x, route, pos.x)
    np.maximum.at(hi_x, route, pos.x)
    np.minimum.at(lo_y, route, pos.y)
    np.maximum.at(hi_y, route, pos.y)
    along = np.where((hi_x - lo_x >= hi_y - lo_y)[route], pos.x, pos.y)
    order = np.lexsort((along, pos.s, route))
    r_, s_, sc_ = route[order], pos.s[order], scope[order]
    x, y, z, code, along = pos.x[order], pos.y[order], pos.z[order], pos.code[order], along[order]
    group = np.cumsum(np.r_[0, (r_[1:] != r_[:-1]) | (s_[1:] != s_[:-1])]).astype(np.int64)
    present = np.unique(code)
    reach = float(m.h[np.ix_(present, present)].max())
    best, pi, pj, pd = _sweep(group, along, x, y, reach)
    # each (route, scope) as one integer key: k = route * nscopes + scope
    own, every = r_ * nscopes + sc_, r_ * nscopes + every_code
    nk = len(route_names) * nscopes

    def part(k: int) -> Part:
        return parts.setdefault((route_names[k // nscopes], scope_names[k % nscopes]), Part())

    def count(keys: NDArray[np.intp], attr: str) -> None:
        for k in np.flatnonzero(c := np.bincount(keys, minlength=nk)).tolist():
            setattr(p := part(k), attr, getattr(p, attr) + int(c[k]))

    count(np.r_[own, every], "inside_s")
    has = np.isfinite(best)
    d = np.r_[best[has], best[has]]
    keys = np.r_[own[has], every[has]]
    count(keys, "samples")
    # whole millimetres, rounded half away from zero as PostgreSQL's round; summed exactly (< 2^53)
    sums = np.bincount(keys, weights=np.floor(d * 1000 + 0.5), minlength=nk)
    for k in np.flatnonzero(sums).tolist():
        part(k).sum_mm += int(sums[k])
    hist, hc = np.unique((keys.astype(np.int64) << 32) | sep_bins(d), return_counts=True)
    for kb, c in zip(hist.tolist(), hc.tolist(), strict=True):
        part(kb >> 32).bins[kb & 0xFFFFFFFF] = c
    lost = (pd < m.h[code[pi], code[pj]]) & (np.abs(z[pi] - z[pj]) < m.v[code[pi], code[pj]])
    li, lj = pi[lost], pj[lost]
    other = sc_[lj] != sc_[li]  # a pair of one organisation counts once in its scope
    count(np.r_[every[li], own[li], own[lj][other]], "los_s")
    return parts


def merge(into: Parts, more: Parts) -> Parts:
    """``more`` added into ``into`` (e.g. a minute's parts into its hour's); returns ``into``."""
    for k, p in more.items():
        into.setdefault(k, Part()).add(p)
    return into
