"""Three-party coordination REST (issue #19; ``lowalt.coordination``; who may do what: docs/coordination.md).

- ``/coordination/constraints``: each authority issues and versions its own constraints (military area
  activations, ATC notices, local restrictions); everyone who flies or watches reads them, a military
  activation as "reserved" without its title or purpose.
- ``/coordination/approvals``: each authority's queue of multi-party approval requests, its decision,
  and a plan's coordination audit.
- ``/coordination/cases``: counter-UAS cases the centre hands to police; police move them along.
- ``/coordination/standing-approvals``: government fleets' standing approvals for patrol areas (政务
  "一网统飞"): the centre registers and revokes them, each organisation's operators list their own;
  ``/coordination/preemptions``: the audit of which plan preempted which (centre).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from lowalt.airspace.model import AircraftCategory
from lowalt.api.auth import CurrentPrincipal
from lowalt.api.authz import Access
from lowalt.api.deps import app_service
from lowalt.api.errors import ApiError
from lowalt.api.guard import access_of
from lowalt.api.routers.airspace import LimitIn, _restriction_geometry
from lowalt.coordination import rules
from lowalt.coordination.model import (
    AUTHORITY_OF_ROLE,
    ApprovalRequest,
    ApprovalState,
    Authority,
    CaseKind,
    CaseOutcome,
    CaseState,
    ConstraintKind,
    ConstraintStatus,
    ConstraintVersion,
)
from lowalt.filing.model import MissionType
from lowalt.filing.standing import StandingApproval
from lowalt.geo.altitude import Altitude
from lowalt.identity.model import Principal, Role
from lowalt.services.coordination import Conflict, CoordinationService, Forbidden, NotFound

router = APIRouter(prefix="/coordination", tags=["coordination"])
ConstraintId = Annotated[str, Path(max_length=64, pattern=r"^[A-Z]{3}-\d{8}-[0-9a-f]{6}$")]
PlanId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{32}$")]
CaseId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{32}$")]
StandingId = Annotated[str, Path(max_length=32, pattern=r"^SA-\d{8}-[0-9a-f]{6}$")]
Text200 = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
Text2000 = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]


def _svc(request: Request) -> CoordinationService:
    return app_service(request, "coordination", CoordinationService)


def _authority(principal: Principal, given: Authority | None) -> Authority:
    """The authority the caller speaks for: its role's; admin names one; nobody speaks for another."""
    own = AUTHORITY_OF_ROLE.get(principal.role)
    if principal.role is Role.ADMIN:
        return given or Authority.LOCAL  # admin acts for the local government unless it names another
    if own is None:
        raise ApiError(403, f"role {principal.role.value!r} speaks for no authority", "该角色不代表任何审批部门")
    if given is not None and given is not own:
        raise ApiError(403, f"authority: a {principal.role.value} user speaks for {own.value} only",
                       f"authority：只能代表{own.zh}", field="authority")
    return own


def _mapped(exc: Exception) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, f"not found: {exc}", "未找到（或无权查看）")
    if isinstance(exc, Forbidden):
        return ApiError(403, str(exc), "只有发布该限制的部门可以修改", field="constraint")
    if isinstance(exc, rules.ConstraintProblem):
        return ApiError(422, str(exc), f"{exc.field}：{_ZH_PROBLEM.get(exc.field, '取值无效')}", field=exc.field)
    head = str(exc).split(":", 1)[0]
    return ApiError(409, str(exc), "当前状态不允许该操作", field=head if head.isidentifier() else None)


_ZH_PROBLEM = {"start": "军事活动区须提前通报，紧急启用请标记 short_notice", "end": "结束时间无效（须晚于开始时间、未过期且不超过72小时）",
               "organisation": "该单位不是政务机队（见飞行政策 priorities.government_fleets）",
               "missions": "须至少列出一种任务类型"}
_ZH_STANDING_END = "结束时间无效（须晚于开始时间、未过期且有效期不超过180天）"


# ------------------------------------------------------------------ constraints


