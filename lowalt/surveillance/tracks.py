"""``TrackTable``: the latest state of every aircraft as a struct of preallocated numpy arrays.

Rows ``[0, n)`` are live; an ``id -> row`` dict finds them; removal swaps the last
row into the hole, so the live rows stay dense and every pass over them is one
slice. Capacity doubles when full (amortised O(1) insert; never ``np.append`` per
aircraft). All positions are WGS84 lon/lat with altitude in metres AMSL; velocity
is east/north/up in m/s.

The table is owned by the event loop; the tick loop works on a ``Snapshot`` (copies),
so ingest may go on while conflicts are computed in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

_FLOAT_COLS = ("lon", "lat", "alt", "vx", "vy", "vz", "t", "t_recv", "battery")
_INT_COLS = ("source", "category")
_BOOL_COLS = ("landed", "coasting")
_ALL_COLS = (*_FLOAT_COLS, *_INT_COLS, *_BOOL_COLS, "dirty")


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the live rows at one moment."""

    ids: list[str]
    lon: F64
    lat: F64
    alt: F64
    """Altitude, metres AMSL."""
    vx: F64
    vy: F64
    vz: F64
    t: F64
    """Time of the report, epoch seconds UTC."""
    t_recv: F64
    battery: F64
    source: npt.NDArray[np.int8]
    category: npt.NDArray[np.int8]
    cooperative: npt.NDArray[np.bool_]
    landed: npt.NDArray[np.bool_] | None = None
    """The device said it is on the ground (``"landed": true`` in its last report)."""
    coasting: npt.NDArray[np.bool_] | None = None
    """No report for longer than the coasting limit: shown where it is predicted to be, flagged."""

    @property
    def n(self) -> int:
        return len(self.ids)

    def select(self, rows: npt.NDArray[np.int64]) -> Snapshot:
        """The given rows only (a copy)."""
        def take(v: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
            return None if v is None else v[rows]

        return Snapshot(
            ids=[self.ids[i] for i in rows.tolist()], lon=self.lon[rows], lat=self.lat[rows], alt=self.alt[rows],
            vx=self.vx[rows], vy=self.vy[rows], vz=self.vz[rows], t=self.t[rows], t_recv=self.t_recv[rows],
            battery=self.battery[rows], source=self.source[rows], category=self.category[rows],
            cooperative=self.cooperative[rows], landed=take(self.landed), coasting=take(self.coasting),
        )


@dataclass(frozen=True)
class UpsertResult:
    accepted: npt.NDArray[np.bool_]
    """Per input report: the track now shows it (True), or it was older than what the track shows."""
    late: npt.NDArray[np.bool_]
    """Per input report: older than the track's latest report (out of order): true history, but it
    never moves the track backwards."""
    duplicate: npt.NDArray[np.bool_]
    """Per input report: same report time as the one the track already holds (dropped)."""
    added: list[str]
    """Ids that had no track before this batch."""


class TrackTable:
    """Struct-of-arrays track store with id -> row lookup, batch upsert, staleness and dirty marks."""

    def __init__(self, capacity: int = 1024, *, cooperative: bool = True) -> None:
        self.cooperative = cooperative
        self.capacity = max(16, capacity)
        self.n = 0
        self.ids: list[str] = []
        self.slot: dict[str, int] = {}
        for name in _FLOAT_COLS:
            setattr(self, name, np.zeros(self.capacity, dtype=np.float64))
        for name in _INT_COLS:
            setattr(self, name, np.zeros(self.capacity, dtype=np.int8))
        for name in _BOOL_COLS:
            setattr(self, name, np.zeros(self.capacity, dtype=np.bool_))
        self.dirty = np.zeros(self.capacity, dtype=np.bool_)
        """Rows updated since the last ``take_dirty()`` (what the live feed must send)."""

    # typed views of the dynamic columns
    lon: F64
    lat: F64
    alt: F64
    vx: F64
    vy: F64
    vz: F64
    t: F64
    t_recv: F64
    battery: F64
    source: npt.NDArray[np.int8]
    category: npt.NDArray[np.int8]
    landed: npt.NDArray[np.bool_]
    coasting: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return self.n

    def _grow(self, need: int) -> None:
        new_cap = self.capacity
        while new_cap < need:
            new_cap *= 2
        if new_cap == self.capacity:
            return
        for name in _ALL_COLS:
            old = getattr(self, name)
            arr = np.zeros(new_cap, dtype=old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        self.capacity = new_cap

    def upsert(
        self,
        ids: list[str],
        *,
        lon: F64, lat: F64, alt: F64, vx: F64, vy: F64, vz: F64, t: F64,
        t_recv: float, battery: F64 | None = None,
        source: npt.NDArray[np.int8] | None = None, category: npt.NDArray[np.int8] | None = None,
        landed: npt.NDArray[np.bool_] | None = None,
    ) -> UpsertResult:
        """Store a batch of reports. A report older than the stored one (out of order), or than a
        later report for the same id in this batch, is ``late``: it never moves the track back.
        A report with the same time as the stored one is a ``duplicate``."""
        m = len(ids)
        rows = np.empty(m, dtype=np.int64)
        accepted = np.ones(m, dtype=np.bool_)
        late = np.zeros(m, dtype=np.bool_)
        duplicate = np.zeros(m, dtype=np.bool_)
        added: list[str] = []
        latest_in_batch: dict[str, int] = {}
        self._grow(self.n + m)
        stored_t = self.t
        for k, aid in enumerate(ids):
            prev = latest_in_batch.get(aid)
            if prev is not None:  # same aircraft twice in one batch: keep the newer
                if t[k] > t[prev]:
                    accepted[prev] = False
                    late[prev] = True
                    latest_in_batch[aid] = k
                    rows[k] = rows[prev]
                else:
                    accepted[k] = False
                    (duplicate if t[k] == t[prev] else late)[k] = True
                    rows[k] = -1
                continue
            row = self.slot.get(aid)
            if row is None:
                row = self.n
                self.slot[aid] = row
                self.ids.append(aid)
                self.n += 1
                stored_t[row] = -np.inf
                added.append(aid)
            elif t[k] <= stored_t[row]:
                accepted[k] = False
                (duplicate if t[k] == stored_t[row] else late)[k] = True
                rows[k] = -1
                continue
            latest_in_batch[aid] = k
            rows[k] = row
        sel = np.flatnonzero(accepted)
        r = rows[sel]
        self.lon[r] = lon[sel]
        self.lat[r] = lat[sel]
        self.alt[r] = alt[sel]
        self.vx[r] = vx[sel]
        self.vy[r] = vy[sel]
        self.vz[r] = vz[sel]
        self.t[r] = t[sel]
        self.t_recv[r] = t_recv
        self.battery[r] = np.nan if battery is None else battery[sel]
        if source is not None:
            self.source[r] = source[sel]
        if category is not None:
            self.category[r] = category[sel]
        self.landed[r] = False if landed is None else landed[sel]
        self.coasting[r] = False
        self.dirty[r] = True
        return UpsertResult(accepted=accepted, late=late, duplicate=duplicate, added=added)

    def remove(self, aid: str) -> bool:
        """Swap-remove one track; O(1)."""
        row = self.slot.pop(aid, None)
        if row is None:
            return False
        last = self.n - 1
        if row != last:
            moved = self.ids[last]
            for name in _ALL_COLS:
                col = getattr(self, name)
                col[row] = col[last]
            self.ids[row] = moved
            self.slot[moved] = row
        self.ids.pop()
        self.n = last
        return True

    def expire(self, now: float, lost_after_s: float) -> Snapshot:
        """Remove tracks whose latest report is older than ``lost_after_s`` (by report time, not
        by when it arrived); return their last state."""
        stale = np.flatnonzero(self.t[: self.n] <= now - lost_after_s)
        gone = self.snapshot(stale)
        for aid in gone.ids:
            self.remove(aid)
        return gone

    def mark_coasting(self, now: float, coast_after_s: float) -> int:
        """Flag tracks with no report for ``coast_after_s`` as coasting (and dirty, so the feed
        tells the map once); returns how many started coasting now."""
        rows = np.flatnonzero(~self.coasting[: self.n] & (self.t[: self.n] <= now - coast_after_s))
        self.coasting[rows] = True
        self.dirty[rows] = True
        return len(rows)

    def take_dirty(self) -> npt.NDArray[np.int64]:
        """Rows updated since the last call (clears the marks)."""
        rows = np.flatnonzero(self.dirty[: self.n])
        self.dirty[: self.n] = False
        return rows

    def snapshot(self, rows: npt.NDArray[np.int64] | None = None) -> Snapshot:
        sl = slice(0, self.n) if rows is None else rows
        ids = self.ids[: self.n] if rows is None else [self.ids[i] for i in rows]
        n = len(ids)
        return Snapshot(
            ids=list(ids),
            lon=self.lon[sl].copy(), lat=self.lat[sl].copy(), alt=self.alt[sl].copy(),
            vx=self.vx[sl].copy(), vy=self.vy[sl].copy(), vz=self.vz[sl].copy(),
            t=self.t[sl].copy(), t_recv=self.t_recv[sl].copy(), battery=self.battery[sl].copy(),
            source=self.source[sl].copy(), category=self.category[sl].copy(),
            cooperative=np.full(n, self.cooperative, dtype=np.bool_),
            landed=self.landed[sl].copy(), coasting=self.coasting[sl].copy(),
        )


def concat_snapshots(parts: list[Snapshot]) -> Snapshot:
    """Join the cooperative and non-cooperative pictures for checks that treat them the same."""
    if len(parts) == 1:
        return parts[0]

    def flags(p: Snapshot, name: str) -> npt.NDArray[np.bool_]:
        v = getattr(p, name)
        return np.zeros(p.n, dtype=np.bool_) if v is None else v

    return Snapshot(
        ids=[i for p in parts for i in p.ids],
        **{name: np.concatenate([getattr(p, name) for p in parts])
           for name in ("lon", "lat", "alt", "vx", "vy", "vz", "t", "t_recv", "battery", "source", "category",
                        "cooperative")},
        landed=np.concatenate([flags(p, "landed") for p in parts]),
        coasting=np.concatenate([flags(p, "coasting") for p in parts]),
    )
