"""The filing service: decides, commits, then updates the in-memory 4D index and notifies.

Several nodes may file on one PostGIS; filing serialises per area, not globally:

1. A decision's transaction first takes ``pg_advisory_xact_lock`` on the grid cells (2 km, EPSG:4548)
   its footprint buffered by the horizontal separation touches, plus the cells around the vertiports it
   uses and keys for its aircraft and pilot licence, all in one sorted batch (no deadlock). Two plans
   that could conflict always share a cell, so they serialise; plans over different towns do not wait.
2. Under the locks it reads the cells' versions (``filing_cells``) and brings the in-memory 4D index up
   to date with the plans changed since the versions it last saw (``filing_changes``): the index is
   proven fresh for every cell the decision reads. Bookings are read from PostGIS under the locks.
3. The decision is written with its audit events, the cells' versions are bumped with the change
   logged, and ``pg_notify`` is sent, all in the same transaction; the index changes tentatively and
   is undone if the commit fails. A decision is returned only once committed.

Other nodes learn of approvals by ``LISTEN lowalt_filing`` (the NOTIFY arrives on commit) and, should
a notification be lost, by a periodic version check every ``sync_every_s``: their in-memory picture
(the live monitor's approved plans, alternatives) is eventually consistent within about that time,
while decisions never rely on it being so. If PostGIS is away the unit of work raises
:class:`~lowalt.store.db.DatabaseUnavailable` (HTTP 503) and nothing is approved.
At start-up the index is rebuilt from the approved/active plans in PostGIS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import orjson

from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import AirspaceSet, Restriction, RestrictionReason
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.alternatives import after_withdrawal, nearest_time
from lowalt.filing.deadlines import DueAction, due_actions
from lowalt.filing.decision import Decision, Facts, Verdict, decide, evaluate, slot_of
from lowalt.filing.deconfliction import (
    LOCK_BIN_S,
    TAG_AIRCRAFT,
    TAG_LICENCE,
    DeconflictionIndex,
    Entry,
    cell_hour_keys,
    cell_keys,
    name_key,
)
from lowalt.filing.messages import text, zh
from lowalt.filing.model import PRIORITY_ZH, FlightPlan, Footprint, PlanState, Priority, footprint
from lowalt.filing.pilot_rules import RegisteredPilot, with_pilot_check
from lowalt.filing.policy import Policy, fleet_of, priority_for
from lowalt.filing.ports import AuditRow, GovernmentFleets, PilotRegister, PlanRepository
from lowalt.filing.rules import Booking, Outcome, Registry, WeatherWarning, iso, rule_weather, warning_applies
from lowalt.filing.standing import StandingApproval
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local
from lowalt.geo.terrain import TerrainModel, default_terrain

log = logging.getLogger(__name__)


PRUNE_EVERY = 500
"""Decisions between sweeps of finished plans out of the in-memory index."""
DUE_EVERY_S = 15.0
"""How often referred emergency plans are checked against their decide-by time."""
BOOKING_AFTER = timedelta(days=4)
"""How far past a plan its aircraft's other plans are read (time alternatives search up to ~3 days on)."""
SYNC_EVERY_S = 2.0
RESTRICTIONS_AFTER = timedelta(days=1)
"""Restrictions over for longer than this are not taken from other nodes (the airspace service loads
the same span at its start)."""
"""Period of the version check that catches up on other nodes' changes should a NOTIFY be lost."""
CATCH_UP_EVERY_S = 0.5
"""Notices from other nodes arriving within this time after the first are taken in one catch-up. A catch-up
reads without the cells' locks, so it reads and applies alone (:class:`_SharedOrAlone`): each one holds
the node's decisions back for its round trips. Decisions prove their own cells fresh, so only the other
nodes' picture (the live monitor, alternatives) waits for it: within about this time."""
MAX_CONCURRENT = 8
"""Filing transactions one node runs at once (the rest wait here, not on the connection pool)."""
RELOCK_TRIES = 4
LISTEN_TIMEOUT_S = 3.0
"""Connect and ping timeout of the LISTEN connection (as the pool's: a frozen PostGIS answers nothing)."""
_T = TypeVar("_T")


class _Relock(Exception):
    """The decision needs locks on more cells than it holds (an emergency displaces a plan beyond them)."""

    def __init__(self, keys: set[int]) -> None:
        super().__init__(len(keys))
        self.keys = keys


class _SharedOrAlone:
    """The index's catch-up lock: decisions share it, a catch-up holds it alone (writers first).

    A decision reads and applies the changes of the cells it holds advisory locks on: no plan in them can
    change until it commits, and two decisions of one node hold disjoint cells, so their reads cannot
    undo each other. A catch-up reads without those locks: applied after a newer read, it would put
    older states back, so it runs alone. One plain lock held across every decision's read made the
    decisions of a node queue behind each other's round trips (a third of a filing's latency under load).
    """

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._sharing = 0
        self._alone = False
        self._waiting_alone = 0

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._alone and not self._waiting_alone)
            self._sharing += 1
        try:
            yield
        finally:
            async with self._cond:
                self._sharing -= 1
                self._cond.notify_all()

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        async with self._cond:
            self._waiting_alone += 1
            try:
                await self._cond.wait_for(lambda: not self._alone and not self._sharing)
            finally:
                self._waiting_alone -= 1
                self._cond.notify_all()  # cancelled while waiting: the decisions it held back go on
            self._alone = True
        try:
            yield
        finally:
            async with self._cond:
                self._alone = False
                self._cond.notify_all()


@dataclass(frozen=True)
class _Taken:
    """What :meth:`FilingService._take` did: the events to publish, the undo of the tentative index change,
    the cells' new versions, the plan ids in flight, and the cells the caller's write must still bump."""

    events: list[PlanEvent]
    undo: Callable[[], None]
    new: dict[int, int]
    touched: list[str]
    bump: list[int]


class UnitsOfWork(Protocol):
    """The database as filing sees it (``lowalt.store.db.Database``): transactions, and its URL for LISTEN."""

    url: str

    def unit_of_work(self) -> AbstractAsyncContextManager[Any]: ...


class PlanNotFound(LookupError):
    """No such plan, or not visible to the caller (operators see their own organisation's only)."""


class TransitionRefused(ValueError):
    """The plan's state does not allow this (HTTP 409)."""


class ApprovalRefused(TransitionRefused):
    """The centre's approval re-ran every rule and at least one rejects (HTTP 409 with the reasons)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        z, en = text("approval_refused", reasons_zh="；".join(r["message_zh"] for r in reasons),
                     reasons_en="; ".join(r["message_en"] for r in reasons))
        super().__init__(en)
        self.reasons = reasons
        self.message_zh = z


class IdempotencyMismatch(ValueError):
    """An Idempotency-Key reused with a different request body (IETF draft: 422)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class WarningNotFound(LookupError):
    """No such weather warning, or already ended."""


@dataclass(frozen=True)
class Filer:
    """Who acts: a user name, its organisation, and whether it speaks for the centre."""

    name: str
    organisation: str | None
    centre: bool = False


