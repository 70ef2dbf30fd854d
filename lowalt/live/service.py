"""The live service: the one place where ingest, the tick, the feed and the history writer meet.

Three loops run on the event loop:

* **feed** (every ``feed_s``, default 0.2 s): rows updated since the last publish go to every
  ``/ws/live`` subscriber as one columnar diff, so a report reaches the map within ~200 ms
  plus transport even though conflicts are computed once a second;
* **tick** (every ``tick_s``, default 1 s): expire tracks whose latest report is older than
  ``lost_after_s`` (report time, not arrival time), flag those silent for ``coast_after_s`` as
  coasting, snapshot both tables, run the monitor (which predicts every track to the tick's time,
  then checks conflicts, intrusion, conformance, lost contact and runs the alert lifecycle) in a
  worker thread, publish the alert diff and per-aircraft status changes;
* **history** (every second): COPY accepted reports and append alert events to PostGIS. While
  PostGIS is away everything above keeps running from memory; the buffer is bounded and every
  point it has to shed is counted. A row PostGIS refuses (bad data) is isolated by bisection,
  counted and reported by ``/healthz`` as ``degraded``; it never blocks the other rows.

**Several nodes** (a durable :class:`lowalt.bus.Bus`: NATS JetStream). Each accepted batch is also
published to the bus; the device's ``ack`` waits for JetStream (``lowalt.bus.ackgate``). Every node
applies the other nodes' batches to its own track tables, so every node's ``/ws/live`` shows every
aircraft. The track history then comes from the bus, not from the local buffer: a node with the
``history`` role runs the shared durable consumer, which acknowledges a message only after its COPY
committed. Nodes with the ``monitor`` role are candidates: the one holding the ``monitor`` lease (NATS
KV, renewed every second) runs the conflict monitor, writes the alert events and publishes each tick's
assessment (statuses, alert diff, active alerts) on the bus; the others apply it to their feed, and the
one that takes the lease over when the holder dies continues the alerts it last published (same ids).
With ``shards`` > 1 (``LOWALT_MONITOR_SHARDS``) the monitor is split by cell (``lowalt.live.shards``):
each candidate holds one shard's lease (``monitor.<k>``), its monitor reads its cells plus a halo and
raises only the alerts it owns; before each tick it adopts the other shards' alerts it now owns (a pair
that moved, a shard that died), clears one it handed over that no shard adopted (its aircraft went silent
as it was handed over), and every node merges the shards' latest assessments for its feed and
``GET /alerts``. A lease's value carries its holder's shard count and cell size: a node set otherwise
takes no lease and says why on ``/healthz``. With the in-process bus (one node) nothing of this changes
anything.

Alerts are stored as insert-only events (raised, updated, acknowledged, cleared) with globally
unique ids; the open ones are adopted again at start-up, so a restart continues them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from lowalt.bus import Bus, ReportRows
from lowalt.bus.ackgate import hold
from lowalt.bus.codec import make_rows
from lowalt.bus.inprocess import InProcessBus
from lowalt.coordination.feed_scope import FULL, FeedScope, visible_alerts
from lowalt.identity.model import Principal, Role
from lowalt.live.hub import BBox, LiveHub
from lowalt.live.shards import (
    POOL_KEEP_S,
    UNADOPTED_AFTER_S,
    ShardOwner,
    ShardTerms,
    alert_owner_point,
    cleared_unadopted,
    halo_m,
    lease_name,
    lease_value,
    merge_shards,
    terms_keys,
    terms_mismatch,
    unadopted,
)
from lowalt.live.shards import REMOTE_KEEP_S as REMOTE_KEEP_S
from lowalt.live.shards import STATUS_CARRY_S as STATUS_CARRY_S
from lowalt.metrics import Metrics
from lowalt.store import live_repo
from lowalt.store.db import Database
from lowalt.store.live_repo import is_data_error
from lowalt.surveillance.reports import (
    RawReport,
    ReportBatch,
    ReportError,
    Source,
    decode_frame,
    validate_reports,
)
from lowalt.surveillance.tracks import Snapshot, TrackTable, concat_snapshots

log = logging.getLogger(__name__)

SOURCE_WIRE = {int(s): s.name.lower() for s in Source}
MAX_UNPUBLISHED = 100_000
"""Reports whose publish failed that a resend may still bring (the oldest are forgotten first)."""
LEASE_RENEW_S = 1.0
"""How often a monitor candidate takes or renews the ``monitor`` lease (a durable bus only)."""
STANDBY_HEARD_S = 3.0
"""A monitor candidate holding no shard says so on the bus every lease round; a node holding more than one
shard that heard it within this long gives one back (rebalancing after a start or a failover)."""
RELEASED_HOLD_OFF_S = 5.0
"""A node does not take back a shard it gave up for this long (the standby node takes it)."""
HISTORY_BATCH_ROWS = 50_000
"""Track points per history transaction (a COPY of this many takes well under a second)."""
ALERT_EVENTS_PER_FLUSH = 20_000
"""Alert events written per history round (once a second); the rest wait for the next round, in order.
The first tick over a dense picture raises ~190,000 alerts: writing their events in one round took the
event loop from ingest for seconds; at this pace it takes ten rounds and a few percent of each."""
FEED_ALERTS_PER_MESSAGE = 5_000
"""At most this many alerts in one ``alerts`` feed message, one such message per feed cycle. The first
tick over a dense picture raises ~190,000 alerts at once: as one 40 MB message it stalled the loop
while it was encoded and every map while it was parsed; paced, they arrive over a few feed cycles."""


class Terrain(Protocol):
    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class AircraftInfo:
    id: str
    category: str
    organisation: str | None
    device_user_id: int | None
    suspended: bool = False
    """Suspended by the centre: its reports are refused (an error frame naming it)."""


@dataclass
class Assessment:
    """What one monitor pass concluded (built in a worker thread; applied on the loop)."""

    statuses: dict[str, str] = field(default_factory=dict)
    """Aircraft id -> status (conforming, deviating, unauthorised, noncoop, ...), for all live tracks."""
    alerts_new: list[dict[str, Any]] = field(default_factory=list)
    alerts_updated: list[dict[str, Any]] = field(default_factory=list)
    alerts_cleared: list[dict[str, Any]] = field(default_factory=list)
    active: dict[str, dict[str, Any]] = field(default_factory=dict)
    """All alerts not yet cleared, by id."""
    handed: list[dict[str, Any]] = field(default_factory=list)
    """A monitor shard's alerts now owned by another shard (not cleared: that shard continues them)."""


