"""Filing rules: pure functions of (plan, facts) -> :class:`RuleResult` (pass / refer / reject).

Each result carries a stable ``code``, a message in Chinese and English, and details a
client can act on. The facts (airspace finding, registry row, weather, slot counts,
conflicts) are gathered by the caller; nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shapely.geometry import LineString, Polygon

from lowalt.airspace.model import AircraftCategory, Route, Vertiport
from lowalt.airspace.rules import Reason, Verdict
from lowalt.airspace.schedule import is_active
from lowalt.filing.airspace_view import AirspaceFinding, hours_text, sample_times
from lowalt.filing.deconfliction import Conflict
from lowalt.filing.model import FlightPlan, Priority
from lowalt.filing.policy import Policy
from lowalt.geo.altitude import AltitudeReference


class Outcome(StrEnum):
    PASS = "pass"
    REFER = "refer"
    REJECT = "reject"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    outcome: Outcome
    code: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "outcome": self.outcome.value, "code": self.code,
                "message_zh": self.message_zh, "message_en": self.message_en, "details": self.details}


def _ok(rule: str, zh: str = "通过", en: str = "passed", **details: Any) -> RuleResult:
    return RuleResult(rule, Outcome.PASS, "ok", zh, en, details)


class Pathway(StrEnum):
    """Which 即报即飞 basis the plan is judged under (policy.yaml ``pathways``)."""

    EMERGENCY = "emergency"
    NO_APPLICATION = "no_application"
    CORRIDOR = "long_term_corridor"
    CREWED = "crewed_ga"
    STANDARD = "standard"


@dataclass(frozen=True)
class Registry:
    """Registry facts for the plan's aircraft and filer (None = aircraft unknown)."""

    aircraft_category: str | None
    aircraft_organisation: str | None
    aircraft_suspended: bool
    operator_suspended: bool


@dataclass(frozen=True)
class WeatherWarning:
    id: str
    kind: str
    """thunderstorm | wind | visibility | precipitation"""
    start: datetime
    end: datetime
    value: float | None = None
    area: Polygon | None = None
    """WGS84; None = the whole service area."""
    text: str = ""


def pathway(plan: FlightPlan, policy: Policy, finding: AirspaceFinding, corridor: Route | None) -> Pathway:
    if plan.mission in policy.emergency_missions:
        return Pathway.EMERGENCY
    if corridor is not None:
        return Pathway.CORRIDOR
    if (plan.category in policy.no_application_categories and finding.worst is Verdict.ALLOWED
            and not (plan.flags & policy.clawbacks) and _within_height(plan, policy)):
        return Pathway.NO_APPLICATION
    if plan.category in policy.crewed_categories:
        return Pathway.CREWED
    return Pathway.STANDARD


def _within_height(plan: FlightPlan, policy: Policy) -> bool:
    limit = policy.max_height_agl_m.get(plan.category)
    return limit is not None and plan.ceiling.reference is AltitudeReference.AGL and plan.ceiling.value_m <= limit


# ------------------------------------------------------------------ rules


def rule_geometry(plan: FlightPlan, policy: Policy) -> RuleResult:
    g = plan.geometry
    if not g.is_valid or g.is_empty:
        return RuleResult("geometry", Outcome.REJECT, "geometry_invalid", "几何图形无效", "geometry is invalid")
    if isinstance(g, LineString) and g.length == 0:
        return RuleResult("geometry", Outcome.REJECT, "geometry_invalid", "航线长度为零", "route has zero length")
    x0, y0, x1, y1 = policy.service_bbox
    bx0, by0, bx1, by1 = g.bounds
    if bx0 < x0 or by0 < y0 or bx1 > x1 or by1 > y1:
        return RuleResult("geometry", Outcome.REJECT, "outside_service_area", "超出本中心服务区",
                          "outside the centre's service area", {"service_bbox": list(policy.service_bbox)})
    return _ok("geometry")


def rule_time_window(plan: FlightPlan, now: datetime, policy: Policy) -> RuleResult:
    if plan.end <= plan.start:
        return RuleResult("time_window", Outcome.REJECT, "window_inverted", "结束时间须晚于开始时间",
                          "end must be after start")
    if plan.start < now - policy.past_tolerance:
        return RuleResult("time_window", Outcome.REJECT, "window_in_past", "开始时间已过",
                          "start is in the past", {"now": now.isoformat()})
    if plan.end - plan.start > policy.max_duration:
        return RuleResult("time_window", Outcome.REJECT, "window_too_long",
                          f"飞行时段超过 {policy.max_duration} 上限", f"window longer than {policy.max_duration}")
    if plan.start > now + policy.max_advance:
        return RuleResult("time_window", Outcome.REJECT, "window_too_far",
                          f"最早只能提前 {policy.max_advance.days} 天申报",
                          f"start more than {policy.max_advance.days} days ahead")
    return _ok("time_window")


