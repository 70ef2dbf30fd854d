"""Combine the rules into one decision: approved / referred / rejected, with reasons.

All rules pass -> approved in the same request; any soft failure (refer) -> referred to
the centre's queue; any hard failure (reject) -> rejected with every reason and, when
one exists, a concrete alternative (see :mod:`lowalt.filing.alternatives`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.deconfliction import DeconflictionIndex
from lowalt.filing.model import FlightPlan, Footprint, footprint
from lowalt.filing.policy import Policy
from lowalt.filing.rules import (
    Outcome,
    Pathway,
    Registry,
    RuleResult,
    WeatherWarning,
    pathway,
    rule_airspace,
    rule_altitude,
    rule_clawbacks,
    rule_corridor,
    rule_deadline,
    rule_deconfliction,
    rule_geometry,
    rule_registration,
    rule_time_window,
    rule_vertiports,
    rule_weather,
)


class Verdict(StrEnum):
    APPROVED = "approved"
    REFERRED = "referred"
    REJECTED = "rejected"


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

    @property
    def reasons(self) -> list[RuleResult]:
        return [r for r in self.results if r.outcome is not Outcome.PASS]

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "pathway": self.pathway.value,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reasons": [r.as_dict() for r in self.reasons],
            "checks": [{"rule": r.rule, "outcome": r.outcome.value, "code": r.code} for r in self.results],
            "preempts": self.preempts,
            "alternatives": self.alternatives,
        }


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


def slot_of(t: datetime, policy: Policy) -> datetime:
    step = int(policy.slot.total_seconds())
    return datetime.fromtimestamp(int(t.timestamp()) // step * step, tz=t.tzinfo)


def evaluate(plan: FlightPlan, facts: Facts, fp: Footprint | None = None, *, registry: bool = True
             ) -> tuple[Decision, Footprint | None]:
    """Run every rule and combine them (no alternatives: see :func:`decide`)."""
    pol = facts.policy
    results = [rule_geometry(plan, pol), rule_time_window(plan, facts.now, pol)]
    if registry:
        results.append(rule_registration(plan, facts.registry, pol))
    if any(r.outcome is Outcome.REJECT for r in results[:2]):
        return Decision(Verdict.REJECTED, Pathway.STANDARD, results, decided_at=facts.now), None
    fp = fp or footprint(plan, facts.airspace.terrain)
    finding = facts.airspace.check(plan, fp)
    corridor = facts.airspace.corridor_for(plan, fp)
    path = pathway(plan, pol, finding, corridor)
    inside = corridor is not None and facts.airspace.inside_corridor(corridor, fp)
    rad = pol.vertiport_radius_m
    ends = [("takeoff", facts.airspace.vertiport_near(plan.takeoff, rad), plan.start),
            ("landing", facts.airspace.vertiport_near(plan.landing, rad), plan.end)]
    conflicts = facts.index.conflicts(fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s,
                                      exclude=plan.id, floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl)
    results += [
        rule_airspace(plan, finding, path),
        rule_altitude(plan, pol, path, corridor),
        rule_corridor(plan, corridor, inside),
        rule_clawbacks(plan, pol),
        rule_deadline(plan, path, facts.now, pol),
        rule_vertiports(plan, ends, lambda pid, t: facts.slot_count(pid, slot_of(t, pol)), pol),
        rule_weather(plan, facts.weather, pol),
        rule_deconfliction(plan, conflicts),
    ]
    outcomes = {r.outcome for r in results}
    verdict = (Verdict.REJECTED if Outcome.REJECT in outcomes
               else Verdict.REFERRED if Outcome.REFER in outcomes else Verdict.APPROVED)
    preempts = next((list(r.details.get("preempts", [])) for r in results if r.rule == "deconfliction"), [])
    slots = [(p.id, slot_of(t, pol)) for _, p, t in ends if p is not None]
    return Decision(verdict, path, results, preempts=preempts, decided_at=facts.now, slots=slots), fp


def decide(plan: FlightPlan, facts: Facts) -> tuple[Decision, Footprint | None]:
    """Evaluate, and for a rejection look for concrete alternatives."""
    from lowalt.filing.alternatives import find_alternatives

    decision, fp = evaluate(plan, facts)
    if decision.verdict is Verdict.REJECTED and fp is not None:
        decision.alternatives = find_alternatives(plan, decision, facts)
    return decision, fp