class ConstraintIn(BaseModel):
    """A new constraint; its kind follows the issuing authority (military: activation; ATC: notice;
    centre: local restriction)."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    purpose: Text2000 = ""
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat (RFC 7946)")
    floor: LimitIn
    ceiling: LimitIn
    start: datetime | None = Field(default=None, description="default: now (a military activation needs "
                                   "short_notice to start within 30 min)")
    end: datetime
    short_notice: bool = False
    coordinated_categories: list[AircraftCategory] = Field(
        default=[], description="categories that may still enter with this authority's approval")
    authority: Authority | None = Field(default=None, description="admin only: the authority it acts for "
                                       "(default local)")


class ConstraintChange(BaseModel):
    """A new version: the fields that change (the rest carry over), or ``cancel``."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str | None, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] = None
    purpose: Annotated[str | None, Field(max_length=2000, pattern=r"^[^\x00]*$")] = None
    geometry: dict[str, Any] | None = None
    floor: LimitIn | None = None
    ceiling: LimitIn | None = None
    start: datetime | None = None
    end: datetime | None = None
    short_notice: bool | None = None
    coordinated_categories: list[AircraftCategory] | None = None
    cancel: bool = False


class ConstraintOut(BaseModel):
    constraint_id: str
    version: int
    ref: str
    """``<constraint_id>.v<version>``: also the id of the airspace restriction that carries it."""
    authority: Authority
    authority_zh: str
    kind: ConstraintKind
    status: ConstraintStatus
    title: str
    purpose: str
    geometry: dict[str, Any]
    floor: LimitIn
    ceiling: LimitIn
    start: datetime
    end: datetime
    short_notice: bool
    coordinated_categories: list[str]
    created_by: str
    created_at: datetime


class AuditEntry(BaseModel):
    action: str
    actor: str
    at: datetime
    details: dict[str, Any]


class ConstraintHistory(BaseModel):
    versions: list[ConstraintOut]
    audit: list[AuditEntry]


def _constraint_out(principal: Principal, v: ConstraintVersion) -> ConstraintOut:
    s = rules.constraint_view(principal.role, v)
    return ConstraintOut(
        constraint_id=s.constraint_id, version=s.version, ref=s.ref, authority=s.authority,
        authority_zh=s.authority.zh, kind=s.kind, status=s.status, title=s.title, purpose=s.purpose,
        geometry=s.geometry, floor=LimitIn(value_m=s.floor_m, ref=s.floor_ref),  # type: ignore[arg-type]
        ceiling=LimitIn(value_m=s.ceiling_m, ref=s.ceiling_ref),  # type: ignore[arg-type]
        start=s.start, end=s.end, short_notice=s.short_notice, coordinated_categories=list(s.coordinated_categories),
        created_by=s.created_by if rules.sees_purpose(principal.role, v) else s.authority.value,
        created_at=s.created_at)


def _geometry(raw: dict[str, Any]) -> None:
    """The airspace router's polygon check (type, validity, inside the service area), answered with its field."""
    try:
        _restriction_geometry(raw)
    except HTTPException as exc:
        raise ApiError(422, str(exc.detail), "geometry：须为服务区内有效的 GeoJSON 多边形", field="geometry") from exc


def _aware(name: str, t: datetime | None) -> None:
    if t is not None and t.tzinfo is None:
        raise ApiError(422, f"{name}: needs a UTC offset", f"{name}：须带时区", field=name)


def _limits(floor: LimitIn, ceiling: LimitIn) -> tuple[Altitude, Altitude]:
    if floor.ref == ceiling.ref and floor.value_m >= ceiling.value_m:
        raise ApiError(422, "floor: must be below ceiling", "floor：下限须低于上限", field="floor")
    return Altitude(floor.value_m, floor.ref), Altitude(ceiling.value_m, ceiling.ref)