def rule_registration(plan: FlightPlan, reg: Registry, policy: Policy) -> RuleResult:
    art = {"article": policy.registration_article}
    if reg.operator_suspended:
        return RuleResult("registration", Outcome.REJECT, "operator_suspended", "运营人已被暂停",
                          "operator is suspended", art)
    if reg.aircraft_category is None or reg.aircraft_organisation != plan.organisation:
        return RuleResult("registration", Outcome.REJECT, "aircraft_unregistered",
                          f"航空器 {plan.aircraft_id} 未在本单位实名登记",
                          f"aircraft {plan.aircraft_id} is not registered to {plan.organisation}", art)
    if reg.aircraft_suspended:
        return RuleResult("registration", Outcome.REJECT, "aircraft_suspended", "航空器已被暂停使用",
                          "aircraft is suspended", art)
    if reg.aircraft_category != plan.category.value:
        return RuleResult("registration", Outcome.REJECT, "category_mismatch",
                          f"申报类别与登记类别（{reg.aircraft_category}）不符",
                          f"filed category differs from registered {reg.aircraft_category}", art)
    if plan.category in policy.licence_required and not plan.licence_id:
        return RuleResult("registration", Outcome.REJECT, "licence_missing", "该类别须填写操控员执照",
                          "this category needs a pilot licence id", art)
    return _ok("registration")


_REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.NO_FLY: ("禁飞区", "no-fly area"),
    Reason.RESTRICTED_AREA: ("限制区", "restricted area"),
    Reason.TEMPORARY_RESTRICTION: ("临时管制空域", "temporary restriction"),
    Reason.CATEGORY_EXCLUDED: ("该类航空器不得进入的管制空域", "controlled airspace closed to this category"),
    Reason.CONTROLLED_AIRSPACE: ("管制空域，须申请", "controlled airspace: application required"),
    Reason.CLASS_G_APPROVAL: ("真高120米以上G类空域，须申请", "class G above 120 m: application required"),
    Reason.CATEGORY_NOT_SUITABLE: ("该类航空器无适飞空域", "no suitable airspace for this category"),
    Reason.ROUTE_RESERVED: ("航线为其他类别保留", "route reserved for other categories"),
    Reason.NO_AIRSPACE_DATA: ("无空域数据", "no airspace data"),
    Reason.RESTRICTED_AUTHORISED: ("限制区，须批准", "restricted area: approval required"),
    Reason.TEMPORARY_RESTRICTION_EXEMPT: ("临时管制空域，须批准", "temporary restriction: approval required"),
}


def rule_airspace(plan: FlightPlan, finding: AirspaceFinding, path: Pathway) -> RuleResult:
    """Forbidden anywhere -> reject naming the volumes; needs approval -> refer (application)."""
    def listing(verdict: Verdict) -> tuple[str, str, list[dict[str, Any]]]:
        hits = finding.of(verdict)
        zh = "；".join(f"{h.name_zh}（{_REASON_TEXT.get(h.reason, (h.reason, ''))[0]}）" for h in hits)
        en = "; ".join(f"{h.name_en} ({_REASON_TEXT.get(h.reason, ('', h.reason))[1]})" for h in hits)
        det = [{"volume": h.volume_id, "reason": h.reason.value, "at": h.at.isoformat()} for h in hits]
        return zh, en, det

    if finding.worst is Verdict.FORBIDDEN:
        zh, en, det = listing(Verdict.FORBIDDEN)
        return RuleResult("airspace", Outcome.REJECT, "airspace_forbidden", f"穿越禁止进入的空域：{zh}",
                          f"enters airspace closed to {plan.category.value}: {en}", {"volumes": det})
    if finding.worst is Verdict.NEEDS_APPROVAL and path is not Pathway.CORRIDOR:
        zh, en, det = listing(Verdict.NEEDS_APPROVAL)
        return RuleResult("airspace", Outcome.REFER, "airspace_needs_approval", f"须经管制部门批准：{zh}",
                          f"needs approval by the centre: {en}", {"volumes": det, "article": "条例 Art. 19 (C1)"})
    return _ok("airspace")


