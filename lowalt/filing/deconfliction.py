"""Pure 4D strategic deconfliction: footprint (metres) x AMSL band x time window.

Plans are kept in one-hour time bins; each bin holds its plans' footprints in a shapely
``STRtree`` that is rebuilt lazily, only for bins touched since the last query. A query
visits the bins its window overlaps, asks each tree for footprints within the horizontal
buffer (``predicate="dwithin"``), then checks the vertical band and the exact times.
With 10,000 plans spread over a week, a bin holds ~100 footprints, so a query costs a
few small tree look-ups and never scans the whole file.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Polygon

BIN_S = 3600.0
NEAR_MEMO_MAX = 1024
"""(bin, area) answers kept between changes of the index (:meth:`DeconflictionIndex.conflicts`)."""
PENDING_MAX = 32
"""Plans added to (or removed from) a bin before its STRtree is rebuilt: a filing adds one plan to a
few bins, and rebuilding a ~100-footprint tree per approval was a tenth of a decision."""
CELL_M = 2000.0
"""Side of the filing grid's square cells (EPSG:4548 metres): the unit of serialisation across nodes."""
TAG_CELL, TAG_AIRCRAFT, TAG_LICENCE, TAG_CELL_HOUR = 1, 2, 3, 4
"""Advisory-lock key spaces (top byte of the 64-bit key): grid cells, aircraft, pilot licences, and
grid cells in one hour (what filing locks and versions: :func:`cell_hour_keys`)."""
LOCK_BIN_S = 3600.0
NEAR_MEMO_MAX = 1024
"""(bin, area) answers kept between changes of the index (:meth:`DeconflictionIndex.conflicts`)."""
"""Time bin of the filing lock keys: a grid cell is locked for the hours a plan's window touches."""
_MASK14, _MASK28 = (1 << 14) - 1, (1 << 28) - 1


def cell_keys(area: Polygon, buffer_m: float, cell_m: float = CELL_M) -> list[int]:
    """Lock keys of the grid cells that ``area`` buffered by ``buffer_m`` touches, sorted.

    Two plans within ``buffer_m`` of each other, each keyed by its area buffered by ``buffer_m``,
    always share a cell (a point of one lies inside the other's buffer), so they serialise.
    """
    b = max(buffer_m, 0.0)
    minx, miny, maxx, maxy = area.bounds
    ix = np.arange(math.floor((minx - b) / cell_m), math.floor((maxx + b) / cell_m) + 1)
    iy = np.arange(math.floor((miny - b) / cell_m), math.floor((maxy + b) / cell_m) + 1)
    gx, gy = (a.ravel() for a in np.meshgrid(ix, iy))
    if gx.size > 1:
        # the cells within buffer_m of the area: its exact buffer, where area.buffer(buffer_m) is a polygon
        # inside it (a superset of cells, never fewer), and without building that polygon per filing
        hit = shapely.dwithin(shapely.box(gx * cell_m, gy * cell_m, (gx + 1) * cell_m, (gy + 1) * cell_m), area, b)
        gx, gy = gx[hit], gy[hit]
    return sorted({(TAG_CELL << 56) | ((int(x) & _MASK28) << 28) | (int(y) & _MASK28) for x, y in zip(gx, gy, strict=True)})


def cell_hour_keys(cells: list[int], start_s: float, end_s: float, bin_s: float = LOCK_BIN_S) -> list[int]:
    """Lock keys of these grid cells (:func:`cell_keys`) in each time bin that [start_s, end_s] touches.

    Two plans that conflict share a grid cell and overlap in time (within the time buffer: callers widen
    the window by it), so they share a cell-hour and serialise, as with :func:`cell_keys` alone; two
    plans over the same town on different days no longer wait for each other (with cells alone, 16
    filings in flight over a 25 km area collided about two times in three). The cell's 28-bit
    coordinates keep their low 14 bits (16,384 cells of 2 km: far-apart cells that share a key only
    serialise more, never less).
    """
    hours = range(math.floor(start_s / bin_s), math.floor(end_s / bin_s) + 1)
    return sorted({(TAG_CELL_HOUR << 56) | (((c >> 28) & _MASK14) << 42) | ((c & _MASK14) << 28) | (h & _MASK28)
                   for c in cells for h in hours})


def hour_of_key(key: int) -> int | None:
    """The time bin (hours since the epoch, modulo 2**28) of a :func:`cell_hour_keys` key; None for others."""
    return key & _MASK28 if key >> 56 == TAG_CELL_HOUR else None


def name_key(tag: int, name: str) -> int:
    """A stable 64-bit advisory-lock key for a name (an aircraft, a licence) in its key space."""
    return (tag << 56) | int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")


@dataclass(frozen=True)
class Entry:
    """What the index knows of one approved/active plan."""

    plan_id: str
    area: Polygon
    floor: float
    ceiling: float
    start_s: float
    end_s: float
    priority: int
    active: bool = False
    organisation: str = ""
    floor_agl: float = float("nan")
    """True-height band if the plan was filed AGL (NaN otherwise); used when both sides have one."""
    ceiling_agl: float = float("nan")


@dataclass(frozen=True)
class Conflict:
    plan_id: str
    priority: int
    active: bool
    organisation: str


@dataclass
class _Bin:
    ids: list[str] = field(default_factory=list)
    tree: STRtree | None = None
    tree_ids: list[str] = field(default_factory=list)
    tree_areas: list[Polygon] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    """Added since the tree was built: checked one by one until there are ``PENDING_MAX`` of them."""
    stale: int = 0
    """Plans removed (or replaced) since the tree was built: their tree entries are skipped."""


