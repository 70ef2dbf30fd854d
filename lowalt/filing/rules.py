"""Filing rules: pure functions of (plan, facts) -> :class:`RuleResult` (pass / refer / reject).

Each result carries a stable ``code``, a message in Chinese and English, and details a
client can act on. The facts (airspace finding, registry row, weather, slot counts,
conflicts) are gathered by the caller; nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import LineString, Polygon

from lowalt.airspace.model import AircraftCategory, Route, Vertiport
from lowalt.airspace.rules import Reason, Verdict
from lowalt.airspace.schedule import is_active
from lowalt.filing.airspace_view import AirspaceFinding, hours_text, hours_text_zh, sample_times
from lowalt.filing.deconfliction import Conflict
from lowalt.filing.messages import alt_zh, local, text, zh
from lowalt.filing.model import FlightPlan, Footprint, Priority
from lowalt.filing.policy import Policy
from lowalt.filing.standing import StandingApproval
from lowalt.geo.altitude import AltitudeReference

STANDING_ARTICLE = "条例 Art. 26 long-term application (D2): a standing approval for the area"


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


def _ok(rule: str, zh_: str = "通过", en: str = "passed", **details: Any) -> RuleResult:
    return RuleResult(rule, Outcome.PASS, "ok", zh_, en, details)


class Pathway(StrEnum):
    """Which 即报即飞 basis the plan is judged under (policy.yaml ``pathways``)."""

    EMERGENCY = "emergency"
    NO_APPLICATION = "no_application"
    CORRIDOR = "long_term_corridor"
    STANDING = "standing_approval"
    """A government organisation's standing approval for the area (issue #19, ``lowalt.filing.standing``)."""
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


def _r(rule: str, outcome: Outcome, key: str, details: dict[str, Any] | None = None, *, code: str | None = None,
       **fmt: Any) -> RuleResult:
    zh, en = text(key, **fmt)
    return RuleResult(rule, outcome, code or key, zh, en, details or {})


@dataclass(frozen=True)
class PathwayOption:
    """One pathway considered for a plan: whether it could apply and, if not, why (zh + en)."""

    pathway: Pathway
    applicable: bool
    message_zh: str = ""
    message_en: str = ""


PATHWAY_ORDER = (Pathway.NO_APPLICATION, Pathway.CORRIDOR, Pathway.STANDING, Pathway.EMERGENCY, Pathway.CREWED,
                 Pathway.STANDARD)
"""Best for the operator first: no application at all (Art. 31), then a long-term route filed for
the record (Art. 26 D2), a government fleet's standing approval for its patrol area (Art. 26 D2 too),
the emergency path (Art. 29), then the ordinary applications."""


def within_height(plan: FlightPlan, policy: Policy, fp: Footprint) -> bool:
    """True height within the category's exempt ceiling ("120米以下" includes 120 m)."""
    limit = policy.max_height_agl_m.get(plan.category)
    if limit is None:
        return False
    return fp.true_ceiling <= limit if policy.height_inclusive else fp.true_ceiling < limit


def pathway_options(plan: FlightPlan, policy: Policy, finding: AirspaceFinding, corridor: Route | None,
                    fp: Footprint, standing: tuple[StandingApproval | None, str | None] = (None, None)
                    ) -> list[PathwayOption]:
    """Every pathway in :data:`PATHWAY_ORDER`, applicable or with the reason it is not.

    ``standing``: the standing approval that covers the plan, or None with why its organisation's do not
    (:func:`lowalt.filing.standing.covering`)."""
    out: list[PathwayOption] = []
    flags = sorted(plan.flags & policy.clawbacks)
    limit = policy.max_height_agl_m.get(plan.category)
    if plan.category not in policy.no_application_categories:
        why = text("pw_na_category", category=plan.category.value, category_zh=zh("category", plan.category.value))
    elif flags:
        why = text("pw_na_clawback", flags=", ".join(flags), flags_zh="、".join(zh("flag", f) for f in flags))
    elif not within_height(plan, policy, fp):
        why = text("pw_na_height", height=fp.true_ceiling, limit=limit or 0.0)
    elif not finding.suitable_only:
        why = text("pw_na_airspace")
    else:
        why = ("", "")
    out.append(PathwayOption(Pathway.NO_APPLICATION, not why[0], *why))
    out.append(PathwayOption(Pathway.CORRIDOR, corridor is not None,
                             *(("", "") if corridor is not None else text("pw_corridor_none"))))
    sa, why_sa = standing
    out.append(PathwayOption(Pathway.STANDING, sa is not None, *(
        ("", "") if sa is not None else text(f"pw_standing_{why_sa or 'none'}"))))
    em = plan.mission in policy.emergency_missions
    out.append(PathwayOption(Pathway.EMERGENCY, em, *(("", "") if em else text(
        "pw_emergency_mission", mission=plan.mission.value, mission_zh=zh("mission", plan.mission.value)))))
    crewed = plan.category in policy.crewed_categories
    out.append(PathwayOption(Pathway.CREWED, crewed, *(("", "") if crewed else text("pw_crewed_category"))))
    out.append(PathwayOption(Pathway.STANDARD, not crewed, *(text("pw_standard_crewed") if crewed else ("", ""))))
    return out


