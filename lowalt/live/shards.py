"""Monitor shards: which shard owns a cell, which cells a shard must read (its halo), who raises an alert.

Pure functions, no I/O (docs/scale.md, section 3 "Cell, halo, shards"). With ``LOWALT_MONITOR_SHARDS=N``
(N > 1) the conflict monitor of a cluster is split: each shard owns a fixed set of the bus's 0.25 deg
report cells (``lowalt.bus.codec.CELL_DEG``, subjects ``lowalt.reports.e<col>n<row>``), reads the tracks of
its cells **and of a halo** around them, and raises only the alerts it owns:

* **assignment** (:func:`shard_of_cell`): the cells of the service area are cut into a grid of N
  rectangles of whole cells, as square as N allows (:func:`shard_grid`: 2 -> 2 x 1, 4 -> 2 x 2,
  16 -> 4 x 4, the longer count along the area's longer side); shard ``k`` is rectangle ``k`` (row-major
  from the south-west). Contiguous rectangles keep the halo's share small: a shard reads its rectangle
  plus one ring of cells on its inner sides only. A checkerboard of 1 deg blocks was tried first: with
  traffic spread over 115-119.5 E, 28-31 N each of 2 shards read 89 % of the tracks and its pass took
  longer than one monitor's (docs/scale.md). Cells outside the area belong to the nearest rectangle. With the
  Jingdezhen service area (115.7-118.6 E, 28.7-29.95 N; 13 x 6 cells) two shards meet at 117.25 E, in
  the city centre, so they split its traffic;
* **halo** (:func:`halo_m`, :func:`cells_within`): every cell whose nearest point is at most
  ``lookahead x 2 x MAX_SPEED + largest horizontal minimum`` from an owned cell: two aircraft that can come
  within a minimum inside the look-ahead are at most that far apart now (60 s x 2 x 150 m/s + 1,219.2 m =
  19,219.2 m with the defaults: one ring of cells). It also covers the lost-contact neighbourhood (a silent
  aircraft coasts at most 30 s at 150 m/s, then traffic within 5 km is counted: 9.5 km);
* **ownership** (:func:`owner_point`): a pair's alert is raised by the shard owning the cell of the
  midpoint of the two reported positions; a single aircraft's alert (intrusion, unauthorised,
  nonconformance) by the owner of its cell; a lost contact by the owner of the cell of its last position.
  Every shard that sees both aircraft computes the same midpoint from the same reports, so exactly one
  raises it; when the midpoint crosses into another shard's cell the alert moves there under its id.

A cell exactly on a boundary belongs to the cell east / north of it (``floor``), as on the bus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from lowalt.bus.codec import CELL_DEG
from lowalt.bus.port import lease_record, read_lease_record
from lowalt.conflict.separation import SeparationMatrix
from lowalt.surveillance.reports import MAX_SPEED_MS

Area = tuple[float, float, float, float]
"""(west, south, east, north) degrees: the service area the shards divide (``LiveConfig.service_bbox``)."""
LARGEST_MINIMUM_M = float(SeparationMatrix().h.max())
"""The largest horizontal minimum of the monitor's separation matrix (1,219.2 m: DO-365B well clear, UAV vs
crewed)."""
LOST_CONTACT_REACH_M = 30.0 * MAX_SPEED_MS + 5000.0
"""A lost aircraft coasts at most 30 s, then the traffic within 5 km of it is counted (``lowalt.live.monitor``
``LOST_COAST_MAX_S`` and ``LOST_AROUND_M``, which import this module: a unit test keeps them equal)."""
REMOTE_KEEP_S = 15.0
"""A monitor shard's last assessment is shown (and its alerts may be adopted) this long after it arrived:
longer than a failover (lease TTL 3 s + a renewal), so a dead shard's alerts stay on the map until the
shard that takes its cells over continues them under their ids."""
STATUS_CARRY_S = 3.0
"""With shards: an aircraft's status is kept this long when no shard's latest tick has it. One that just
crossed from one shard's cells into another's is in neither shard's latest tick until the new owner's next
one (up to a tick later); without the carry the merged statuses dropped it meanwhile (the map showed it
``unknown``) and its row went out again, with its last report's time, when its status came back."""
POOL_KEEP_S = 15.0
"""Alerts handed over by a shard (or left open in PostGIS when a shard starts) wait this long for the shard
that owns them now to adopt them."""
UNADOPTED_AFTER_S = POOL_KEEP_S + 5.0
"""A shard that handed an alert over clears it itself when no shard has shown it active for this long
(:func:`unadopted`): longer than the new owner's wait (``POOL_KEEP_S``) plus a few ticks for that owner's
assessment to arrive, so it never clears one that is being adopted."""
UNADOPTED_REASON = "handed_over_unadopted"
"""``details.cleared_reason`` of an alert cleared by :func:`unadopted`'s rule."""
M_PER_DEG = 111_320.0
"""Metres per degree of latitude (and of longitude at the equator), the spherical approximation."""

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def lease_name(shard: int, shards: int) -> str:
    """The NATS KV key of a shard's lease: ``monitor`` with one shard (as before sharding), else ``monitor.<k>``."""
    return "monitor" if shards == 1 else f"monitor.{shard}"


