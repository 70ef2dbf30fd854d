"""The pilot/licence filing rule (lowalt.filing.pilot_rules), pure: every branch, both sides of expiry."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from lowalt.filing.decision import Verdict, decide
from lowalt.filing.pilot_rules import RegisteredPilot, rule_pilot, with_pilot_check
from lowalt.filing.rules import Outcome
from tests.filing import builders as b

D = date(2026, 11, 27)
"""The licence's expiry day (Beijing date): the builders' NOW is 2026-11-25 09:00 Beijing."""
ZHANG = RegisteredPilot("张伟", "CAAC-UAS-1", "uas_small", D)
LI = RegisteredPilot("李娜", "CAAC-UAS-2", "uas_medium", date(2027, 1, 1))
WANG_NONE = RegisteredPilot("王强")  # no licence: micro/light only
REGISTER = [ZHANG, LI, WANG_NONE]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=b.SH)


def check(register: list[RegisteredPilot] = REGISTER, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("pilot", "张伟")
    kw.setdefault("licence_id", "CAAC-UAS-1")
    kw.setdefault("category", "small_uav")
    return rule_pilot(b.plan(**kw), register, b.policy())


def test_no_register_means_the_rule_does_not_apply() -> None:
    assert check([]) is None
    assert check([], pilot="nobody", licence_id="anything") is None


def test_registered_pilot_with_valid_licence_passes() -> None:
    r = check(start=at(D, 10))
    assert r is not None and r.outcome is Outcome.PASS and r.details["valid_until"] == D.isoformat()


def test_expiry_day_is_inclusive_both_sides() -> None:
    on_d = check(start=at(D, 23, 0), minutes=59)  # ends 23:59 on D
    assert on_d is not None and on_d.outcome is Outcome.PASS
    d_plus_1 = check(start=at(D + timedelta(days=1), 0, 0), minutes=30)
    assert d_plus_1 is not None and d_plus_1.outcome is Outcome.REJECT and d_plus_1.code == "licence_expired"
    assert "2026-11-28" in d_plus_1.message_en and "已过期" in d_plus_1.message_zh


def test_flight_ending_exactly_at_midnight_is_on_d_and_one_running_past_it_is_not() -> None:
    to_midnight = check(start=at(D, 23, 30), minutes=30)  # 23:30-00:00: the last day is D
    assert to_midnight is not None and to_midnight.outcome is Outcome.PASS
    past = check(start=at(D, 23, 30), minutes=31)  # lands 00:01 on D+1
    assert past is not None and past.code == "licence_expired"


def test_licence_of_another_pilot_is_refused() -> None:
    r = check(pilot="李娜", licence_id="CAAC-UAS-1", start=at(D, 10))
    assert r is not None and r.code == "licence_other_pilot" and "张伟" in r.message_zh


def test_licence_not_in_the_register_is_refused() -> None:
    r = check(licence_id="CAAC-UAS-999", start=at(D, 10))
    assert r is not None and r.code == "licence_unknown" and r.details["article"].startswith("条例 Art. 16")


@pytest.mark.parametrize(("category", "licence", "pilot", "ok"), [
    ("small_uav", "CAAC-UAS-1", "张伟", True),       # uas_small covers small
    ("medium_uav", "CAAC-UAS-1", "张伟", False),     # ... not medium
    ("medium_uav", "CAAC-UAS-2", "李娜", True),      # uas_medium covers medium
    ("large_uav", "CAAC-UAS-2", "李娜", False),      # ... not large
    ("helicopter", "CAAC-UAS-2", "李娜", False),     # a UAS licence does not fly a helicopter
    ("light_uav", "CAAC-UAS-2", "李娜", True),       # light needs no licence; a valid one is fine
])
def test_licence_class_covers_the_category(category: str, licence: str, pilot: str, ok: bool) -> None:
    r = check(category=category, licence_id=licence, pilot=pilot, start=at(D, 10))
    assert r is not None
    assert (r.outcome is Outcome.PASS) is ok, r
    if not ok:
        assert r.code == "licence_class"


def test_without_a_licence_the_pilot_must_be_in_the_register() -> None:
    ok = check(pilot="王强", licence_id=None, category="light_uav")
    assert ok is not None and ok.outcome is Outcome.PASS
    stranger = check(pilot="赵六", licence_id=None, category="light_uav")
    assert stranger is not None and stranger.code == "pilot_unregistered" and "赵六" in stranger.message_zh


def test_a_rejecting_pilot_rule_rejects_the_decision_and_drops_alternatives() -> None:
    p = b.plan(pilot="赵六", category="light_uav")
    decision, _ = decide(p, b.facts())
    assert decision.verdict is Verdict.APPROVED
    refused = with_pilot_check(decision, p, REGISTER, b.policy())
    assert refused.verdict is Verdict.REJECTED and refused.alternatives == []
    assert [r.code for r in refused.reasons] == ["pilot_unregistered"]
    assert with_pilot_check(decision, p, [], b.policy()) is decision  # no register: unchanged
    passed = with_pilot_check(decision, b.plan(pilot="王强"), REGISTER, b.policy())
    assert passed.verdict is Verdict.APPROVED and passed.results[-1].rule == "pilot"
