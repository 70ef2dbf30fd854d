"""Combine the rules into one verdict: approved / referred / rejected, with reasons.

All rules pass -> approved in the same request; any soft failure (refer) -> referred to
the centre's queue; any hard failure (reject) -> rejected with every reason. The alternatives
offered with a refusal re-run this evaluation (:mod:`lowalt.filing.alternatives`), and
:func:`lowalt.filing.decision.decide` puts the two together: this module imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.deconfliction import DeconflictionIndex
from lowalt.filing.messages import text, zh
from lowalt.filing.model import FlightPlan, Footprint, footprint
from lowalt.filing.policy import Policy
from lowalt.filing.rules import (
    STANDING_ARTICLE,
    Booking,
    Outcome,
    Pathway,
    PathwayOption,
    Registry,
    RuleResult,
    WeatherWarning,
    iso,
    pathway_options,
    rule_aircraft,
    rule_airspace,
    rule_altitude,
    rule_clawbacks,
    rule_corridor,
    rule_deadline,
    rule_deconfliction,
    rule_geometry,
    rule_night,
    rule_registration,
    rule_terrain,
    rule_time_window,
    rule_vertiports,
    rule_weather,
)
from lowalt.filing.standing import StandingApproval, covering


class Verdict(StrEnum):
    APPROVED = "approved"
    REFERRED = "referred"
    REJECTED = "rejected"


_RANK = {Verdict.APPROVED: 2, Verdict.REFERRED: 1, Verdict.REJECTED: 0}


@dataclass
class Decision:
    verdict: Verdict
    pathway: Pathway
    results: list[RuleResult]
    preempts: list[str] = field(default_factory=list)
    """Approved lower-priority plans this (emergency) plan displaces."""
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    decided_at: datetime | None = None
    slots: list[tuple[str, datetime]] = field(default_factory=list)
    """(vertiport id, slot start) movements this plan takes."""
    pathways: list[dict[str, Any]] = field(default_factory=list)
    """Every pathway considered, in the order tried: which applied and why the others did not."""
    decide_by: datetime | None = None
    """Referred emergency plans: the centre decides by then (条例 Art. 29: 10 min before take-off)."""
    tried: dict[Pathway, list[RuleResult]] = field(default_factory=dict)
    """The failing pathway-specific results of every pathway tried (why it was not taken)."""
    standing: StandingApproval | None = None
    """The government fleet's standing approval the plan was approved under (pathway ``standing_approval``)."""

    @property
    def reasons(self) -> list[RuleResult]:
        return [r for r in self.results if r.outcome is not Outcome.PASS]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "pathway": self.pathway.value,
            "pathway_zh": zh("pathway", self.pathway.value),
            "decided_at": iso(self.decided_at) if self.decided_at else None,
            "reasons": [r.as_dict() for r in self.reasons],
            "checks": [{"rule": r.rule, "outcome": r.outcome.value, "code": r.code} for r in self.results],
            "pathways": self.pathways,
            "preempts": self.preempts,
            "alternatives": self.alternatives,
        }
        notes = [r.details["true_height"] for r in self.results if "true_height" in r.details]
        if notes:
            out["true_height"] = notes[0]
        if self.decide_by is not None:
            out["decide_by"] = iso(self.decide_by)
        if self.standing is not None and self.pathway is Pathway.STANDING:
            z, en = text("standing_applied", title=self.standing.title, id=self.standing.id)
            out["standing_approval"] = {"id": self.standing.id, "title": self.standing.title,
                                        "article": STANDING_ARTICLE, "message_zh": z, "message_en": en}
        dec = next((r for r in self.results if r.rule == "deconfliction" and r.details.get("preempts")), None)
        if dec is not None:
            out["preemption"] = {k: dec.details[k] for k in ("priority", "displaced", "article") if k in dec.details}
        return out


@dataclass
class Facts:
    """Everything the rules need, gathered by the service (the only I/O is before this)."""

    now: datetime
    policy: Policy
    airspace: AirspaceView
    index: DeconflictionIndex
    registry: Registry
    weather: list[WeatherWarning]
    slot_count: Callable[[str, datetime], int]
    bookings: list[Booking] = field(default_factory=list)
    """Other plans of the same aircraft / pilot licence (approved, active or referred)."""
    filed_at: datetime | None = None
    """When the plan was filed (cut-offs are judged at filing time); None = ``now``."""
    standing: list[StandingApproval] = field(default_factory=list)
    """The plan's organisation's active standing approvals (government fleets, issue #19)."""