def pathway(plan: FlightPlan, policy: Policy, finding: AirspaceFinding, corridor: Route | None,
            fp: Footprint) -> Pathway:
    """The first applicable pathway (the decision tries them all: see ``decision.evaluate``)."""
    return next(o.pathway for o in pathway_options(plan, policy, finding, corridor, fp) if o.applicable)


# ------------------------------------------------------------------ rules


def rule_geometry(plan: FlightPlan, policy: Policy) -> RuleResult:
    g = plan.geometry
    if not g.is_valid or g.is_empty:
        return _r("geometry", Outcome.REJECT, "geometry_invalid")
    if isinstance(g, LineString) and g.length == 0:
        return _r("geometry", Outcome.REJECT, "geometry_zero_length", code="geometry_invalid")
    x0, y0, x1, y1 = policy.service_bbox
    bx0, by0, bx1, by1 = g.bounds
    if bx0 < x0 or by0 < y0 or bx1 > x1 or by1 > y1:
        return _r("geometry", Outcome.REJECT, "outside_service_area", {"service_bbox": list(policy.service_bbox)},
                  x0=x0, y0=y0, x1=x1, y1=y1)
    return _ok("geometry")


def rule_time_window(plan: FlightPlan, now: datetime, policy: Policy) -> RuleResult:
    """Sanity limits (centre practice): not inverted, not past, at most max_duration, within max_advance.

    Boundaries: a start exactly ``past_tolerance`` ago and exactly ``max_advance`` ahead pass;
    a window exactly ``max_duration`` long passes.
    """
    if plan.end <= plan.start:
        return _r("time_window", Outcome.REJECT, "window_inverted")
    if plan.start < now - policy.past_tolerance:
        return _r("time_window", Outcome.REJECT, "window_in_past", {"now": iso(now)})
    if plan.end - plan.start > policy.max_duration:
        return _r("time_window", Outcome.REJECT, "window_too_long", hours=policy.max_duration.total_seconds() / 3600)
    if plan.start > now + policy.max_advance:
        return _r("time_window", Outcome.REJECT, "window_too_far", {"latest_start": iso(now + policy.max_advance)},
                  days=policy.max_advance.days)
    return _ok("time_window")


def rule_registration(plan: FlightPlan, reg: Registry, policy: Policy) -> RuleResult:
    art = {"article": policy.registration_article}
    if reg.operator_suspended:
        return _r("registration", Outcome.REJECT, "operator_suspended", art)
    if reg.aircraft_category is None or reg.aircraft_organisation != plan.organisation:
        return _r("registration", Outcome.REJECT, "aircraft_unregistered", art, aircraft=plan.aircraft_id,
                  organisation=plan.organisation)
    if reg.aircraft_suspended:
        return _r("registration", Outcome.REJECT, "aircraft_suspended", art)
    if reg.aircraft_category != plan.category.value:
        return _r("registration", Outcome.REJECT, "category_mismatch", art, filed=plan.category.value,
                  registered=reg.aircraft_category, filed_zh=zh("category", plan.category.value),
                  registered_zh=zh("category", reg.aircraft_category))
    if plan.category in policy.licence_required and not plan.licence_id:
        return _r("registration", Outcome.REJECT, "licence_missing", art)
    return _ok("registration")