def rule_altitude(plan: FlightPlan, policy: Policy, path: Pathway, corridor: Route | None) -> RuleResult:
    """Band allowed for the layer and category: micro <= 50 m, light/small in W <= 120 m true height."""
    if corridor is not None:
        same = corridor.floor.reference is plan.floor.reference and corridor.ceiling.reference is \
            plan.ceiling.reference
        if not same or plan.floor.value_m < corridor.floor.value_m or plan.ceiling.value_m > corridor.ceiling.value_m:
            return RuleResult("altitude", Outcome.REJECT, "band_outside_corridor",
                              f"高度须在航线 {corridor.id} 的 {corridor.floor}–{corridor.ceiling} 之内",
                              f"band must lie within route {corridor.id} band {corridor.floor}-{corridor.ceiling}",
                              {"corridor_floor": str(corridor.floor), "corridor_ceiling": str(corridor.ceiling)})
        return _ok("altitude")
    limit = policy.max_height_agl_m.get(plan.category)
    if limit is None or plan.ceiling.reference is not AltitudeReference.AGL or plan.ceiling.value_m <= limit:
        return _ok("altitude")
    det = {"max_height_agl_m": limit, "article": policy.raw["pathways"]["no_application"]["height_article"]}
    if plan.category is AircraftCategory.MICRO_UAV:
        return RuleResult("altitude", Outcome.REJECT, "above_category_ceiling", f"微型无人机真高不得超过 {limit:g} 米",
                          f"micro UAVs fly at most {limit:g} m true height", det)
    if path is Pathway.EMERGENCY:
        return _ok("altitude")
    return RuleResult("altitude", Outcome.REFER, "above_suitable_airspace",
                      f"真高超过 {limit:g} 米，超出适飞空域（W类），须申请",
                      f"above {limit:g} m true height is outside suitable (W) airspace: application required", det)


def rule_corridor(plan: FlightPlan, corridor: Route | None, inside: bool) -> RuleResult:
    """A plan in a released route must fit its category, footprint and release hours."""
    if corridor is None:
        return _ok("corridor")
    hours = hours_text(corridor)
    det = {"corridor": corridor.id, "release_hours": hours}
    if plan.category not in corridor.allowed_categories:
        return RuleResult("corridor", Outcome.REJECT, "corridor_category", f"航线 {corridor.id} 不对该类别开放",
                          f"route {corridor.id} is not released to {plan.category.value}", det)
    if not inside:
        return RuleResult("corridor", Outcome.REJECT, "outside_corridor", f"超出航线 {corridor.id} 的走廊范围",
                          f"leaves the corridor of route {corridor.id}", det)
    closed = [t for t in sample_times(plan.start, plan.end) if not is_active(corridor.schedule, t)]
    if closed:
        return RuleResult("corridor", Outcome.REJECT, "corridor_closed",
                          f"航线 {corridor.name_zh} 仅在 {hours} 开放，{closed[0].isoformat()} 时未开放",
                          f"route {corridor.name_en} is released only {hours}; closed at {closed[0].isoformat()}",
                          {**det, "closed_at": closed[0].isoformat()})
    return _ok("corridor", **det)


def rule_clawbacks(plan: FlightPlan, policy: Policy) -> RuleResult:
    hit = sorted(plan.flags & policy.clawbacks)
    if hit and plan.category in policy.no_application_categories:
        return RuleResult("clawbacks", Outcome.REFER, "clawback_application_required",
                          f"存在须申请的情形：{', '.join(hit)}",
                          f"an application is needed again: {', '.join(hit)}",
                          {"flags": hit, "article": policy.clawback_article})
    return _ok("clawbacks")


def rule_deadline(plan: FlightPlan, path: Pathway, now: datetime, policy: Policy) -> RuleResult:
    """Lead times: none for no-application flights; Art. 29 for emergencies; cut-offs otherwise."""
    if path is Pathway.NO_APPLICATION:
        return _ok("deadline", article=policy.no_application_article)
    if path is Pathway.EMERGENCY:
        if plan.start - now >= policy.emergency_lead or (plan.urgent and policy.emergency_urgent_any_time):
            return _ok("deadline", article=policy.emergency_article)
        return RuleResult("deadline", Outcome.REFER, "emergency_short_notice",
                          f"应急飞行应提前 {policy.emergency_lead} 申请（特别紧急可随时申请）",
                          f"emergency flights apply {policy.emergency_lead} ahead (especially urgent: any time)",
                          {"article": policy.emergency_article})
    cutoff = {Pathway.CORRIDOR: policy.corridor, Pathway.CREWED: policy.crewed}.get(path, policy.standard)
    deadline = cutoff.deadline(plan.start, policy.tz)
    if now <= deadline:
        return _ok("deadline", deadline=deadline.isoformat(), article=cutoff.article)
    earliest = cutoff.earliest_start(now, policy.tz)
    return RuleResult("deadline", Outcome.REJECT, "filed_too_late",
                      f"申报截止时间为 {deadline.astimezone(policy.tz):%Y-%m-%d %H:%M}（{cutoff.article}）",
                      f"the filing deadline was {deadline.astimezone(policy.tz):%Y-%m-%d %H:%M} local "
                      f"({cutoff.article})",
                      {"deadline": deadline.isoformat(), "earliest_start": earliest.isoformat(),
                       "article": cutoff.article, "pathway": path.value})


