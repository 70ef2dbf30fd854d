"""The pilot and licence check at filing time: a pure rule over the organisation's pilot register.

Why a register: 条例 Art. 27 (D7) asks a plan to name its operator's licences, and small, medium and
large UAVs may only be flown by a holder of a CAAC 操控员执照 (条例 Art. 16; E2 in
``docs/reference/regulations_cn.md``; micro and light need none). A free-text pilot name proves
nothing; the register lets filing check that the pilot is the organisation's, that the licence named
is that pilot's, that its class covers the category, and that it is valid on the flight date.

Scope (stated, so nothing is silently skipped): an organisation that keeps no register (no pilot
registered) files as before -- the rule does not apply and adds nothing to the decision. Once it
registers a pilot, every plan it files must name a registered pilot.

Expiry is inclusive: a licence expiring on day D (Beijing date) is valid for a flight on D and not for
a flight on D+1; a flight that runs past midnight needs the licence on its last day as well.

Licence classes and what each covers are ILLUSTRATIVE (the CAAC class scheme under the 条例 is not
in the reference): ``uas_small`` < ``uas_medium`` < ``uas_large`` for unmanned aircraft, each covering
the lighter categories; ``evtol``, ``helicopter`` and ``aeroplane`` (crewed GA) cover only their own.
Nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from lowalt.filing.decision import Decision, Verdict
from lowalt.filing.model import FlightPlan
from lowalt.filing.policy import Policy
from lowalt.filing.rules import Outcome, RuleResult

ARTICLE = "条例 Art. 16 操控员执照 (E2), Art. 27 (D7); licence classes illustrative"

_UAS = ("micro_uav", "light_uav", "small_uav")
LICENCE_COVERS: dict[str, frozenset[str]] = {
    "uas_small": frozenset(_UAS),
    "uas_medium": frozenset((*_UAS, "medium_uav")),
    "uas_large": frozenset((*_UAS, "medium_uav", "large_uav")),
    "evtol": frozenset(("evtol",)),
    "helicopter": frozenset(("helicopter",)),
    "aeroplane": frozenset(("crewed_ga",)),
}
"""Licence class -> category values it entitles its holder to fly (illustrative, see the module text)."""

LICENCE_CLASSES = tuple(LICENCE_COVERS)

CLASS_ZH = {"uas_small": "小型无人驾驶航空器操控员执照", "uas_medium": "中型无人驾驶航空器操控员执照",
            "uas_large": "大型无人驾驶航空器操控员执照", "evtol": "电动垂直起降航空器驾驶员执照",
            "helicopter": "直升机驾驶员执照", "aeroplane": "飞机驾驶员执照"}

_MESSAGES: dict[str, tuple[str, str]] = {
    "pilot_unregistered": ("驾驶员“{pilot}”不在本单位驾驶员名册中，请先在“机队”中登记",
                           "pilot {pilot!r} is not in this organisation's pilot register; register the pilot first"),
    "licence_unknown": ("执照 {licence} 不属于本单位登记的驾驶员", "licence {licence} is not held by a pilot of "
                        "this organisation's register"),
    "licence_other_pilot": ("执照 {licence} 登记在 {holder} 名下，与申报的驾驶员“{pilot}”不符",
                            "licence {licence} is registered to {holder}, not to the pilot named, {pilot!r}"),
    "licence_expired": ("执照 {licence} 有效期至 {expiry}（北京时间），飞行日期 {day} 已过期",
                        "licence {licence} is valid until {expiry} (Beijing date); the flight on {day} is after that"),
    "licence_class": ("执照 {licence}（{cls_zh}）不适用于{category_zh}",
                      "licence {licence} ({cls}) does not cover the category {category}"),
    "licence_none": ("驾驶员“{pilot}”未登记执照，不能驾驶{category_zh}",
                     "pilot {pilot!r} holds no registered licence, which the category {category} needs"),
}

@dataclass(frozen=True)
class RegisteredPilot:
    """One row of an organisation's pilot register (the licence is optional: micro/light need none)."""

    name: str
    licence_number: str | None = None
    licence_class: str | None = None
    licence_expiry: date | None = None


