"""The filing service: decides, commits, then updates the in-memory 4D index and notifies.

Ordering is the point: a decision is computed under one asyncio lock (so two filings
can never both take the same airspace), written with its audit events in one
transaction, and only after ``commit()`` succeeds does the deconfliction index change
and the notification go out. If PostGIS is away the unit of work raises
:class:`~lowalt.store.db.DatabaseUnavailable` (HTTP 503) and nothing is approved.
At start-up the index is rebuilt from the approved/active plans in PostGIS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import AirspaceSet, Restriction, RestrictionReason
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.alternatives import nearest_time
from lowalt.filing.decision import Decision, Facts, Verdict, decide, slot_of
from lowalt.filing.deconfliction import DeconflictionIndex, Entry
from lowalt.filing.model import FlightPlan, Footprint, PlanState, footprint
from lowalt.filing.policy import Policy
from lowalt.filing.rules import Outcome, Registry, WeatherWarning, rule_deconfliction
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.terrain import TerrainModel, default_terrain
from lowalt.store import filing_repo
from lowalt.store.db import Database

log = logging.getLogger(__name__)


PRUNE_EVERY = 500
"""Decisions between sweeps of finished plans out of the in-memory index."""


class PlanNotFound(LookupError):
    """No such plan, or not visible to the caller (operators see their own organisation's only)."""


class TransitionRefused(ValueError):
    """The plan's state does not allow this (HTTP 409)."""


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

    def as_dict(self) -> dict[str, Any]:
        return {"type": "plan_state", "plan_id": self.plan_id, "organisation": self.organisation,
                "from_state": self.from_state, "to_state": self.to_state, "by": self.by,
                "at": self.at.isoformat(), "reason": self.reason, "details": self.details}


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
    def __init__(self, db: Database, airspace: AirspaceSet, policy: Policy, *, terrain: TerrainModel | None = None,
                 clock: Callable[[], datetime] = _now, index: AirspaceIndex | None = None) -> None:
        """``index``: share the airspace part's live index (its restrictions then apply at once)."""
        self.db = db
        self.policy = policy
        self.shared_index = index is not None
        self.view = AirspaceView(airspace, terrain or (index.terrain if index else default_terrain()), index)
        self.index = DeconflictionIndex(policy.h_buffer_m, policy.v_buffer_m, policy.t_buffer_s)
        self.clock = clock
        self.notifier = Notifier()
        self.weather: list[WeatherWarning] = []
        self._slots: defaultdict[tuple[str, datetime], int] = defaultdict(int)
        self._plan_slots: dict[str, list[tuple[str, datetime]]] = {}
        self._lock = asyncio.Lock()
        self._seen_restrictions: set[str] = set()
        self._decisions = 0
        self._tasks: set[asyncio.Future[Any]] = set()
        self.held: dict[str, tuple[FlightPlan, Footprint]] = {}
        """Approved/active plans with their footprints: what the live monitor checks conformance against."""
        self.held_version = 0
        self.recently_completed: dict[str, tuple[FlightPlan, Footprint, float]] = {}
        """Plans completed recently (plan, footprint, epoch s): a landed aircraft still reporting is not
        an unauthorised flight."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Rebuild the in-memory state from what PostGIS has committed."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            holding = await filing_repo.holding_plans(uow.conn, now)
            self.weather = await filing_repo.weather_warnings_after(uow.conn, now)
            restrictions = [] if self.shared_index else await filing_repo.active_restriction_rows(uow.conn, now)
        for r in restrictions:
            try:
                self.view.index.add_restriction(_restriction(r))
            except ValueError as exc:  # a bad row must not stop filing
                log.warning("restriction_skipped", extra={"id": r.get("id"), "error": str(exc)})
        for p in holding:
            self._hold(p, footprint(p, self.view.terrain))
        self._seen_restrictions = {r.id for r in self.view.index.restrictions}
        log.info("filing_started", extra={"plans": len(self.index), "weather": len(self.weather)})

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(BaseException):
                await t

    def on_airspace_changed(self) -> None:
        """Listener for the airspace service: a new restriction withdraws the approved plans it forbids."""
        current = {r.id: r for r in self.view.index.restrictions}
        new = [r for rid, r in current.items() if rid not in self._seen_restrictions]
        self._seen_restrictions = set(current)
        for r in new:
            task = asyncio.ensure_future(self._withdraw_for(r, Filer(r.created_by or "centre", None, True)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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

    def _facts(self, reg: Registry, now: datetime) -> Facts:
        return Facts(now, self.policy, self.view, self.index, reg, self.weather,
                     lambda pid, slot: self._slots.get((pid, slot), 0))

    # ------------------------------------------------------------------ filing

    async def submit(self, plan: FlightPlan, by: Filer, idempotency_key: str | None = None
                     ) -> tuple[FlightPlan, bool]:
        """Decide and commit. Returns (plan as committed, replayed) - replayed for a known key."""
        async with self._lock:
            if idempotency_key:
                async with self.db.unit_of_work() as uow:
                    seen = await filing_repo.get_by_idempotency_key(uow.conn, plan.organisation, idempotency_key)
                if seen is not None:
                    return seen, True
            now = self.clock()
            self._decisions += 1
            if self._decisions % PRUNE_EVERY == 0:  # finished plans leave the index (and their slots)
                for pid in self.index.prune(now.timestamp()):
                    self._release(pid)
            async with self.db.unit_of_work() as uow:
                reg = await filing_repo.registry(uow.conn, plan.aircraft_id, by.name)
                decision, fp = decide(plan, self._facts(reg, now))
                state = PlanState(decision.verdict.value)
                plan = replace(plan, state=state, decision=decision.as_dict(), created_at=now, updated_at=now)
                try:
                    await filing_repo.insert_plan(uow.conn, plan, idempotency_key)
                except filing_repo.DuplicateIdempotencyKey:  # another process won the race: replay its decision
                    seen = await filing_repo.get_by_idempotency_key(uow.conn, plan.organisation, idempotency_key or "")
                    if seen is None:
                        raise
                    return seen, True
                await filing_repo.add_events(uow.conn, [
                    (plan.id, None, PlanState.SUBMITTED, by.name, "filed", {}, now),
                    (plan.id, PlanState.SUBMITTED, state, "system", _summary(decision),
                     {"codes": [r.code for r in decision.reasons]}, now)])
                events = [PlanEvent(plan.id, plan.organisation, PlanState.SUBMITTED.value, state.value, "system", now,
                                    _summary(decision), {"decision": plan.decision})]
                undo: Callable[[], None] = _noop
                if state is PlanState.APPROVED:
                    extra, undo = await self._take(uow.conn, plan, fp, decision.preempts, now)
                    events += extra
                await _commit_or_undo(uow, undo)
            for ev in events:
                self.notifier.publish(ev)
            return plan, False

    async def _take(self, conn: Any, plan: FlightPlan, fp: Footprint | None, preempts: list[str], now: datetime
                    ) -> tuple[list[PlanEvent], Callable[[], None]]:
        """Hold the plan's airspace and withdraw what it preempts; the caller commits or the index is undone."""
        fp = fp or footprint(plan, self.view.terrain)
        withdrawn: list[FlightPlan] = []
        for pid in preempts:
            other = await filing_repo.get_plan(conn, pid, for_update=True)
            if other is not None and other.state.can_transition_to(PlanState.WITHDRAWN):
                withdrawn.append(other)
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
                alt = nearest_time(o, self._facts(Registry(None, None, False, False), now))
                reason = f"preempted by higher-priority {plan.mission.value} flight {plan.id}"
                details = {"preempted_by": plan.id, "mission": plan.mission.value,
                           "alternatives": [alt] if alt else [],
                           "message_zh": f"您的计划被更高优先级的{plan.mission.value}飞行占用空域，已撤销",
                           "message_en": f"your plan was withdrawn: a {plan.mission.value} flight takes the airspace"}
                await filing_repo.set_state(conn, o.id, PlanState.WITHDRAWN,
                                            decision={**o.decision, "withdrawn": details}, now=now)
                await filing_repo.add_event(conn, o.id, o.state, PlanState.WITHDRAWN, "system", reason, details, at=now)
                events.append(PlanEvent(o.id, o.organisation, o.state.value, PlanState.WITHDRAWN.value, "system", now,
                                        reason, details))
            ok = True
            return events, undo
        finally:
            if not ok:
                undo()

    async def _transition(self, plan_id: str, by: Filer, to: PlanState, reason: str,
                          check: Callable[[FlightPlan, datetime], None] | None = None) -> FlightPlan:
        async with self._lock:
            now = self.clock()
            async with self.db.unit_of_work() as uow:
                p = await filing_repo.get_plan(uow.conn, plan_id, for_update=True)
                if p is None or not (by.centre or p.organisation == by.organisation):
                    raise PlanNotFound(plan_id)
                if not p.state.can_transition_to(to):
                    raise TransitionRefused(f"state: a {p.state.value} plan cannot become {to.value}")
                if check is not None:
                    check(p, now)
                events: list[PlanEvent] = []
                decision = dict(p.decision)
                undo: Callable[[], None] = _noop
                if to is PlanState.APPROVED:
                    decision, extra, undo = await self._approve_checks(uow.conn, p, by, reason, now)
                    events += extra
                await filing_repo.set_state(uow.conn, p.id, to, decision=decision, now=now)
                await filing_repo.add_event(uow.conn, p.id, p.state, to, by.name, reason, at=now)
                events.insert(0, PlanEvent(p.id, p.organisation, p.state.value, to.value, by.name, now, reason))
                await _commit_or_undo(uow, undo)
            if to is PlanState.ACTIVE:
                self.index.set_active(p.id)
                if p.id in self.held:
                    self.held[p.id] = (replace(p, state=to), self.held[p.id][1])
                    self.held_version += 1
            if to is PlanState.COMPLETED and p.id in self.held:
                # the aircraft is still on the surveillance picture for a few seconds after landing
                self.recently_completed[p.id] = (*self.held[p.id], now.timestamp())
            if not to.holds_airspace:
                self._release(p.id)
            for ev in events:
                self.notifier.publish(ev)
            return replace(p, state=to, decision=decision, updated_at=now)

    async def _approve_checks(self, conn: Any, p: FlightPlan, by: Filer, comment: str, now: datetime
                              ) -> tuple[dict[str, Any], list[PlanEvent], Callable[[], None]]:
        """The centre approves a referred plan: re-check deconfliction against today's picture."""
        fp = footprint(p, self.view.terrain)
        conflicts = self.index.conflicts(fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s, exclude=p.id,
                                         floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl)
        res = rule_deconfliction(p, conflicts)
        if res.outcome is not Outcome.PASS:
            raise TransitionRefused(f"deconfliction: {res.message_en}")
        decision = {**p.decision, "verdict": "approved", "approved_by": by.name, "comment": comment,
                    "approved_at": now.isoformat()}
        events, undo = await self._take(conn, replace(p, state=PlanState.APPROVED), fp,
                                        list(res.details.get("preempts", [])), now)
        return decision, events, undo

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
            p = await filing_repo.get_plan(uow.conn, plan_id)
            if p is None or not (by.centre or p.organisation == by.organisation):
                raise PlanNotFound(plan_id)
            return p, await filing_repo.events(uow.conn, plan_id)

    async def list_plans(self, by: Filer, **filters: Any) -> list[FlightPlan]:
        async with self.db.unit_of_work() as uow:
            return await filing_repo.list_plans(uow.conn, organisation=None if by.centre else by.organisation or "",
                                                **filters)

    # ------------------------------------------------------------------ centre inputs

    async def add_weather_warning(self, w: WeatherWarning, by: Filer) -> None:
        async with self._lock:
            async with self.db.unit_of_work() as uow:
                await filing_repo.add_weather_warning(uow.conn, w, by.name)
                await uow.commit()
            self.weather = [x for x in self.weather if x.end > self.clock()] + [w]

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
                held = await filing_repo.holding_plans(uow.conn, now)
                events = []
                for p in held:
                    if p.state is not PlanState.APPROVED or p.end <= r.start or p.start >= r.end:
                        continue
                    fp = footprint(p, self.view.terrain)
                    finding = self.view.check(p, fp)
                    if not any(h.volume_id == r.id and h.verdict.value == "forbidden" for h in finding.hits):
                        continue
                    alt = nearest_time(p, self._facts(Registry(None, None, False, False), now))
                    details = {"restriction": r.id, "alternatives": [alt] if alt else [],
                               "message_zh": "新的临时管制空域占用了您的空域，计划已撤销",
                               "message_en": f"a new restriction ({r.reason.value}) takes the airspace"}
                    reason = f"restriction {r.id} by {by.name}"
                    await filing_repo.set_state(uow.conn, p.id, PlanState.WITHDRAWN,
                                                decision={**p.decision, "withdrawn": details}, now=now)
                    await filing_repo.add_event(uow.conn, p.id, p.state, PlanState.WITHDRAWN, by.name, reason,
                                                details, at=now)
                    events.append(PlanEvent(p.id, p.organisation, p.state.value, "withdrawn", by.name, now, reason,
                                            details))
                    hit.append(p.id)
                await uow.commit()
            for pid in hit:
                self._release(pid)
            for ev in events:
                self.notifier.publish(ev)
            return hit


def _noop() -> None:
    return None


async def _commit_or_undo(uow: Any, undo: Callable[[], None]) -> None:
    """Commit; if the commit fails, take the tentative in-memory change back (nothing was approved)."""
    try:
        await uow.commit()
    except BaseException:
        undo()
        raise


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


_AIRSPACE_CACHE: dict[str, AirspaceSet] = {}


async def build_filing_service(settings: Any, db: Database, airspace: Any = None) -> FilingService:
    """Composition: the area's airspace and policy (``settings.airspace_dir``), started on ``db``.

    ``airspace``: the airspace service, if running: filing then shares its index (and so its
    live restrictions) and listens for changes to withdraw plans a new restriction forbids.
    """
    from pathlib import Path

    from lowalt.airspace.geojson import load_airspace
    from lowalt.filing.policy import load_policy

    path = Path(settings.airspace_dir)
    index = getattr(airspace, "index", None)
    if index is not None:
        aset = index.airspace
    else:
        key = str(path.resolve())
        if key not in _AIRSPACE_CACHE:  # immutable data: load once per process
            _AIRSPACE_CACHE[key] = load_airspace(path)
        aset = _AIRSPACE_CACHE[key]
    svc = FilingService(db, aset, load_policy(path / "policy.yaml"), index=index)
    await svc.start()
    listeners = getattr(airspace, "listeners", None)
    if isinstance(listeners, list):
        listeners.append(svc.on_airspace_changed)
    return svc