def _volume(body: ConstraintIn | StandingIn) -> tuple[Altitude, Altitude]:
    """A new volume's checks (area, aware window, band), each answered with its field: its floor and ceiling."""
    _geometry(body.geometry)
    _aware("start", body.start)
    _aware("end", body.end)
    return _limits(body.floor, body.ceiling)


@router.post("/constraints", status_code=201, summary="Issue a constraint (military, ATC, centre); in force at once")
async def issue_constraint(body: ConstraintIn, request: Request, principal: CurrentPrincipal) -> ConstraintOut:
    authority = _authority(principal, body.authority)
    floor, ceiling = _volume(body)
    svc = _svc(request)
    try:
        v = await svc.issue(authority, principal.name, title=body.title, purpose=body.purpose, geometry=body.geometry,
                            floor=floor, ceiling=ceiling, start=body.start or svc.clock(), end=body.end,
                            short_notice=body.short_notice,
                            coordinated_categories=tuple(c.value for c in body.coordinated_categories))
    except (rules.ConstraintProblem, NotFound, Forbidden, Conflict) as exc:
        raise _mapped(exc) from exc
    return _constraint_out(principal, v)


@router.post("/constraints/{constraint_id}/versions", status_code=201,
             summary="A new version of a constraint (its own authority only); in force at once")
async def revise_constraint(constraint_id: ConstraintId, body: ConstraintChange, request: Request,
                            principal: CurrentPrincipal) -> ConstraintOut:
    authority = None if principal.role is Role.ADMIN else _authority(principal, None)
    if body.geometry is not None:
        _geometry(body.geometry)
    _aware("start", body.start)
    _aware("end", body.end)
    changes: dict[str, Any] = {"title": body.title, "purpose": body.purpose, "geometry": body.geometry,
                               "start": body.start, "end": body.end, "short_notice": body.short_notice}
    if body.coordinated_categories is not None:
        changes["coordinated_categories"] = tuple(c.value for c in body.coordinated_categories)
    if body.floor is not None or body.ceiling is not None:
        if body.floor is None or body.ceiling is None:
            raise ApiError(422, "ceiling: floor and ceiling change together", "floor/ceiling：须同时修改上下限",
                           field="ceiling" if body.ceiling is None else "floor")
        changes["floor"], changes["ceiling"] = _limits(body.floor, body.ceiling)
    try:
        v = await _svc(request).revise(constraint_id, authority, principal.name, cancel=body.cancel, **changes)
    except (rules.ConstraintProblem, NotFound, Forbidden, Conflict) as exc:
        raise _mapped(exc) from exc
    return _constraint_out(principal, v)


@router.get("/constraints", summary="Constraints in force (or with ?all=true every one's latest version)")
async def list_constraints(request: Request, principal: CurrentPrincipal, all: bool = False) -> list[ConstraintOut]:
    return [_constraint_out(principal, v) for v in await _svc(request).constraints(include_past=all)]


@router.get("/constraints/{constraint_id}/history", summary="Every version of a constraint and who changed what")
async def constraint_history(constraint_id: ConstraintId, request: Request, principal: CurrentPrincipal
                             ) -> ConstraintHistory:
    try:
        vs, audit = await _svc(request).history(constraint_id)
    except NotFound as exc:
        raise _mapped(exc) from exc
    return ConstraintHistory(versions=[_constraint_out(principal, v) for v in vs],
                             audit=[AuditEntry(**a) for a in audit])


# ------------------------------------------------------------------ approvals


class ApprovalOut(BaseModel):
    plan_id: str
    authority: Authority
    authority_zh: str
    state: ApprovalState
    decide_by: datetime
    escalated_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    constraint_refs: list[str]
    """What made this authority's word necessary (volume ids, constraint versions) at routing."""
    decided_on: list[str]
    """The constraint versions in force when it decided."""


class PlanCoordination(BaseModel):
    plan_id: str
    combined: str
    requests: list[ApprovalOut]
    audit: list[AuditEntry]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["approve", "refuse"]
    reason: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""
    authority: Authority | None = Field(default=None, description="admin only: the authority it acts for "
                                       "(default local)")