@dataclass(frozen=True)
class ShardTerms:
    """What every node of a cluster must agree on for shards to divide the cells without overlap: the shard
    count (``LOWALT_MONITOR_SHARDS``) and the cell size. A shard lease's value carries them
    (:func:`lease_value`), and a node that sees a lease held with other terms takes no shard lease
    (:func:`terms_mismatch`): two nodes cutting the area differently would both own some cells."""

    shards: int
    cell_deg: float = CELL_DEG


def lease_value(node: str, terms: ShardTerms) -> str:
    """What a monitor (shard) lease holds: the holder and its terms (a bus lease record)."""
    return lease_record(node, shards=terms.shards, cell_deg=terms.cell_deg)


def lease_holder(value: str, key: str = "") -> tuple[str, ShardTerms | None]:
    """(holder, terms) from a lease value (:func:`lease_value`). A node of a version before the terms wrote
    its id alone: its terms are those of its key when the key says them (``monitor``: one monitor for every
    cell), else unknown (None)."""
    holder, record = read_lease_record(value)
    if record is None:
        return holder, ShardTerms(1) if key == "monitor" else None
    try:
        return holder, ShardTerms(int(record["shards"]), float(record["cell_deg"]))
    except (ValueError, TypeError, KeyError):
        return holder, None


def terms_keys(shards: int) -> list[str]:
    """The lease keys a node reads to see the cluster's terms: the one-monitor key and the first
    ``max(shards, 1)`` shard keys (every sharded cluster holds ``monitor.0``; a cluster with more shards
    holds the keys this node would take, one with fewer some of them)."""
    return ["monitor", *(f"monitor.{k}" for k in range(max(shards, 1)))]


def terms_mismatch(node: str, terms: ShardTerms, seen: Mapping[str, str | None]) -> str | None:
    """Why this node must take no shard lease: the first lease in ``seen`` (key -> value, None: free) that
    another node holds with other terms, said in words; None when every lease it sees agrees (or is its
    own, or is free, or has unknown terms)."""
    for key in sorted(seen):
        value = seen[key]
        if value is None:
            continue
        holder, theirs = lease_holder(value, key)
        if holder == node or theirs is None or theirs == terms:
            continue
        return (f"lease {key} is held by node {holder} with {theirs.shards} monitor shard(s) of {theirs.cell_deg} deg "
                f"cells; this node has {terms.shards} of {terms.cell_deg} deg: every node must use the same "
                "LOWALT_MONITOR_SHARDS")
    return None


def halo_m(lookahead_s: float, max_speed_ms: float = MAX_SPEED_MS, largest_minimum_m: float = LARGEST_MINIMUM_M
           ) -> float:
    """Halo distance: two aircraft closing head-on at the top speed, plus the largest minimum; at least the
    lost-contact reach."""
    return max(lookahead_s * 2.0 * max_speed_ms + largest_minimum_m, LOST_CONTACT_REACH_M)


def cell_of(lon: npt.ArrayLike, lat: npt.ArrayLike, cell_deg: float = CELL_DEG) -> tuple[I64, I64]:
    """(col, row) of the cell holding each point (``lowalt.bus.codec.cell_key``'s numbering)."""
    col = np.floor(np.asarray(lon, dtype=np.float64) / cell_deg).astype(np.int64)
    row = np.floor(np.asarray(lat, dtype=np.float64) / cell_deg).astype(np.int64)
    return col, row


def area_cells(area: Area, cell_deg: float = CELL_DEG) -> tuple[int, int, int, int]:
    """(first col, first row, cols, rows) of the cells that cover ``area``."""
    c0, r0 = math.floor(area[0] / cell_deg), math.floor(area[1] / cell_deg)
    return c0, r0, max(math.ceil(area[2] / cell_deg) - c0, 1), max(math.ceil(area[3] / cell_deg) - r0, 1)