@dataclass(frozen=True)
class Booking:
    """Another plan of the same aircraft (or pilot licence) that holds or may hold it."""

    plan_id: str
    aircraft_id: str
    licence_id: str | None
    start: datetime
    end: datetime


def rule_aircraft(plan: FlightPlan, bookings: Sequence[Booking], policy: Policy) -> RuleResult:
    """One aircraft (and one pilot licence) holds one plan at a time, with a turnaround margin.

    Plans at least ``turnaround`` apart pass; closer ones are refused (both sides tested).
    """
    m = policy.turnaround
    for b in bookings:
        if b.plan_id == plan.id or not (b.start < plan.end + m and plan.start < b.end + m):
            continue
        same_aircraft = b.aircraft_id == plan.aircraft_id
        if not same_aircraft and not (plan.licence_id and b.licence_id == plan.licence_id):
            continue
        det = {"plan": b.plan_id, "start": iso(b.start), "end": iso(b.end), "article": policy.aircraft_article,
               "turnaround_min": m.total_seconds() / 60}
        kw: dict[str, Any] = {"other_start": local(b.start, policy.tz), "other_end": local(b.end, policy.tz),
              "margin": m.total_seconds() / 60}
        if same_aircraft:
            return _r("aircraft", Outcome.REJECT, "aircraft_busy", det, aircraft=plan.aircraft_id, **kw)
        return _r("aircraft", Outcome.REJECT, "pilot_busy", det, licence=plan.licence_id, **kw)
    return _ok("aircraft")


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


def rule_airspace(plan: FlightPlan, finding: AirspaceFinding, path: Pathway, *, below_terrain: bool = False
                  ) -> RuleResult:
    """Forbidden anywhere -> reject naming the volumes; needs approval -> refer (application).

    ``below_terrain``: the terrain rule already refuses the band; samples underground (which no
    volume contains) are not reported again as "outside the modelled airspace". Under a standing
    approval the mapped controlled airspace is approved already; a temporary restriction issued
    since (a party constraint, an event) still needs its approval.
    """
    def listing(verdict: Verdict, reasons: tuple[Reason, ...] | None = None) -> tuple[str, str, list[dict[str, Any]]]:
        hits = [h for h in finding.of(verdict) if not (below_terrain and h.reason is Reason.NO_AIRSPACE_DATA)
                and (reasons is None or h.reason in reasons)]
        zh_ = "；".join(f"{h.name_zh}（{_REASON_TEXT.get(h.reason, ('其他', ''))[0]}）" for h in hits)
        en = "; ".join(f"{h.name_en} ({_REASON_TEXT.get(h.reason, ('', h.reason.value))[1]})" for h in hits)
        det = [{"volume": h.volume_id, "reason": h.reason.value, "at": iso(h.at)} for h in hits]
        return zh_, en, det

    if finding.worst is Verdict.FORBIDDEN:
        z, en, det = listing(Verdict.FORBIDDEN)
        return _r("airspace", Outcome.REJECT, "airspace_forbidden", {"volumes": det}, category=plan.category.value,
                  list_zh=z, list_en=en)
    if finding.worst is Verdict.NEEDS_APPROVAL and path is not Pathway.CORRIDOR:
        z, en, det = listing(Verdict.NEEDS_APPROVAL, _TEMPORARY if path is Pathway.STANDING else None)
        if det:
            return _r("airspace", Outcome.REFER, "airspace_needs_approval",
                      {"volumes": det, "article": "条例 Art. 19 (C1)"}, list_zh=z, list_en=en)
    return _ok("airspace")


_TEMPORARY = (Reason.TEMPORARY_RESTRICTION, Reason.TEMPORARY_RESTRICTION_EXEMPT)