def rule_vertiports(plan: FlightPlan, ends: Sequence[tuple[str, Vertiport | None, datetime]],
                    slot_count: Callable[[str, datetime], int], policy: Policy) -> RuleResult:
    """Take-off/landing sites open, admitting the category, with a free movement in the slot."""
    for label, port, t in ends:
        if port is None:
            continue
        det = {"vertiport": port.id, "point": label, "at": t.isoformat()}
        if plan.category not in port.allowed_categories:
            return RuleResult("vertiports", Outcome.REJECT, "vertiport_category",
                              f"起降点 {port.name_zh} 不接受该类航空器", f"{port.name_en} does not admit "
                              f"{plan.category.value}", det)
        if not port.is_open(t):
            return RuleResult("vertiports", Outcome.REJECT, "vertiport_closed", f"起降点 {port.name_zh} 此时未开放",
                              f"{port.name_en} is closed at {t.isoformat()}", det)
        if slot_count(port.id, t) >= port.capacity_per_15min:
            return RuleResult("vertiports", Outcome.REJECT, "vertiport_full",
                              f"起降点 {port.name_zh} 该时段容量已满",
                              f"{port.name_en} has no free movement in the {policy.slot} slot",
                              {**det, "capacity": port.capacity_per_15min})
    return _ok("vertiports")


def rule_weather(plan: FlightPlan, warnings: Sequence[WeatherWarning], policy: Policy) -> RuleResult:
    worst: RuleResult | None = None
    for w in warnings:
        if w.end <= plan.start or w.start >= plan.end:
            continue
        if w.area is not None and not w.area.intersects(plan.geometry):
            continue
        det = {"warning": w.id, "kind": w.kind, "until": w.end.isoformat(), "text": w.text}
        if w.kind == "thunderstorm":
            return RuleResult("weather", Outcome.REJECT, "weather_thunderstorm", "雷暴预警生效期间禁止飞行",
                              "a thunderstorm warning is in force", det)
        if w.kind == "wind" and w.value is not None and w.value > policy.max_wind_ms.get(plan.category, 1e9):
            return RuleResult("weather", Outcome.REJECT, "weather_wind",
                              f"风速 {w.value:g} m/s 超过该类别限制", f"wind {w.value:g} m/s above the "
                              f"{plan.category.value} limit {policy.max_wind_ms[plan.category]:g} m/s", det)
        if w.kind == "visibility" and w.value is not None and w.value < policy.min_visibility_m:
            worst = RuleResult("weather", Outcome.REFER, "weather_visibility", f"能见度 {w.value:g} 米低于标准",
                               f"visibility {w.value:g} m below {policy.min_visibility_m:g} m", det)
        if w.kind == "precipitation" and w.value is not None and w.value > policy.max_precip_mm_h:
            worst = RuleResult("weather", Outcome.REFER, "weather_precipitation", f"降水 {w.value:g} mm/h 超标",
                               f"precipitation {w.value:g} mm/h above {policy.max_precip_mm_h:g}", det)
    return worst or _ok("weather")


def rule_deconfliction(plan: FlightPlan, conflicts: Sequence[Conflict]) -> RuleResult:
    """Higher priority wins: an emergency flight preempts approved lower-priority plans."""
    if not conflicts:
        return _ok("deconfliction")
    ids = [c.plan_id for c in conflicts]
    blocking = [c for c in conflicts if c.priority >= plan.priority or c.active]
    if not blocking and plan.priority >= Priority.EMERGENCY:
        return _ok("deconfliction", "优先于低优先级计划", "preempts lower-priority plans", preempts=ids)
    if plan.priority >= Priority.EMERGENCY and all(c.active for c in blocking):
        return RuleResult("deconfliction", Outcome.REFER, "conflict_active_flight", "与正在飞行的航空器冲突，需管制协调",
                          "conflicts with a flight in progress: the centre coordinates", {"plans": ids})
    return RuleResult("deconfliction", Outcome.REJECT, "conflict",
                      f"与已批准计划在空间、高度和时间上冲突（{len(blocking)} 个）",
                      f"overlaps {len(blocking)} approved plan(s) in space, altitude and time",
                      {"plans": [c.plan_id for c in blocking]})


def plan_delta(plan: FlightPlan, *, shift: timedelta | None = None) -> tuple[datetime, datetime]:
    """The window shifted by ``shift`` (used by the alternative search)."""
    if shift is None:
        return plan.start, plan.end
    return plan.start + shift, plan.end + shift