def flight_days(plan: FlightPlan, policy: Policy) -> tuple[date, date]:
    """The first and last Beijing dates the flight is in the air (an end at exactly 00:00 is the day before)."""
    first = plan.start.astimezone(policy.tz).date()
    last = (plan.end - timedelta(microseconds=1)).astimezone(policy.tz).date()
    return first, max(first, last)


def licence_valid_on(expiry: date, day: date) -> bool:
    """Inclusive: a licence expiring on D is valid on D, not on D+1."""
    return day <= expiry


def _reject(key: str, details: dict[str, Any], **fmt: Any) -> RuleResult:
    zh, en = _MESSAGES[key]
    return RuleResult("pilot", Outcome.REJECT, key, zh.format(**fmt), en.format(**fmt),
                      {"article": ARTICLE, **details})


def rule_pilot(plan: FlightPlan, register: Sequence[RegisteredPilot], policy: Policy) -> RuleResult | None:
    """Check the plan's pilot and licence against the organisation's register.

    None when the organisation keeps no register (the rule does not apply); otherwise a pass or a
    reject naming what is wrong. The named licence (``licence_id``) must be in the register, held by the
    pilot named, valid on every flight day, and (for a category that needs a licence) of a class that
    covers the category. Without a licence id the pilot is looked up by name; a category that needs a
    licence is refused by the registration rule (``licence_missing``) already.
    """
    if not register:
        return None
    name = plan.pilot.strip()
    cat = plan.category
    fmt = {"pilot": name, "category": cat.value, "category_zh": cat.label_zh}
    if plan.licence_id:
        held = next((p for p in register if p.licence_number == plan.licence_id), None)
        if held is None:
            return _reject("licence_unknown", {"licence": plan.licence_id}, licence=plan.licence_id, **fmt)
        if held.name.strip() != name:
            return _reject("licence_other_pilot", {"licence": plan.licence_id}, licence=plan.licence_id,
                           holder=held.name, **fmt)
        _, last = flight_days(plan, policy)
        if held.licence_expiry is not None and not licence_valid_on(held.licence_expiry, last):
            return _reject("licence_expired", {"licence": plan.licence_id, "expiry": held.licence_expiry.isoformat(),
                                               "flight_day": last.isoformat()},
                           licence=plan.licence_id, expiry=held.licence_expiry.isoformat(), day=last.isoformat(), **fmt)
        cls = held.licence_class or ""
        if cat in policy.licence_required and cat.value not in LICENCE_COVERS.get(cls, frozenset()):
            return _reject("licence_class", {"licence": plan.licence_id, "licence_class": cls},
                           licence=plan.licence_id, cls=cls, cls_zh=CLASS_ZH.get(cls, cls), **fmt)
        return RuleResult("pilot", Outcome.PASS, "ok", "驾驶员与执照已核验", "pilot and licence verified",
                          {"article": ARTICLE, "licence": plan.licence_id, "valid_until": held.licence_expiry.isoformat()
                           if held.licence_expiry else None})
    if not any(p.name.strip() == name for p in register):
        return _reject("pilot_unregistered", {}, **fmt)
    return RuleResult("pilot", Outcome.PASS, "ok", "驾驶员已登记", "pilot registered", {"article": ARTICLE})


def with_pilot_check(decision: Decision, plan: FlightPlan, register: Sequence[RegisteredPilot], policy: Policy
                     ) -> Decision:
    """The decision with the pilot rule added: a reject makes it
    rejected and drops the alternatives (none of them changes the pilot, so none would be approved)."""
    result = rule_pilot(plan, register, policy)
    if result is None:
        return decision
    d = replace(decision, results=[*decision.results, result])
    if result.outcome is Outcome.REJECT:
        d = replace(d, verdict=Verdict.REJECTED, alternatives=[], preempts=[], decide_by=None)
    return d