def rule_terrain(plan: FlightPlan, fp: Footprint) -> RuleResult:
    """An AMSL ceiling at or below the highest terrain under the footprint flies into the ground."""
    if plan.ceiling.reference is AltitudeReference.AMSL and plan.ceiling.value_m <= fp.ground_max:
        return _r("terrain", Outcome.REJECT, "band_below_terrain",
                  {"ground_min_m": fp.ground_min, "ground_max_m": fp.ground_max},
                  ground_max=fp.ground_max, ceiling=plan.ceiling.value_m)
    if plan.ceiling.reference is AltitudeReference.AGL and plan.ceiling.value_m <= 0:
        return _r("terrain", Outcome.REJECT, "band_below_terrain",
                  {"ground_min_m": fp.ground_min, "ground_max_m": fp.ground_max},
                  ground_max=fp.ground_max, ceiling=fp.ground_max + plan.ceiling.value_m)
    return _ok("terrain")


def _amsl_note(plan: FlightPlan, fp: Footprint) -> dict[str, Any]:
    """How an AMSL limit was turned into true height (said in the reasons, zh + en)."""
    if plan.floor.reference is AltitudeReference.AGL and plan.ceiling.reference is AltitudeReference.AGL:
        return {}
    z, en = text("amsl_converted", ground_min=fp.ground_min, ground_max=fp.ground_max, floor_agl=fp.true_floor,
                 ceiling_agl=fp.true_ceiling)
    return {"true_height": {"floor_m": round(fp.true_floor, 2), "ceiling_m": round(fp.true_ceiling, 2),
                            "ground_min_m": round(fp.ground_min, 1), "ground_max_m": round(fp.ground_max, 1),
                            "message_zh": z, "message_en": en}}


def rule_altitude(plan: FlightPlan, policy: Policy, path: Pathway, corridor: Route | None, fp: Footprint
                  ) -> RuleResult:
    """Band allowed for the layer and category: micro <= 50 m, light/small in W <= 120 m true height
    (both inclusive: "以下" includes the number; 条例 Art. 19 / Art. 62, C2)."""
    if corridor is not None:
        same = corridor.floor.reference is plan.floor.reference and corridor.ceiling.reference is \
            plan.ceiling.reference
        if not same or plan.floor.value_m < corridor.floor.value_m or plan.ceiling.value_m > corridor.ceiling.value_m:
            return _r("altitude", Outcome.REJECT, "band_outside_corridor",
                      {"corridor_floor": str(corridor.floor), "corridor_ceiling": str(corridor.ceiling)},
                      corridor=corridor.id, corridor_zh=corridor.name_zh, floor=str(corridor.floor),
                      ceiling=str(corridor.ceiling), floor_zh=alt_zh(corridor.floor), ceiling_zh=alt_zh(corridor.ceiling))
        return _ok("altitude")
    note = _amsl_note(plan, fp)
    limit = policy.max_height_agl_m.get(plan.category)
    if limit is None or within_height(plan, policy, fp):
        return _ok("altitude", **note)
    det = {"max_height_agl_m": limit, "true_ceiling_m": round(fp.true_ceiling, 2), "article": policy.height_article,
           **note}
    if plan.category is AircraftCategory.MICRO_UAV:
        return _r("altitude", Outcome.REJECT, "above_category_ceiling", det, limit=limit, height=fp.true_ceiling)
    if path in (Pathway.EMERGENCY, Pathway.STANDING):  # the standing approval's band was checked to cover it
        return _ok("altitude", **note)
    return _r("altitude", Outcome.REFER, "above_suitable_airspace", det, limit=limit, height=fp.true_ceiling)


def rule_corridor(plan: FlightPlan, corridor: Route | None, inside: bool, tz: ZoneInfo | None = None) -> RuleResult:
    """A plan in a released route must fit its category, footprint and release hours."""
    if corridor is None:
        return _ok("corridor")
    hours = hours_text(corridor)
    det = {"corridor": corridor.id, "release_hours": hours}
    names = {"corridor": corridor.id, "corridor_zh": corridor.name_zh}
    if plan.category not in corridor.allowed_categories:
        return _r("corridor", Outcome.REJECT, "corridor_category", det, category=plan.category.value,
                  category_zh=zh("category", plan.category.value), **names)
    if not inside:
        return _r("corridor", Outcome.REJECT, "outside_corridor", det, **names)
    closed = [t for t in sample_times(plan.start, plan.end) if not is_active(corridor.schedule, t)]
    if closed:
        sched_tz = ZoneInfo(corridor.schedule.timezone) if corridor.schedule is not None else tz or ZoneInfo("UTC")
        return _r("corridor", Outcome.REJECT, "corridor_closed", {**det, "closed_at": iso(closed[0])},
                  corridor_zh=corridor.name_zh, corridor_en=corridor.name_en, hours_zh=hours_text_zh(corridor),
                  hours_en=hours, closed=local(closed[0], sched_tz))
    return _ok("corridor", **det)


