"""The pure coordination rules, each boundary from both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box

from lowalt.coordination import rules
from lowalt.coordination.model import (
    DECIDE_LEAD,
    DECIDE_MIN,
    DECIDE_WITHIN,
    MAX_WINDOW,
    NOTICE,
    ApprovalRequest,
    ApprovalState,
    Authority,
    AuthorityArea,
    CaseState,
    Combined,
    ConstraintKind,
    ConstraintStatus,
    ConstraintVersion,
    Site,
)
from lowalt.identity.model import Role

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MIL = ConstraintKind.MILITARY_ACTIVATION


def test_military_notice_boundary_and_short_notice() -> None:
    rules.check_window(MIL, NOW + NOTICE, NOW + NOTICE + timedelta(hours=1), NOW, False)  # exactly: enough
    with pytest.raises(rules.ConstraintProblem) as exc:
        rules.check_window(MIL, NOW + NOTICE - timedelta(seconds=1), NOW + timedelta(hours=2), NOW, False)
    assert exc.value.field == "start"
    rules.check_window(MIL, NOW, NOW + timedelta(hours=1), NOW, True)  # short notice: at once
    rules.check_window(ConstraintKind.ATC_NOTICE, NOW, NOW + timedelta(hours=1), NOW, False)  # no notice rule


def test_window_limits() -> None:
    rules.check_window(ConstraintKind.LOCAL_RESTRICTION, NOW, NOW + MAX_WINDOW, NOW, False)
    for start, end in ((NOW, NOW + MAX_WINDOW + timedelta(seconds=1)), (NOW, NOW),
                       (NOW - timedelta(hours=2), NOW)):
        with pytest.raises(rules.ConstraintProblem) as exc:
            rules.check_window(ConstraintKind.LOCAL_RESTRICTION, start, end, NOW, False)
        assert exc.value.field == "end"


def _req(a: Authority, s: ApprovalState, **kw: object) -> ApprovalRequest:
    return ApprovalRequest("p", a, s, NOW, **kw)  # type: ignore[arg-type]


def test_combination() -> None:
    P, Y, N = ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.REFUSED
    m, a = Authority.MILITARY, Authority.ATC
    assert rules.combine([]) is Combined.PENDING
    assert rules.combine([_req(m, Y), _req(a, P)]) is Combined.PENDING
    assert rules.combine([_req(m, Y), _req(a, Y)]) is Combined.APPROVED
    assert rules.combine([_req(m, N), _req(a, P)]) is Combined.REFUSED  # any refusal refuses at once
    assert rules.combine([_req(m, Y), _req(a, N)]) is Combined.REFUSED
    z, en = rules.reasons_text([_req(m, Y), _req(a, N, reason="runway 04 in use")])
    assert en.startswith("civil aviation ATC (ZSJD) refused: runway 04 in use") and "military" in en
    assert "不同意：runway 04 in use" in z


def test_decide_by_and_overdue_boundaries() -> None:
    assert rules.decide_by(NOW, NOW + timedelta(days=1)) == NOW + DECIDE_WITHIN
    assert rules.decide_by(NOW, NOW + timedelta(minutes=20)) == NOW + timedelta(minutes=20) - DECIDE_LEAD
    assert rules.decide_by(NOW, NOW + timedelta(minutes=1)) == NOW + DECIDE_MIN
    r = _req(Authority.ATC, ApprovalState.PENDING)
    assert rules.overdue([r], NOW - timedelta(microseconds=1)) == []
    assert rules.overdue([r], NOW) == [r]  # at the deadline: due
    assert rules.overdue([_req(Authority.ATC, ApprovalState.PENDING, escalated_at=NOW)], NOW) == []
    assert rules.overdue([_req(Authority.ATC, ApprovalState.APPROVED)], NOW) == []


def test_routing_by_footprint_and_window() -> None:
    atc = AuthorityArea(Authority.ATC, box(0, 0, 1000, 1000), "zsjd_protection")
    mil = AuthorityArea(Authority.MILITARY, box(500, 0, 2000, 1000), "MIL-1.v1", NOW, NOW + timedelta(hours=1))
    plan = box(600, 100, 700, 200)
    needs = rules.authorities_needed(plan, NOW, NOW + timedelta(minutes=30), [atc, mil])
    assert needs == {Authority.ATC: ["zsjd_protection"], Authority.MILITARY: ["MIL-1.v1"]}
    assert rules.routing_needed(list(needs))
    # the plan ends exactly when the activation starts: the military is not needed ([start, end))
    before = rules.authorities_needed(plan, NOW - timedelta(minutes=30), NOW, [atc, mil])
    assert before == {Authority.ATC: ["zsjd_protection"]} and not rules.routing_needed(list(before))
    # touching the area's edge is not inside it
    assert rules.authorities_needed(box(1000, 0, 1100, 10), NOW, NOW + timedelta(minutes=5), [atc]) == {}
    assert rules.routing_needed([Authority.MILITARY])  # the centre cannot speak for the military
    assert not rules.routing_needed([Authority.LOCAL])


def _version(kind: ConstraintKind = MIL) -> ConstraintVersion:
    return ConstraintVersion("MIL-20261130-abcdef", 1, Authority.MILITARY, kind, ConstraintStatus.ACTIVE,
                             "演习", "air defence exercise", {}, 0, "AGL", 300, "AGL", NOW, NOW + timedelta(hours=1),
                             False, (), "mil-duty", NOW)


def test_military_purpose_is_the_military_s_alone() -> None:
    v = _version()
    for role in Role:
        seen = rules.constraint_view(role, v)
        if role in (Role.MILITARY, Role.ADMIN):
            assert seen.purpose == "air defence exercise"
        else:
            assert seen.purpose == "" and "演习" not in seen.title and rules.RESERVED_ZH in seen.title
    notice = _version(ConstraintKind.ATC_NOTICE)
    assert rules.constraint_view(Role.OPERATOR, notice).purpose == "air defence exercise"


def test_who_decides() -> None:
    assert rules.may_decide(Role.MILITARY, Authority.MILITARY)
    assert not rules.may_decide(Role.MILITARY, Authority.ATC)
    assert not rules.may_decide(Role.POLICE, Authority.LOCAL)
    assert rules.may_decide(Role.CENTRE, Authority.LOCAL) and rules.may_decide(Role.ADMIN, Authority.ATC)


def test_case_transitions() -> None:
    A, ICPT, R = CaseState.ASSIGNED, CaseState.INTERCEPTING, CaseState.RESOLVED
    assert rules.transition_problem(A, ICPT, None) is None
    assert rules.transition_problem(ICPT, R, "countered") is None
    assert rules.transition_problem(A, R, "left_area") is None
    assert rules.transition_problem(ICPT, R, None) and rules.transition_problem(A, ICPT, "landed")
    assert rules.transition_problem(R, ICPT, None) and rules.transition_problem(ICPT, A, None)


def test_predicted_path_and_nearby_sites() -> None:
    path = rules.predict_path(117.0, 29.0, 100.0, 10.0, 0.0, -1.0, 1000.0, horizon_s=30, step_s=10)
    assert [p.t for p in path] == [1010.0, 1020.0, 1030.0]
    assert path[0].lon > 117.0 and path[0].lat == 29.0 and path[-1].alt_amsl_m == 70.0
    site = Site("s", "甲", "A", "no_fly", 0.0)
    at_radius = box(3000, -10, 3100, 10)
    near = rules.nearby_sites([(0, 0), (0, 0.5)], [(site, at_radius)], radius_m=3000.0)
    assert [s.distance_m for s in near] == [3000.0]  # exactly the radius counts
    assert rules.nearby_sites([(0, 0), (0, 0.5)], [(site, box(3000.5, -10, 3100, 10))], radius_m=3000.0) == []


def test_parties_hear_only_of_the_plans_routed_to_them() -> None:
    from lowalt.api.authz import Access, party_plan_event, plan_event_view
    from lowalt.identity.model import Principal

    routed = {"type": "plan_coordination", "plan_id": "p", "organisation": "o", "from_state": "referred",
              "to_state": "referred", "by": "system", "reason": "routed to ...", "at": "t",
              "details": {"authorities": ["atc", "military"], "message_zh": "运营人可见", "decide_by": "t"}}
    decided = {**routed, "details": {"authority": "atc", "verdict": "approved", "reason": "free text"}}
    state = {**routed, "type": "plan_state", "details": {}}
    mil = Principal(1, "m", Role.MILITARY, None, 1)
    seen = plan_event_view(mil, Access.REDACTED, routed)
    assert seen is not None and seen["details"] == {"authorities": ["atc", "military"], "decide_by": "t"}
    assert "reason" not in seen and "by" not in seen
    assert plan_event_view(mil, Access.REDACTED, decided) is None  # ATC's decision is not the military's
    assert party_plan_event("atc", decided) == {**{k: decided[k] for k in (
        "type", "plan_id", "organisation", "from_state", "to_state", "at")},
        "details": {"authority": "atc", "verdict": "approved"}}
    assert party_plan_event("military", state) is None
    viewer = Principal(2, "v", Role.VIEWER, None, 2)
    assert "details" not in (plan_event_view(viewer, Access.REDACTED, routed) or {})  # viewers as before