def shard_grid(shards: int, cols: int, rows: int) -> tuple[int, int]:
    """(columns, rows) of shard rectangles: the most square factorisation of ``shards``, the larger factor
    along the longer side of the area."""
    if shards < 1:
        raise ValueError("shards must be >= 1")
    small = max(d for d in range(1, math.isqrt(shards) + 1) if shards % d == 0)
    large = shards // small
    return (large, small) if cols >= rows else (small, large)


def shard_of_cell(col: npt.ArrayLike, row: npt.ArrayLike, shards: int, area: Area) -> I64:
    """The shard owning each cell: its rectangle of the grid over ``area`` (see the module docstring)."""
    c0, r0, cols, rows = area_cells(area)
    gx, gy = shard_grid(shards, cols, rows)
    ix = np.clip((np.asarray(col, dtype=np.int64) - c0) * gx // cols, 0, gx - 1)
    iy = np.clip((np.asarray(row, dtype=np.int64) - r0) * gy // rows, 0, gy - 1)
    return np.asarray(iy * gx + ix, dtype=np.int64)


def shard_of_point(lon: npt.ArrayLike, lat: npt.ArrayLike, shards: int, area: Area) -> I64:
    col, row = cell_of(lon, lat)
    return shard_of_cell(col, row, shards, area)


def owner_point(lon_a: npt.ArrayLike, lat_a: npt.ArrayLike, lon_b: npt.ArrayLike, lat_b: npt.ArrayLike
                ) -> tuple[F64, F64]:
    """Where a pair's alert is owned: the midpoint of the two reported positions (symmetric in a, b)."""
    la, lb = np.asarray(lon_a, dtype=np.float64), np.asarray(lon_b, dtype=np.float64)
    pa, pb = np.asarray(lat_a, dtype=np.float64), np.asarray(lat_b, dtype=np.float64)
    return (la + lb) / 2.0, (pa + pb) / 2.0


def cell_gap_m(a: tuple[int, int], b: tuple[int, int], cell_deg: float = CELL_DEG) -> float:
    """Shortest distance (m) between two cells' rectangles, a lower bound: the east-west gap is measured at
    the latitude of the pair's edge furthest from the equator, where a degree of longitude is shortest."""
    dc = max(abs(a[0] - b[0]) - 1, 0) * cell_deg
    dr = max(abs(a[1] - b[1]) - 1, 0) * cell_deg
    edge = max(abs(a[1] * cell_deg), abs((a[1] + 1) * cell_deg), abs(b[1] * cell_deg), abs((b[1] + 1) * cell_deg))
    return math.hypot(dc * M_PER_DEG * math.cos(math.radians(min(edge, 90.0))), dr * M_PER_DEG)


def cells_within(cell: tuple[int, int], distance_m: float, cell_deg: float = CELL_DEG) -> list[tuple[int, int]]:
    """Every cell at most ``distance_m`` from ``cell`` (gap by :func:`cell_gap_m`; the cell itself included)."""
    rings_r = int(distance_m // (cell_deg * M_PER_DEG)) + 1
    lat_edge = min(max(abs(cell[1]), abs(cell[1] + 1)) * cell_deg + rings_r * cell_deg, 89.0)
    rings_c = int(distance_m // (cell_deg * M_PER_DEG * math.cos(math.radians(lat_edge)))) + 1
    return [(cell[0] + dc, cell[1] + dr) for dr in range(-rings_r, rings_r + 1) for dc in range(-rings_c, rings_c + 1)
            if cell_gap_m(cell, (cell[0] + dc, cell[1] + dr), cell_deg) <= distance_m]


@dataclass(frozen=True)
class ShardOwner:
    """What one monitor owns and reads: the shards ``held`` of ``shards``, with a halo of ``halo_m`` metres.

    Picklable (it travels to the monitor process with the snapshot)."""

    shards: int
    held: frozenset[int]
    halo_m: float
    area: Area

    def owns(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per point: its cell belongs to a held shard."""
        return np.isin(shard_of_point(lon, lat, self.shards, self.area), list(self.held))

    def in_region(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per point: its cell is owned, or within the halo of an owned cell (what this monitor reads)."""
        col, row = cell_of(lon, lat)
        out = np.zeros(col.shape, dtype=np.bool_)
        if not col.size:
            return out
        code = col * 1_000_003 + row
        uniq, first = np.unique(code, return_index=True)
        held = self.held
        inside = np.array([not held.isdisjoint(_shards_near(int(col[k]), int(row[k]), self.halo_m, self.shards,
                                                            self.area)) for k in first.tolist()], dtype=np.bool_)
        return np.asarray(inside[np.searchsorted(uniq, code)], dtype=np.bool_)


def alert_owner_point(alert: Mapping[str, Any], where: Mapping[str, tuple[float, float]]
                      ) -> tuple[float, float] | None:
    """Where an alert (wire form) is owned, from the aircraft positions ``where`` (id -> (lon, lat)): a
    conflict at its pair's midpoint, a lost contact at its last position, any other at its aircraft; None
    when an aircraft it needs is not in ``where``."""
    if alert["kind"] == "lost_contact":
        last = (alert.get("details") or {}).get("last_position")
        return (float(last[0]), float(last[1])) if last else None
    ids = alert.get("aircraft") or alert.get("subject") or []
    if alert["kind"] == "conflict":
        if len(ids) < 2 or ids[0] not in where or ids[1] not in where:
            return None
        (la, pa), (lb, pb) = where[ids[0]], where[ids[1]]
        lon, lat = owner_point(la, pa, lb, pb)
        return float(lon), float(lat)
    return where.get(ids[0]) if ids else None


Wire = dict[str, Any]
"""An alert in wire form (``lowalt.live.monitor.alert_to_wire``)."""
ShardTick = tuple[float, Mapping[str, Wire], Mapping[str, str]]
"""Another shard's latest assessment as a node keeps it: (arrival, monotonic s; its active alerts by id; its
statuses by aircraft)."""


@dataclass(frozen=True)
class Merged:
    """Every shard's part of the picture in one (:func:`merge_shards`)."""

    active: dict[str, Wire]
    statuses: dict[str, str]
    carried: dict[str, float]
    """Statuses kept although no shard's latest tick has them: aircraft -> since (monotonic s)."""
    expired: list[str]
    """Shards (nodes) whose latest assessment is older than the keep: drop them."""


def merge_shards(remote: Mapping[str, ShardTick], own_active: Mapping[str, Wire], own_statuses: Mapping[str, str],
                 shown: Mapping[str, str], carried: Mapping[str, float], tracked: Callable[[str], bool], now: float,
                 keep_s: float = REMOTE_KEEP_S, carry_s: float = STATUS_CARRY_S) -> Merged:
    """The picture a node shows: every shard's active alerts and statuses, this node's own last (they are
    the freshest), an alert held by two shards at once (a hand-over in flight) as the one seen last.

    * a shard whose latest assessment arrived more than ``keep_s`` before ``now`` is left out (it died;
      its alerts stayed shown until the shard taking its cells over continued them), exactly ``keep_s``
      still counts;
    * a status ``shown`` now that no shard has (an aircraft crossing between shards' cells) is kept while
      its aircraft is ``tracked`` and for less than ``carry_s`` since it was first carried (``carried``:
      aircraft -> since)."""
    expired = [node for node, r in remote.items() if now - r[0] > keep_s]
    active: dict[str, Wire] = {}
    statuses: dict[str, str] = {}
    for arrived, alerts, sts in remote.values():
        if now - arrived > keep_s:
            continue
        for aid, a in alerts.items():
            if aid not in active or a["last_seen"] > active[aid]["last_seen"]:
                active[aid] = a
        statuses.update(sts)
    active.update(own_active)
    statuses.update(own_statuses)
    kept: dict[str, float] = {}
    for aid in shown.keys() - statuses.keys():
        since = carried.get(aid, now)
        if now - since < carry_s and tracked(aid):
            statuses[aid] = shown[aid]
            kept[aid] = since
    return Merged(active, statuses, kept, expired)


def unadopted(handed_at: Mapping[str, float], seen: Callable[[str], bool], now: float,
              after_s: float = UNADOPTED_AFTER_S) -> tuple[list[str], list[str]]:
    """The alerts this shard handed over (``handed_at``: id -> the tick that did, s) that are settled at ``now``:
    (adopted, unadopted).

    Adopted: some shard's latest assessment (this one's included: it came back) shows it active
    (``seen``); the hand-over is done. Unadopted: none has for ``after_s`` or longer: no shard tracks its
    aircraft (it went silent just as it was handed over, so the new owner never saw it), and this shard
    clears it (:func:`cleared_unadopted`), or the alert log would keep it open for ever."""
    adopted = [aid for aid in handed_at if seen(aid)]
    expired = [aid for aid, t in handed_at.items() if now - t >= after_s and not seen(aid)]
    return adopted, expired


def cleared_unadopted(alert: Wire, now: float) -> Wire:
    """``alert`` (wire form) cleared at ``now`` (epoch s) because no shard adopted it after a hand-over."""
    return {**alert, "state": "cleared", "cleared_at": now,
            "details": {**(alert.get("details") or {}), "cleared_reason": UNADOPTED_REASON}}


SubjectKey = tuple[Any, int]
"""(finding kind, subject key): how a monitor's alert book keys a finding (``ConflictMonitor.subject_key``)."""


@dataclass(frozen=True)
class Settled:
    """What one pass's hand-over bookkeeping decided (:meth:`ShardLedger.settle`)."""

    handed: list[str]
    """Alerts whose finding another shard owns now: they leave this shard's published set without a clear."""
    back: list[str]
    """Alerts handed over earlier whose finding this shard owns again: published again (as updated)."""
    silent: frozenset[str]
    """Alerts the book cleared that were handed over: their clear is the owner's, not this shard's."""


@dataclass
class ShardLedger:
    """A monitor shard's bookkeeping of alerts it handed over, the hand-over rule in one place.

    During a pass the monitor sorts each batch's findings (:meth:`sort`) into those this shard owns and
    those another shard owns; after the alert book's update :meth:`settle` decides which active alerts
    go (their finding is foreign now), which come back (owned again) and which clears are silent (the
    book forgets a handed alert when its finding leaves this shard's region: the owner clears it). An
    alert is known by its subject key (``id_of``), kept only while sharded. No I/O, no book: the monitor
    applies the decisions to its book and its published set."""

    id_of: dict[SubjectKey, str] = field(default_factory=dict)
    """(kind, subject key) -> id of the alert active for it (to find the alert of a foreign finding)."""
    handed: set[str] = field(default_factory=set)
    """Alerts handed to another shard: still in the book (it clears them silently), no longer published."""
    indexed: bool = False
    """``id_of`` holds every active alert (built once sharding starts, :meth:`index`)."""
    foreign: list[tuple[Any, I64]] = field(default_factory=list)
    """This pass: subject keys of findings another shard owns, per kind."""
    owned: list[tuple[Any, I64]] = field(default_factory=list)
    """This pass: subject keys of findings this shard owns, per kind."""

    def begin(self) -> None:
        """A new pass: forget the previous pass's sorting."""
        self.foreign = []
        self.owned = []

    def index(self, active: Iterable[tuple[SubjectKey, str]]) -> None:
        """Know the active alerts' keys, once, when the monitor becomes a shard (no-op while indexed)."""
        if not self.indexed:
            self.id_of = dict(active)
            self.indexed = True

    def unshard(self) -> list[str]:
        """The monitor holds every cell now (it took the other shards over): every alert it had handed
        over is its own again (in id order); the index is rebuilt when it is a shard again."""
        self.indexed = False
        back = sorted(self.handed)
        self.handed.clear()
        return back

    def sort(self, kind: Any, keys: I64, mine: npt.NDArray[np.bool_]) -> None:
        """Note a batch's findings: ``keys[mine]`` owned here, the others another shard's."""
        self.foreign.append((kind, keys[~mine]))
        self.owned.append((kind, keys if mine.all() else keys[mine]))

    def adopted(self, key: SubjectKey, alert_id: str) -> bool:
        """An alert adopted into the book under ``key``; True when it is one this shard had handed over
        (it stays handed until a pass finds it owned here)."""
        if self.indexed:
            self.id_of[key] = alert_id
        return alert_id in self.handed

    def settle(self, new: Iterable[tuple[SubjectKey, str]], cleared: Iterable[tuple[SubjectKey, str]],
               published: Container[str]) -> Settled:
        """After the book's update: index the ``new`` alerts; hand over every ``published`` alert whose
        finding was foreign this pass; take back every handed alert whose finding was owned this pass;
        forget ``cleared`` ones, whose clear is silent when they were handed over."""
        for key, aid in new:
            self.id_of[key] = aid
        handed: list[str] = []
        for kind, keys in self.foreign:
            for k in keys.tolist():
                out = self.id_of.get((kind, k))
                if out is not None and out not in self.handed and out in published:
                    self.handed.add(out)
                    handed.append(out)
        back: list[str] = []
        if self.handed:
            for kind, keys in self.owned:
                for k in keys.tolist():
                    home = self.id_of.get((kind, k))
                    if home is not None and home in self.handed:
                        self.handed.discard(home)
                        back.append(home)
        silent: set[str] = set()
        for key, aid in cleared:
            self.id_of.pop(key, None)
            if aid in self.handed:
                self.handed.discard(aid)
                silent.add(aid)
        return Settled(handed, back, frozenset(silent))


@lru_cache(maxsize=4096)
def _shards_near(col: int, row: int, distance_m: float, shards: int, area: Area) -> frozenset[int]:
    """The shards owning a cell within ``distance_m`` of (col, row) (cached: traffic stays in few cells)."""
    near = np.array(cells_within((col, row), distance_m), dtype=np.int64)
    return frozenset(shard_of_cell(near[:, 0], near[:, 1], shards, area).tolist())