class Monitor(Protocol):
    owner: ShardOwner | None
    """The shards this monitor owns (``lowalt.live.shards``); None: all of them."""

    def assess(self, snap: Snapshot, now: float, lost: Snapshot) -> Assessment: ...

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None: ...

    def current_alerts(self) -> list[dict[str, Any]]: ...

    def adopt(self, alerts: list[dict[str, Any]], now: float) -> None: ...

    def close(self) -> None: ...


class Rejection(Exception):
    pass


@dataclass
class LiveConfig:
    tick_s: float = 1.0
    feed_s: float = 0.1
    """Cadence of the live feed: a report waits for the next publication, so this bounds most of its
    report-to-feed latency (0.2 s gave a p99 near 200 ms at 10,000 aircraft)."""
    coast_after_s: float = 3.0
    """A track with no report for this long is flagged coasting (still shown, predicted)."""
    lost_after_s: float = 10.0
    """A track whose latest report is this old (report time) ends: landed, or lost contact."""
    history_flush_s: float = 1.0
    live_queue_size: int = 32
    """Messages a /ws/live subscriber may have waiting before it counts as behind (about 3 s of the feed)."""
    live_max_strikes: int = 5
    live_strike_window_s: float = 60.0
    """A subscriber behind ``live_max_strikes`` times within this window is disconnected."""
    history_max_pending: int = 3_000_000
    service_bbox: BBox = (115.0, 28.0, 119.5, 31.0)


