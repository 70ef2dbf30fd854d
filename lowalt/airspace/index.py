"""Vectorized airspace queries: which volumes contain N points at time t, and the verdict.

:class:`AirspaceIndex` projects every volume (and route corridor) to local metres once and
keeps it in a shapely ``STRtree``; temporary restrictions live in a second small tree that
is rebuilt (microseconds to milliseconds) whenever one is added or removed, so a change
takes effect on the next :meth:`AirspaceIndex.classify`.

Per call the hot path is array code only: project points, sample terrain, one
``STRtree.query(points, predicate="intersects")`` per tree giving (point, volume) index
pairs, a vectorized vertical check against floor/ceiling converted to AMSL *at each point*
(true height uses the terrain below the point, regulations_cn.md A8), a gather from a
precomputed (volume x category) rule table, and a segmented max per point. The only
Python loop is over volume schedules (one check per volume).

Vertical limits are inclusive at both ends; overlaps at a shared boundary resolve by the
rule precedence (:mod:`lowalt.airspace.rules`). Where the terrain is unknown (NaN), an
AGL-referenced limit cannot be placed: prohibitive/controlled volumes then count as
containing the point (conservative), corridors and open layers do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import shapely
from shapely import STRtree
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from lowalt import aircraft_category
from lowalt.airspace.model import (
    AircraftCategory,
    AirspaceSet,
    Restriction,
    Volume,
    VolumeKind,
)
from lowalt.airspace.rules import (
    NO_DATA_RULE,
    REASONS,
    VERDICTS,
    Reason,
    Tier,
    Verdict,
    volume_rule,
)
from lowalt.airspace.schedule import Schedule, active_mask
from lowalt.conflict.intrusion import IntrusionVolumes
from lowalt.geo.altitude import AGL_CODE, AltitudeReference, reference_codes
from lowalt.geo.crs import geometry_to_local, to_local, to_wgs84
from lowalt.geo.terrain import TerrainModel, default_terrain

CATEGORIES: tuple[AircraftCategory, ...] = aircraft_category.CATEGORIES
"""Array code of a category = its position here = its separation code."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def category_codes(category: AircraftCategory | str | npt.ArrayLike, n: int) -> npt.NDArray[np.intp]:
    """One category for all points, or an array (N,) of category strings or codes -> int codes (N,)."""
    if isinstance(category, str):
        return np.full(n, CATEGORIES.index(AircraftCategory(category)), dtype=np.intp)
    arr = np.asarray(category)
    if arr.dtype.kind in "UO":
        lookup = {c.value: k for k, c in enumerate(CATEGORIES)}
        arr = np.array([lookup[str(c)] for c in arr.ravel()], dtype=np.intp)
    codes = np.broadcast_to(arr.astype(np.intp, copy=False), (n,))
    if codes.size and (codes.min() < 0 or codes.max() >= len(CATEGORIES)):
        raise ValueError("category code out of range")
    return codes


@dataclass(frozen=True)
class Classification:
    """Result of :meth:`AirspaceIndex.classify` for N points (all arrays aligned)."""

    verdict: npt.NDArray[np.int8]
    """(N,) verdict codes, index into :data:`~lowalt.airspace.rules.VERDICTS` (0 allowed, 1 needs approval, 2 forbidden)."""
    reason: npt.NDArray[np.int8]
    """(N,) reason codes, index into :data:`~lowalt.airspace.rules.REASONS`."""
    volume: npt.NDArray[np.intp]
    """(N,) index into ``volume_ids`` of the volume responsible for the verdict, -1 if none."""
    volume_ids: tuple[str, ...]
    """Id table: volumes, then route corridors, then the restrictions current at the call."""
    pair_point: IntArray
    """(M,) point index of each (point, volume) pair where the volume contains the point in 3-D."""
    pair_volume: IntArray
    """(M,) volume index (into ``volume_ids``) of each pair."""
    pair_active: npt.NDArray[np.bool_]
    """(M,) whether that volume is active at t."""
    altitude_amsl: FloatArray
    """(N,) point altitude, metres AMSL."""
    terrain_m: FloatArray
    """(N,) terrain elevation below each point, metres AMSL (NaN = unknown)."""

    def __len__(self) -> int:
        return int(self.verdict.shape[0])

    def verdicts(self) -> list[Verdict]:
        return [VERDICTS[c] for c in self.verdict]

    def reasons(self) -> list[Reason]:
        return [REASONS[c] for c in self.reason]

    def responsible_ids(self) -> list[str | None]:
        """Per point, the id of the volume that decided the verdict (None if no volume)."""
        return [self.volume_ids[v] if v >= 0 else None for v in self.volume]

    def containing_ids(self, i: int, *, active_only: bool = False) -> list[str]:
        """Ids of the volumes containing point ``i`` in 3-D (optionally only active ones)."""
        sel = self.pair_point == i
        if active_only:
            sel &= self.pair_active
        return [self.volume_ids[v] for v in self.pair_volume[sel]]

    def counts(self) -> dict[str, int]:
        """Number of points per verdict."""
        n = np.bincount(self.verdict, minlength=len(VERDICTS))
        return {v.value: int(n[k]) for k, v in enumerate(VERDICTS)}


