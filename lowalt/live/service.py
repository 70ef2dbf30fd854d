"""The live service: the one place where ingest, the tick, the feed and the history writer meet.

Three loops run on the event loop:

* **feed** (every ``feed_s``, default 0.2 s): rows updated since the last publish go to every
  ``/ws/live`` subscriber as one columnar diff, so a report reaches the map within ~200 ms
  plus transport even though conflicts are computed once a second;
* **tick** (every ``tick_s``, default 1 s): expire silent tracks, snapshot both tables, run the
  monitor (conflicts, intrusion, conformance, alert lifecycle) in a worker thread, publish the
  alert diff and per-aircraft status changes;
* **history** (every second): COPY accepted reports and alert changes to PostGIS. While PostGIS is
  away everything above keeps running from memory; the buffer is bounded and every point it has
  to shed is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from lowalt.identity.model import Principal, Role
from lowalt.live.hub import BBox, LiveHub
from lowalt.metrics import Metrics
from lowalt.store import live_repo
from lowalt.store.db import Database
from lowalt.surveillance.reports import ReportBatch, ReportError, Source, decode_frame
from lowalt.surveillance.tracks import Snapshot, TrackTable, concat_snapshots

log = logging.getLogger(__name__)

SOURCE_WIRE = {int(s): s.name.lower() for s in Source}


class Terrain(Protocol):
    def elevation(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class AircraftInfo:
    id: str
    category: str
    organisation: str | None
    device_user_id: int | None


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


class Monitor(Protocol):
    def assess(self, snap: Snapshot, now: float, lost: list[str]) -> Assessment: ...

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None: ...


class Rejection(Exception):
    pass


@dataclass
class LiveConfig:
    tick_s: float = 1.0
    feed_s: float = 0.2
    lost_after_s: float = 10.0
    history_flush_s: float = 1.0
    history_max_pending: int = 3_000_000
    service_bbox: BBox = (115.0, 28.0, 119.5, 31.0)


class LiveService:
    def __init__(
        self, db: Database, metrics: Metrics, *, monitor: Monitor, terrain: Terrain | None = None,
        config: LiveConfig | None = None, category_code: Callable[[str], int] | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.monitor = monitor
        self.terrain = terrain
        self.config = config or LiveConfig()
        self.category_code = category_code or (lambda _c: 0)
        self.coop = TrackTable(4096, cooperative=True)
        self.noncoop = TrackTable(256, cooperative=False)
        self.hub = LiveHub(metrics)
        self.aircraft: dict[str, AircraftInfo] = {}
        self.statuses: dict[str, str] = {}
        self.active_alerts: dict[str, dict[str, Any]] = {}
        self._lost_pending: list[str] = []
        self._history: deque[list[tuple[Any, ...]]] = deque()
        self._history_pending = 0
        """Points waiting in ``_history``."""
        self._history_inflight = 0
        """Points taken out of ``_history`` by a write in progress."""
        self._alert_writes: dict[str, dict[str, Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.tick_count = 0
        self.before_tick: list[Callable[[float], None]] = []
        """Run on the event loop before each snapshot (e.g. freeze the approved plans for the monitor)."""
        self.on_snapshot: list[Callable[[Snapshot, float], None]] = []
        """Run on the event loop with each tick's snapshot (e.g. activate plans on first telemetry)."""

    # -- registry ------------------------------------------------------------------------

    def register_aircraft(self, info: AircraftInfo) -> None:
        self.aircraft[info.id] = info

    # -- ingest --------------------------------------------------------------------------

    def ingest(self, principal: Principal, data: bytes | str, now: float | None = None) -> tuple[int, list[ReportError]]:
        """Validate, authorise and store one frame. Returns (accepted, errors); never raises on bad input."""
        now = time.time() if now is None else now
        self.metrics.inc("lowalt_frames_total")
        batch = decode_frame(data, now=now, service_bbox=self.config.service_bbox)
        errors = list(batch.errors)
        if len(batch):
            batch = self._authorise(principal, batch, errors)
        accepted = self._store(batch, now, errors) if len(batch) else 0
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
            if info is not None and (info.device_user_id == uid or (org is not None and info.organisation == org)):
                continue
            ok[k] = False
            if info is None:
                errors.append(ReportError("unknown_aircraft", f"aircraft {aid!r} is not registered", "id", k, aid))
            else:
                errors.append(ReportError("not_your_aircraft",
                                          f"this token may not report aircraft {aid!r}", "id", k, aid))
        return batch if ok.all() else batch.select(ok)

    def _store(self, batch: ReportBatch, now: float, errors: list[ReportError]) -> int:
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
            cats = np.array(
                [self.category_code(self.aircraft[a].category if a in self.aircraft else (batch.category[i] or "unknown"))
                 for a, i in zip(ids, idx, strict=True)], dtype=np.int8,
            )
            res = table.upsert(
                ids, lon=batch.lon[idx], lat=batch.lat[idx], alt=alt[idx], vx=batch.vx[idx], vy=batch.vy[idx],
                vz=batch.vz[idx], t=batch.t[idx], t_recv=now, battery=batch.battery[idx],
                source=batch.source[idx], category=cats,
            )
            for k in np.flatnonzero(~res.accepted):
                errors.append(ReportError("out_of_order", "report not newer than the last one for this aircraft",
                                          "t", int(idx[k]), ids[k]))
            good = idx[res.accepted]
            accepted_total += len(good)
            self._buffer_history(batch, alt, good)
        self.metrics.inc("lowalt_reports_accepted_total", accepted_total)
        return accepted_total

    def _buffer_history(self, batch: ReportBatch, alt: npt.NDArray[np.float64], idx: npt.NDArray[np.int64]) -> None:
        if not len(idx):
            return
        recs = list(zip(
            [batch.ids[i] for i in idx], batch.t[idx].tolist(), batch.lon[idx].tolist(), batch.lat[idx].tolist(),
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
        }

    def _full_snapshot(self) -> Snapshot:
        return concat_snapshots([self.coop.snapshot(), self.noncoop.snapshot()])

    def _snapshot_message(self, bbox: BBox | None, now: float) -> bytes:
        msg = {"type": "snapshot", "t": now, "tracks": self._rows_payload(self._full_snapshot(), bbox),
               "alerts": list(self.active_alerts.values())}
        return orjson.dumps(msg, option=orjson.OPT_SERIALIZE_NUMPY)

    def publish_tracks(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        parts = [t.snapshot(t.take_dirty()) for t in (self.coop, self.noncoop)]
        changed = concat_snapshots(parts)
        lost, self._lost_pending = self._lost_pending, []
        if not self.hub.subscribers:
            return

        def build(bbox: BBox | None, snapshot: bool) -> bytes | None:
            if snapshot:
                return self._snapshot_message(bbox, now)
            if not changed.n and not lost:
                return None
            msg = {"type": "tracks", "t": now, "tracks": self._rows_payload(changed, bbox), "lost": lost}
            return orjson.dumps(msg, option=orjson.OPT_SERIALIZE_NUMPY)

        self.hub.publish(build)

    def publish_snapshot_to(self, sub: Any) -> None:
        """Queue a full snapshot for one (new or resubscribing) subscriber."""
        with contextlib.suppress(asyncio.QueueFull):
            sub.queue.put_nowait(self._snapshot_message(sub.bbox, time.time()))
            sub.needs_snapshot = False

    # -- tick ------------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> Assessment:
        now = time.time() if now is None else now
        started = time.perf_counter()
        lost = self.coop.expire(now, self.config.lost_after_s) + self.noncoop.expire(now, self.config.lost_after_s)
        if lost:
            self.metrics.inc("lowalt_tracks_lost_total", len(lost))
            self._lost_pending.extend(lost)
        for hook in self.before_tick:
            hook(now)
        snap = self._full_snapshot()
        for seen in self.on_snapshot:
            seen(snap, now)
        result = await asyncio.to_thread(self.monitor.assess, snap, now, lost)
        self._apply(result, now)
        self.tick_count += 1
        self.metrics.inc("lowalt_tick_total")
        self.metrics.set("lowalt_tick_seconds", time.perf_counter() - started)
        self.metrics.set("lowalt_tracks", len(self.coop), kind="cooperative")
        self.metrics.set("lowalt_tracks", len(self.noncoop), kind="noncooperative")
        self.metrics.set("lowalt_alerts_active", len(self.active_alerts))
        return result

    def _apply(self, result: Assessment, now: float) -> None:
        for aid, st in result.statuses.items():
            if self.statuses.get(aid) != st:
                for table in (self.coop, self.noncoop):
                    row = table.slot.get(aid)
                    if row is not None:
                        table.dirty[row] = True
        self.statuses = result.statuses
        self.active_alerts = result.active
        changes = [*result.alerts_new, *result.alerts_updated, *result.alerts_cleared]
        for a in changes:
            self._alert_writes[a["id"]] = a
        if changes and self.hub.subscribers:
            payload = orjson.dumps({"type": "alerts", "t": now, "new": result.alerts_new,
                                    "updated": result.alerts_updated,
                                    "cleared": [a["id"] for a in result.alerts_cleared]},
                                   option=orjson.OPT_SERIALIZE_NUMPY)
            self.hub.publish(lambda bbox, snapshot: self._snapshot_message(bbox, now) if snapshot else payload)

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        """Mark an active alert acknowledged; tell the feed and the alert log."""
        alert = self.monitor.acknowledge(alert_id, by, at)
        if alert is None:
            return None
        self.active_alerts[alert_id] = alert
        self._alert_writes[alert_id] = alert
        payload = orjson.dumps({"type": "alerts", "t": at, "new": [], "updated": [alert], "cleared": []},
                               option=orjson.OPT_SERIALIZE_NUMPY)
        self.hub.publish(lambda bbox, snapshot: self._snapshot_message(bbox, at) if snapshot else payload)
        return alert

    # -- history -----------------------------------------------------------------------------

    async def flush_history(self) -> int:
        """Write buffered points and alert changes; on failure put them back for the next try.

        The chunks being written leave the buffer for the duration of the write, so a burst that
        overflows the buffer meanwhile sheds (and counts) only points that are not being written.
        """
        chunks = list(self._history)
        alerts = list(self._alert_writes.values())
        if not chunks and not alerts:
            return 0
        self._history.clear()
        records = [r for c in chunks for r in c]
        self._history_pending -= len(records)
        self._history_inflight = len(records)
        try:
            async with self.db.unit_of_work() as uow:
                await live_repo.copy_track_points(uow.conn, records)
                await live_repo.upsert_alerts(uow.conn, alerts)
                await uow.commit()
        except Exception as exc:  # database away: keep buffering, try again next round
            log.warning("history_write_failed", extra={"pending": len(records) + self._history_pending,
                                                       "error": str(exc)[:200]})
            self._history.extendleft(reversed(chunks))
            self._history_pending += len(records)
            self._history_inflight = 0
            self._shed_overflow()
            return 0
        self._history_inflight = 0
        for a in alerts:
            if self._alert_writes.get(a["id"]) is a:
                del self._alert_writes[a["id"]]
        self.metrics.inc("lowalt_history_written_total", len(records))
        self.metrics.set("lowalt_history_pending", self._history_pending)
        return len(records)

    # -- loops -------------------------------------------------------------------------------

    async def _every(self, period: float, work: Callable[[], Any]) -> None:
        next_at = time.monotonic()
        while True:
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
            await asyncio.sleep(delay)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.config.feed_s, self.publish_tracks), name="live-feed"),
            asyncio.create_task(self._every(self.config.tick_s, self.tick), name="live-tick"),
            asyncio.create_task(self._every(self.config.history_flush_s, self.flush_history), name="live-history"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.flush_history()
