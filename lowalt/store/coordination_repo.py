"""PostGIS adapter for three-party coordination (``lowalt.coordination``): constraint versions, approval
requests, counter-UAS cases, government fleets' standing approvals and their insert-only audit.
Repositories never commit: the coordination service (or filing, for a preemption) owns the transaction.

The module also satisfies filing's ``GovernmentFleets`` port (:func:`standing_of`,
:func:`record_preemption`), handed to filing by ``lowalt.services.filing``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.coordination.model import (
    ApprovalRequest,
    ApprovalState,
    Authority,
    CaseState,
    ConstraintKind,
    ConstraintStatus,
    ConstraintVersion,
)
from lowalt.filing.model import MissionType
from lowalt.filing.standing import StandingApproval
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.store.tables import (
    coordination_approvals,
    coordination_audit,
    coordination_constraints,
    cuas_cases,
    standing_approvals,
)

C, A, K, L = coordination_constraints.c, coordination_approvals.c, cuas_cases.c, coordination_audit.c
S = standing_approvals.c


# ------------------------------------------------------------------ constraints


def _version(r: Any) -> ConstraintVersion:
    return ConstraintVersion(
        constraint_id=r.constraint_id, version=r.version, authority=Authority(r.authority),
        kind=ConstraintKind(r.kind), status=ConstraintStatus(r.status), title=r.title, purpose=r.purpose,
        geometry=r.geometry, floor_m=r.floor_m, floor_ref=r.floor_ref, ceiling_m=r.ceiling_m,
        ceiling_ref=r.ceiling_ref, start=r.starts_at, end=r.ends_at, short_notice=r.short_notice,
        coordinated_categories=tuple(r.coordinated_categories), created_by=r.created_by,
        created_at=r.created_at, restriction_id=r.restriction_id)


async def insert_version(conn: AsyncConnection, v: ConstraintVersion) -> None:
    await conn.execute(insert(coordination_constraints).values(
        constraint_id=v.constraint_id, version=v.version, authority=v.authority.value, kind=v.kind.value,
        status=v.status.value, title=v.title, purpose=v.purpose, geometry=v.geometry, floor_m=v.floor_m,
        floor_ref=v.floor_ref, ceiling_m=v.ceiling_m, ceiling_ref=v.ceiling_ref, starts_at=v.start,
        ends_at=v.end, short_notice=v.short_notice, coordinated_categories=list(v.coordinated_categories),
        restriction_id=v.restriction_id, created_by=v.created_by, created_at=v.created_at))


async def versions(conn: AsyncConnection, constraint_id: str | None = None, *,
                   ending_after: datetime | None = None) -> list[ConstraintVersion]:
    """Every version (of one constraint, or of those whose latest version ends after ``ending_after``)."""
    q = select(coordination_constraints).order_by(C.constraint_id, C.version)
    if constraint_id is not None:
        q = q.where(C.constraint_id == constraint_id)
    if ending_after is not None:
        q = q.where(C.constraint_id.in_(select(C.constraint_id).where(C.ends_at > ending_after)))
    return [_version(r) for r in (await conn.execute(q))]


async def lock_constraint(conn: AsyncConnection, constraint_id: str) -> None:
    """Serialise new versions of one constraint (transaction-scoped advisory lock on its id)."""
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"coord:{constraint_id}", 0))))


# ------------------------------------------------------------------ approvals


def _request(r: Any) -> ApprovalRequest:
    return ApprovalRequest(
        plan_id=r.plan_id, authority=Authority(r.authority), state=ApprovalState(r.state), decide_by=r.decide_by,
        reason=r.reason, decided_by=r.decided_by, decided_at=r.decided_at, escalated_at=r.escalated_at,
        constraint_refs=tuple(r.constraint_refs), decided_on=tuple(r.decided_on))


async def insert_requests(conn: AsyncConnection, requests: Sequence[ApprovalRequest], now: datetime) -> int:
    """Insert the requests not there yet (a plan is routed once, whichever node sees it first)."""
    if not requests:
        return 0
    res = await conn.execute(pg_insert(coordination_approvals).values([
        {"plan_id": r.plan_id, "authority": r.authority.value, "state": r.state.value, "decide_by": r.decide_by,
         "reason": r.reason, "constraint_refs": list(r.constraint_refs), "decided_on": [], "created_at": now}
        for r in requests]).on_conflict_do_nothing(constraint="coordination_approvals_plan_authority"))
    return int(res.rowcount or 0)


async def requests_of(conn: AsyncConnection, plan_id: str, *, for_update: bool = False) -> list[ApprovalRequest]:
    q = select(coordination_approvals).where(A.plan_id == plan_id).order_by(A.authority)
    if for_update:
        q = q.with_for_update()
    return [_request(r) for r in (await conn.execute(q))]


async def list_requests(conn: AsyncConnection, authority: Authority | None, state: ApprovalState | None,
                        limit: int = 500) -> list[ApprovalRequest]:
    q = select(coordination_approvals).order_by(A.decide_by, A.plan_id).limit(limit)
    if authority is not None:
        q = q.where(A.authority == authority.value)
    if state is not None:
        q = q.where(A.state == state.value)
    return [_request(r) for r in (await conn.execute(q))]


async def set_decision(conn: AsyncConnection, r: ApprovalRequest) -> None:
    await conn.execute(update(coordination_approvals)
                       .where(A.plan_id == r.plan_id, A.authority == r.authority.value)
                       .values(state=r.state.value, decided_by=r.decided_by, decided_at=r.decided_at,
                               reason=r.reason, decided_on=list(r.decided_on)))


async def set_escalated(conn: AsyncConnection, plan_id: str, authority: Authority, at: datetime) -> bool:
    res = await conn.execute(update(coordination_approvals)
                             .where(A.plan_id == plan_id, A.authority == authority.value,
                                    A.escalated_at.is_(None), A.state == ApprovalState.PENDING.value)
                             .values(escalated_at=at))
    return bool(res.rowcount)


# ------------------------------------------------------------------ counter-UAS cases


async def insert_case(conn: AsyncConnection, case: dict[str, Any]) -> None:
    await conn.execute(insert(cuas_cases).values(**case))


async def get_case(conn: AsyncConnection, case_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    q = select(cuas_cases).where(K.id == case_id)
    if for_update:
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    return dict(row._mapping) if row else None


async def list_cases(conn: AsyncConnection, state: CaseState | None, limit: int = 500) -> list[dict[str, Any]]:
    q = select(cuas_cases).order_by(K.opened_at.desc()).limit(limit)
    if state is not None:
        q = q.where(K.state == state.value)
    return [dict(r._mapping) for r in (await conn.execute(q))]


async def set_case_state(conn: AsyncConnection, case_id: str, state: CaseState, outcome: str | None,
                         at: datetime) -> None:
    await conn.execute(update(cuas_cases).where(K.id == case_id).values(state=state.value, outcome=outcome,
                                                                       updated_at=at))


# ------------------------------------------------------------------ government fleets (0016)


def _standing(r: Any) -> StandingApproval:
    return StandingApproval(
        id=r.id, organisation=r.organisation, title=r.title, geometry=r.geometry,
        floor=Altitude(r.floor_m, AltitudeReference(r.floor_ref)),
        ceiling=Altitude(r.ceiling_m, AltitudeReference(r.ceiling_ref)), start=r.starts_at, end=r.ends_at,
        missions=frozenset(MissionType(m) for m in r.missions), created_by=r.created_by, created_at=r.created_at,
        state=r.state, revoked_by=r.revoked_by, revoked_at=r.revoked_at, revoke_reason=r.revoke_reason)


async def insert_standing(conn: AsyncConnection, sa: StandingApproval) -> None:
    await conn.execute(insert(standing_approvals).values(
        id=sa.id, organisation=sa.organisation, title=sa.title, geometry=sa.geometry, floor_m=sa.floor.value_m,
        floor_ref=sa.floor.reference.value, ceiling_m=sa.ceiling.value_m, ceiling_ref=sa.ceiling.reference.value,
        starts_at=sa.start, ends_at=sa.end, missions=sorted(m.value for m in sa.missions), state=sa.state,
        created_by=sa.created_by, created_at=sa.created_at))


async def get_standing(conn: AsyncConnection, standing_id: str, *, for_update: bool = False
                       ) -> StandingApproval | None:
    q = select(standing_approvals).where(S.id == standing_id)
    if for_update:
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    return _standing(row) if row else None


async def list_standing(conn: AsyncConnection, organisation: str | None, *, include_revoked: bool = False,
                        limit: int = 500) -> list[StandingApproval]:
    q = select(standing_approvals).order_by(S.created_at.desc(), S.id).limit(limit)
    if organisation is not None:
        q = q.where(S.organisation == organisation)
    if not include_revoked:
        q = q.where(S.state == "active")
    return [_standing(r) for r in (await conn.execute(q))]


async def revoke_standing(conn: AsyncConnection, standing_id: str, by: str, at: datetime, reason: str) -> None:
    await conn.execute(update(standing_approvals).where(S.id == standing_id)
                       .values(state="revoked", revoked_by=by, revoked_at=at, revoke_reason=reason))


async def standing_of(conn: AsyncConnection, organisation: str, start: datetime, end: datetime
                      ) -> list[StandingApproval]:
    """Filing's port: the organisation's active approvals whose validity overlaps [start, end] (whether one
    covers the plan is filing's rule, ``lowalt.filing.standing``)."""
    q = select(standing_approvals).where(S.organisation == organisation, S.state == "active",
                                         S.starts_at <= end, S.ends_at >= start).order_by(S.id)
    return [_standing(r) for r in (await conn.execute(q))]


async def record_preemption(conn: AsyncConnection, preempted: str, actor: str, at: datetime,
                            details: dict[str, Any]) -> None:
    """Filing's port: who preempted which plan, when, under which rule (in filing's transaction)."""
    await add_audit(conn, "preemption", preempted, "preempted", actor, at, details)


async def preemptions(conn: AsyncConnection, plan_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """The preemption audit, newest first: of one plan (preempted or preempting) or all."""
    q = (select(L.subject_id.label("plan_id"), L.action, L.actor, L.at, L.details)
         .where(L.subject == "preemption").order_by(L.id.desc()).limit(limit))
    if plan_id is not None:
        q = q.where((L.subject_id == plan_id) | (L.details["by_plan"].astext == plan_id))
    return [dict(r._mapping) for r in (await conn.execute(q))]


# ------------------------------------------------------------------ audit (insert-only)


async def add_audit(conn: AsyncConnection, subject: str, subject_id: str, action: str, actor: str, at: datetime,
                    details: dict[str, Any] | None = None) -> None:
    await conn.execute(insert(coordination_audit).values(subject=subject, subject_id=subject_id, action=action,
                                                         actor=actor, at=at, details=details or {}))


async def audit(conn: AsyncConnection, subject: str, subject_id: str) -> list[dict[str, Any]]:
    q = (select(L.action, L.actor, L.at, L.details).where(L.subject == subject, L.subject_id == subject_id)
         .order_by(L.id))
    return [dict(r._mapping) for r in (await conn.execute(q))]