class LiveService:
    def __init__(
        self, db: Database, metrics: Metrics, *, monitor: Monitor, terrain: Terrain | None = None,
        config: LiveConfig | None = None, category_code: Callable[[str], int] | None = None,
        bus: Bus | None = None, node_id: str | None = None, monitor_role: bool = True, history_role: bool = True,
        shards: int = 1, halo: float | None = None,
    ) -> None:
        self.db = db
        self.bus: Bus = bus or InProcessBus()
        self.monitor_candidate = monitor_role
        """This node may run the monitor; with a durable bus it does while it holds the ``monitor`` lease."""
        self.monitor_role = monitor_role and not self.bus.durable
        """This node runs the conflict monitor and writes alert events (one node of a cluster)."""
        self._assessed = False
        """An assessment of the monitor node arrived (its active alerts are known here)."""
        self.history_role = history_role
        """With a durable bus: this node writes track history from the bus's durable consumer."""
        self.shards = shards
        """Monitor shards (``LOWALT_MONITOR_SHARDS``); 1: one monitor for every cell, as before sharding."""
        self.halo_m = halo if halo is not None else halo_m(60.0)
        self.held: frozenset[int] = frozenset(range(shards)) if self.monitor_role else frozenset()
        """The shards whose lease this node holds (all of them on one node)."""
        self._owner: ShardOwner | None = None
        """What the monitor owns from the next tick (None: every cell)."""
        self._remote: dict[str, tuple[float, dict[str, dict[str, Any]], dict[str, str]]] = {}
        """Other monitor shards' latest assessments: node -> (monotonic arrival, active alerts, statuses)."""
        self._pool: dict[str, tuple[dict[str, Any], float]] = {}
        """Alerts waiting for their new owner: id -> (alert, monotonic expiry)."""
        self._handed_out: dict[str, tuple[dict[str, Any], float]] = {}
        """Alerts this node's shard handed over and no shard has shown active since: id -> (alert, the tick
        that handed it, epoch s); cleared here after ``unadopted_after_s`` (``lowalt.live.shards.unadopted``)."""
        self.unadopted_after_s = UNADOPTED_AFTER_S
        self.shard_refusal: str | None = None
        """Why this node takes no monitor lease: another node holds one with other shard terms (a different
        ``LOWALT_MONITOR_SHARDS``; ``lowalt.live.shards.terms_mismatch``). None: the terms agree."""
        self._own_active: dict[str, dict[str, Any]] = {}
        self._own_statuses: dict[str, str] = {}
        self._carried: dict[str, float] = {}
        """Statuses kept although no shard's latest tick has them: id -> since (monotonic s), see STATUS_CARRY_S."""
        self._standby_heard = -1e9
        """When a monitor candidate holding no shard was last heard (monotonic s)."""
        self._released: dict[int, float] = {}
        """Shard -> when this node gave it up (monotonic s)."""
        self.share_assessments = self.bus.durable
        """Publish each tick's assessment on the bus (a cluster; tests of two services may set it)."""
        self.metrics = metrics
        self.monitor = monitor
        self.terrain = terrain
        self.config = config or LiveConfig()
        self.category_code = category_code or (lambda _c: 0)
        self.coop = TrackTable(4096, cooperative=True)
        self.noncoop = TrackTable(256, cooperative=False)
        self.hub = LiveHub(metrics, max_strikes=self.config.live_max_strikes,
                           strike_window_s=self.config.live_strike_window_s, queue_size=self.config.live_queue_size)
        self.aircraft: dict[str, AircraftInfo] = {}
        self.statuses: dict[str, str] = {}
        self.active_alerts: dict[str, dict[str, Any]] = {}
        self._lost_pending: list[str] = []
        self._alert_backlog: deque[AlertDiff] = deque()
        """Alert diffs waiting for the feed, in order, at most ``FEED_ALERTS_PER_MESSAGE`` alerts each."""
        self._history: deque[list[tuple[Any, ...]]] = deque()
        self._history_pending = 0
        """Points waiting in ``_history``."""
        self._history_inflight = 0
        """Points taken out of ``_history`` by a write in progress."""
        self._alert_events: list[tuple[str, dict[str, Any]]] = []
        """(event, alert wire dict) waiting to be appended to the alert log."""
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.history_rejected = 0
        """Rows PostGIS refused (bad data, isolated by bisection): /healthz says degraded."""
        self.history_last_error: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outgoing: list[ReportRows] = []
        self._unpublished: dict[tuple[str, float], None] = {}
        """(track id, report time) of reports the bus did not store (an ordered set, bounded)."""
        """Accepted rows of the frame being ingested, for the bus."""
        self.tick_count = 0
        self.before_tick: list[Callable[[float], None]] = []
        """Run on the event loop before each snapshot (e.g. freeze the approved plans for the monitor)."""
        self.on_snapshot: list[Callable[[Snapshot, float], None]] = []
        """Run on the event loop with each tick's snapshot (e.g. activate plans on first telemetry)."""

    # -- registry ------------------------------------------------------------------------

    def register_aircraft(self, info: AircraftInfo, *, announce: bool = True) -> None:
        """Know ``info`` (authorisation, category); in a cluster, tell the other nodes too."""
        self.aircraft[info.id] = info
        if announce and self.share_assessments:
            payload = orjson.dumps({"node": self.node_id, "id": info.id, "category": info.category,
                                    "organisation": info.organisation, "device_user_id": info.device_user_id,
                                    "suspended": info.suspended})
            self._feed_soon("aircraft", payload)

    def _feed_soon(self, kind: str, payload: bytes) -> None:
        task = asyncio.ensure_future(self.bus.publish_feed(kind, payload))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # core NATS: best effort

    # -- ingest --------------------------------------------------------------------------

    def ingest(self, principal: Principal, data: bytes | str, now: float | None = None) -> tuple[int, list[ReportError]]:
        """Validate, authorise and store one frame. Returns (accepted, errors); never raises on bad input."""
        now = time.time() if now is None else now
        return self._ingest(principal, decode_frame(data, now=now, service_bbox=self.config.service_bbox), now)

    def ingest_reports(self, principal: Principal, reports: Sequence[RawReport], now: float | None = None
                       ) -> tuple[int, list[ReportError]]:
        """Typed reports from the device feeds (``lowalt.feeds``): the same path as a frame, with no JSON
        encoded and parsed back in between."""
        now = time.time() if now is None else now
        return self._ingest(principal, validate_reports(reports, now=now, service_bbox=self.config.service_bbox), now)

    def _ingest(self, principal: Principal, batch: ReportBatch, now: float) -> tuple[int, list[ReportError]]:
        self.metrics.inc("lowalt_frames_total")
        errors = list(batch.errors)
        if len(batch):
            batch = self._authorise(principal, batch, errors)
        accepted = self._store(batch, now, errors, principal) if len(batch) else 0
        if self._outgoing:
            self._publish_outgoing(now)
        for e in errors:
            self.metrics.inc("lowalt_reports_rejected_total", reason=e.code)
        return accepted, errors

    def _authorise(self, principal: Principal, batch: ReportBatch, errors: list[ReportError]) -> ReportBatch:
        if principal.role is Role.ADMIN:
            return batch
        ok = np.ones(len(batch), dtype=np.bool_)
        sensor = (batch.source == int(Source.NONCOOP)).tolist()  # detections: any device (radar, RF) may report
        registry, uid, org = self.aircraft, principal.user_id, principal.organisation
        for k, aid in enumerate(batch.ids):
            if sensor[k]:
                continue
            info = registry.get(aid)
            owned = info is not None and (info.device_user_id == uid or (org is not None and info.organisation == org))
            if owned and info is not None and not info.suspended:
                continue
            ok[k] = False
            if owned:
                errors.append(ReportError("aircraft_suspended", f"aircraft {aid!r} is suspended by the coordination "
                                          "centre; its reports are refused (航空器已被暂停使用)", "id", k, aid))
            elif info is None:
                errors.append(ReportError("unknown_aircraft", f"aircraft {aid!r} is not registered", "id", k, aid))
            else:
                errors.append(ReportError("not_your_aircraft",
                                          f"this token may not report aircraft {aid!r}", "id", k, aid))
        return batch if ok.all() else batch.select(ok)

    def _store(self, batch: ReportBatch, now: float, errors: list[ReportError], principal: Principal) -> int:
        alt = batch.alt
        if batch.agl.any():
            alt = alt.copy()
            ground = self.terrain.elevation(batch.lon[batch.agl], batch.lat[batch.agl]) if self.terrain else 0.0
            alt[batch.agl] = alt[batch.agl] + ground
        noncoop = batch.source == Source.NONCOOP
        accepted_total = 0
        for table, mask in ((self.coop, ~noncoop), (self.noncoop, noncoop)):
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            ids = [batch.ids[i] for i in idx]
            if table is self.noncoop:  # a sensor's own id space: never a registered aircraft's id
                ids = [noncoop_track_id(principal.name, i) for i in ids]
            cats = np.array(
                [self.category_code(self.aircraft[a].category if a in self.aircraft else (batch.category[i] or "unknown"))
                 for a, i in zip(ids, idx, strict=True)], dtype=np.int8,
            )
            res = table.upsert(
                ids, lon=batch.lon[idx], lat=batch.lat[idx], alt=alt[idx], vx=batch.vx[idx], vy=batch.vy[idx],
                vz=batch.vz[idx], t=batch.t[idx], t_recv=now, battery=batch.battery[idx],
                source=batch.source[idx], category=cats, landed=batch.landed[idx],
            )
            resent = self._resent(ids, batch.t[idx], res.duplicate) if self._unpublished else None
            for k in np.flatnonzero(res.duplicate if resent is None else res.duplicate & ~resent):
                errors.append(ReportError("duplicate", "same report time as the one already held for this aircraft",
                                          "t", int(idx[k]), batch.ids[idx[k]]))
            if res.late.any():  # true positions of the past: history keeps them, the track does not move back
                self.metrics.inc("lowalt_reports_out_of_order_total", int(res.late.sum()))
            good = res.accepted | res.late if resent is None else res.accepted | res.late | resent
            accepted_total += int(good.sum())
            good_ids = [a for a, g in zip(ids, good.tolist(), strict=True) if g]
            if not self.bus.durable:  # one node: the history comes from this buffer
                self._buffer_history(batch, alt, idx[good], ids=good_ids)
            if good_ids:
                self._outgoing.append(_rows(self.node_id, now, batch, alt, idx[good], good_ids, cats[good]))
        self.metrics.inc("lowalt_reports_accepted_total", accepted_total)
        return accepted_total

    def _buffer_history(self, batch: ReportBatch, alt: npt.NDArray[np.float64], idx: npt.NDArray[np.int64],
                        ids: list[str]) -> None:
        if not len(idx):
            return
        recs = list(zip(
            ids, batch.t[idx].tolist(), batch.lon[idx].tolist(), batch.lat[idx].tolist(),
            alt[idx].tolist(), batch.vx[idx].tolist(), batch.vy[idx].tolist(), batch.vz[idx].tolist(),
            batch.source[idx].astype(int).tolist(), strict=True,
        ))
        self._history.append(recs)
        self._history_pending += len(recs)
        self._shed_overflow()

    def _shed_overflow(self) -> None:
        """Keep buffered + in-flight points within the bound, dropping the oldest buffered ones (counted)."""
        while self._history_pending + self._history_inflight > self.config.history_max_pending and self._history:
            shed = self._history.popleft()
            self._history_pending -= len(shed)
            self.metrics.inc("lowalt_history_dropped_total", len(shed))
        self.metrics.set("lowalt_history_pending", self._history_pending + self._history_inflight)

    # -- bus ---------------------------------------------------------------------------------

    def _publish_outgoing(self, now: float) -> None:
        parts, self._outgoing = self._outgoing, []
        rows = parts[0] if len(parts) == 1 else _concat_rows(parts, self.node_id, now)
        fut = self.bus.publish_reports(rows)
        if fut is not None:
            fut.add_done_callback(lambda f: self._published(rows, f))
            hold(fut)  # the device's ack waits for the bus (see lowalt.bus.ackgate)

    def _published(self, rows: ReportRows, fut: asyncio.Future[None]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self.metrics.inc("lowalt_bus_publish_failed_total")
            # the device is told accepted 0 and sends them again: take that resend although the
            # track already holds these reports (it would be refused as a duplicate)
            self._unpublished.update(dict.fromkeys(zip(rows.ids, rows.f64("t").tolist(), strict=True)))
            while len(self._unpublished) > MAX_UNPUBLISHED:
                del self._unpublished[next(iter(self._unpublished))]
        else:
            self.metrics.inc("lowalt_bus_published_total")

    def _resent(self, ids: list[str], t: npt.NDArray[np.float64], duplicate: npt.NDArray[np.bool_]
                ) -> npt.NDArray[np.bool_]:
        """Which duplicates are resends of reports whose publish failed (taken once more)."""
        out = np.zeros(len(ids), dtype=np.bool_)
        for k in np.flatnonzero(duplicate):
            key = (ids[k], float(t[k]))
            if key in self._unpublished:
                del self._unpublished[key]
                out[k] = True
        return out

    def apply_remote_reports(self, rows: ReportRows) -> None:
        """Another node's accepted batch (already validated there): into this node's track tables."""
        if rows.node == self.node_id or not len(rows):
            return
        source = rows.i8("source")
        noncoop = source == int(Source.NONCOOP)
        cols = {c: rows.f64(c) for c in ("lon", "lat", "alt", "vx", "vy", "vz", "t", "battery")}
        category, landed = rows.i8("category"), rows.landed_mask()
        for table, mask in ((self.coop, ~noncoop), (self.noncoop, noncoop)):
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            table.upsert([rows.ids[i] for i in idx], lon=cols["lon"][idx], lat=cols["lat"][idx], alt=cols["alt"][idx],
                         vx=cols["vx"][idx], vy=cols["vy"][idx], vz=cols["vz"][idx], t=cols["t"][idx],
                         t_recv=rows.t_recv, battery=cols["battery"][idx], source=source[idx],
                         category=category[idx], landed=landed[idx])
        self.metrics.inc("lowalt_bus_reports_applied_total", len(rows))

    def apply_remote_feed(self, kind: str, payload: bytes) -> None:
        """Another node's feed message: an aircraft registered there (``aircraft``), or the monitor
        node's assessment of a tick (``assessment``, applied by a node without the monitor role)."""
        msg = orjson.loads(payload)
        if msg.get("node") == self.node_id:
            return
        if kind == "aircraft":
            self.register_aircraft(AircraftInfo(msg["id"], msg["category"], msg["organisation"],
                                                msg["device_user_id"], bool(msg.get("suspended"))), announce=False)
            return
        if kind == "assessment" and self.shards > 1:
            self._apply_remote_shard(msg)
            return
        if kind == "standby":
            self._standby_heard = time.monotonic()
            return
        if kind != "assessment" or self.monitor_role:
            return
        statuses: dict[str, str] = msg["statuses"]
        self._mark_status_changes(statuses)
        self.statuses = statuses
        self.active_alerts = msg["active"]
        self._assessed = True
        self._publish_alert_diff(msg["new"], msg["updated"], msg["cleared"], float(msg["t"]))

    async def _hold_monitor_lease(self) -> None:
        """Run the monitor while this node holds the lease; on taking it over, continue the alerts the
        previous monitor published (same ids), or those open in PostGIS when none arrived yet."""
        if not self.monitor_role and await self._terms_differ():
            return  # another node runs monitor shards of other terms: taking this lease would overlap them
        held = await self.bus.hold_lease("monitor", self._lease_value())
        if held == self.monitor_role:
            return
        if not held:
            log.warning("monitor_lease_lost", extra={"node": self.node_id})
            self.monitor_role = False
            return
        now = time.time()
        if self._assessed:
            await asyncio.to_thread(self.monitor.adopt, list(self.active_alerts.values()), now)
        else:
            try:
                await self.adopt_open_alerts(now)
            except Exception as exc:
                log.warning("alert_adoption_failed", extra={"error": str(exc)[:200]})
        self.monitor_role = True
        self.metrics.inc("lowalt_monitor_takeovers_total")
        log.info("monitor_lease_taken", extra={"node": self.node_id, "alerts": len(self.active_alerts)})

    # -- monitor shards (lowalt.live.shards) ---------------------------------------------------

    def _shard_order(self) -> list[int]:
        """The shards in the order this node tries them: its own start point, so nodes spread out."""
        first = zlib.crc32(self.node_id.encode()) % self.shards
        return [(first + k) % self.shards for k in range(self.shards)]

    async def _hold_shard_leases(self) -> None:
        """One lease round: renew the shard leases held, take every free shard (no cell goes unwatched:
        at a start, or when a holder died and its key aged out), and when another candidate holds none,
        give one of several back so that it takes it (each node then holds one shard, the design's normal
        state). A candidate holding none says so on the bus. A node that sees a lease held with other shard
        terms (``_terms_differ``) renews what it holds but takes nothing and does not say it stands by (the
        others would give it a shard it will not take)."""
        value = self._lease_value()
        held: set[int] = set()
        for k in sorted(self.held):  # renewals first: the terms' reads never delay them
            if await self.bus.hold_lease(lease_name(k, self.shards), value):
                held.add(k)
            else:
                log.warning("monitor_shard_lease_lost", extra={"node": self.node_id, "shard": k})
        refused = await self._terms_differ()
        now = time.monotonic()
        if len(held) > 1 and now - self._standby_heard <= STANDBY_HEARD_S:
            give = max(held)
            await self.bus.release_lease(lease_name(give, self.shards))
            held.discard(give)
            self._released[give] = now
            self._standby_heard = -1e9  # one per standby node heard
            log.info("monitor_shard_given_back", extra={"node": self.node_id, "shard": give})
        for k in [] if refused else self._shard_order():
            if k in held or (held and now - self._released.get(k, -1e9) < RELEASED_HOLD_OFF_S):
                continue
            if await self.bus.hold_lease(lease_name(k, self.shards), value):
                held.add(k)
        if frozenset(held) != self.held:
            await self._set_held(frozenset(held))
        if not held and not refused:
            self._feed_soon("standby", orjson.dumps({"node": self.node_id}))

    def _lease_value(self) -> str:
        """What this node's monitor leases hold: its id and its shard terms (``lowalt.live.shards.lease_value``)."""
        return lease_value(self.node_id, ShardTerms(self.shards))

    async def _terms_differ(self) -> bool:
        """Read the cluster's monitor leases; True (and said once in the log, always in ``/healthz``) while
        another node holds one with other shard terms than this node's."""
        seen = {key: await self.bus.read_lease(key) for key in terms_keys(self.shards)}
        why = terms_mismatch(self.node_id, ShardTerms(self.shards), seen)
        if why != self.shard_refusal:
            if why is not None:
                log.error("monitor_shard_terms_differ", extra={"node": self.node_id, "why": why})
            else:
                log.info("monitor_shard_terms_agree", extra={"node": self.node_id, "shards": self.shards})
            self.shard_refusal = why
        self.metrics.set("lowalt_monitor_shard_terms_differ", 1.0 if why is not None else 0.0)
        return why is not None

    async def _set_held(self, held: frozenset[int]) -> None:
        taken, first = held - self.held, not self.held
        self.held = held
        self.monitor_role = bool(held)
        self._owner = None if held == frozenset(range(self.shards)) else \
            ShardOwner(self.shards, held, self.halo_m, self.config.service_bbox)
        if not held:
            self._own_active, self._own_statuses = {}, {}
            self._merge_shards()
            return
        if taken:
            self.metrics.inc("lowalt_monitor_takeovers_total")
            log.info("monitor_shards_taken", extra={"node": self.node_id, "shards": sorted(taken),
                                                     "held": sorted(held)})
        if first and not self._assessed:  # nothing heard from other shards: alerts open in PostGIS
            try:
                async with self.db.unit_of_work() as uow:
                    rows = await live_repo.open_alerts(uow.conn)
            except Exception as exc:
                log.warning("alert_adoption_failed", extra={"error": str(exc)[:200]})
                return
            expires = time.monotonic() + POOL_KEEP_S
            for w in rows:
                self._pool.setdefault(w["id"], (w, expires))

    def _apply_remote_shard(self, msg: dict[str, Any]) -> None:
        """Another monitor shard's tick: its part of the picture, its alert diff to this node's feed."""
        now = time.monotonic()
        self._remote[msg["node"]] = (now, msg["active"], msg["statuses"])
        for w in msg.get("handed", []):
            self._pool[w["id"]] = (w, now + POOL_KEEP_S)
        for aid in msg["cleared"]:
            self._pool.pop(aid, None)
        if self._handed_out:  # handed over from here: adopted (or already cleared) by that shard
            done = [aid for aid in self._handed_out if aid in msg["active"] or aid in msg["cleared"]]
            for aid in done:
                del self._handed_out[aid]
        self._assessed = True
        self._merge_shards()
        self._publish_alert_diff(msg["new"], msg["updated"], msg["cleared"], float(msg["t"]))

    def _merge_shards(self) -> None:
        """Every shard's active alerts and statuses, this node's own last (``lowalt.live.shards.merge_shards``)."""
        m = merge_shards(self._remote, self._own_active, self._own_statuses, self.statuses, self._carried,
                         lambda aid: aid in self.coop.slot or aid in self.noncoop.slot, time.monotonic())
        for node in m.expired:
            del self._remote[node]
        self._carried = m.carried
        self._mark_status_changes(m.statuses)
        self.statuses = m.statuses
        self.active_alerts = m.active

    def _adoptable(self, snap: Snapshot, owner: ShardOwner | None) -> list[dict[str, Any]]:
        """Other shards' alerts (active, handed over, or open in PostGIS) that this shard owns now by the
        positions in ``snap``: a failover, or a pair whose midpoint crossed into this shard's cells."""
        now = time.monotonic()
        for aid in [a for a, (_, exp) in self._pool.items() if exp < now]:
            del self._pool[aid]
        candidates: dict[str, dict[str, Any]] = {aid: w for aid, (w, _) in self._pool.items()}
        for _, alerts, _ in self._remote.values():
            candidates.update(alerts)
        fresh = [w for aid, w in candidates.items() if aid not in self._own_active]
        if not fresh:
            return []
        where = dict(zip(snap.ids, zip(snap.lon.tolist(), snap.lat.tolist(), strict=True), strict=True))
        points = [(w, alert_owner_point(w, where)) for w in fresh]
        known = [(w, p) for w, p in points if p is not None]
        if not known:
            return []
        if owner is None:
            return [w for w, _ in known]
        mine = owner.owns([p[0] for _, p in known], [p[1] for _, p in known])
        return [w for (w, _), m in zip(known, mine.tolist(), strict=True) if m]

    async def _serve_acknowledge(self, payload: bytes) -> bytes | None:
        """Another node's ``POST /alerts/{id}/ack``: answered by the monitor node only."""
        if not self.monitor_role:
            return None
        req = orjson.loads(payload)
        alert = await self._acknowledge_here(str(req["id"]), str(req["by"]), float(req["at"]))
        if alert is None and self.shards > 1:  # another shard's alert: it answers
            return None
        return orjson.dumps(alert, option=orjson.OPT_SERIALIZE_NUMPY)

    async def _write_bus_history(self, records: list[tuple[object, ...]]) -> int:
        with self.metrics.time("lowalt_history_write_seconds"):
            written = await self._write(records, [])
        self.metrics.inc("lowalt_history_written_total", written)
        return written

    # -- feed ------------------------------------------------------------------------------

    def _rows_payload(self, snap: Snapshot, bbox: BBox | None) -> dict[str, Any]:
        if bbox is not None and snap.n:
            w, s, e, n = bbox
            keep = np.flatnonzero((snap.lon >= w) & (snap.lon <= e) & (snap.lat >= s) & (snap.lat <= n))
            ids = [snap.ids[i] for i in keep]
        else:
            keep = slice(None)  # type: ignore[assignment]
            ids = snap.ids
        vx, vy = snap.vx[keep], snap.vy[keep]
        return {
            "ids": ids,
            "lon": np.round(snap.lon[keep], 6),
            "lat": np.round(snap.lat[keep], 6),
            "alt": np.round(snap.alt[keep], 1),
            "hdg": np.round(np.degrees(np.arctan2(vx, vy)) % 360.0, 0),
            "gs": np.round(np.hypot(vx, vy), 1),
            "vs": np.round(snap.vz[keep], 1),
            "tr": np.round(snap.t[keep], 3),
            "src": [SOURCE_WIRE[int(s)] for s in snap.source[keep]],
            "st": [self.statuses.get(i, "unknown") for i in ids],
            "co": _flags(snap.coasting, keep, len(ids)),
            "gnd": _flags(snap.landed, keep, len(ids)),
        }

    def _full_snapshot(self) -> Snapshot:
        return concat_snapshots([self.coop.snapshot(), self.noncoop.snapshot()])

    def _snapshot_message(self, bbox: BBox | None, now: float, scope: FeedScope = FULL) -> bytes:
        """The full picture (tracks and the active alerts its party may see) for a new or resynchronised
        subscriber."""
        msg = {"type": "snapshot", "t": now, "tracks": self._rows_payload(self._full_snapshot(), bbox),
               "alerts": visible_alerts(scope, self.active_alerts.values())}
        return orjson.dumps(msg, option=orjson.OPT_SERIALIZE_NUMPY)

    def _publish_alert_backlog(self) -> None:
        """The next waiting alert diff to the feed (one a feed cycle; see ``FEED_ALERTS_PER_MESSAGE``)."""
        if self._alert_backlog:
            self._publish_alert_diff(*self._alert_backlog.popleft())

    def publish_tracks(self, now: float | None = None) -> None:
        self._publish_alert_backlog()
        now = time.time() if now is None else now
        parts = [t.snapshot(t.take_dirty()) for t in (self.coop, self.noncoop)]
        changed = concat_snapshots(parts)
        lost, self._lost_pending = self._lost_pending, []
        if not self.hub.subscribers:
            return

        def build(bbox: BBox | None, snapshot: bool, scope: FeedScope) -> bytes | None:
            if snapshot:
                return self._snapshot_message(bbox, now, scope)
            if not changed.n and not lost:
                return None
            msg = {"type": "tracks", "t": now, "tracks": self._rows_payload(changed, bbox), "lost": lost}
            return orjson.dumps(msg, option=orjson.OPT_SERIALIZE_NUMPY)

        self.hub.publish(build, shared_diffs=True)

    def publish_snapshot_to(self, sub: Any) -> None:
        """Queue a full snapshot for one (new or resubscribing) subscriber."""
        with contextlib.suppress(asyncio.QueueFull):
            sub.queue.put_nowait(self._snapshot_message(sub.bbox, time.time(), sub.scope))
            sub.needs_snapshot = False

    # -- tick ------------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> Assessment:
        now = time.time() if now is None else now
        started = time.perf_counter()
        gone = concat_snapshots([self.coop.expire(now, self.config.lost_after_s),
                                 self.noncoop.expire(now, self.config.lost_after_s)])
        if gone.n:
            self.metrics.inc("lowalt_tracks_ended_total", gone.n)
            self._lost_pending.extend(gone.ids)
        self.coop.mark_coasting(now, self.config.coast_after_s)
        self.noncoop.mark_coasting(now, self.config.coast_after_s)
        if not self.monitor_role:  # the monitor node assesses; its results arrive over the bus
            if self.shards > 1:  # a dead shard's alerts leave the picture after REMOTE_KEEP_S
                self._merge_shards()
            self.tick_count += 1
            self.metrics.inc("lowalt_tick_total")
            self.metrics.set("lowalt_tracks", len(self.coop), kind="cooperative")
            self.metrics.set("lowalt_tracks", len(self.noncoop), kind="noncooperative")
            self.metrics.set("lowalt_alerts_active", len(self.active_alerts))
            return Assessment(statuses=self.statuses, active=self.active_alerts)
        for hook in self.before_tick:
            hook(now)
        snap = self._full_snapshot()
        owned = snap
        if self.shards > 1:
            owner = self.monitor.owner = self._owner
            if owner is not None and snap.n:  # plan hooks: the aircraft in this shard's cells
                owned = snap.select(np.flatnonzero(owner.owns(snap.lon, snap.lat)))
            adoptable = self._adoptable(snap, owner)
            if adoptable:  # alerts whose owner this shard now is: continued under their ids
                await asyncio.to_thread(self.monitor.adopt, adoptable, now)
        for seen in self.on_snapshot:
            seen(owned, now)
        result = await asyncio.to_thread(self.monitor.assess, snap, now, gone)
        self._apply(result, now)
        self.tick_count += 1
        self.metrics.inc("lowalt_tick_total")
        self.metrics.set("lowalt_tick_seconds", time.perf_counter() - started)
        for phase, ms in dict(getattr(self.monitor, "last_phases_ms", {})).items():  # tick phases
            self.metrics.observe("lowalt_tick_phase_seconds", ms / 1000.0, phase=phase)
        self.metrics.set("lowalt_tracks", len(self.coop), kind="cooperative")
        self.metrics.set("lowalt_tracks", len(self.noncoop), kind="noncooperative")
        self.metrics.set("lowalt_tracks_coasting", int(self.coop.coasting[: self.coop.n].sum()
                                                       + self.noncoop.coasting[: self.noncoop.n].sum()))
        self.metrics.set("lowalt_alerts_active", len(self.active_alerts))
        return result

    def _mark_status_changes(self, statuses: dict[str, str]) -> None:
        for aid, st in statuses.items():
            if self.statuses.get(aid) != st:
                for table in (self.coop, self.noncoop):
                    row = table.slot.get(aid)
                    if row is not None:
                        table.dirty[row] = True

    def _apply(self, result: Assessment, now: float) -> None:
        if self.shards > 1:  # this shard's part of the picture, merged with the other shards'
            self._settle_handed(result, now)
            self._own_active, self._own_statuses = result.active, result.statuses
            self._merge_shards()
        else:
            self._mark_status_changes(result.statuses)
            self.statuses = result.statuses
            self.active_alerts = result.active
        self._alert_events += [("raised", a) for a in result.alerts_new]
        self._alert_events += [("updated", a) for a in result.alerts_updated]
        self._alert_events += [("cleared", a) for a in result.alerts_cleared]
        cleared = [a["id"] for a in result.alerts_cleared]
        self._alert_backlog.extend(_alert_parts(result.alerts_new, result.alerts_updated, cleared, now))
        self._publish_alert_backlog()
        if self.share_assessments:
            payload = orjson.dumps({"node": self.node_id, "t": now, "statuses": result.statuses,
                                    "active": result.active, "new": result.alerts_new,
                                    "updated": result.alerts_updated, "cleared": cleared,
                                    "shards": sorted(self.held), "handed": result.handed},
                                   option=orjson.OPT_SERIALIZE_NUMPY)
            self._feed_soon("assessment", payload)

    def _settle_handed(self, result: Assessment, now: float) -> None:
        """Note the alerts this tick handed over; clear those no shard adopted (``lowalt.live.shards.unadopted``)
        with this tick's clears, so that the alert log and every node's feed close them."""
        for w in result.handed:
            self._handed_out[w["id"]] = (w, now)
        if not self._handed_out:
            return
        # another shard's adoption is seen in its assessment (_apply_remote_shard), a return here in this one
        adopted, expired = unadopted({aid: t for aid, (_, t) in self._handed_out.items()},
                                     lambda aid: aid in result.active, now, self.unadopted_after_s)
        for aid in adopted:
            del self._handed_out[aid]
        for aid in expired:
            gone = cleared_unadopted(self._handed_out.pop(aid)[0], now)
            result.alerts_cleared.append(gone)
            log.info("alert_cleared_unadopted", extra={"node": self.node_id, "alert": aid})

    def _publish_alert_diff(self, new: list[dict[str, Any]], updated: list[dict[str, Any]], cleared: list[str],
                            now: float) -> None:
        if (new or updated or cleared) and self.hub.subscribers:
            diff = self.hub.alert_diff(new, updated, cleared, now)  # per party scope (lowalt.coordination.feed_scope)
            self.hub.publish(lambda bbox, snapshot, scope: self._snapshot_message(bbox, now, scope) if snapshot
                             else diff(scope))

    async def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        """Mark an active alert acknowledged; tell the feed and the alert log.

        The monitor applies it under its lock in a worker thread, so it never races a tick
        running in another thread and never blocks the event loop while one runs.
        """
        if self.monitor_role:
            here = await self._acknowledge_here(alert_id, by, at)
            if here is not None or self.shards == 1:
                return here
        # another node runs the monitor (or, with shards, owns this alert): it applies the acknowledgement
        reply = await self.bus.request("alert-ack", orjson.dumps({"id": alert_id, "by": by, "at": at}))
        forwarded: dict[str, Any] | None = orjson.loads(reply) if reply else None
        if forwarded is not None:
            self.active_alerts[alert_id] = forwarded
        return forwarded

    async def _acknowledge_here(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        alert = await asyncio.to_thread(self.monitor.acknowledge, alert_id, by, at)
        if alert is None:
            return None
        self.active_alerts[alert_id] = alert
        self._alert_events.append(("acknowledged", alert))
        diff = self.hub.alert_diff([], [alert], [], at)
        self.hub.publish(lambda bbox, snapshot, scope: self._snapshot_message(bbox, at, scope) if snapshot
                         else diff(scope))
        return alert

    async def current_alerts(self) -> list[dict[str, Any]]:
        """Every active alert with the details of the latest tick (time-to-loss etc. kept current)."""
        if self.shards > 1:  # every shard's, as published with its latest tick; this node's own ones current
            merged = dict(self.active_alerts)
            if self.monitor_role:
                merged.update((a["id"], a) for a in await asyncio.to_thread(self.monitor.current_alerts))
            return list(merged.values())
        if not self.monitor_role:  # as the monitor node published them with its latest tick
            return list(self.active_alerts.values())
        return await asyncio.to_thread(self.monitor.current_alerts)

    def health(self) -> dict[str, Any]:
        """Problems of the live path that ``/healthz`` reports (empty when all is well)."""
        issues: dict[str, Any] = {}
        if self.history_rejected:
            issues["history_rows_rejected"] = self.history_rejected
            issues["history_last_error"] = self.history_last_error
        if self.shard_refusal is not None:
            issues["monitor_shards_refused"] = self.shard_refusal
        return issues

    # -- history -----------------------------------------------------------------------------

    async def flush_history(self, events_limit: int | None = ALERT_EVENTS_PER_FLUSH) -> int:
        """Write buffered points and alert events; on failure put back what was not written.

        Points go in batches of at most ``HISTORY_BATCH_ROWS``, one transaction each, so a backlog
        after an outage never becomes one statement longer than the database's command timeout.
        The chunks being written leave the buffer for the duration of the write, so a burst that
        overflows the buffer meanwhile sheds (and counts) only points that are not being written.
        When PostGIS refuses the data itself (not a lost connection), the offending rows are found
        by bisection and set aside (counted, ``/healthz`` degraded); the rest is written.
        At most ``events_limit`` alert events go per round (None: all, as at a stop).
        """
        chunks = list(self._history)
        events = self._alert_events[:events_limit]
        if not chunks and not events:
            return 0
        self._history.clear()
        self._alert_events = self._alert_events[len(events):]
        total = sum(len(c) for c in chunks)
        self._history_pending -= total
        self._history_inflight = total
        written = 0
        start = 0
        try:
            while start < len(chunks) or events:
                end, rows = start, 0
                while end < len(chunks) and (rows == 0 or rows + len(chunks[end]) <= HISTORY_BATCH_ROWS):
                    rows += len(chunks[end])
                    end += 1
                records = [r for c in chunks[start:end] for r in c]
                with self.metrics.time("lowalt_history_write_seconds"):
                    written += await self._write(records, events)
                events = []
                self._history_inflight -= rows
                start = end
        except Exception as exc:  # database away: keep buffering what is left, try again next round
            left = chunks[start:]
            n_left = sum(len(c) for c in left)
            log.warning("history_write_failed", extra={"pending": n_left + self._history_pending,
                                                       "error": str(exc)[:200]})
            self._history.extendleft(reversed(left))
            self._alert_events = events + self._alert_events
            self._history_pending += n_left
            self._history_inflight = 0
            self._shed_overflow()
            if written:
                self.metrics.inc("lowalt_history_written_total", written)
            return written
        self._history_inflight = 0
        self.metrics.inc("lowalt_history_written_total", written)
        self.metrics.set("lowalt_history_pending", self._history_pending)
        return written

    async def _write(self, records: list[tuple[Any, ...]], events: list[tuple[str, dict[str, Any]]]) -> int:
        """One transaction for everything; if PostGIS refuses the data, isolate the bad rows."""
        try:
            async with self.db.unit_of_work() as uow:
                await live_repo.copy_track_points(uow.conn, records)
                await live_repo.append_alert_events(uow.conn, events, node=self.node_id)
                await uow.commit()
            return len(records)
        except Exception as exc:
            if not is_data_error(exc):
                raise
        async with self.db.unit_of_work() as uow:  # events are built by us: they go on their own
            await live_repo.append_alert_events(uow.conn, events, node=self.node_id)
            await uow.commit()
        return await self._write_isolating(records)

    async def _write_isolating(self, records: list[tuple[Any, ...]]) -> int:
        if not records:
            return 0
        try:
            async with self.db.unit_of_work() as uow:
                await live_repo.copy_track_points(uow.conn, records)
                await uow.commit()
            return len(records)
        except Exception as exc:
            if not is_data_error(exc):
                raise
            if len(records) == 1:
                self.history_rejected += 1
                self.history_last_error = f"{type(exc).__name__}: {str(exc)[:160]}"
                self.metrics.inc("lowalt_history_rejected_total")
                log.error("history_row_rejected", extra={"aircraft": str(records[0][0])[:64],
                                                         "error": self.history_last_error})
                return 0
        half = len(records) // 2
        return await self._write_isolating(records[:half]) + await self._write_isolating(records[half:])

    async def adopt_open_alerts(self, now: float | None = None) -> int:
        """Continue the alerts a previous run left open (same ids); those not seen again clear."""
        now = time.time() if now is None else now
        async with self.db.unit_of_work() as uow:
            rows = await live_repo.open_alerts(uow.conn)
        await asyncio.to_thread(self.monitor.adopt, rows, now)
        return len(rows)

    # -- loops -------------------------------------------------------------------------------

    async def _every(self, period: float, work: Callable[[], Any], stop: asyncio.Event | None = None) -> None:
        """Run ``work`` every ``period`` s; with ``stop``, finish the current round and return when set
        (a history write is never cancelled half-way: asyncpg may not come back from a cancelled COPY)."""
        next_at = time.monotonic()
        while stop is None or not stop.is_set():
            next_at += period
            try:
                r = work()
                if asyncio.iscoroutine(r):
                    await r
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live_loop_error")
            delay = next_at - time.monotonic()
            if delay < 0:  # overran: skip missed slots rather than bunching up
                next_at = time.monotonic()
                delay = 0
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def start(self) -> None:
        hold_leases = self._hold_shard_leases if self.shards > 1 else self._hold_monitor_lease
        if self.monitor_candidate and self.bus.durable:
            with contextlib.suppress(Exception):
                await hold_leases()
        if self.monitor_role and self._owner is None:  # a shard adopts only what it owns (_set_held, tick)
            try:
                await self.adopt_open_alerts()
            except Exception as exc:  # database away at start: new alerts get new ids, old ones stay open
                log.warning("alert_adoption_failed", extra={"error": str(exc)[:200]})
        # the bus's retained reports of the last lost_after_s rebuild the live picture of a (re)started node
        await self.bus.subscribe_reports(self.apply_remote_reports, since=time.time() - self.config.lost_after_s)
        await self.bus.subscribe_feed(self.apply_remote_feed)
        if self.monitor_candidate and self.bus.durable:
            await self.bus.serve("alert-ack", self._serve_acknowledge)
        if self.monitor_candidate and self.bus.durable:
            self._tasks.append(asyncio.create_task(self._every(LEASE_RENEW_S, hold_leases), name="monitor-lease"))
        self._stopping = asyncio.Event()
        self._bus_history_task: asyncio.Task[None] | None = None
        if self.bus.durable and self.history_role:
            self._bus_history_task = asyncio.create_task(
                self.bus.run_history(self._write_bus_history, self._stopping), name="bus-history")
        self._tasks += [
            asyncio.create_task(self._every(self.config.feed_s, self.publish_tracks), name="live-feed"),
            asyncio.create_task(self._every(self.config.tick_s, self.tick), name="live-tick"),
        ]
        self._history_task: asyncio.Task[None] | None = asyncio.create_task(
            self._every(self.config.history_flush_s, self.flush_history, self._stopping), name="live-history")

    async def stop(self, history_timeout_s: float = 30.0) -> None:
        """Stop the loops; let a history write in progress finish, then write what is left once more."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        task = getattr(self, "_history_task", None)
        bus_task = getattr(self, "_bus_history_task", None)
        if task is not None:
            self._stopping.set()
            waiting = [t for t in (task, bus_task) if t is not None]
            done, _ = await asyncio.wait(waiting, timeout=history_timeout_s)
            if len(done) < len(waiting):  # the bus keeps what was not acknowledged: nothing is lost
                log.warning("history_stop_timeout", extra={"pending": self._history_pending})
                for t in waiting:
                    t.cancel()
            self._history_task = None
            self._bus_history_task = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush_history(events_limit=None), history_timeout_s)
        await asyncio.to_thread(self.monitor.close)


AlertDiff = tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], float]


def _alert_parts(new: list[dict[str, Any]], updated: list[dict[str, Any]], cleared: list[str], now: float
                 ) -> list[AlertDiff]:
    """One tick's alert diff as feed messages of at most ``FEED_ALERTS_PER_MESSAGE`` alerts, in order
    (new, then updated, then cleared); nothing when the tick changed no alert."""
    n, u, total = len(new), len(updated), len(new) + len(updated) + len(cleared)
    out: list[AlertDiff] = []
    for lo in range(0, total, FEED_ALERTS_PER_MESSAGE):
        hi = min(lo + FEED_ALERTS_PER_MESSAGE, total)
        out.append((new[min(lo, n):min(hi, n)], updated[min(max(lo - n, 0), u):min(max(hi - n, 0), u)],
                    cleared[max(lo - n - u, 0):max(hi - n - u, 0)], now))
    return out


def noncoop_track_id(sensor: str, local_id: str) -> str:
    """A non-cooperative target's id: the reporting sensor's own namespace (``nc:SENSOR:ID``), so a
    detection can never pose as (or be recorded under) a registered aircraft."""
    return f"nc:{sensor}:{local_id}"


def _rows(node: str, now: float, batch: ReportBatch, alt: npt.NDArray[np.float64], idx: npt.NDArray[np.int64],
          ids: list[str], category: npt.NDArray[np.int8]) -> ReportRows:
    cols = {"t": batch.t[idx], "lon": batch.lon[idx], "lat": batch.lat[idx], "alt": alt[idx], "vx": batch.vx[idx],
            "vy": batch.vy[idx], "vz": batch.vz[idx], "battery": batch.battery[idx]}
    return make_rows(node, now, ids, cols, batch.source[idx], category, batch.landed[idx])


def _concat_rows(parts: list[ReportRows], node: str, now: float) -> ReportRows:
    cols = {c: np.concatenate([p.f64(c) for p in parts]) for c in ("t", "lon", "lat", "alt", "vx", "vy", "vz",
                                                                    "battery")}
    return make_rows(node, now, [i for p in parts for i in p.ids], cols,
                     np.concatenate([p.i8("source") for p in parts]), np.concatenate([p.i8("category") for p in parts]),
                     np.concatenate([p.landed_mask() for p in parts]))


def _flags(col: npt.NDArray[np.bool_] | None, keep: Any, n: int) -> list[int]:
    return [0] * n if col is None else col[keep].astype(np.int8).tolist()