def rule_clawbacks(plan: FlightPlan, policy: Policy) -> RuleResult:
    hit = sorted(plan.flags & policy.clawbacks)
    if hit and plan.category in policy.no_application_categories:
        return _r("clawbacks", Outcome.REFER, "clawback_application_required",
                  {"flags": hit, "article": policy.clawback_article}, flags=", ".join(hit),
                  flags_zh="、".join(zh("flag", f) for f in hit))
    return _ok("clawbacks")


def rule_night(plan: FlightPlan, policy: Policy) -> RuleResult:
    """Day-only missions (policy ``night.day_only_missions``) may not overlap local night.

    Night is [night_start, night_end) local; a window ending exactly at night_start, or starting
    exactly at night_end, is a day flight.
    """
    if plan.mission not in policy.day_only_missions:
        return _ok("night")
    tz = policy.tz
    day = plan.start.astimezone(tz).date() - timedelta(days=1)
    last = plan.end.astimezone(tz).date()
    while day <= last:
        n0 = datetime.combine(day, policy.night_start, tzinfo=tz)
        n1 = datetime.combine(day + (timedelta(days=1) if policy.night_end <= policy.night_start else timedelta(0)),
                              policy.night_end, tzinfo=tz)
        if plan.start < n1 and n0 < plan.end:
            return _r("night", Outcome.REJECT, "night_not_allowed",
                      {"night_start": iso(n0), "night_end": iso(n1), "article": policy.night_article},
                      mission=plan.mission.value, mission_zh=zh("mission", plan.mission.value),
                      night_start=f"{policy.night_start:%H:%M}", night_end=f"{policy.night_end:%H:%M}")
        day += timedelta(days=1)
    return _ok("night")


def rule_deadline(plan: FlightPlan, path: Pathway, now: datetime, policy: Policy) -> RuleResult:
    """Lead times: none for no-application flights; Art. 29 for emergencies; cut-offs otherwise.

    ``now`` is the filing time. Filed exactly at the cut-off passes (by 12:00 includes 12:00).
    """
    if path is Pathway.NO_APPLICATION:
        return _ok("deadline", article=policy.no_application_article)
    if path is Pathway.STANDING:  # approved in advance for the area and window: no lead time
        return _ok("deadline", article=STANDING_ARTICLE)
    if path is Pathway.EMERGENCY:
        if plan.start - now >= policy.emergency_lead or (plan.urgent and policy.emergency_urgent_any_time):
            return _ok("deadline", article=policy.emergency_article)
        return _r("deadline", Outcome.REFER, "emergency_short_notice", {"article": policy.emergency_article},
                  lead=policy.emergency_lead.total_seconds() / 60)
    cutoff = {Pathway.CORRIDOR: policy.corridor, Pathway.CREWED: policy.crewed}.get(path, policy.standard)
    deadline = cutoff.deadline(plan.start, policy.tz)
    if now <= deadline:
        return _ok("deadline", deadline=iso(deadline), article=cutoff.article)
    earliest = cutoff.earliest_start(now, policy.tz)
    return _r("deadline", Outcome.REJECT, "filed_too_late",
              {"deadline": iso(deadline), "earliest_start": iso(earliest), "article": cutoff.article,
               "pathway": path.value},
              deadline=local(deadline, policy.tz), earliest=local(earliest, policy.tz), pathway=path.value,
              pathway_zh=zh("pathway", path.value), article=cutoff.article)