@dataclass(frozen=True)
class PlanEvent:
    """A state change, as published to subscribers (after commit)."""

    plan_id: str
    organisation: str
    from_state: str | None
    to_state: str
    by: str
    at: datetime
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    kind: str = "plan_state"
    """plan_state (a transition), plan_at_risk (an emergency flight asks for its airspace),
    plan_escalated (a referred emergency plan nears its decide-by time), plan_advisory (a warning
    over a flight in progress)."""

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "plan_id": self.plan_id, "organisation": self.organisation,
                "from_state": self.from_state, "to_state": self.to_state, "by": self.by,
                "at": iso(self.at), "reason": self.reason, "details": self.details}


class Notifier:
    """In-process pub/sub of plan events; slow subscribers lose old events, never block filing."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: set[asyncio.Queue[PlanEvent]] = set()
        self.maxsize = maxsize

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[PlanEvent]]:
        q: asyncio.Queue[PlanEvent] = asyncio.Queue(self.maxsize)
        self._subs.add(q)
        try:
            yield q
        finally:
            self._subs.discard(q)

    def publish(self, ev: PlanEvent) -> None:
        for q in list(self._subs):
            if q.full():
                q.get_nowait()
            q.put_nowait(ev)


def _now() -> datetime:
    return datetime.now(UTC)


class FilingService:
    def __init__(self, db: UnitsOfWork, airspace: AirspaceSet, policy: Policy, *, repo: PlanRepository,
                 pilots: PilotRegister, terrain: TerrainModel | None = None, clock: Callable[[], datetime] = _now,
                 index: AirspaceIndex | None = None, fleets: GovernmentFleets | None = None) -> None:
        """``repo``/``pilots``: the plans' and the pilot register's repositories (``lowalt.store.filing_repo``,
        ``lowalt.store.pilot_repo``), given by the composition root (``lowalt.services.filing``): filing
        never imports the store, which builds filing's objects. ``index``: share the airspace part's live
        index (its restrictions then apply at once). ``fleets``: government fleets' standing approvals and
        the preemption audit (``lowalt.store.coordination_repo``; issue #19)."""
        self.db = db
        self.repo = repo
        self.pilots = pilots
        self.fleets = fleets
        self.policy = policy
        self.shared_index = index is not None
        self.view = AirspaceView(airspace, terrain or (index.terrain if index else default_terrain()), index)
        self.index = DeconflictionIndex(policy.h_buffer_m, policy.v_buffer_m, policy.t_buffer_s)
        self.clock = clock
        self.notifier = Notifier()
        self.weather: list[WeatherWarning] = []
        self._weather_changes = 0
        """Warnings added or ended on this node so far: a catch-up whose read may predate one keeps the
        node's own list (the next catch-up brings in the rest)."""
        self._slots: defaultdict[tuple[str, datetime], int] = defaultdict(int)
        self._plan_slots: dict[str, list[tuple[str, datetime]]] = {}
        self._lock = asyncio.Lock()
        """Node-local: weather warnings and restrictions (they also lock the cells of the plans they change)."""
        self.node = uuid.uuid4().hex[:12]
        self.known: dict[int, int] = {}
        """Cell -> the version this node's index reflects (absent: 0, the cell never changed)."""
        self._refresh = _SharedOrAlone()
        """Decisions read and apply their cells' changes side by side; a catch-up reads and applies alone."""
        self._inflight: set[str] = set()
        self._gate = asyncio.Semaphore(MAX_CONCURRENT)
        self._dirty = asyncio.Event()
        self._notified_cells: set[int] | None = None
        """Cells named by other nodes' notices since the last catch-up; None: catch up on everything."""
        self.catch_up_every_s = CATCH_UP_EVERY_S
        self._port_cells: dict[str, list[int]] = {}
        self.sync_every_s = SYNC_EVERY_S
        self.listen = True
        self.synced = 0
        """Catch-ups that brought in other nodes' changes (tests wait on it)."""
        self._seen_restrictions: set[str] = set()
        self._remote = False
        """True while restrictions taken from another node are announced to the airspace listeners."""
        self.airspace_listeners: list[Callable[[], None]] = []
        """The airspace service's listeners (the live monitor's intrusion cache, this service)."""
        self._decisions = 0
        self._tasks: set[asyncio.Future[Any]] = set()
        self.held: dict[str, tuple[FlightPlan, Footprint]] = {}
        """Approved/active plans with their footprints: what the live monitor checks conformance against."""
        self.held_version = 0
        self.due_every_s = DUE_EVERY_S
        self.recently_completed: dict[str, tuple[FlightPlan, Footprint, float]] = {}
        """Plans completed recently (plan, footprint, epoch s): a landed aircraft still reporting is not
        an unauthorised flight."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Rebuild the in-memory state from what PostGIS has committed."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            versions = await self.repo.cell_versions(uow.conn, from_hour=self._from_hour(now))  # before the plans
            holding = await self.repo.holding_plans(uow.conn, now)
            self.weather = await self.repo.weather_warnings_after(uow.conn, now)
            restrictions = [] if self.shared_index else await self.repo.active_restriction_rows(uow.conn, now)
        for r in restrictions:
            try:
                self.view.index.add_restriction(_restriction(r))
            except ValueError as exc:  # a bad row must not stop filing
                log.warning("restriction_skipped", extra={"id": r.get("id"), "error": str(exc)})
        for p in holding:
            self._hold(p, footprint(p, self.view.terrain))
        self.known = versions
        self._seen_restrictions = {r.id for r in self.view.index.restrictions}
        log.info("filing_started", extra={"plans": len(self.index), "weather": len(self.weather)})
        if self.due_every_s > 0:
            task = asyncio.ensure_future(self._due_loop())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self.sync_every_s > 0:
            for loop in (self._sync_loop(), *([self._listen_loop()] if self.listen else [])):
                t = asyncio.ensure_future(loop)
                self._tasks.add(t)
                t.add_done_callback(self._tasks.discard)

    async def _due_loop(self) -> None:
        """Referred emergency plans past (or near) their decide-by time: act as the policy says."""
        await _forever(lambda: asyncio.sleep(self.due_every_s), self.run_due, "due_actions_failed")

    async def stop(self) -> None:
        for t in list(self._tasks):  # again until done: a wait_for finishing as it is cancelled eats the cancel
            while not t.done():
                t.cancel()
                await asyncio.wait({t}, timeout=1.0)

    # ------------------------------------------------------------------ across nodes

    def _cells_for(self, p: FlightPlan, fp: Footprint) -> list[int]:
        """Lock keys of the cell-hours this plan's airspace serialises on: the cells of its footprint
        buffered by the horizontal separation over its window widened by the time buffer, and the cells
        around the vertiports it uses in the hour of the slot it takes there (the slot counts)."""
        tb = self.policy.t_buffer_s
        keys = set(cell_hour_keys(cell_keys(fp.area, self.policy.h_buffer_m), fp.start_s - tb, fp.end_s + tb))
        rad = self.policy.vertiport_radius_m
        for point, t in ((p.takeoff, p.start), (p.landing, p.end)):
            port = self.view.vertiport_near(point, rad)
            if port is not None:
                if port.id not in self._port_cells:
                    self._port_cells[port.id] = cell_keys(geometry_to_local(port.point).buffer(rad), 0.0)
                slot = slot_of(t, self.policy).timestamp()  # one slot, one key: plans sharing it serialise
                keys.update(cell_hour_keys(self._port_cells[port.id], slot, slot))
        return sorted(keys)

    def _footprint_or_none(self, p: FlightPlan) -> Footprint | None:
        try:
            return footprint(p, self.view.terrain)
        except Exception:  # a geometry the rules reject: no airspace to lock
            return None

    @staticmethod
    def _who_keys(p: FlightPlan) -> list[int]:
        keys = [name_key(TAG_AIRCRAFT, p.aircraft_id)]
        if p.licence_id:
            keys.append(name_key(TAG_LICENCE, p.licence_id))
        return keys

    def _apply(self, p: FlightPlan, now: datetime) -> None:
        """Make the index say what PostGIS says of this plan."""
        was = self.held.get(p.id)
        if was is not None and p.state in (PlanState.COMPLETED, PlanState.CANCELLED):  # as on the deciding node
            self.recently_completed[p.id] = (p, was[1], now.timestamp())
        self._release(p.id)
        if p.state.holds_airspace and p.end > now:
            self._hold(p, footprint(p, self.view.terrain))

    async def _sync(self, conn: Any, cells: list[int] | None, *, locked: bool = False) -> dict[int, int]:
        """Bring the index up to date with the changes PostGIS logged in these cells (None: all).

        Returns the versions read. Under the cells' advisory locks (``locked``: a decision), the index is
        then proven fresh for them; without (the catch-up loop), it is as fresh as the read.

        Which cells changed, and which plans in them, is read first, outside the catch-up lock: versions
        only grow and ``known`` only takes their maximum, so an earlier read never undoes a later one. The
        plans themselves are read and applied under it (:meth:`_take_changes`): a catch-up holds this
        node's decisions back for one round trip, not three.
        """
        versions: dict[int, int] = await self.repo.cell_versions(conn, cells, from_hour=self._from_hour(self.clock()))
        stale = {c: v for c, v in versions.items() if v > self.known.get(c, 0)}
        changed = await self.repo.changed_plans(conn, self.known, stale) if stale else set()
        async with (self._refresh.shared() if locked else self._refresh.alone()):
            await self._take_changes(conn, stale, changed)
        return versions

    async def _lock_and_read(self, conn: Any, keys: list[int], cells: list[int], plan: FlightPlan, by: Filer
                             ) -> tuple[Registry, list[RegisteredPilot], dict[int, int], list[Booking]]:
        """A filing's first round trip: its locks, then (a snapshot taken after them) the registry, the
        pilot register, its bookings and its cells' changes, which :meth:`_sync` applies as for a decision.

        The read is not under the catch-up lock, only the apply: entered before the advisory locks, a
        decision waiting for them would hold back a catch-up, and behind it (writers first) the decision
        of this node that holds them. A catch-up applied before this one's apply read earlier or the
        same (the cells are locked since before this read); one applied after it read later.
        """
        reg, register, versions, changed, bookings = await self.repo.lock_and_read(
            conn, keys, plan.aircraft_id, by.name, plan.organisation, {c: self.known.get(c, 0) for c in cells},
            plan.licence_id, *self._booking_window(plan))
        async with self._refresh.shared():
            await self._take_changes(conn, {c: v for c, v in versions.items() if v > self.known.get(c, 0)}, changed)
        return reg, register, versions, bookings

    async def _take_changes(self, conn: Any, stale: dict[int, int], changed: set[str]) -> None:
        """Apply the plans changed in the stale cells (as PostGIS has them now) and mark the cells seen."""
        if not stale:
            return
        ids = changed - self._inflight
        plans = await self.repo.plans_by_id(conn, sorted(ids))
        now = self.clock()
        for pid in ids - {p.id for p in plans}:
            self._release(pid)
        for p in plans:
            self._apply(p, now)
        for c, v in stale.items():
            self.known[c] = max(self.known.get(c, 0), v)
        self.synced += 1

    @staticmethod
    def _from_hour(now: datetime) -> int:
        """The first hour whose cell-hours a full catch-up reads: a day back (as the restrictions)."""
        return int((now - RESTRICTIONS_AFTER).timestamp() // LOCK_BIN_S)

    def _advance(self, verified: dict[int, int], new: dict[int, int]) -> None:
        """After our commit: cells we had proven fresh and bumped by exactly one stay fresh."""
        for c, v in new.items():
            if v == verified.get(c, 0) + 1 and self.known.get(c, 0) == v - 1:
                self.known[c] = v

    async def sync_all(self) -> None:
        """Catch up with every cell changed elsewhere, reload the weather warnings, and take the
        restrictions another node added or deleted (PostGIS ``airspace_restrictions`` is the record)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            await self._sync(uow.conn, None)
            changes = self._weather_changes
            weather = await self.repo.weather_warnings_after(uow.conn, now)
            if changes == self._weather_changes:  # else a warning added or ended here meanwhile is newer
                self.weather = weather
            rows = await self.repo.active_restriction_rows(uow.conn, now - RESTRICTIONS_AFTER, deleted=True)
        self._take_restrictions(rows)

    def _take_restrictions(self, rows: list[dict[str, Any]]) -> None:
        """Put restrictions committed elsewhere into the index (shared with the airspace service and so
        the live monitor), drop the deleted ones, and tell the airspace listeners. The node that made
        the change withdrew the plans it forbids: here they are only marked seen (no second withdrawal)."""
        index = self.view.index
        have = {r.id for r in index.restrictions}
        changed = False
        for row in rows:
            if row["deleted"]:
                if row["id"] in have:
                    changed |= index.remove_restriction(row["id"])
                continue
            if row["id"] in have:
                continue
            try:
                index.add_restriction(_restriction(row))
            except ValueError as exc:  # a bad row must not stop filing
                log.warning("restriction_skipped", extra={"id": row.get("id"), "error": str(exc)[:200]})
                continue
            changed = True
        if not changed:
            return
        self._seen_restrictions = {r.id for r in index.restrictions}
        self._remote = True
        try:
            for listener in list(self.airspace_listeners):
                listener()
        finally:
            self._remote = False

    async def _sync_loop(self) -> None:
        """Catch up when notified, at most every ``catch_up_every_s``, and every ``sync_every_s`` anyway.

        A ``cells`` notice (another node's approvals) brings in only the cells it names; weather,
        airspace, a (re)connection or the period read everything (:meth:`sync_all`). Under two nodes
        filing 100+ decisions/s each, one full catch-up per NOTIFY re-read every cell's version, the
        weather and the restrictions dozens of times a second (7 % of a node's CPU, and PostGIS's).
        """
        async def notified_or_due() -> None:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: never swallows a cancellation
                async with asyncio.timeout(self.sync_every_s):
                    await self._dirty.wait()
            if self._dirty.is_set():  # notices arriving meanwhile are taken in the same catch-up
                await asyncio.sleep(self.catch_up_every_s)
            else:  # the period: everything
                self._notified_cells = None
            self._dirty.clear()

        async def catch_up() -> None:
            cells, self._notified_cells = self._notified_cells, set()
            if cells is None:
                await self.sync_all()
            elif cells:
                async with self.db.unit_of_work() as uow:
                    await self._sync(uow.conn, sorted(cells))

        await _forever(notified_or_due, catch_up, "filing_sync_failed")

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        node, _, rest = payload.partition(" ")
        if node == self.node:
            return
        kind, _, cells = rest.partition(" ")
        if kind == "cells" and cells and self._notified_cells is not None and len(payload) < self.repo.NOTIFY_MAX:
            try:
                self._notified_cells.update(int(c) for c in cells.split(","))
            except ValueError:  # a payload from another version: read everything
                self._notified_cells = None
        else:
            self._notified_cells = None  # weather, airspace, anything else: a full catch-up
        self._dirty.set()

    def _wire(self, ev: PlanEvent) -> str:
        """A plan event as a NOTIFY payload: ``<node> <base64 of zlib of its JSON>``. One too big even
        so (a reroute's long geometry) goes without its details, marked ``truncated``: the plan itself
        (``GET /plans/{id}``) has them."""
        d = ev.as_dict()
        msg = f"{self.node} {_pack(d)}"
        if len(msg) > self.repo.NOTIFY_MAX:
            keep = {k: v for k, v in d["details"].items() if k in ("message_zh", "message_en")}
            msg = f"{self.node} {_pack({**d, 'details': {**keep, 'truncated': True}})}"
        return msg

    async def _announce(self, conn: Any, events: list[PlanEvent]) -> None:
        """Send these events to the other nodes' ``/ws/plans`` with the transaction that makes them true."""
        await self.repo.notify_plans(conn, [self._wire(ev) for ev in events])

    def _on_plan_event(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        """Another node's committed plan event: to this node's ``/ws/plans`` subscribers."""
        node, _, body = payload.partition(" ")
        if node == self.node:
            return
        try:
            d = orjson.loads(zlib.decompress(base64.b64decode(body)))
            ev = PlanEvent(d["plan_id"], d["organisation"], d["from_state"], d["to_state"], d["by"],
                           datetime.fromisoformat(d["at"]), d["reason"], d["details"], kind=d["type"])
        except Exception as exc:  # a payload from another version: never stop the listener
            log.warning("plan_event_unreadable", extra={"error": str(exc)[:200]})
            return
        self.notifier.publish(ev)

    async def _listen_loop(self) -> None:
        """LISTEN on the filing channel; reconnects, and catches up after each (re)connection."""
        import asyncpg

        dsn = self.db.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(dsn, timeout=LISTEN_TIMEOUT_S)
                await conn.add_listener(self.repo.NOTIFY_CHANNEL, self._on_notify)
                await conn.add_listener(self.repo.PLANS_CHANNEL, self._on_plan_event)
                self._notified_cells = None  # notices may have been missed: everything
                self._dirty.set()
                while True:  # a dead connection shows only when used
                    await asyncio.sleep(self.sync_every_s)
                    await conn.execute("SELECT 1", timeout=LISTEN_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("filing_listen_lost", extra={"error": str(exc)[:200]})
                await asyncio.sleep(self.sync_every_s)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(LISTEN_TIMEOUT_S):
                            await conn.close()

    async def _lock_cells_of(self, conn: Any, plans: list[FlightPlan]) -> dict[str, list[int]]:
        """Lock (one sorted batch, none held before) the cells of plans a centre action may release."""
        cells = {}
        for p in plans:
            fp = self._footprint_or_none(p)
            cells[p.id] = self._cells_for(p, fp) if fp is not None else []
        await self.repo.lock_keys(conn, sorted({c for cs in cells.values() for c in cs}))
        return cells

    def on_airspace_changed(self) -> None:
        """Listener for the airspace service: a new restriction withdraws the approved plans it forbids,
        and the other nodes are told to take it (:meth:`_take_restrictions`)."""
        if self._remote:  # another node's change, taken by sync_all: that node withdraws and tells
            return
        self._spawn(self._announce_airspace())
        current = {r.id: r for r in self.view.index.restrictions}
        new = [r for rid, r in current.items() if rid not in self._seen_restrictions]
        self._seen_restrictions = set(current)
        for r in new:
            self._spawn(self._withdraw_for(r, Filer(r.created_by or "centre", None, True)))

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce_airspace(self) -> None:
        """NOTIFY the other nodes that the restrictions changed (their catch-up runs at once)."""
        try:
            async with self.db.unit_of_work() as uow:
                await self.repo.notify(uow.conn, f"{self.node} airspace")
                await uow.commit()
        except Exception as exc:  # database away: the others' periodic catch-up takes it later
            log.warning("airspace_notify_failed", extra={"error": str(exc)[:200]})

    # ------------------------------------------------------------------ index bookkeeping

    def _slots_of(self, p: FlightPlan) -> list[tuple[str, datetime]]:
        rad = self.policy.vertiport_radius_m
        out = []
        for point, t in ((p.takeoff, p.start), (p.landing, p.end)):
            port = self.view.vertiport_near(point, rad)
            if port is not None:
                out.append((port.id, slot_of(t, self.policy)))
        return out

    def _hold(self, p: FlightPlan, fp: Footprint) -> None:
        self.held[p.id] = (p, fp)
        self.held_version += 1
        self.index.add(Entry(p.id, fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s, int(p.priority),
                             p.state is PlanState.ACTIVE, p.organisation, fp.floor_agl, fp.ceiling_agl))
        slots = self._slots_of(p)
        self._plan_slots[p.id] = slots
        for s in slots:
            self._slots[s] += 1

    def _release(self, plan_id: str) -> None:
        if self.held.pop(plan_id, None) is not None:
            self.held_version += 1
        self.index.remove(plan_id)
        for s in self._plan_slots.pop(plan_id, []):
            self._slots[s] -= 1

    def _facts(self, reg: Registry, now: datetime, bookings: list[Booking] | None = None,
               filed_at: datetime | None = None, standing: list[StandingApproval] | None = None) -> Facts:
        return Facts(now, self.policy, self.view, self.index, reg, self.weather,
                     lambda pid, slot: self._slots.get((pid, slot), 0), bookings or [], filed_at, standing or [])

    async def _standing(self, conn: Any, p: FlightPlan) -> list[StandingApproval]:
        """The organisation's active standing approvals over the plan's window (government fleets). Only a
        government fleet of the policy can hold one, so every other filing skips the round trip."""
        if self.fleets is None or fleet_of(self.policy, p.organisation) is None:
            return []
        return await self.fleets.standing_of(conn, p.organisation, p.start, p.end)

    def _booking_window(self, p: FlightPlan) -> tuple[datetime, datetime]:
        """Where the aircraft's and licence's other plans matter: turnaround before it, and as far as
        the alternatives search after it."""
        return p.start - self.policy.alt_time_horizon - self.policy.turnaround, p.end + BOOKING_AFTER

    async def _bookings(self, conn: Any, p: FlightPlan) -> list[Booking]:
        found: list[Booking] = await self.repo.bookings(conn, p.aircraft_id, p.licence_id, *self._booking_window(p))
        return found

    # ------------------------------------------------------------------ filing

    async def _replay(self, conn: Any, org: str, key: str, request_hash: str | None) -> FlightPlan | None:
        seen: tuple[FlightPlan, str | None] | None = await self.repo.get_by_idempotency_key_hashed(conn, org, key)
        if seen is None:
            return None
        plan, stored = seen
        if request_hash is not None and stored is not None and stored != request_hash:
            raise IdempotencyMismatch(key)
        return plan

    async def submit(self, plan: FlightPlan, by: Filer, idempotency_key: str | None = None,
                     request_hash: str | None = None) -> tuple[FlightPlan, bool]:
        """Decide and commit. Returns (plan as committed, replayed) - replayed for a known key.

        A known key with a different ``request_hash`` (SHA-256 of the canonical body) raises
        :class:`IdempotencyMismatch`: the operator must not believe a changed plan was filed.
        """
        if idempotency_key:
            async with self.db.unit_of_work() as uow:
                seen = await self._replay(uow.conn, plan.organisation, idempotency_key, request_hash)
            if seen is not None:
                return seen, True
        plan = replace(plan, priority_level=priority_for(self.policy, plan.organisation, plan.mission))
        fp0 = self._footprint_or_none(plan)
        cells = self._cells_for(plan, fp0) if fp0 is not None else []
        return await self._relocking(
            lambda extra: self._submit_locked(plan, by, idempotency_key, request_hash, cells, extra, fp0))

    async def _relocking(self, attempt: Callable[[set[int]], Awaitable[_T]]) -> _T:
        """Run one locked transaction; start again with more keys when it asks (:class:`_Relock`)."""
        extra: set[int] = set()
        async with self._gate:
            for k in range(RELOCK_TRIES):
                try:
                    return await attempt(extra)
                except _Relock as r:
                    if k == RELOCK_TRIES - 1:
                        raise
                    extra |= r.keys
        raise AssertionError("unreachable")

    async def _submit_locked(self, plan: FlightPlan, by: Filer, idempotency_key: str | None,
                             request_hash: str | None, cells: list[int], extra: set[int],
                             fp0: Footprint | None = None) -> tuple[FlightPlan, bool]:
        now = self.clock()
        self._decisions += 1
        if self._decisions % PRUNE_EVERY == 0:  # finished plans leave the index (and their slots)
            for pid in self.index.prune(now.timestamp()):
                self._release(pid)
        keys = sorted(set(cells) | extra | set(self._who_keys(plan)))
        async with self.db.unit_of_work() as uow:
            # round trips: the locks and the reads under them (+ the changed plans when another node changed
            # a cell), the writes, commit (docs/filing.md, Throughput)
            reg, register, verified, bookings = await self._lock_and_read(uow.conn, keys, cells, plan, by)
            decision, fp = decide(plan, self._facts(reg, now, bookings, standing=await self._standing(uow.conn, plan)),
                                  fp0)
            decision = with_pilot_check(decision, plan, register, self.policy)  # issue #22 (filing.pilot_rules)
            state = PlanState(decision.verdict.value)
            plan = replace(plan, state=state, decision=decision.as_dict(), created_at=now, updated_at=now)
            events = [PlanEvent(plan.id, plan.organisation, PlanState.SUBMITTED.value, state.value, "system", now,
                                _summary(decision), {"decision": plan.decision})]
            audit: list[AuditRow] = [
                (plan.id, None, PlanState.SUBMITTED, by.name, "filed", {}, now),
                (plan.id, PlanState.SUBMITTED, state, "system", _summary(decision),
                 {"codes": [r.code for r in decision.reasons]}, now)]
            taken = _Taken([], _noop, {}, [], [])
            try:
                if state is PlanState.APPROVED:
                    taken = await self._take(uow.conn, plan, fp, decision.preempts, now, set(keys), cells, by=by.name,
                                             deferred=audit)
                    events += taken.events
                elif state is PlanState.REFERRED and decision.preempts:
                    events += await self._warn_at_risk(uow.conn, plan, decision.preempts, now)
                try:
                    new = await self.repo.file_plan(uow.conn, plan, idempotency_key, request_hash, audit,
                                                    [self._wire(ev) for ev in events], taken.bump, taken.touched,
                                                    self.node)
                except self.repo.DuplicateIdempotencyKey:  # another process won the race: replay its decision
                    taken.undo()  # and nothing of this transaction is committed
                    seen = await self._replay(uow.conn, plan.organisation, idempotency_key or "", request_hash)
                    if seen is None:
                        raise
                    return seen, True
                except BaseException:  # not written: the tentative change to the index goes
                    taken.undo()
                    raise
                await _commit_or_undo(uow, taken.undo)
            finally:
                self._inflight.difference_update(taken.touched)
            self._advance(verified, new)
        for ev in events:
            self.notifier.publish(ev)
        return plan, False

    async def _warn_at_risk(self, conn: Any, plan: FlightPlan, ids: list[str], now: datetime) -> list[PlanEvent]:
        """A referred emergency plan would displace these approved plans: tell their operators now."""
        events = []
        z, en = text("at_risk_emergency", mission=plan.mission.value, mission_zh=zh("mission", plan.mission.value))
        for pid in ids:
            held = self.held.get(pid)
            if held is None:
                continue
            other = held[0]
            details = {"emergency_plan": plan.id, "mission": plan.mission.value,
                       "decide_by": plan.decision.get("decide_by"), "message_zh": z, "message_en": en}
            await self.repo.add_event(conn, pid, other.state, other.state, "system", "at risk", details, at=now)
            events.append(PlanEvent(pid, other.organisation, other.state.value, other.state.value, "system", now,
                                    "at risk", details, kind="plan_at_risk"))
        return events

    async def _take(self, conn: Any, plan: FlightPlan, fp: Footprint | None, preempts: list[str], now: datetime,
                    locked: set[int], cells: list[int] | None = None, *, by: str = "system",
                    deferred: list[AuditRow] | None = None) -> _Taken:
        """Hold the plan's airspace and withdraw what it preempts; the caller commits or the index is undone.

        The cells of displaced plans beyond ``locked`` are try-locked; if another transaction holds one,
        :class:`_Relock` makes the caller start again with them in its sorted batch. Bumps the versions
        of every cell whose held airspace changes (and NOTIFYs). Returns the events, the undo, the new
        versions and the plan ids marked in flight (the caller clears them).

        ``deferred``: the plan is not written yet (a new filing): the bump (``_Taken.bump``) and the plan's
        own audit row are left to the caller's write (``filing_repo.file_plan``), appended to ``deferred``.
        """
        fp = fp or footprint(plan, self.view.terrain)
        withdrawn: list[FlightPlan] = []
        for pid in preempts:
            other = await self.repo.get_plan(conn, pid, for_update=True)
            if other is not None and other.state.can_transition_to(PlanState.WITHDRAWN):
                withdrawn.append(other)
        bump = set(self._cells_for(plan, fp) if cells is None else cells)
        for o in withdrawn:
            bump.update(self._cells_for(o, footprint(o, self.view.terrain)))
        beyond = bump - locked
        if beyond and not await self.repo.try_lock_keys(conn, sorted(beyond)):
            raise _Relock(beyond)
        touched = [plan.id, *(o.id for o in withdrawn)]
        new = {} if deferred is not None else await self.repo.bump_cells(conn, sorted(bump), touched, self.node)
        self._inflight.update(touched)
        # tentative in-memory change, so the displaced operators' alternatives see the new picture
        for o in withdrawn:
            self._release(o.id)
        self._hold(plan, fp)
        def undo() -> None:
            self._release(plan.id)
            for o in withdrawn:
                self._hold(o, footprint(o, self.view.terrain))

        ok = False
        try:
            events = []
            for o in withdrawn:
                events += await self._preempt(conn, plan, o, now, by)
            if withdrawn:
                events.append(await self._preempting_notice(conn, plan, withdrawn, now, deferred))
            ok = True
            return _Taken(events, undo, new, touched, sorted(bump) if deferred is not None else [])
        finally:
            if not ok:
                undo()
                self._inflight.difference_update(touched)

    async def _preempt(self, conn: Any, plan: FlightPlan, o: FlightPlan, now: datetime, by: str) -> list[PlanEvent]:
        """Withdraw ``o`` for the higher-priority ``plan`` (``rules.rule_deconfliction`` chose it: approved, not
        airborne, strictly lower): its state change, a ``plan_preempted`` notice naming the preempting
        priority (never the other operator: its plan id is redacted for operators, its organisation not
        sent), the nearest free time, and the audit of who preempted what, when, under which rule."""
        level, lower = plan.priority, o.priority
        alt = nearest_time(o, self._facts(Registry(None, None, False, False), now, await self._bookings(conn, o)))
        reason = f"preempted by a higher-priority ({level.name.lower()}) flight"  # whose: details, redacted
        z, en = text("withdrawn_preempted", level=level.name.lower(), level_zh=level.zh)
        rule = {"rule": f"priorities.preempt_from={self.policy.priorities.preempt_from.name.lower()}",
                "article": self.policy.priorities.preempt_article}
        details = {"preempted_by": plan.id, "mission": plan.mission.value, "priority": level.name.lower(),
                   "priority_zh": level.zh, "your_priority": lower.name.lower(), "your_priority_zh": lower.zh,
                   **rule, "alternatives": [alt] if alt else [], "message_zh": z, "message_en": en}
        await self.repo.set_state(conn, o.id, PlanState.WITHDRAWN, decision={**o.decision, "withdrawn": details},
                                  now=now)
        await self.repo.add_event(conn, o.id, o.state, PlanState.WITHDRAWN, "system", reason, details, at=now)
        if self.fleets is not None:
            await self.fleets.record_preemption(conn, o.id, by, now, {
                "by_plan": plan.id, "by_organisation": plan.organisation, "priority": level.name.lower(),
                "preempted_organisation": o.organisation, "preempted_priority": lower.name.lower(),
                "preempted_state": o.state.value, **rule})
        return [PlanEvent(o.id, o.organisation, o.state.value, PlanState.WITHDRAWN.value, "system", now, reason, details),
                PlanEvent(o.id, o.organisation, o.state.value, PlanState.WITHDRAWN.value, "system", now, reason, details,
                          kind="plan_preempted")]

    async def _preempting_notice(self, conn: Any, plan: FlightPlan, displaced: list[FlightPlan], now: datetime,
                                 deferred: list[AuditRow] | None = None) -> PlanEvent:
        """Tell the preempting operator what its plan displaced (plan ids of other organisations are redacted
        for operators on ``/ws/plans`` and in the audit trail; the centre sees them)."""
        level = plan.priority
        z, en = text("preempted_notice", level=level.name.lower(), level_zh=level.zh, n=len(displaced))
        details = {"priority": level.name.lower(), "priority_zh": level.zh,
                   "displaced": [{"plan": o.id, "priority": o.priority.name.lower(),
                                  "priority_zh": PRIORITY_ZH[Priority(o.priority)]} for o in displaced],
                   "message_zh": z, "message_en": en}
        reason = f"preempted {len(displaced)} lower-priority plan(s)"
        if deferred is not None:  # the plan is written after this, with its audit rows
            deferred.append((plan.id, plan.state, plan.state, "system", reason, details, now))
        else:
            await self.repo.add_event(conn, plan.id, plan.state, plan.state, "system", reason, details, at=now)
        return PlanEvent(plan.id, plan.organisation, plan.state.value, plan.state.value, "system", now, reason, details,
                         kind="plan_preempting")

    async def _transition(self, plan_id: str, by: Filer, to: PlanState, reason: str,
                          check: Callable[[FlightPlan, datetime], None] | None = None) -> FlightPlan:
        return await self._relocking(lambda extra: self._transition_locked(plan_id, by, to, reason, check, extra))

    async def _transition_locked(self, plan_id: str, by: Filer, to: PlanState, reason: str,
                                 check: Callable[[FlightPlan, datetime], None] | None, extra: set[int]
                                 ) -> FlightPlan:
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            p = await self.repo.get_plan(uow.conn, plan_id)
            if p is None or not (by.centre or p.organisation == by.organisation):
                raise PlanNotFound(plan_id)
            fp0 = self._footprint_or_none(p)
            cells = self._cells_for(p, fp0) if fp0 is not None else []
            keys = sorted(set(cells) | extra | set(self._who_keys(p)))
            await self.repo.lock_keys(uow.conn, keys)
            verified = await self._sync(uow.conn, cells, locked=True)
            p = await self.repo.get_plan(uow.conn, plan_id, for_update=True)
            if p is None:
                raise PlanNotFound(plan_id)
            if not p.state.can_transition_to(to):
                raise TransitionRefused(f"state: a {p.state.value} plan cannot become {to.value}")
            if check is not None:
                check(p, now)
            events: list[PlanEvent] = []
            decision = dict(p.decision)
            undo: Callable[[], None] = _noop
            new: dict[int, int] = {}
            touched: list[str] = []
            try:
                if to is PlanState.APPROVED:
                    decision, extra_events, undo, new, touched = await self._approve_checks(
                        uow.conn, p, by, reason, now, set(keys))
                    events += extra_events
                elif p.state.holds_airspace and cells:  # the index changes: the other nodes must know
                    new = await self.repo.bump_cells(uow.conn, cells, [p.id], self.node)
                await self.repo.set_state(uow.conn, p.id, to, decision=decision, now=now)
                await self.repo.add_event(uow.conn, p.id, p.state, to, by.name, reason, at=now)
                events.insert(0, PlanEvent(p.id, p.organisation, p.state.value, to.value, by.name, now, reason))
                await self._announce(uow.conn, events)
                await _commit_or_undo(uow, undo)
            finally:
                self._inflight.difference_update(touched)
            if to is PlanState.ACTIVE:
                self.index.set_active(p.id)
                if p.id in self.held:
                    self.held[p.id] = (replace(p, state=to), self.held[p.id][1])
                    self.held_version += 1
                else:
                    self._apply(replace(p, state=to), now)
            if to in (PlanState.COMPLETED, PlanState.CANCELLED) and p.id in self.held:
                # the aircraft is still on the surveillance picture for a few seconds after landing;
                # the monitor ends its track without a lost-contact alert (state tells which)
                self.recently_completed[p.id] = (replace(self.held[p.id][0], state=to), self.held[p.id][1],
                                                 now.timestamp())
            if not to.holds_airspace:
                self._release(p.id)
            self._advance(verified, new)
        for ev in events:
            self.notifier.publish(ev)
        return replace(p, state=to, decision=decision, updated_at=now)

    # ------------------------------------------------------------------ emergency decide-by

    async def run_due(self, now: datetime | None = None) -> list[DueAction]:
        """Act on referred emergency plans at (or near) their decide-by time, as the policy says."""
        now = now or self.clock()
        async with self.db.unit_of_work() as uow:
            referred = await self.repo.plans_overlapping(uow.conn, [PlanState.REFERRED.value], now - timedelta(
                hours=1), now + self.policy.max_advance)
        actions = due_actions(referred, now, self.policy)
        system = Filer("system", None, True)
        for a in actions:
            try:
                if a.action == "escalate":
                    await self._escalate(a, now)
                elif a.action == "approve_if_clear":
                    try:
                        await self._transition(a.plan_id, system, PlanState.APPROVED,
                                               text("emergency_auto_approved")[1])
                    except ApprovalRefused as exc:
                        await self._transition(a.plan_id, system, PlanState.REJECTED,
                                               f"{text('emergency_auto_rejected')[1]}: {exc}")
                else:
                    await self._transition(a.plan_id, system, PlanState.REJECTED, text("emergency_auto_rejected")[1])
            except (PlanNotFound, TransitionRefused) as exc:  # decided meanwhile
                log.info("due_action_skipped", extra={"plan": a.plan_id, "why": str(exc)[:200]})
        return actions

    async def _escalate(self, a: DueAction, now: datetime) -> None:
        async with self._lock:
            async with self.db.unit_of_work() as uow:
                p = await self.repo.get_plan(uow.conn, a.plan_id, for_update=True)
                if p is None or p.state is not PlanState.REFERRED or p.decision.get("escalated_at"):
                    return
                z, en = text("emergency_escalated", decide_by=a.decide_by.astimezone(self.policy.tz).strftime("%H:%M"))
                details = {"decide_by": iso(a.decide_by), "message_zh": z, "message_en": en}
                await self.repo.set_state(uow.conn, p.id, p.state, decision={**p.decision, "escalated_at": iso(now)},
                                            now=now)
                await self.repo.add_event(uow.conn, p.id, p.state, p.state, "system", "escalated", details, at=now)
                ev = PlanEvent(p.id, p.organisation, p.state.value, p.state.value, "system", now, "escalated", details,
                               kind="plan_escalated")
                await self._announce(uow.conn, [ev])
                await uow.commit()
            self.notifier.publish(ev)

    async def _approve_checks(self, conn: Any, p: FlightPlan, by: Filer, comment: str, now: datetime,
                              locked: set[int]) -> tuple[dict[str, Any], list[PlanEvent], Callable[[], None],
                                                         dict[int, int], list[str]]:
        """The centre approves a referred plan: EVERY rule is re-run against today's picture
        (restrictions, slots, warnings, bookings, deconfliction; cut-offs at filing time).
        Any rule that now rejects refuses the approval with its reasons (zh + en)."""
        reg = await self.repo.registry(conn, p.aircraft_id, p.submitted_by)
        facts = self._facts(reg, now, await self._bookings(conn, p), filed_at=p.created_at,
                            standing=await self._standing(conn, p))
        d, fp = evaluate(p, facts)
        d = with_pilot_check(d, p, await self.pilots.register_of(conn, p.organisation), self.policy)
        rejects = [r.as_dict() for r in d.reasons if r.outcome is Outcome.REJECT]
        if rejects:
            raise ApprovalRefused(rejects)
        decision = {**p.decision, "verdict": "approved", "approved_by": by.name, "comment": comment,
                    "approved_at": iso(now), "approval_checks": d.as_dict()["checks"]}
        taken = await self._take(conn, replace(p, state=PlanState.APPROVED), fp, d.preempts, now, locked, by=by.name)
        return decision, taken.events, taken.undo, taken.new, taken.touched

    async def approve(self, plan_id: str, by: Filer, comment: str) -> FlightPlan:
        return await self._transition(plan_id, by, PlanState.APPROVED, comment or "approved by the centre")

    async def reject(self, plan_id: str, by: Filer, comment: str) -> FlightPlan:
        return await self._transition(plan_id, by, PlanState.REJECTED, comment or "rejected by the centre")

    async def cancel(self, plan_id: str, by: Filer, reason: str) -> FlightPlan:
        return await self._transition(plan_id, by, PlanState.CANCELLED, reason or "cancelled")

    async def activate(self, plan_id: str, by: Filer) -> FlightPlan:
        """Readiness confirmed and airborne (条例 Art. 30: confirm within the hour before take-off)."""
        def check(p: FlightPlan, now: datetime) -> None:
            if now < p.start - self.policy.activation_before:
                raise TransitionRefused(f"start: readiness can be confirmed from {self.policy.activation_before} "
                                        f"before take-off ({self.policy.activation_article})")
            if now >= p.end:
                raise TransitionRefused("end: the plan's window is over")
        return await self._transition(plan_id, by, PlanState.ACTIVE, "readiness confirmed / first telemetry", check)

    async def complete(self, plan_id: str, by: Filer) -> FlightPlan:
        return await self._transition(plan_id, by, PlanState.COMPLETED, "landed")

    # ------------------------------------------------------------------ reads

    async def get(self, plan_id: str, by: Filer) -> tuple[FlightPlan, list[dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            p = await self.repo.get_plan(uow.conn, plan_id)
            if p is None or not (by.centre or p.organisation == by.organisation):
                raise PlanNotFound(plan_id)
            return p, await self.repo.events(uow.conn, plan_id)

    async def list_plans(self, by: Filer, **filters: Any) -> list[FlightPlan]:
        async with self.db.unit_of_work() as uow:
            plans: list[FlightPlan] = await self.repo.list_plans(
                uow.conn, organisation=None if by.centre else by.organisation or "", **filters)
        return plans

    # ------------------------------------------------------------------ centre inputs

    async def add_weather_warning(self, w: WeatherWarning, by: Filer) -> list[str]:
        """Record a warning and re-evaluate the approved and referred plans in its area and window.

        A warning that rejects (thunderstorm, wind above the category limit) withdraws them; one
        that refers (low visibility, heavy rain) suspends approved plans back to the centre
        (approved -> referred). Each gets an event on ``/ws/plans`` and, where one exists, a time
        alternative clear of the warning. Returns the affected plan ids.
        """
        async with self._lock:
            now = self.clock()
            weather = [x for x in self.weather if x.end > now] + [w]
            events: list[PlanEvent] = []
            hit: list[tuple[str, PlanState]] = []
            async with self.db.unit_of_work() as uow:
                await self.repo.add_weather_warning(uow.conn, w, by.name)
                plans = await self.repo.plans_overlapping(
                    uow.conn, [PlanState.APPROVED.value, PlanState.REFERRED.value, PlanState.ACTIVE.value],
                    w.start, w.end)
                cells = await self._lock_cells_of(uow.conn, [p for p in plans if warning_applies(w, p)])
                for p in plans:
                    if not warning_applies(w, p):
                        continue
                    res = rule_weather(p, [w], self.policy)
                    if res.outcome is Outcome.PASS:
                        continue
                    if p.state is PlanState.ACTIVE:  # airborne: no state change, the operator is told at once
                        z, en = text("advisory_weather", kind=w.kind, kind_zh=zh("weather", w.kind))
                        details: dict[str, Any] = {"warning": w.id, "kind": w.kind, "reason": res.as_dict(),
                                                   "message_zh": z,
                                   "message_en": en}
                        await self.repo.add_event(uow.conn, p.id, p.state, p.state, by.name, "weather advisory",
                                                    details, at=now)
                        events.append(PlanEvent(p.id, p.organisation, p.state.value, p.state.value, by.name, now,
                                                "weather advisory", details, kind="plan_advisory"))
                        continue
                    to = PlanState.WITHDRAWN if res.outcome is Outcome.REJECT else PlanState.REFERRED
                    if to is p.state:
                        continue
                    facts = self._facts(Registry(None, None, False, False), now, await self._bookings(uow.conn, p))
                    facts.weather = weather  # alternatives clear of the new warning too
                    alt = nearest_time(p, facts)
                    key = "withdrawn_weather" if to is PlanState.WITHDRAWN else "suspended_weather"
                    z, en = text(key, kind=w.kind, kind_zh=zh("weather", w.kind))
                    details = {"warning": w.id, "kind": w.kind, "reason": res.as_dict(),
                               "alternatives": [alt] if alt else [], "message_zh": z, "message_en": en}
                    reason = f"weather warning {w.id} ({w.kind}) by {by.name}"
                    field_ = "withdrawn" if to is PlanState.WITHDRAWN else "suspended"
                    await self.repo.set_state(uow.conn, p.id, to, decision={**p.decision, field_: details}, now=now)
                    await self.repo.add_event(uow.conn, p.id, p.state, to, by.name, reason, details, at=now)
                    events.append(PlanEvent(p.id, p.organisation, p.state.value, to.value, by.name, now, reason,
                                            details))
                    hit.append((p.id, p.state))
                bump = sorted({c for pid, was in hit if was is PlanState.APPROVED for c in cells.get(pid, [])})
                await self.repo.bump_cells(uow.conn, bump, [pid for pid, _ in hit], self.node)
                await self.repo.notify(uow.conn, f"{self.node} weather")
                await self._announce(uow.conn, events)
                await uow.commit()
            self.weather = weather  # only once PostGIS has it
            self._weather_changes += 1
            for pid, was in hit:
                if was is PlanState.APPROVED:
                    self._release(pid)
            for ev in events:
                self.notifier.publish(ev)
            return [pid for pid, _ in hit]

    async def end_weather_warning(self, warning_id: str, by: Filer) -> WeatherWarning:
        """End a warning early (kept in PostGIS with ended_at/ended_by); it no longer affects filings."""
        async with self._lock:
            now = self.clock()
            async with self.db.unit_of_work() as uow:
                if not await self.repo.end_weather_warning(uow.conn, warning_id, by.name, now):
                    raise WarningNotFound(warning_id)
                await self.repo.notify(uow.conn, f"{self.node} weather")
                await uow.commit()
            w = next((x for x in self.weather if x.id == warning_id), None)
            self.weather = [x for x in self.weather if x.id != warning_id]
            self._weather_changes += 1
            if w is None:
                raise WarningNotFound(warning_id)
            return replace(w, end=min(w.end, max(now, w.start)))

    async def apply_restriction(self, r: Restriction, by: Filer) -> list[str]:
        """A new restriction takes effect: withdraw the approved plans it now forbids, offering alternatives.

        The restriction itself is owned by the airspace part (table ``airspace_restrictions``);
        this only updates filing's view and the plans it affects.
        """
        self.view.index.add_restriction(r)
        self._seen_restrictions.add(r.id)
        return await self._withdraw_for(r, by)

    async def _withdraw_for(self, r: Restriction, by: Filer) -> list[str]:
        async with self._lock:
            now = self.clock()
            hit: list[str] = []
            async with self.db.unit_of_work() as uow:
                held = await self.repo.holding_plans(uow.conn, now)
                cells = await self._lock_cells_of(uow.conn, [
                    p for p in held if p.state is PlanState.APPROVED and p.end > r.start and p.start < r.end])
                events = []
                for p in held:
                    if p.state is not PlanState.APPROVED or p.end <= r.start or p.start >= r.end:
                        continue
                    fp = footprint(p, self.view.terrain)
                    finding = self.view.check(p, fp)
                    if not any(h.volume_id == r.id and h.verdict.value == "forbidden" for h in finding.hits):
                        continue
                    facts = self._facts(Registry(None, None, False, False), now, await self._bookings(uow.conn, p))
                    # CPU work (up to ~130 ms a plan when nothing can be offered): off the event loop, so a
                    # constraint over many plans does not stall ingest and the live feed meanwhile
                    alts = await asyncio.to_thread(after_withdrawal, p, facts, fp)
                    name_zh = r.name_zh or zh("restriction", r.reason.value)
                    z, en = text("withdrawn_restriction" if alts else "withdrawn_restriction_none", name_zh=name_zh,
                                 name=r.name_en or r.reason.value, n=len(alts))
                    details = {"restriction": r.id, "alternatives": alts, "refile": "POST /plans",
                               "message_zh": z, "message_en": en}
                    reason = f"restriction {r.id} by {by.name}"
                    await self.repo.set_state(uow.conn, p.id, PlanState.WITHDRAWN,
                                                decision={**p.decision, "withdrawn": details}, now=now)
                    await self.repo.add_event(uow.conn, p.id, p.state, PlanState.WITHDRAWN, by.name, reason,
                                                details, at=now)
                    events.append(PlanEvent(p.id, p.organisation, p.state.value, "withdrawn", by.name, now, reason,
                                            details))
                    hit.append(p.id)
                await self.repo.bump_cells(uow.conn, sorted({c for pid in hit for c in cells.get(pid, [])}), hit,
                                             self.node)
                await self._announce(uow.conn, events)
                await uow.commit()
            for pid in hit:
                self._release(pid)
            for ev in events:
                self.notifier.publish(ev)
            return hit


async def _forever(wait: Callable[[], Awaitable[Any]], action: Callable[[], Awaitable[Any]], what: str) -> None:
    """Wait, act, and again; a failure (database away) is logged and the next round tries again."""
    while True:
        await wait()
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(what, extra={"error": str(exc)[:200]})


def _noop() -> None:
    return None


async def _commit_or_undo(uow: Any, undo: Callable[[], None]) -> None:
    """Commit; if the commit fails, take the tentative in-memory change back (nothing was approved)."""
    try:
        await uow.commit()
    except BaseException:
        undo()
        raise


def _pack(d: dict[str, Any]) -> str:
    return base64.b64encode(zlib.compress(orjson.dumps(d, option=orjson.OPT_NON_STR_KEYS))).decode()


def _summary(d: Decision) -> str:
    if d.verdict is Verdict.APPROVED:
        return f"approved ({d.pathway.value})"
    return f"{d.verdict.value}: " + "; ".join(r.code for r in d.reasons)


def _restriction(r: dict[str, Any]) -> Restriction:
    props = r.get("properties") or {}
    return Restriction(
        id=r["id"], reason=RestrictionReason(r["reason"]) if r["reason"] in set(RestrictionReason)
        else RestrictionReason.OTHER, polygon=r["polygon"],
        floor=Altitude(r["floor_m"], AltitudeReference(r["floor_ref"])),
        ceiling=Altitude(r["ceiling_m"], AltitudeReference(r["ceiling_ref"])), start=r["starts_at"],
        end=r["ends_at"], created_by=r["created_by"], name_zh=props.get("name_zh", ""),
        name_en=props.get("name_en", ""))


def new_plan_id() -> str:
    return uuid.uuid4().hex