def slot_of(t: datetime, policy: Policy) -> datetime:
    step = int(policy.slot.total_seconds())
    return datetime.fromtimestamp(int(t.timestamp()) // step * step, tz=t.tzinfo)


def _combine(results: list[RuleResult]) -> Verdict:
    outcomes = {r.outcome for r in results}
    return (Verdict.REJECTED if Outcome.REJECT in outcomes
            else Verdict.REFERRED if Outcome.REFER in outcomes else Verdict.APPROVED)


def decide_by(plan: FlightPlan, policy: Policy, filed_at: datetime) -> datetime:
    """条例 Art. 29: an emergency plan is decided ``decision_min`` before take-off (never before filing)."""
    return max(filed_at, plan.start - policy.emergency_decision)


def evaluate(plan: FlightPlan, facts: Facts, fp: Footprint | None = None, *, registry: bool = True
             ) -> tuple[Decision, Footprint | None]:
    """Run every rule under every applicable pathway and keep the best (no alternatives: see
    :func:`lowalt.filing.decision.decide`).

    Pathways are tried in :data:`~lowalt.filing.rules.PATHWAY_ORDER` (best for the operator first);
    the first with the best verdict (approved > referred > rejected) applies.
    """
    pol = facts.policy
    filed_at = facts.filed_at or facts.now
    results = [rule_geometry(plan, pol), rule_time_window(plan, facts.now, pol)]
    if registry:
        results.append(rule_registration(plan, facts.registry, pol))
    if any(r.outcome is Outcome.REJECT for r in results[:2]):
        return Decision(Verdict.REJECTED, Pathway.STANDARD, results, decided_at=facts.now), None
    fp = fp or footprint(plan, facts.airspace.terrain)
    finding = facts.airspace.check(plan, fp)
    corridor = facts.airspace.corridor_for(plan, fp)
    inside = corridor is not None and facts.airspace.inside_corridor(corridor, fp)
    rad = pol.vertiport_radius_m
    ends = [("takeoff", facts.airspace.vertiport_near(plan.takeoff, rad), plan.start),
            ("landing", facts.airspace.vertiport_near(plan.landing, rad), plan.end)]
    conflicts = facts.index.conflicts(fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s,
                                      exclude=plan.id, floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl)
    terrain = rule_terrain(plan, fp)
    below = terrain.outcome is not Outcome.PASS
    common = [
        rule_clawbacks(plan, pol),
        rule_vertiports(plan, ends, lambda pid, t: facts.slot_count(pid, slot_of(t, pol)), pol),
        rule_weather(plan, facts.weather, pol),
        rule_deconfliction(plan, conflicts, pol.priorities.preempt_from, pol.priorities.preempt_article),
        rule_aircraft(plan, facts.bookings, pol),
        rule_night(plan, pol),
        terrain,
    ]
    standing = covering(plan, fp, facts.standing) if facts.standing else (None, None)
    options = pathway_options(plan, pol, finding, corridor, fp, standing)
    best: tuple[Verdict, PathwayOption, list[RuleResult]] | None = None
    tried: dict[Pathway, Verdict] = {}
    failing: dict[Pathway, list[RuleResult]] = {}
    for opt in options:
        if not opt.applicable:
            continue
        c = corridor if opt.pathway is Pathway.CORRIDOR else None
        own = [rule_airspace(plan, finding, opt.pathway, below_terrain=below),
               rule_altitude(plan, pol, opt.pathway, c, fp),
               rule_corridor(plan, c, inside, pol.tz),
               rule_deadline(plan, opt.pathway, filed_at, pol)]
        v = _combine(results + own + common)
        tried[opt.pathway] = v
        failing[opt.pathway] = [r for r in own + common if r.outcome is not Outcome.PASS]
        if best is None or _RANK[v] > _RANK[best[0]]:
            best = (v, opt, own)
        if v is Verdict.APPROVED:
            break
    assert best is not None  # STANDARD or CREWED always applies
    verdict, chosen, own = best
    results = results + own[:2] + [common[0]] + own[2:] + common[1:]
    preempts = next((list(r.details.get("preempts", [])) for r in results if r.rule == "deconfliction"), [])
    slots = [(p.id, slot_of(t, pol)) for _, p, t in ends if p is not None]
    d = Decision(verdict, chosen.pathway, results, preempts=preempts, decided_at=facts.now, slots=slots,
                 pathways=_explain(options, chosen.pathway, tried, failing), tried=failing, standing=standing[0])
    if verdict is Verdict.REFERRED and plan.mission in pol.emergency_missions:
        d.decide_by = decide_by(plan, pol, filed_at)
    return d, fp


def _explain(options: list[PathwayOption], chosen: Pathway, tried: dict[Pathway, Verdict],
             failing: dict[Pathway, list[RuleResult]]) -> list[dict[str, Any]]:
    out = []
    for o in options:
        reasons = [{"code": r.code, "outcome": r.outcome.value, "message_zh": r.message_zh, "message_en": r.message_en}
                   for r in failing.get(o.pathway, [])] if o.pathway is not chosen else []
        if o.pathway is chosen:
            z, en = text("pw_applied")
        elif not o.applicable:
            z, en = o.message_zh, o.message_en
        elif o.pathway in tried:
            v = tried[o.pathway].value
            z, en = text("pw_worse", verdict=v, verdict_zh=zh("verdict", v))
            if reasons:
                z += "：" + "；".join(r["message_zh"] for r in reasons)
                en += ": " + "; ".join(r["message_en"] for r in reasons)
        else:
            z, en = text("pw_not_needed")
        out.append({"pathway": o.pathway.value, "applied": o.pathway is chosen, "applicable": o.applicable,
                    "verdict": tried[o.pathway].value if o.pathway in tried else None,
                    "message_zh": z, "message_en": en, "reasons": reasons})
    return out