def rule_vertiports(plan: FlightPlan, ends: Sequence[tuple[str, Vertiport | None, datetime]],
                    slot_count: Callable[[str, datetime], int], policy: Policy) -> RuleResult:
    """Take-off/landing sites open, admitting the category, with a free movement in the slot."""
    for label, port, t in ends:
        if port is None:
            continue
        det = {"vertiport": port.id, "point": label, "at": iso(t)}
        names = {"port_zh": port.name_zh, "port_en": port.name_en}
        if plan.category not in port.allowed_categories:
            return _r("vertiports", Outcome.REJECT, "vertiport_category", det, category=plan.category.value,
                      category_zh=zh("category", plan.category.value), **names)
        if not port.is_open(t):
            return _r("vertiports", Outcome.REJECT, "vertiport_closed", det, at=local(t, policy.tz), **names)
        if slot_count(port.id, t) >= port.capacity_per_15min:
            return _r("vertiports", Outcome.REJECT, "vertiport_full", {**det, "capacity": port.capacity_per_15min},
                      slot=policy.slot.total_seconds() / 60, **names)
    return _ok("vertiports")


def warning_applies(w: WeatherWarning, plan: FlightPlan) -> bool:
    """The warning's window overlaps the plan's and its area (if any) meets the plan's geometry."""
    if w.end <= plan.start or w.start >= plan.end:
        return False
    return w.area is None or bool(w.area.intersects(plan.geometry))


def rule_weather(plan: FlightPlan, warnings: Sequence[WeatherWarning], policy: Policy) -> RuleResult:
    worst: RuleResult | None = None
    for w in warnings:
        if not warning_applies(w, plan):
            continue
        det = {"warning": w.id, "kind": w.kind, "until": iso(w.end), "text": w.text}
        if w.kind == "thunderstorm":
            return _r("weather", Outcome.REJECT, "weather_thunderstorm", det, until=local(w.end, policy.tz))
        limit = policy.max_wind_ms.get(plan.category, 1e9)
        if w.kind == "wind" and w.value is not None and w.value > limit:
            return _r("weather", Outcome.REJECT, "weather_wind", det, value=w.value, limit=limit,
                      category=plan.category.value, category_zh=zh("category", plan.category.value))
        if w.kind == "visibility" and w.value is not None and w.value < policy.min_visibility_m:
            worst = _r("weather", Outcome.REFER, "weather_visibility", det, value=w.value,
                       limit=policy.min_visibility_m)
        if w.kind == "precipitation" and w.value is not None and w.value > policy.max_precip_mm_h:
            worst = _r("weather", Outcome.REFER, "weather_precipitation", det, value=w.value,
                       limit=policy.max_precip_mm_h)
    return worst or _ok("weather")


def rule_deconfliction(plan: FlightPlan, conflicts: Sequence[Conflict], preempt_from: Priority = Priority.EMERGENCY,
                       article: str = "") -> RuleResult:
    """Higher priority wins: a plan at or above ``preempt_from`` (policy ``priorities.preempt_from``)
    preempts approved plans of a strictly lower level. An airborne (active) plan, or one of equal or
    higher level, is never preempted: it blocks (an emergency blocked only by airborne flights is
    referred to the centre, which can talk to them)."""
    if not conflicts:
        return _ok("deconfliction")
    ids = [c.plan_id for c in conflicts]
    blocking = [c for c in conflicts if c.priority >= plan.priority or c.active]
    if not blocking and plan.priority >= preempt_from:
        z, en = text("preempts", level_zh=plan.priority.zh, level=plan.priority.name.lower())
        return _ok("deconfliction", z, en, preempts=ids, priority=plan.priority.name.lower(),
                   displaced=[{"plan": c.plan_id, "priority": Priority(c.priority).name.lower()} for c in conflicts],
                   article=article)
    if plan.priority >= Priority.EMERGENCY and all(c.active for c in blocking):
        return _r("deconfliction", Outcome.REFER, "conflict_active_flight", {"plans": ids})
    return _r("deconfliction", Outcome.REJECT, "conflict", {"plans": [c.plan_id for c in blocking]}, n=len(blocking))


def iso(t: datetime) -> str:
    """The wire convention for instants: ISO 8601 in UTC (``+00:00``)."""
    return t.astimezone(UTC).isoformat()


def plan_delta(plan: FlightPlan, *, shift: timedelta | None = None) -> tuple[datetime, datetime]:
    """The window shifted by ``shift`` (used by the alternative search)."""
    if shift is None:
        return plan.start, plan.end
    return plan.start + shift, plan.end + shift