BBOX_SCAN_MAX = 64
"""Up to this many volumes a bounding-box scan with an exact test beats an STRtree query (whose
per-point geometry construction dominates at tens of volumes); above it the tree is used."""

CONVEX_MAX_VERTICES = 64


def _convex_edges(poly: object) -> FloatArray | None:
    """Edges ``(ax, ay, dx, dy, tolerance)`` of a convex polygon's counter-clockwise ring, for a pure-numpy
    half-plane test (tolerance: 1 micrometre times the edge's length); None for anything else (holes,
    concave, many vertices, multipolygons)."""
    if not isinstance(poly, Polygon) or len(poly.interiors) or poly.is_empty:
        return None
    hull = poly.convex_hull
    if abs(hull.area - poly.area) > 1e-9 * max(poly.area, 1.0):
        return None
    coords = np.asarray(orient(poly, sign=1.0).exterior.coords, dtype=np.float64)
    if len(coords) - 1 > CONVEX_MAX_VERTICES:
        return None
    start = coords[:-1]
    delta = coords[1:] - coords[:-1]
    return np.column_stack([start, delta, -1e-6 * np.hypot(delta[:, 0], delta[:, 1])])


@dataclass(frozen=True, eq=False)
class _Table:
    """Volumes prepared for queries: local polygons (prepared, in an STRtree) plus aligned arrays."""

    ids: tuple[str, ...]
    polygons: npt.NDArray[np.object_]
    tree: STRtree
    bounds: FloatArray  # (V, 4) local-metre bounding boxes
    convex: tuple[FloatArray | None, ...]  # half-plane edges for small convex polygons
    floor_val: FloatArray
    floor_agl: npt.NDArray[np.bool_]
    ceil_val: FloatArray
    ceil_agl: npt.NDArray[np.bool_]
    conservative: npt.NDArray[np.bool_]
    rank: npt.NDArray[np.int64]  # (V, C) rule rank when active and containing
    kinds: tuple[VolumeKind, ...]

    @staticmethod
    def build(volumes: Sequence[Volume], *, temporary: bool = False) -> _Table:
        polys = np.array([geometry_to_local(v.polygon) for v in volumes], dtype=object)
        shapely.prepare(polys)
        rank = np.empty((len(volumes), len(CATEGORIES)), dtype=np.int64)
        conservative = np.zeros(len(volumes), dtype=np.bool_)
        for i, v in enumerate(volumes):
            for c, cat in enumerate(CATEGORIES):
                rule = volume_rule(v.kind, v.airspace_class, cat in v.allowed_categories, temporary=temporary)
                rank[i, c] = rule.rank
                conservative[i] = rule.tier >= Tier.CONTROLLED
        return _Table(
            ids=tuple(v.id for v in volumes),
            polygons=polys,
            tree=STRtree(polys),
            bounds=shapely.bounds(polys).reshape(-1, 4),
            convex=tuple(_convex_edges(p) for p in polys),
            floor_val=np.array([v.floor.value_m for v in volumes], dtype=np.float64),
            floor_agl=np.array([v.floor.reference is AltitudeReference.AGL for v in volumes], dtype=np.bool_),
            ceil_val=np.array([v.ceiling.value_m for v in volumes], dtype=np.float64),
            ceil_agl=np.array([v.ceiling.reference is AltitudeReference.AGL for v in volumes], dtype=np.bool_),
            conservative=conservative,
            rank=rank,
            kinds=tuple(v.kind for v in volumes),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def _exact(self, k: int, x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
        """Points (boundary included) in volume k's polygon, for candidate points x, y."""
        edges = self.convex[k]
        if edges is None:
            return shapely.intersects_xy(self.polygons[k], x, y)  # type: ignore[no-any-return]
        ax, ay, dx, dy, tol = (edges[:, c, None] for c in range(5))
        # cross((d), (p - a)) >= 0 for every edge of a CCW ring, all edges at once; 1 micrometre on the boundary
        inside: npt.NDArray[np.bool_] = np.all(dx * (y - ay) - dy * (x - ax) >= tol, axis=0)
        return inside

    def contains_pairs(self, x: FloatArray, y: FloatArray, *, use_tree: bool | None = None) -> tuple[IntArray, IntArray]:
        """(point, volume) index pairs where the polygon intersects the point (horizontal only)."""
        if use_tree is None:
            use_tree = len(self) > BBOX_SCAN_MAX
        ps: list[IntArray] = []
        vs: list[IntArray] = []
        if use_tree:
            cand_p, cand_v = self.tree.query(shapely.points(x, y))
            order = np.argsort(cand_v, kind="stable")
            cand_p, cand_v = cand_p[order], cand_v[order]
            cuts = np.flatnonzero(np.diff(cand_v)) + 1
            for s, e in zip(np.r_[0, cuts].tolist(), np.r_[cuts, cand_v.size].tolist(), strict=True):
                if s == e:
                    continue
                k = int(cand_v[s])
                m = cand_p[s:e]
                ok = self._exact(k, x[m], y[m])
                ps.append(m[ok])
                vs.append(np.full(int(ok.sum()), k, dtype=np.intp))
        else:  # every volume's box against every point at once, then the volumes that hold some
            b = self.bounds
            boxed = ((x[None, :] >= b[:, 0:1]) & (x[None, :] <= b[:, 2:3])
                     & (y[None, :] >= b[:, 1:2]) & (y[None, :] <= b[:, 3:4]))
            for k in np.flatnonzero(boxed.any(axis=1)).tolist():
                m = np.flatnonzero(boxed[k])
                ok = self._exact(k, x[m], y[m])
                ps.append(m[ok])
                vs.append(np.full(int(ok.sum()), k, dtype=np.intp))
        if not ps:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.concatenate(ps).astype(np.intp, copy=False), np.concatenate(vs)


class AirspaceIndex:
    """Fast containment and verdict queries over an :class:`AirspaceSet` plus live restrictions.

    Not thread-safe for concurrent add/remove and classify; call from one event loop/thread.
    """

    def __init__(self, aset: AirspaceSet, terrain: TerrainModel | None = None) -> None:
        self.airspace = aset
        self._terrain = terrain
        self._volumes: tuple[Volume, ...] = aset.all_volumes(include_routes=True)
        self._static = _Table.build(self._volumes)
        self._schedules: list[Schedule | None] = [v.schedule for v in self._volumes]
        self._restrictions: dict[str, Restriction] = {}
        self._rtable: _Table | None = None
        for r in aset.restrictions:
            self._restrictions[r.id] = r

    # ------------------------------------------------------------ restrictions

    @property
    def terrain(self) -> TerrainModel:
        """The terrain used when ``classify`` is not given one (default: the approximate grid)."""
        if self._terrain is None:
            self._terrain = default_terrain()
        return self._terrain

    @property
    def restrictions(self) -> tuple[Restriction, ...]:
        return tuple(self._restrictions.values())

    @property
    def volumes(self) -> tuple[Volume, ...]:
        """Static volumes and route corridors, in ``volume_ids`` order."""
        return self._volumes

    def add_restriction(self, restriction: Restriction) -> None:
        """Add (or replace, by id) a temporary restriction; effective on the next query."""
        if restriction.id in set(self._static.ids):
            raise ValueError(f"restriction id {restriction.id!r} clashes with a volume id")
        self._restrictions[restriction.id] = restriction
        self._rtable = None

    def remove_restriction(self, restriction_id: str) -> bool:
        """Remove a restriction; returns False if it was not there."""
        found = self._restrictions.pop(restriction_id, None) is not None
        if found:
            self._rtable = None
        return found

    def _restriction_table(self) -> _Table | None:
        if not self._restrictions:
            return None
        if self._rtable is None:
            self._rtable = _Table.build([r.as_volume() for r in self._restrictions.values()], temporary=True)
        return self._rtable

    # ------------------------------------------------------------ queries

    def classify(
        self,
        lon: npt.ArrayLike,
        lat: npt.ArrayLike,
        alt: npt.ArrayLike,
        ref: AltitudeReference | str | npt.ArrayLike,
        category: AircraftCategory | str | npt.ArrayLike,
        t: datetime,
        terrain: TerrainModel | None = None,
        *,
        use_tree: bool | None = None,
        repeats: int = 1,
        static_active: npt.NDArray[np.bool_] | None = None,
    ) -> Classification:
        """Classify N points at instant ``t``.

        Parameters
        ----------
        lon, lat : array_like (N,), degrees WGS84
        alt : array_like (N,), metres in the reference ``ref``
        ref : AltitudeReference for all points, or int codes (N,) (0 = AGL, 1 = AMSL)
        category : AircraftCategory for all points, or (N,) strings or codes into :data:`CATEGORIES`
        t : timezone-aware instant
        terrain : terrain model (default: the index's terrain)
        use_tree : force STRtree candidates (True) or the bounding-box scan (False);
            default: scan up to :data:`BBOX_SCAN_MAX` volumes, tree above
        repeats : the points are this many copies of the first N / repeats positions (at other
            altitudes: filing samples a footprint at its floor, middle and ceiling); which polygons
            hold them is then found once (checked: ValueError if they are not copies)
        static_active : the static volumes' activity at ``t`` (``active_mask`` of their schedules, in
            ``volumes`` order) when the caller keeps it; computed from the schedules when None

        Returns
        -------
        Classification
        """
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("t must be timezone-aware")
        terrain = terrain or self.terrain
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        a = np.atleast_1d(np.asarray(alt, dtype=np.float64))
        n = lo.shape[0]
        if la.shape != (n,) or a.shape != (n,):
            raise ValueError("lon, lat and alt must have the same shape (N,)")
        if repeats < 1 or n % repeats:
            raise ValueError("repeats must divide the number of points")
        m = n // repeats
        if repeats > 1 and not (np.array_equal(lo.reshape(repeats, m), np.broadcast_to(lo[:m], (repeats, m)))
                                and np.array_equal(la.reshape(repeats, m), np.broadcast_to(la[:m], (repeats, m)))):
            raise ValueError("the points are not copies of the first N / repeats positions")
        codes = reference_codes(ref, n)
        cats = category_codes(category, n)
        ground = np.asarray(terrain.elevation(lo, la), dtype=np.float64)
        amsl = np.where(codes == AGL_CODE, a + ground, a)
        x, y = to_local(lo[:m], la[:m])

        tables: list[tuple[_Table, npt.NDArray[np.bool_], int]] = [
            (self._static, active_mask(self._schedules, t) if static_active is None else static_active, 0)
        ]
        rt = self._restriction_table()
        if rt is not None:
            ractive = np.array([r.is_active(t) for r in self._restrictions.values()], dtype=np.bool_)
            tables.append((rt, ractive, len(self._static)))
        ids = self._static.ids + (rt.ids if rt is not None else ())
        nv = len(ids)

        pp_parts, pv_parts, pa_parts, score_parts = [], [], [], []
        for table, active, offset in tables:
            p, v = table.contains_pairs(x, y, use_tree=use_tree)
            if repeats > 1:  # the same pairs for each copy, in the order of one pass over all N points
                p = (p[None, :] + (np.arange(repeats) * m)[:, None]).ravel()
                v = np.tile(v, repeats)
                order = np.argsort(v, kind="stable")
                p, v = p[order], v[order]
            g = ground[p]
            floor = table.floor_val[v] + np.where(table.floor_agl[v], g, 0.0)
            ceil = table.ceil_val[v] + np.where(table.ceil_agl[v], g, 0.0)
            h = amsl[p]
            inside = (h >= floor) & (h <= ceil)
            unknown = np.isnan(floor) | np.isnan(ceil) | np.isnan(h)
            inside |= unknown & table.conservative[v]
            p, v = p[inside], v[inside]
            act = active[v]
            rank = table.rank[v, cats[p]]
            gv = v + offset
            score = np.where(act, rank * nv + (nv - 1 - gv), -1)
            pp_parts.append(p)
            pv_parts.append(gv)
            pa_parts.append(act)
            score_parts.append(score)

        pair_point = np.concatenate(pp_parts)
        pair_volume = np.concatenate(pv_parts)
        pair_active = np.concatenate(pa_parts)
        score = np.concatenate(score_parts).astype(np.int64, copy=False)
        best = np.full(n, -1, dtype=np.int64)
        if score.size:
            np.maximum.at(best, pair_point, score)

        has = best >= 0
        rank = np.where(has, best // nv, NO_DATA_RULE.rank) if nv else np.full(n, NO_DATA_RULE.rank)
        volume = np.where(has, nv - 1 - best % nv, -1) if nv else np.full(n, -1)
        nr = len(REASONS)
        reason = (rank % nr).astype(np.int8)
        verdict = ((rank // nr) % len(VERDICTS)).astype(np.int8)
        return Classification(
            verdict=verdict,
            reason=reason,
            volume=volume.astype(np.intp),
            volume_ids=ids,
            pair_point=pair_point,
            pair_volume=pair_volume,
            pair_active=pair_active,
            altitude_amsl=amsl,
            terrain_m=ground,
        )

    def intrusion_volumes(self, t: datetime, terrain: TerrainModel | None = None) -> IntrusionVolumes:
        """Active no-fly / restricted volumes and active restrictions at ``t``.

        AGL limits are converted to AMSL with the terrain at each polygon's centroid — an
        approximation: over sloping terrain the true-height limit varies across the polygon
        (use :meth:`classify` for exact per-point true height).
        """
        terrain = terrain or self.terrain
        polys: list[Polygon] = []
        floors: list[float] = []
        ceils: list[float] = []
        ids: list[str] = []
        static_active = active_mask(self._schedules, t)
        chosen: list[tuple[_Table, int]] = [
            (self._static, i) for i, k in enumerate(self._static.kinds)
            if k in (VolumeKind.NO_FLY, VolumeKind.RESTRICTED) and static_active[i]
        ]
        rt = self._restriction_table()
        if rt is not None:
            for i, r in enumerate(self._restrictions.values()):
                if r.is_active(t):
                    chosen.append((rt, i))
        if chosen:
            cent = shapely.centroid(np.array([tb.polygons[i] for tb, i in chosen], dtype=object))
            clon, clat = to_wgs84(shapely.get_x(cent), shapely.get_y(cent))
            g = np.asarray(terrain.elevation(clon, clat), dtype=np.float64)
            for (tb, i), gi in zip(chosen, g, strict=True):
                f = tb.floor_val[i] + (gi if tb.floor_agl[i] else 0.0)
                c = tb.ceil_val[i] + (gi if tb.ceil_agl[i] else 0.0)
                for part in getattr(tb.polygons[i], "geoms", [tb.polygons[i]]):
                    polys.append(part)
                    floors.append(float(f))
                    ceils.append(float(c))
                    ids.append(tb.ids[i])
        return IntrusionVolumes.from_sequences(polys, np.array(floors, dtype=np.float64),
                                np.array(ceils, dtype=np.float64), tuple(ids))