def _approval_out(r: ApprovalRequest) -> ApprovalOut:
    return ApprovalOut(plan_id=r.plan_id, authority=r.authority, authority_zh=r.authority.zh, state=r.state,
                       decide_by=r.decide_by, escalated_at=r.escalated_at, decided_by=r.decided_by,
                       decided_at=r.decided_at, reason=r.reason, constraint_refs=list(r.constraint_refs),
                       decided_on=list(r.decided_on))


class PartyPlan(BaseModel):
    """A plan as an authority sees it: where and when, not the operator's free text."""

    plan_id: str
    organisation: str
    state: str
    category: str
    mission: str
    start: datetime
    end: datetime
    touches: dict[str, list[str]]
    """Authority -> the volume ids / constraint versions of its that the plan's footprint enters."""


@router.get("/plans", summary="Plans (referred, approved, active; next 3 days) that enter the caller's "
            "airspace: ATC its controlled airspace, the military its areas, the centre every authority's")
async def party_plans(request: Request, principal: CurrentPrincipal) -> list[PartyPlan]:
    mine = None if principal.role in (Role.CENTRE, Role.ADMIN) else _authority(principal, None)
    return [PartyPlan(plan_id=p.id, organisation=p.organisation, state=p.state.value, category=p.category.value,
                      mission=p.mission.value, start=p.start, end=p.end,
                      touches={a.value: refs for a, refs in needs.items()})
            for p, needs in await _svc(request).plans_touching(mine)]


@router.get("/approvals", summary="Approval requests: an authority's own queue (the centre: every authority's)")
async def list_approvals(request: Request, principal: CurrentPrincipal, state: ApprovalState | None = None
                         ) -> list[ApprovalOut]:
    mine = None if principal.role in (Role.CENTRE, Role.ADMIN) else _authority(principal, None)
    return [_approval_out(r) for r in await _svc(request).requests(mine, state)]


async def _plan_coordination(request: Request, plan_id: str, principal: Principal) -> PlanCoordination:
    try:
        reqs, audit = await _svc(request).plan_coordination(plan_id)
    except NotFound as exc:
        raise _mapped(exc) from exc
    mine = None if principal.role in (Role.CENTRE, Role.ADMIN) else AUTHORITY_OF_ROLE.get(principal.role)
    if mine is not None and all(r.authority is not mine for r in reqs):
        raise ApiError(404, f"not found: {plan_id}", "未找到（或无权查看）")
    return PlanCoordination(plan_id=plan_id, combined=rules.combine(reqs).value,
                            requests=[_approval_out(r) for r in reqs], audit=[AuditEntry(**a) for a in audit])


@router.get("/approvals/{plan_id}", summary="A plan's multi-party approval: each authority's part and the audit")
async def plan_approvals(plan_id: PlanId, request: Request, principal: CurrentPrincipal) -> PlanCoordination:
    return await _plan_coordination(request, plan_id, principal)


@router.post("/approvals/{plan_id}/decision", summary="An authority decides its part (any refusal refuses the plan; "
             "all approvals approve it)")
async def decide(plan_id: PlanId, body: DecisionIn, request: Request, principal: CurrentPrincipal
                 ) -> PlanCoordination:
    authority = _authority(principal, body.authority)
    if body.verdict == "refuse" and not body.reason.strip():
        raise ApiError(422, "reason: a refusal gives its reason", "reason：不同意须说明理由", field="reason")
    try:
        await _svc(request).decide(plan_id, authority, principal.name, body.verdict == "approve", body.reason)
    except (NotFound, Conflict) as exc:
        raise _mapped(exc) from exc
    return await _plan_coordination(request, plan_id, principal)


# ------------------------------------------------------------------ counter-UAS cases


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aircraft_id: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
    kind: CaseKind
    alert_id: Annotated[str | None, Field(max_length=64, pattern=r"^[\w.:-]+$")] = None
    note: Text2000 = ""


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["intercepting", "resolved"]
    outcome: CaseOutcome | None = None
    note: Text2000 = ""


