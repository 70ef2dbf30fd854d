"""The coordination service: the thin shell around ``lowalt.coordination.rules``.

It builds nothing parallel to what exists:

- A party constraint version is published as an airspace restriction through
  :class:`lowalt.services.airspace.AirspaceService` (committed, then in the index, then the listeners are
  told): filing refuses or refers new plans in it at once, filing's own restriction path withdraws the
  approved plans it forbids (with a ``/ws/plans`` event naming the restriction, whose id is the
  constraint version ``<id>.v<n>``, and ``by`` = ``<authority>/<user>``), the monitor's intrusion cache is
  invalidated, and the map shows it (a military activation as "reserved", without its purpose). Airborne
  (active) plans cannot be withdrawn (the plan state machine); their operators get a ``plan_advisory``
  event naming the constraint, its authority and the nearest exit from its area (``rules.nearest_exit``),
  and the monitor raises the intrusion if they stay.
  A new version is published before the old one is lifted (no gap).
- A plan filing refers is routed (``rules.authorities_needed``, ``rules.routing_needed``) on filing's
  own ``/ws/plans`` event; each authority decides its part before its decide-by; the combination
  (``rules.combine``) is carried out by filing's own approve (which re-runs every rule) or reject.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import shapely
from shapely.geometry import shape

from lowalt.airspace.model import AircraftCategory, Restriction, RestrictionReason
from lowalt.coordination import fleets, rules
from lowalt.coordination.model import (
    ID_PREFIX,
    KIND_OF,
    ApprovalRequest,
    ApprovalState,
    Authority,
    AuthorityArea,
    CaseFacts,
    CaseKind,
    CaseState,
    Combined,
    ConstraintKind,
    ConstraintStatus,
    ConstraintVersion,
    Exit,
    Site,
    TrackPoint,
)
from lowalt.filing.model import FlightPlan, MissionType, PlanState, footprint
from lowalt.filing.service import (
    ApprovalRefused,
    Filer,
    FilingService,
    PlanEvent,
    PlanNotFound,
    TransitionRefused,
)
from lowalt.filing.standing import StandingApproval
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local, to_wgs84
from lowalt.services.airspace import AirspaceService
from lowalt.store import coordination_repo as repo
from lowalt.store import filing_repo, live_repo
from lowalt.store.db import Database

log = logging.getLogger(__name__)

DUE_EVERY_S = 15.0
"""How often pending approval requests are checked against their decide-by."""
LAST_POSITIONS = 20
_T = TypeVar("_T")
COORDINATOR = Filer("coordination", None, True)
"""Who carries out a combined decision in filing (the audit names each authority's decider)."""


class NotFound(LookupError):
    """No such constraint, request or case (HTTP 404)."""


class Conflict(ValueError):
    """The state does not allow this (HTTP 409)."""


class Forbidden(PermissionError):
    """Another authority's constraint or request (HTTP 403)."""


def _now() -> datetime:
    return datetime.now(UTC)


def restriction_of(v: ConstraintVersion) -> Restriction:
    """The airspace restriction that carries one constraint version (its id is the version's ref).
    A military activation is published as reserved airspace: no title, no purpose."""
    military = v.kind is ConstraintKind.MILITARY_ACTIVATION
    return Restriction(
        id=v.ref, reason=RestrictionReason.OTHER, polygon=shape(v.geometry),
        floor=Altitude(v.floor_m, AltitudeReference(v.floor_ref)),
        ceiling=Altitude(v.ceiling_m, AltitudeReference(v.ceiling_ref)), start=v.start, end=v.end,
        created_by=f"{v.authority.value}/{v.created_by}",
        name_zh=rules.RESERVED_ZH if military else v.title, name_en=rules.RESERVED_EN if military else v.title,
        exempt_categories=frozenset(AircraftCategory(c) for c in v.coordinated_categories),
        source=f"{v.kind.value} {v.ref} ({v.authority.zh} / {v.authority.en})")


class CoordinationService:
    def __init__(self, db: Database, airspace: AirspaceService, filing: FilingService, live: Any = None,
                 clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.airspace = airspace
        self.filing = filing
        self.live = live
        self.clock = clock
        self.due_every_s = DUE_EVERY_S
        self._tasks: set[asyncio.Future[Any]] = set()
        self._atc_areas = [
            AuthorityArea(Authority.ATC, geometry_to_local(vol.polygon), vol.id)
            for vol in airspace.index.airspace.volumes if vol.id in rules.ATC_VOLUMES]
        self._sites: list[tuple[Site, Any]] | None = None
        self.routed = 0
        """Plans routed to the parties by this node (tests wait on it)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen to filing's plan events (referred plans are routed), route what was referred while no
        node listened, and check decide-by deadlines."""
        ready = asyncio.Event()
        for work in (self._listen(ready), self._due_loop()):
            task = asyncio.ensure_future(work)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await ready.wait()
        await self.sweep()

    async def stop(self) -> None:
        for t in list(self._tasks):
            while not t.done():
                t.cancel()
                await asyncio.wait({t}, timeout=1.0)

    async def _listen(self, ready: asyncio.Event) -> None:
        async with self.filing.notifier.subscribe() as q:
            ready.set()
            while True:
                ev = await q.get()
                if ev.kind == "plan_state" and ev.to_state == PlanState.REFERRED.value and ev.from_state == "submitted":
                    try:
                        await self.route(ev.plan_id)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # the sweep and the next start try again
                        log.warning("coordination_route_failed", extra={"plan": ev.plan_id, "error": str(exc)[:200]})

    async def _due_loop(self) -> None:
        while True:
            await asyncio.sleep(self.due_every_s)
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("coordination_due_failed", extra={"error": str(exc)[:200]})

    async def sweep(self) -> int:
        """Route referred plans that have no requests yet (filed while no coordination service listened)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            referred = await filing_repo.plans_overlapping(uow.conn, [PlanState.REFERRED.value], now,
                                                           now + timedelta(days=30))
        n = 0
        for p in referred:
            n += bool(await self.route(p.id))
        return n

    # ------------------------------------------------------------------ constraints

    async def issue(self, authority: Authority, by: str, *, title: str, purpose: str, geometry: dict[str, Any],
                    floor: Altitude, ceiling: Altitude, start: datetime, end: datetime, short_notice: bool,
                    coordinated_categories: tuple[str, ...]) -> ConstraintVersion:
        """Version 1 of a new constraint, in force at once (raises ``rules.ConstraintProblem``)."""
        now = self.clock()
        kind = KIND_OF[authority]
        rules.check_window(kind, start, end, now, short_notice)
        cid = f"{ID_PREFIX[authority]}-{now:%Y%m%d}-{secrets.token_hex(3)}"
        v = ConstraintVersion(cid, 1, authority, kind, ConstraintStatus.ACTIVE, title, purpose, geometry,
                              floor.value_m, floor.reference.value, ceiling.value_m, ceiling.reference.value, start, end,
                              short_notice, tuple(sorted(coordinated_categories)), by, now)
        return await self._publish(replace(v, restriction_id=v.ref), None, "issued")

    async def revise(self, constraint_id: str, authority: Authority | None, by: str, *, cancel: bool = False,
                     **changes: Any) -> ConstraintVersion:
        """A new version (changed fields, or cancelled), by the constraint's own authority only
        (``authority`` None: admin). The new version is in force before the old one is lifted."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            history = await repo.versions(uow.conn, constraint_id)
        if not history:
            raise NotFound(constraint_id)
        last = history[-1]
        if authority is not None and last.authority is not authority:
            raise Forbidden(f"constraint: {constraint_id} is the {last.authority.value} authority's")
        if last.status is ConstraintStatus.CANCELLED:
            raise Conflict(f"constraint: {constraint_id} is cancelled")
        fields = {k: v for k, v in changes.items() if v is not None}
        if "floor" in fields:
            f = fields.pop("floor")
            fields.update(floor_m=f.value_m, floor_ref=f.reference.value)
        if "ceiling" in fields:
            c = fields.pop("ceiling")
            fields.update(ceiling_m=c.value_m, ceiling_ref=c.reference.value)
        if "coordinated_categories" in fields:
            fields["coordinated_categories"] = tuple(sorted(fields["coordinated_categories"]))
        new = replace(last, version=last.version + 1, created_by=by, created_at=now, **fields)
        if cancel:
            new = replace(new, status=ConstraintStatus.CANCELLED, restriction_id=None)
        else:
            rules.check_window(new.kind, new.start, new.end, now, new.short_notice or new.start == last.start)
            new = replace(new, restriction_id=new.ref)
        return await self._publish(new, last, "cancelled" if cancel else "revised")

    async def _publish(self, v: ConstraintVersion, previous: ConstraintVersion | None,
                       action: str) -> ConstraintVersion:
        restriction = restriction_of(v) if v.status is ConstraintStatus.ACTIVE else None
        if restriction is not None:
            await self.airspace.add_restriction(restriction)  # filing and the monitor act on it at once
        try:
            async with self.db.unit_of_work() as uow:
                await repo.insert_version(uow.conn, v)
                changed = _changed_fields(previous, v) if previous else []
                await repo.add_audit(uow.conn, "constraint", v.constraint_id, action, v.created_by, v.created_at,
                                     {"version": v.version, "ref": v.ref, "authority": v.authority.value,
                                      "changed": changed})
                await uow.commit()
        except BaseException:
            if restriction is not None:
                await self.airspace.remove_restriction(restriction.id)
            raise
        if previous is not None and previous.restriction_id:
            await self.airspace.remove_restriction(previous.restriction_id)
        if restriction is not None:
            await self._reevaluate(v, restriction)
        log.info("constraint_published", extra={"ref": v.ref, "authority": v.authority.value, "action": action})
        return v

    def _inside(self, r: Restriction) -> list[tuple[FlightPlan, str]]:
        """Held (approved, active) plans the restriction now affects, with the verdict filing's own airspace
        check gives them on it (``forbidden`` or ``needs_approval``): footprint x band x window, in 3-D."""
        area = geometry_to_local(r.polygon)
        out = []
        for p, fp in list(self.filing.held.values()):
            if p.start >= r.end or p.end <= r.start or not shapely.intersects(fp.area, area):
                continue
            verdicts = {h.verdict.value for h in self.filing.view.check(p, fp).hits if h.volume_id == r.id}
            if verdicts:
                out.append((p, "forbidden" if "forbidden" in verdicts else "needs_approval"))
        return out

    async def _reevaluate(self, v: ConstraintVersion, r: Restriction) -> None:
        """What filing's restriction path does not do: an approved plan of a coordinated category now needs
        the authority's approval, so it is suspended (approved -> referred) and routed; an airborne plan
        cannot be withdrawn (no active -> withdrawn), so its operator is told to leave at once by the nearest
        exit and the monitor raises the intrusion if the aircraft stays. Approved plans the constraint forbids are
        withdrawn by filing's own restriction path."""
        hit = self._inside(r)
        who = Filer(r.created_by, None, True)
        for p, verdict in hit:
            if p.state is PlanState.APPROVED and verdict == "needs_approval":
                if await self._approved_by(p.id, v.authority):
                    continue  # a new version of an area this authority already approved the plan in
                try:
                    # filing has no public suspend yet; its own transition (approved -> referred, as a weather
                    # warning that needs judgement suspends) releases the airspace and tells /ws/plans
                    await self.filing._transition(p.id, who, PlanState.REFERRED, f"suspended: {v.authority.en} "
                                                  f"constraint {v.ref} needs its approval")
                except (PlanNotFound, TransitionRefused):  # changed meanwhile
                    continue
                await self.route(p.id)
        airborne = [p for p, _ in hit if p.state is PlanState.ACTIVE]
        if not airborne:
            return
        now = self.clock()
        events = []
        what = rules.RESERVED_ZH if v.kind is ConstraintKind.MILITARY_ACTIVATION else '限制'
        async with self.db.unit_of_work() as uow:
            for p in airborne:
                way_out = self._way_out(p, r, now)
                zh = f"{v.authority.zh}发布的{what}（{v.ref}）已生效，请立即避让离开该区域"
                en = f"{v.authority.en} constraint {v.ref} is in force: leave the area now"
                if way_out is not None:
                    zh += f"：最近出口在方位 {way_out.bearing_deg:.0f} 度、{way_out.distance_m:.0f} 米处"
                    en += (f": the nearest exit is {way_out.distance_m:.0f} m away, bearing "
                           f"{way_out.bearing_deg:.0f} deg")
                details = {"constraint": v.ref, "authority": v.authority.value, "restriction": r.id,
                           "exit": asdict(way_out) if way_out is not None else None,
                           "message_zh": zh, "message_en": en}
                await filing_repo.add_event(uow.conn, p.id, p.state, p.state, r.created_by, "constraint advisory",
                                            details, at=now)
                events.append(PlanEvent(p.id, p.organisation, p.state.value, p.state.value, r.created_by, now,
                                        "constraint advisory", details, kind="plan_advisory"))
            await uow.commit()
        for ev in events:
            self.filing.notifier.publish(ev)

    def _way_out(self, p: FlightPlan, r: Restriction, now: datetime) -> Exit | None:
        """The nearest exit from the constraint's area: from the aircraft's last reported position when the
        live picture has its track, else from where its route has it now (``rules.route_position``)."""
        snap = self.live._full_snapshot() if self.live is not None else None
        if snap is not None and p.aircraft_id in snap.ids:
            k = snap.ids.index(p.aircraft_id)
            return rules.nearest_exit(r.polygon, float(snap.lon[k]), float(snap.lat[k]), "track")
        lon, lat = rules.route_position(p.geometry, p.start, p.end, now)
        return rules.nearest_exit(r.polygon, lon, lat, "route")

    async def _approved_by(self, plan_id: str, authority: Authority) -> bool:
        async with self.db.unit_of_work() as uow:
            reqs = await repo.requests_of(uow.conn, plan_id)
        return any(r.authority is authority and r.state is ApprovalState.APPROVED for r in reqs)

    async def constraints(self, *, include_past: bool = False) -> list[ConstraintVersion]:
        """The current version of each constraint (in force, or with ``include_past`` every one)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            vs = await repo.versions(uow.conn, ending_after=None if include_past else now)
        return rules.current_versions(vs) if include_past else rules.in_force(vs, now)

    async def _with_audit(self, subject: str, subject_id: str, read: Callable[[Any], Awaitable[list[_T]]]
                          ) -> tuple[list[_T], list[dict[str, Any]]]:
        """What ``read`` finds of one subject, with its audit trail, in one snapshot (404 when nothing)."""
        async with self.db.unit_of_work() as uow:
            items = await read(uow.conn)
            audit = await repo.audit(uow.conn, subject, subject_id)
        if not items:
            raise NotFound(subject_id)
        return items, audit

    async def history(self, constraint_id: str) -> tuple[list[ConstraintVersion], list[dict[str, Any]]]:
        return await self._with_audit("constraint", constraint_id, lambda conn: repo.versions(conn, constraint_id))

    # ------------------------------------------------------------------ multi-party approval

    async def _areas(self, conn: Any, now: datetime) -> list[AuthorityArea]:
        force = rules.in_force(await repo.versions(conn, ending_after=now), now)
        return [*self._atc_areas, *(AuthorityArea(v.authority, geometry_to_local(shape(v.geometry)), v.ref, v.start,
                                                  v.end) for v in force)]

    async def route(self, plan_id: str) -> list[ApprovalRequest]:
        """Route a referred plan to each authority its footprint needs, in parallel (once)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            p = await filing_repo.get_plan(uow.conn, plan_id)
            if p is None or p.state is not PlanState.REFERRED:
                return []
            needs = rules.authorities_needed(footprint(p, self.filing.view.terrain).area, p.start, p.end,
                                             await self._areas(uow.conn, now))
            if not rules.routing_needed(list(needs)):
                return []
            deadline = rules.decide_by(now, p.start)
            reqs = [ApprovalRequest(p.id, a, ApprovalState.PENDING, deadline, constraint_refs=tuple(refs))
                    for a, refs in sorted(needs.items())]
            if not await repo.insert_requests(uow.conn, reqs, now):
                return []
            details = {"authorities": [a.value for a in sorted(needs)], "decide_by": deadline.isoformat(),
                       "constraints": {a.value: refs for a, refs in needs.items()}}
            await repo.add_audit(uow.conn, "approval", p.id, "routed", "system", now, details)
            await uow.commit()
        self.routed += 1
        names_zh = "、".join(a.zh for a in sorted(needs))
        names_en = ", ".join(a.en for a in sorted(needs))
        self._publish_plan(p.id, p.organisation, p.state.value, "system", now, "routed to " + names_en, {
            **details, "message_zh": f"该计划需{names_zh}分别审批，最迟{deadline:%H:%M}（UTC）前答复",
            "message_en": f"this plan needs the approval of each of: {names_en}; each decides by "
                          f"{deadline:%H:%M} UTC"}, "plan_coordination")
        return reqs

    def _publish_plan(self, plan_id: str, organisation: str, state: str, by: str, at: datetime, reason: str,
                      details: dict[str, Any], kind: str) -> None:
        self.filing.notifier.publish(PlanEvent(plan_id, organisation, state, state, by, at, reason, details,
                                               kind=kind))

    async def decide(self, plan_id: str, authority: Authority, by: str, approve: bool, reason: str
                     ) -> tuple[list[ApprovalRequest], Combined]:
        """Record one authority's decision on the constraint versions in force now; when the combination
        is final, carry it out through filing (approve re-runs every rule)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            reqs = await repo.requests_of(uow.conn, plan_id, for_update=True)
            mine = next((r for r in reqs if r.authority is authority), None)
            if mine is None:
                raise NotFound(f"plan_id: no {authority.value} approval request for plan {plan_id}")
            if mine.state is not ApprovalState.PENDING:
                raise Conflict(f"decision: the {authority.value} part was already {mine.state.value}")
            plan = await filing_repo.get_plan(uow.conn, plan_id)
            if plan is None:
                raise NotFound(plan_id)
            force = {v.constraint_id: v.ref for v in rules.in_force(await repo.versions(uow.conn, ending_after=now),
                                                                    now)}
            touched = [ref for r in reqs for ref in r.constraint_refs]
            decided_on = tuple(sorted({force.get(ref.rsplit(".v", 1)[0], ref) for ref in touched}))
            new = replace(mine, state=ApprovalState.APPROVED if approve else ApprovalState.REFUSED, decided_by=by,
                          decided_at=now, reason=reason, decided_on=decided_on)
            await repo.set_decision(uow.conn, new)
            reqs = [new if r.authority is authority else r for r in reqs]
            outcome = rules.combine(reqs)
            await repo.add_audit(uow.conn, "approval", plan_id, new.state.value, by, now,
                                 {"authority": authority.value, "reason": reason, "decided_on": list(decided_on),
                                  "combined": outcome.value})
            await uow.commit()
        z, en = rules.reasons_text(reqs)
        self._publish_plan(plan_id, plan.organisation, plan.state.value, by, now,
                           f"{authority.value} {new.state.value}", {
                               "authority": authority.value, "verdict": new.state.value, "reason": reason,
                               "decided_on": list(decided_on), "combined": outcome.value,
                               "message_zh": z, "message_en": en}, "plan_coordination")
        if outcome is not Combined.PENDING:
            await self._conclude(plan_id, reqs, outcome)
        return reqs, outcome

    async def _conclude(self, plan_id: str, reqs: list[ApprovalRequest], outcome: Combined) -> None:
        z, en = rules.reasons_text(reqs)
        result = outcome.value
        try:
            if outcome is Combined.APPROVED:
                try:
                    await self.filing.approve(plan_id, COORDINATOR, f"approved by every authority: {en}")
                except ApprovalRefused as exc:  # a rule rejects today: the authorities' yes is not enough
                    result = "refused_by_rules"
                    await self.filing.reject(plan_id, COORDINATOR, f"{en}; {exc}")
            else:
                await self.filing.reject(plan_id, COORDINATOR, f"refused: {en}")
        except (PlanNotFound, TransitionRefused) as exc:  # cancelled, withdrawn or concluded meanwhile
            result = f"skipped: {exc}"[:200]
        async with self.db.unit_of_work() as uow:
            await repo.add_audit(uow.conn, "approval", plan_id, "concluded", COORDINATOR.name, self.clock(),
                                 {"combined": outcome.value, "result": result, "message_zh": z, "message_en": en})
            await uow.commit()

    async def run_due(self, now: datetime | None = None) -> list[ApprovalRequest]:
        """Escalate pending requests past their decide-by: audit, and a ``plan_escalated`` event for the
        centre and the operator (the plan stays referred; the authority may still decide)."""
        now = now or self.clock()
        async with self.db.unit_of_work() as uow:
            due = rules.overdue(await repo.list_requests(uow.conn, None, ApprovalState.PENDING), now)
        done = []
        for r in due:
            async with self.db.unit_of_work() as uow:
                if not await repo.set_escalated(uow.conn, r.plan_id, r.authority, now):
                    continue
                plan = await filing_repo.get_plan(uow.conn, r.plan_id)
                live = plan is not None and plan.state is PlanState.REFERRED  # not concluded, cancelled, withdrawn
                details = {"authority": r.authority.value, "decide_by": r.decide_by.isoformat()}
                if live:
                    await repo.add_audit(uow.conn, "approval", r.plan_id, "escalated", "system", now, details)
                await uow.commit()  # a dead plan's request is marked too, so it is not looked at again
            if plan is None or not live:
                continue
            done.append(r)
            self._publish_plan(r.plan_id, plan.organisation, plan.state.value, "system", now,
                               f"{r.authority.value} past its decide-by", {
                                   **details, "message_zh": f"{r.authority.zh}未在时限内答复，已上报协调运行中心",
                                   "message_en": f"{r.authority.en} did not decide by "
                                                 f"{r.decide_by:%H:%M} UTC: escalated to the centre"},
                               "plan_escalated")
        return done

    async def plans_touching(self, authority: Authority | None, horizon: timedelta = timedelta(days=3),
                             limit: int = 500) -> list[tuple[FlightPlan, dict[Authority, list[str]]]]:
        """Referred, approved and active plans (now to ``horizon``) whose footprint enters the areas of
        ``authority`` (None: any): what ATC sees of its controlled airspace, the military of its areas."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            areas = [a for a in await self._areas(uow.conn, now) if authority is None or a.authority is authority]
            if not areas:
                return []
            x0, y0, x1, y1 = shapely.union_all([a.area for a in areas]).bounds
            lons, lats = to_wgs84([x0, x1, x0, x1], [y0, y0, y1, y1])
            bbox = (float(lons.min()) - 0.01, float(lats.min()) - 0.01, float(lons.max()) + 0.01,
                    float(lats.max()) + 0.01)
            plans = await filing_repo.list_plans(
                uow.conn, states=[PlanState.REFERRED.value, PlanState.APPROVED.value, PlanState.ACTIVE.value],
                start=now, end=now + horizon, bbox=bbox, limit=limit)
        out = []
        for p in plans:
            needs = rules.authorities_needed(footprint(p, self.filing.view.terrain).area, p.start, p.end, areas)
            if needs:
                out.append((p, needs))
        return out

    async def awaiting(self, plan_id: str) -> list[str]:
        """The authorities whose part of this plan is still pending (none: not routed, or all decided).
        A referred plan not routed yet (its event still on the way) is routed first, so the centre desk
        never approves in the instant between filing and routing."""
        async with self.db.unit_of_work() as uow:
            reqs = await repo.requests_of(uow.conn, plan_id)
        if not reqs and await self.route(plan_id):
            async with self.db.unit_of_work() as uow:
                reqs = await repo.requests_of(uow.conn, plan_id)
        if rules.combine(reqs) is not Combined.PENDING:
            return []
        return [r.authority.value for r in reqs if r.state is ApprovalState.PENDING]

    async def requests(self, authority: Authority | None, state: ApprovalState | None) -> list[ApprovalRequest]:
        async with self.db.unit_of_work() as uow:
            return await repo.list_requests(uow.conn, authority, state)

    async def plan_coordination(self, plan_id: str) -> tuple[list[ApprovalRequest], list[dict[str, Any]]]:
        return await self._with_audit("approval", plan_id, lambda conn: repo.requests_of(conn, plan_id))

    # ------------------------------------------------------------------ government fleets (一网统飞)

    async def register_standing(self, by: str, *, organisation: str, title: str, geometry: dict[str, Any],
                                floor: Altitude, ceiling: Altitude, start: datetime, end: datetime,
                                missions: list[MissionType]) -> StandingApproval:
        """The centre registers a government fleet's standing approval for a patrol area (raises
        ``rules.ConstraintProblem`` naming the field). Filing applies it to the organisation's next plans."""
        now = self.clock()
        fleets.check_standing(self.filing.policy, organisation, missions, start, end, now)
        sa = StandingApproval(f"SA-{now:%Y%m%d}-{secrets.token_hex(3)}", organisation, title, geometry, floor,
                              ceiling, start, end, frozenset(missions), by, now)
        async with self.db.unit_of_work() as uow:
            await repo.insert_standing(uow.conn, sa)
            await repo.add_audit(uow.conn, "standing", sa.id, "created", by, now, {
                "organisation": organisation, "missions": sorted(m.value for m in missions), "start": start.isoformat(),
                "end": end.isoformat(), "floor": str(floor), "ceiling": str(ceiling)})
            await uow.commit()
        return sa

    async def revoke_standing(self, standing_id: str, by: str, reason: str) -> StandingApproval:
        """Revoked for the organisation's next filings; plans approved under it stay approved (the centre
        withdraws one through a restriction if it must)."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            sa = await repo.get_standing(uow.conn, standing_id, for_update=True)
            if sa is None:
                raise NotFound(standing_id)
            if sa.state != "active":
                raise Conflict(f"standing_id: {standing_id} is already revoked")
            await repo.revoke_standing(uow.conn, standing_id, by, now, reason)
            await repo.add_audit(uow.conn, "standing", standing_id, "revoked", by, now, {"reason": reason})
            await uow.commit()
        return replace(sa, state="revoked", revoked_by=by, revoked_at=now, revoke_reason=reason)

    async def standing(self, organisation: str | None, *, include_revoked: bool = False) -> list[StandingApproval]:
        async with self.db.unit_of_work() as uow:
            return await repo.list_standing(uow.conn, organisation, include_revoked=include_revoked)

    async def standing_detail(self, standing_id: str) -> tuple[StandingApproval, list[dict[str, Any]]]:
        async def read(conn: Any) -> list[StandingApproval]:
            sa = await repo.get_standing(conn, standing_id)
            return [sa] if sa is not None else []

        found, audit = await self._with_audit("standing", standing_id, read)
        return found[0], audit

    async def preemptions(self, plan_id: str | None) -> list[dict[str, Any]]:
        """Who preempted which plan, when, under which rule (written by filing in its transaction)."""
        async with self.db.unit_of_work() as uow:
            return await repo.preemptions(uow.conn, plan_id)

    # ------------------------------------------------------------------ counter-UAS hand-off

    def _sensitive_sites(self) -> list[tuple[Site, Any]]:
        if self._sites is None:
            aset = self.airspace.index.airspace
            self._sites = [
                (Site(v.id, v.name_zh, v.name_en, v.kind.value, 0.0), geometry_to_local(v.polygon))
                for v in aset.volumes if v.kind.value in rules.SENSITIVE_KINDS
            ] + [(Site(p.id, p.name_zh, p.name_en, p.kind.value, 0.0), geometry_to_local(p.point))
                 for p in aset.vertiports]
        return self._sites

    def suspect_tracks(self) -> list[dict[str, Any]]:
        """Live tracks police are to see: non-cooperative detections and aircraft flying unauthorised (the
        monitor's status)."""
        snap = self.live._full_snapshot() if self.live is not None else None
        if snap is None:
            return []
        statuses = getattr(self.live, "statuses", {})
        return [{"id": aid, "lon": float(snap.lon[k]), "lat": float(snap.lat[k]), "alt_amsl_m": float(snap.alt[k]),
                 "vx": float(snap.vx[k]), "vy": float(snap.vy[k]), "t": float(snap.t[k]),
                 "cooperative": bool(snap.cooperative[k]), "status": statuses.get(aid, "unknown")}
                for k, aid in enumerate(snap.ids)
                if not bool(snap.cooperative[k]) or statuses.get(aid) == "unauthorised"]

    async def open_case(self, aircraft_id: str, kind: CaseKind, alert_id: str | None, note: str, by: str
                        ) -> dict[str, Any]:
        """Hand a live track to police: its last positions, predicted path and nearby sensitive sites."""
        now = self.clock()
        snap = self.live._full_snapshot() if self.live is not None else None
        if snap is None or aircraft_id not in snap.ids:
            raise NotFound(f"aircraft_id: no live track {aircraft_id!r}")
        k = snap.ids.index(aircraft_id)
        here = TrackPoint(float(snap.lon[k]), float(snap.lat[k]), float(snap.alt[k]), float(snap.t[k]))
        async with self.db.unit_of_work() as uow:
            rows = await live_repo.track_history(uow.conn, aircraft_id, now - timedelta(minutes=10),
                                                 now + timedelta(minutes=1))
        last = [TrackPoint(r["lon"], r["lat"], r["alt_amsl"], r["t_epoch"]) for r in rows[-LAST_POSITIONS:]
                if r["t_epoch"] < here.t] + [here]
        predicted = rules.predict_path(here.lon, here.lat, here.alt_amsl_m, float(snap.vx[k]), float(snap.vy[k]),
                                       float(snap.vz[k]), here.t)
        local = geometry_to_local(shapely.geometry.LineString([(p.lon, p.lat) for p in [here, *predicted]]))
        facts = CaseFacts(last, predicted, rules.nearby_sites(list(local.coords), self._sensitive_sites()))
        case_id = uuid.uuid4().hex
        case: dict[str, Any] = {"id": case_id, "aircraft_id": aircraft_id, "kind": kind.value,
                "state": CaseState.ASSIGNED.value, "outcome": None, "alert_id": alert_id, "note": note,
                "facts": asdict(facts), "opened_by": by, "opened_at": now, "updated_at": now}
        async with self.db.unit_of_work() as uow:
            await repo.insert_case(uow.conn, case)
            await repo.add_audit(uow.conn, "case", case_id, CaseState.ASSIGNED.value, by, now,
                                 {"aircraft_id": aircraft_id, "kind": kind.value, "alert_id": alert_id,
                                  "note": note})
            await uow.commit()
        return case

    async def update_case(self, case_id: str, to: CaseState, outcome: str | None, note: str, by: str
                          ) -> dict[str, Any]:
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            case = await repo.get_case(uow.conn, case_id, for_update=True)
            if case is None:
                raise NotFound(case_id)
            problem = rules.transition_problem(CaseState(case["state"]), to, outcome)
            if problem:
                raise Conflict(problem)
            await repo.set_case_state(uow.conn, case_id, to, outcome, now)
            await repo.add_audit(uow.conn, "case", case_id, to.value, by, now,
                                 {"from": case["state"], "outcome": outcome, "note": note})
            await uow.commit()
        return {**case, "state": to.value, "outcome": outcome, "updated_at": now}

    async def cases(self, state: CaseState | None) -> list[dict[str, Any]]:
        async with self.db.unit_of_work() as uow:
            return await repo.list_cases(uow.conn, state)

    async def case(self, case_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            case = await repo.get_case(uow.conn, case_id)
            audit = await repo.audit(uow.conn, "case", case_id)
        if case is None:
            raise NotFound(case_id)
        return case, audit


def _changed_fields(old: ConstraintVersion, new: ConstraintVersion) -> list[str]:
    skip = {"version", "created_by", "created_at", "restriction_id"}
    return sorted(k for k, v in asdict(new).items() if k not in skip and asdict(old)[k] != v)


async def start_coordination(app: Any) -> CoordinationService:
    """Composition (``lowalt.api.app.start_services``): on the airspace, filing and live services."""
    svc = CoordinationService(app.state.db, app.state.airspace, app.state.filing, app.state.live)
    await svc.start()
    return svc
