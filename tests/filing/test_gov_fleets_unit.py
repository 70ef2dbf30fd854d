"""Government fleets (issue #19), pure: the policy's priority levels, preemption's boundaries (equal never
preempts, airborne never preempted, the preempt_from level included) and a standing approval's edges
(area, band, window: all inclusive as 以内/以下/以上, and one step outside each)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from shapely.geometry import Point, Polygon, mapping

from lowalt.filing.decision import evaluate
from lowalt.filing.deconfliction import Conflict
from lowalt.filing.model import FlightPlan, MissionType, Priority
from lowalt.filing.policy import PolicyError, load_policy, priority_for
from lowalt.filing.rules import Outcome, rule_deconfliction
from lowalt.filing.standing import StandingApproval, covering
from lowalt.settings import DEFAULT_AIRSPACE
from tests.filing import builders as b

M = MissionType
BOX = [(117.60, 29.30), (117.62, 29.30), (117.62, 29.31), (117.60, 29.31), (117.60, 29.30)]
"""Open class W east of the city (an area plan)."""


@pytest.mark.parametrize(("org", "mission", "level"), [
    ("jdz-emergency", M.EMERGENCY_RESCUE, Priority.EMERGENCY),
    ("any-company", M.MEDICAL, Priority.EMERGENCY),  # emergency missions carry it for everyone (Art. 29)
    ("jdz-police", M.POLICE, Priority.POLICE),
    ("any-company", M.POLICE, Priority.COMMERCIAL),  # police level only for the police fleet
    ("jdz-inspection", M.INSPECTION, Priority.INSPECTION),
    ("jdz-police", M.INSPECTION, Priority.INSPECTION),
    ("any-company", M.INSPECTION, Priority.COMMERCIAL),
    ("jdz-police", M.TOURISM, Priority.COMMERCIAL),
    ("any-company", M.TRAINING, Priority.TRAINING),
])
def test_priority_from_the_policy(org: str, mission: MissionType, level: Priority) -> None:
    assert priority_for(b.policy(), org, mission) is level


def test_levels_order_and_a_policy_that_disagrees_is_refused(tmp_path: object) -> None:
    assert Priority.EMERGENCY > Priority.POLICE > Priority.INSPECTION > Priority.COMMERCIAL > Priority.TRAINING
    assert b.policy().priorities.preempt_from is Priority.INSPECTION
    from pathlib import Path

    text = (Path(DEFAULT_AIRSPACE) / "policy.yaml").read_text(encoding="utf-8")
    bad = Path(str(tmp_path)) / "policy.yaml"
    bad.write_text(text.replace("levels: [emergency, police, inspection", "levels: [police, emergency, inspection"),
                   encoding="utf-8")
    with pytest.raises(PolicyError, match="priorities.levels"):
        load_policy(bad)
    bad.write_text(text.replace("jdz-police: police", "jdz-police: army"), encoding="utf-8")
    with pytest.raises(PolicyError, match="government_fleets"):
        load_policy(bad)


def _plan(level: Priority) -> FlightPlan:
    return replace(b.plan(), priority_level=level)


def _c(level: Priority, active: bool = False) -> Conflict:
    return Conflict("q" * 32, int(level), active, "other")


@pytest.mark.parametrize(("mine", "theirs", "active", "outcome"), [
    (Priority.EMERGENCY, Priority.COMMERCIAL, False, Outcome.PASS),
    (Priority.EMERGENCY, Priority.POLICE, False, Outcome.PASS),
    (Priority.POLICE, Priority.INSPECTION, False, Outcome.PASS),
    (Priority.INSPECTION, Priority.COMMERCIAL, False, Outcome.PASS),  # preempt_from itself preempts (以上)
    (Priority.COMMERCIAL, Priority.TRAINING, False, Outcome.REJECT),  # below preempt_from: never
    (Priority.EMERGENCY, Priority.EMERGENCY, False, Outcome.REJECT),  # equal never preempts
    (Priority.POLICE, Priority.POLICE, False, Outcome.REJECT),
    (Priority.POLICE, Priority.EMERGENCY, False, Outcome.REJECT),  # lower never preempts higher
    (Priority.EMERGENCY, Priority.COMMERCIAL, True, Outcome.REFER),  # airborne never preempted (centre decides)
    (Priority.POLICE, Priority.COMMERCIAL, True, Outcome.REJECT),
])
def test_preemption_boundaries(mine: Priority, theirs: Priority, active: bool, outcome: Outcome) -> None:
    r = rule_deconfliction(_plan(mine), [_c(theirs, active)], b.policy().priorities.preempt_from)
    assert r.outcome is outcome
    assert bool(r.details.get("preempts")) is (outcome is Outcome.PASS)
    if outcome is Outcome.PASS:
        assert r.details["displaced"] == [{"plan": "q" * 32, "priority": theirs.name.lower()}]
        assert mine.zh in r.message_zh


def test_one_airborne_conflict_blocks_the_preemption_of_the_others() -> None:
    r = rule_deconfliction(_plan(Priority.POLICE), [_c(Priority.COMMERCIAL), _c(Priority.COMMERCIAL, True)],
                           Priority.INSPECTION)
    assert r.outcome is Outcome.REJECT and not r.details.get("preempts")


def _area_plan(**kw: object) -> FlightPlan:
    poly = Polygon(BOX)
    d: dict[str, object] = dict(geometry=poly, organisation="jdz-police", mission=M.POLICE, takeoff=Point(117.61, 29.305),
                                landing=Point(117.61, 29.305), floor=b.agl(0), ceiling=b.agl(150),
                                start=b.NOW + timedelta(hours=2), minutes=60)
    d.update(kw)
    minutes = d.pop("minutes")
    p = b.plan(**{k: v for k, v in d.items() if k not in ("geometry", "takeoff", "landing")})
    return replace(p, geometry=d["geometry"], takeoff=d["takeoff"], landing=d["landing"],  # type: ignore[arg-type]
                   end=p.start + timedelta(minutes=float(minutes)))  # type: ignore[arg-type]


def _sa(plan: FlightPlan, **kw: object) -> StandingApproval:
    d: dict[str, object] = dict(
        id="SA-20261125-abcdef", organisation="jdz-police", title="东区治安巡逻", geometry=mapping(Polygon(BOX)),
        floor=b.agl(0), ceiling=b.agl(150), start=plan.start, end=plan.end, missions=frozenset({M.POLICE}),
        created_by="centre", created_at=b.NOW)
    d.update(kw)
    return StandingApproval(**d)  # type: ignore[arg-type]


def _why(plan: FlightPlan, sa: StandingApproval) -> str | None:
    fp = b.footprint(plan, b.view().terrain)
    found, why = covering(plan, fp, [sa])
    assert (found is sa) is (why is None)
    return why


def test_standing_edges_are_inclusive_and_one_step_outside_is_not() -> None:
    p = _area_plan()
    assert _why(p, _sa(p)) is None  # area edge = plan edge, window = plan window, ceiling = 150 m (以下)
    second = timedelta(seconds=1)
    assert _why(p, _sa(p, start=p.start + second)) == "window"
    assert _why(p, _sa(p, end=p.end - second)) == "window"
    assert _why(p, _sa(p, start=p.start - second, end=p.end + second)) is None
    assert _why(p, _sa(p, ceiling=b.agl(149.9))) == "band"
    assert _why(p, _sa(p, floor=b.agl(0.1))) == "band"
    assert _why(replace(p, floor=b.agl(30)), _sa(p, floor=b.agl(30))) is None  # floor 以上: 30 m included
    shrunk = Polygon([(x + (1e-5 if x < 117.61 else 0.0), y) for x, y in BOX])  # the west edge ~1 m inwards
    assert _why(p, _sa(p, geometry=mapping(shrunk))) == "area"
    assert _why(replace(p, mission=M.INSPECTION), _sa(p)) == "mission"
    assert _why(p, _sa(p, state="revoked")) == "revoked"
    assert covering(replace(p, organisation="jdz-emergency"), b.footprint(p, b.view().terrain), [_sa(p)]) == (None,
                                                                                                              None)


def test_a_covered_plan_is_approved_by_the_standing_pathway_and_says_so() -> None:
    p = _area_plan()
    facts = b.facts()
    facts.registry = replace(facts.registry, aircraft_organisation="jdz-police")
    without, _ = evaluate(p, facts)
    assert without.verdict.value != "approved"  # 150 m is above suitable airspace, take-off in 2 h
    facts.standing = [_sa(p)]
    with_sa, _ = evaluate(p, facts)
    assert with_sa.verdict.value == "approved" and with_sa.pathway.value == "standing_approval", with_sa.reasons
    out = with_sa.as_dict()
    assert out["standing_approval"]["id"] == "SA-20261125-abcdef" and "东区治安巡逻" in out["standing_approval"][
        "message_zh"]
    facts.standing = [_sa(p, ceiling=b.agl(149))]
    outside, _ = evaluate(p, facts)
    assert outside.pathway.value != "standing_approval"
    why = next(x for x in outside.pathways if x["pathway"] == "standing_approval")
    assert not why["applicable"] and "高度" in why["message_zh"] and "band" in why["message_en"]


def test_a_standing_approval_is_still_subject_to_restrictions_weather_and_deconfliction() -> None:
    from shapely.geometry import box

    from lowalt.airspace.model import AircraftCategory, Restriction, RestrictionReason
    from lowalt.filing.airspace_view import AirspaceView
    from lowalt.filing.deconfliction import Entry
    from lowalt.filing.rules import WeatherWarning
    from lowalt.geo.terrain import default_terrain

    p = _area_plan()

    def decided(facts: object) -> tuple[str, list[str]]:
        facts.registry = replace(facts.registry, aircraft_organisation="jdz-police")  # type: ignore[attr-defined]
        facts.standing = [_sa(p)]  # type: ignore[attr-defined]
        d, _ = evaluate(p, facts)  # type: ignore[arg-type]
        return d.verdict.value, [r.code for r in d.reasons]

    for exempt, verdict in ((frozenset({AircraftCategory.LIGHT_UAV}), "referred"), (frozenset(), "rejected")):
        view = AirspaceView(b.airspace(), default_terrain())
        view.index.add_restriction(Restriction(
            id="tr-gov", reason=RestrictionReason.EVENT, polygon=box(117.605, 29.30, 117.615, 29.31), floor=b.agl(0),
            ceiling=b.agl(500), start=b.NOW, end=b.NOW + timedelta(hours=6), created_by="centre",
            exempt_categories=exempt))
        f = b.facts()
        f.airspace = view
        assert decided(f)[0] == verdict  # a restriction issued since still needs its approval, or forbids
    storm = WeatherWarning("w1", "thunderstorm", b.NOW, b.NOW + timedelta(hours=6))
    assert decided(b.facts(weather=[storm]))[0] == "rejected"
    f = b.facts()
    fp = b.footprint(p, b.view().terrain)
    f.index.add(Entry("x" * 32, fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s, int(Priority.POLICE),
                      floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl))
    assert decided(f) == ("rejected", ["conflict"])  # an equal-priority plan holds the airspace