class CaseOut(BaseModel):
    id: str
    aircraft_id: str
    kind: CaseKind
    state: CaseState
    outcome: CaseOutcome | None
    alert_id: str | None
    note: str
    facts: dict[str, Any]
    """last_positions, predicted_path (lon, lat, alt_amsl_m, t epoch s) and nearby_sites (nearest first)."""
    opened_by: str
    opened_at: datetime
    updated_at: datetime


class CaseDetail(BaseModel):
    case: CaseOut
    audit: list[AuditEntry]


class SuspectTrack(BaseModel):
    id: str
    lon: float
    lat: float
    alt_amsl_m: float
    vx: float
    """m/s east"""
    vy: float
    """m/s north"""
    t: float
    """time of the last report, epoch s UTC"""
    cooperative: bool
    status: str
    """the monitor's status: ``unauthorised`` for a cooperative aircraft without an approved plan"""


@router.get("/tracks", summary="Live unauthorised and non-cooperative tracks (police, centre)")
async def suspect_tracks(request: Request, _: CurrentPrincipal) -> list[SuspectTrack]:
    return [SuspectTrack(**t) for t in _svc(request).suspect_tracks()]


@router.post("/cases", status_code=201, summary="Hand an unauthorised or non-cooperative track to police (centre)")
async def open_case(body: CaseIn, request: Request, principal: CurrentPrincipal) -> CaseOut:
    try:
        case = await _svc(request).open_case(body.aircraft_id, body.kind, body.alert_id, body.note, principal.name)
    except NotFound as exc:
        raise ApiError(404, str(exc), "aircraft_id：当前没有该航迹", field="aircraft_id") from exc
    return CaseOut(**case)


@router.get("/cases", summary="Counter-UAS cases (police, centre)")
async def list_cases(request: Request, _: CurrentPrincipal, state: CaseState | None = None) -> list[CaseOut]:
    return [CaseOut(**c) for c in await _svc(request).cases(state)]


@router.get("/cases/{case_id}", summary="One case with its audit trail")
async def get_case(case_id: CaseId, request: Request, _: CurrentPrincipal) -> CaseDetail:
    try:
        case, audit = await _svc(request).case(case_id)
    except NotFound as exc:
        raise _mapped(exc) from exc
    return CaseDetail(case=CaseOut(**case), audit=[AuditEntry(**a) for a in audit])


@router.post("/cases/{case_id}/state", summary="Police move a case: intercepting, resolved (with its outcome)")
async def update_case(case_id: CaseId, body: CaseUpdate, request: Request, principal: CurrentPrincipal) -> CaseOut:
    outcome = body.outcome.value if body.outcome else None
    try:
        case = await _svc(request).update_case(case_id, CaseState(body.state), outcome, body.note, principal.name)
    except (NotFound, Conflict) as exc:
        raise _mapped(exc) from exc
    return CaseOut(**case)


# ------------------------------------------------------------------ government fleets (政务"一网统飞")


class StandingIn(BaseModel):
    """A government fleet's standing approval for a patrol area: its plans inside the area, band and
    window, of a listed mission, are approved at once (every other filing rule still applies)."""

    model_config = ConfigDict(extra="forbid")
    organisation: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$",
                                       description="a government fleet of the filing policy")]
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    geometry: dict[str, Any] = Field(description="the patrol area: GeoJSON Polygon or MultiPolygon, lon/lat")
    floor: LimitIn
    ceiling: LimitIn
    start: datetime | None = Field(default=None, description="default: now")
    end: datetime
    missions: list[MissionType] = Field(min_length=1, description="the missions it covers")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


class StandingOut(BaseModel):
    id: str
    organisation: str
    title: str
    geometry: dict[str, Any]
    floor: LimitIn
    ceiling: LimitIn
    start: datetime
    end: datetime
    missions: list[MissionType]
    state: Literal["active", "revoked"]
    state_zh: str
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str


class StandingDetail(BaseModel):
    standing: StandingOut
    audit: list[AuditEntry]