class DeconflictionIndex:
    """Incremental 4D index of approved/active plans (not thread-safe: one event loop)."""

    def __init__(self, h_buffer_m: float, v_buffer_m: float, t_buffer_s: float) -> None:
        self.h_buffer_m = h_buffer_m
        self.v_buffer_m = v_buffer_m
        self.t_buffer_s = t_buffer_s
        self._entries: dict[str, Entry] = {}
        self._bins: dict[int, _Bin] = {}
        self._near_memo: dict[tuple[int, int], tuple[Polygon, list[str]]] = {}
        """(bin, id of the queried area) -> (that area, the plans near it in the bin), while no plan is
        added or removed: the alternatives of a refusal ask about one area again and again, shifted in
        time (each shift's bins mostly the previous one's) or in band (the same bins)."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, plan_id: object) -> bool:
        return plan_id in self._entries

    def get(self, plan_id: str) -> Entry | None:
        return self._entries.get(plan_id)

    def _bin_keys(self, start_s: float, end_s: float) -> range:
        return range(int(np.floor(start_s / BIN_S)), int(np.floor(end_s / BIN_S)) + 1)

    def add(self, entry: Entry) -> None:
        """Add or replace a plan."""
        self.remove(entry.plan_id)
        self._near_memo.clear()
        self._entries[entry.plan_id] = entry
        for k in self._bin_keys(entry.start_s, entry.end_s):
            b = self._bins.setdefault(k, _Bin())
            b.ids.append(entry.plan_id)
            b.pending.append(entry.plan_id)
            if len(b.pending) > PENDING_MAX:
                b.tree = None

    def remove(self, plan_id: str) -> bool:
        entry = self._entries.pop(plan_id, None)
        if entry is None:
            return False
        self._near_memo.clear()
        for k in self._bin_keys(entry.start_s, entry.end_s):
            b = self._bins.get(k)
            if b is None:
                continue
            b.ids.remove(plan_id)
            if plan_id in b.pending:
                b.pending.remove(plan_id)
            else:
                b.stale += 1
                if b.stale > PENDING_MAX:
                    b.tree = None
            if not b.ids:
                del self._bins[k]
        return True

    def prune(self, before_s: float) -> list[str]:
        """Drop plans that ended before ``before_s`` (they can no longer conflict); returns their ids."""
        old = [pid for pid, e in self._entries.items() if e.end_s + self.t_buffer_s < before_s]
        for pid in old:
            self.remove(pid)
        return old

    def set_active(self, plan_id: str) -> None:
        e = self._entries.get(plan_id)
        if e is not None:
            self._entries[plan_id] = replace(e, active=True)

    def _tree(self, b: _Bin) -> STRtree:
        if b.tree is None:
            b.tree_ids = list(b.ids)
            b.tree_areas = [self._entries[i].area for i in b.tree_ids]
            b.tree = STRtree(b.tree_areas)
            b.pending, b.stale = [], 0
        return b.tree

    def _near(self, b: _Bin, area: Polygon) -> list[str]:
        """Ids of the bin's plans whose footprint is within the horizontal buffer of ``area``: the
        tree's hits that still hold their footprint, and the plans added since it was built."""
        hits = self._tree(b).query(area, predicate="dwithin", distance=self.h_buffer_m)
        out = []
        for h in hits:
            pid = b.tree_ids[int(h)]
            e = self._entries.get(pid)
            if e is not None and e.area is b.tree_areas[int(h)] and pid not in b.pending:
                out.append(pid)
        if b.pending:
            near = shapely.dwithin(np.array([self._entries[i].area for i in b.pending], dtype=object), area,
                                   self.h_buffer_m)
            out += [pid for pid, ok in zip(b.pending, near.tolist(), strict=True) if ok]
        return out

    def conflicts(self, area: Polygon, floor: float, ceiling: float, start_s: float, end_s: float,
                  *, exclude: str | None = None, floor_agl: float = math.nan, ceiling_agl: float = math.nan
                  ) -> list[Conflict]:
        """Plans whose footprint is within the horizontal buffer, whose band is within the vertical
        buffer and whose window overlaps (with the time buffer). Sorted by plan id (deterministic).

        Bands compare in true height when both sides were filed AGL, else in (conservative) AMSL.
        """
        agl = not math.isnan(floor_agl)
        t0, t1 = start_s - self.t_buffer_s, end_s + self.t_buffer_s
        seen: set[str] = set()
        out: list[Conflict] = []
        for k in self._bin_keys(t0, t1):
            b = self._bins.get(k)
            if b is None:
                continue
            known = self._near_memo.get((k, id(area)))
            if known is not None and known[0] is area:
                near = known[1]
            else:
                near = self._near(b, area)
                if len(self._near_memo) >= NEAR_MEMO_MAX:
                    self._near_memo.clear()
                self._near_memo[(k, id(area))] = (area, near)
            for pid in near:
                if pid in seen or pid == exclude:
                    continue
                seen.add(pid)
                e = self._entries[pid]
                if e.end_s <= t0 or e.start_s >= t1:
                    continue
                if agl and not math.isnan(e.floor_agl):
                    lo, hi, elo, ehi = floor_agl, ceiling_agl, e.floor_agl, e.ceiling_agl
                else:
                    lo, hi, elo, ehi = floor, ceiling, e.floor, e.ceiling
                if elo - self.v_buffer_m >= hi or lo >= ehi + self.v_buffer_m:
                    continue
                out.append(Conflict(pid, e.priority, e.active, e.organisation))
        out.sort(key=lambda c: c.plan_id)
        return out