class PreemptionOut(BaseModel):
    """One preemption: ``plan_id`` was withdrawn for ``details.by_plan`` (who, when, under which rule)."""

    plan_id: str
    action: str
    actor: str
    at: datetime
    details: dict[str, Any]


def _standing_out(sa: StandingApproval) -> StandingOut:
    return StandingOut(
        id=sa.id, organisation=sa.organisation, title=sa.title, geometry=sa.geometry,
        floor=LimitIn(value_m=sa.floor.value_m, ref=sa.floor.reference), ceiling=LimitIn(
            value_m=sa.ceiling.value_m, ref=sa.ceiling.reference),
        start=sa.start, end=sa.end, missions=sorted(sa.missions), state=sa.state,  # type: ignore[arg-type]
        state_zh="有效" if sa.state == "active" else "已撤销", created_by=sa.created_by, created_at=sa.created_at,
        revoked_by=sa.revoked_by, revoked_at=sa.revoked_at, revoke_reason=sa.revoke_reason)


def _own_org(request: Request, principal: Principal) -> str | None:
    """None: every organisation's (centre, admin); an operator: its own organisation's only."""
    if access_of(request.scope) is Access.OWN:
        return principal.organisation or ""
    return None


@router.post("/standing-approvals", status_code=201,
             summary="Register a government fleet's standing approval for a patrol area (centre)")
async def register_standing(body: StandingIn, request: Request, principal: CurrentPrincipal) -> StandingOut:
    floor, ceiling = _volume(body)
    svc = _svc(request)
    try:
        sa = await svc.register_standing(principal.name, organisation=body.organisation, title=body.title,
                                         geometry=body.geometry, floor=floor, ceiling=ceiling,
                                         start=body.start or svc.clock(), end=body.end, missions=body.missions)
    except rules.ConstraintProblem as exc:
        if exc.field == "end":
            raise ApiError(422, str(exc), f"end：{_ZH_STANDING_END}", field="end") from exc
        raise _mapped(exc) from exc
    return _standing_out(sa)


@router.get("/standing-approvals", summary="Standing approvals (an operator: its organisation's; ?all=true: "
            "revoked ones too)")
async def list_standing(request: Request, principal: CurrentPrincipal, all: bool = False) -> list[StandingOut]:
    return [_standing_out(sa) for sa in await _svc(request).standing(_own_org(request, principal),
                                                                     include_revoked=all)]


@router.get("/standing-approvals/{standing_id}", summary="One standing approval with its audit")
async def get_standing(standing_id: StandingId, request: Request, principal: CurrentPrincipal) -> StandingDetail:
    try:
        sa, audit = await _svc(request).standing_detail(standing_id)
    except NotFound as exc:
        raise _mapped(exc) from exc
    own = _own_org(request, principal)
    if own is not None and sa.organisation != own:
        raise _mapped(NotFound(standing_id))
    return StandingDetail(standing=_standing_out(sa), audit=[AuditEntry(**a) for a in audit])


@router.post("/standing-approvals/{standing_id}/revoke",
             summary="Revoke a standing approval (centre); plans approved under it stay approved")
async def revoke_standing(standing_id: StandingId, body: RevokeIn, request: Request, principal: CurrentPrincipal
                          ) -> StandingOut:
    try:
        sa = await _svc(request).revoke_standing(standing_id, principal.name, body.reason)
    except (NotFound, Conflict) as exc:
        raise _mapped(exc) from exc
    return _standing_out(sa)


@router.get("/preemptions", summary="Which plan preempted which, when, under which rule (centre; ?plan_id= "
            "the preempted or the preempting plan)")
async def list_preemptions(request: Request, _: CurrentPrincipal,
                           plan_id: Annotated[str | None, Query(max_length=32, pattern=r"^[0-9a-f]{32}$")] = None
                           ) -> list[PreemptionOut]:
    return [PreemptionOut(**p) for p in await _svc(request).preemptions(plan_id)]
