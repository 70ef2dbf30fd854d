from __future__ import annotations

import numpy as np
import pytest

from lowalt.conflict import (
    AlertBook,
    AlertState,
    Finding,
    FindingKind,
    Severity,
    conflict_subject,
    severity_from_t_in,
)

PAIR = conflict_subject("UAV9", "UAV10")


def f(sev: Severity = Severity.CAUTION, subject: tuple[str, ...] = PAIR) -> Finding:
    return Finding(FindingKind.CONFLICT, subject, sev, {"t_in": 12.0})


def test_severity_from_t_in() -> None:
    assert severity_from_t_in(np.array([0.0, 0.5, 30.0, 30.1, 59.0])).tolist() == [
        Severity.ALARM, Severity.WARNING, Severity.WARNING, Severity.CAUTION, Severity.CAUTION]


def test_subject_sorted() -> None:
    assert conflict_subject("b", "a") == conflict_subject("a", "b") == ("a", "b")


def test_no_flapping_at_boundary() -> None:
    book = AlertBook()
    news, cleared = [], []
    for k in range(10):
        d = book.update([f()] if k % 2 == 0 else [], now=1000.0 + k)
        news += d.new
        cleared += d.cleared
    assert len(news) == 1 and cleared == []
    assert book.active[0].alert_id == "conflict:UAV10|UAV9:1"


def test_lifecycle_clear_after_hysteresis_and_stable_ids() -> None:
    book = AlertBook(clear_after_ticks=3)
    d = book.update([f()], 0.0)
    aid = d.new[0].alert_id
    assert d.new[0].state == AlertState.NEW
    assert not book.update([f()], 1.0) and book.get(aid).state == AlertState.ONGOING
    assert not book.update([], 2.0) and not book.update([], 3.0)
    d = book.update([], 4.0)
    assert [a.alert_id for a in d.cleared] == [aid] and d.cleared[0].state == AlertState.CLEARED
    assert book.active == ()
    d = book.update([f()], 5.0)  # same subject again: a new alert, next sequence number
    assert d.new[0].alert_id == "conflict:UAV10|UAV9:2"
    # replaying gives the same ids (deterministic)
    again = AlertBook(clear_after_ticks=3)
    for now, fs in [(0.0, [f()]), (1.0, [f()]), (2.0, []), (3.0, []), (4.0, [])]:
        again.update(fs, now)
    assert again.update([f()], 5.0).new[0].alert_id == "conflict:UAV10|UAV9:2"


def test_clear_after_seconds() -> None:
    book = AlertBook(clear_after_ticks=100, clear_after_s=2.0)
    book.update([f()], 0.0)
    assert not book.update([], 1.0).cleared
    assert len(book.update([], 2.0).cleared) == 1


def test_escalation_immediate_downgrade_persistent() -> None:
    book = AlertBook(downgrade_after_ticks=3)
    aid = book.update([f(Severity.CAUTION)], 0.0).new[0].alert_id
    d = book.update([f(Severity.ALARM)], 1.0)
    assert [a.severity for a in d.updated] == [Severity.ALARM]
    # alternating alarm/warning must not flap
    for k, s in enumerate([Severity.WARNING, Severity.ALARM, Severity.WARNING, Severity.ALARM]):
        assert not book.update([f(s)], 2.0 + k).updated
    assert not book.update([f(Severity.CAUTION)], 10.0).updated
    assert not book.update([f(Severity.WARNING)], 11.0).updated
    d = book.update([f(Severity.CAUTION)], 12.0)
    assert [a.severity for a in d.updated] == [Severity.WARNING]  # highest of the lower window
    assert book.get(aid).severity == Severity.WARNING


def test_acknowledge() -> None:
    book = AlertBook()
    aid = book.update([f()], 0.0).new[0].alert_id
    a = book.acknowledge(aid, by="controller1", at=3.5)
    assert (a.acknowledged_by, a.acknowledged_at) == ("controller1", 3.5)
    assert book.get(aid).acknowledged_by == "controller1"  # kept across ticks
    with pytest.raises(KeyError):
        book.acknowledge("conflict:nope:1", by="x", at=0.0)


def test_kinds_are_separate_and_time_monotonic() -> None:
    book = AlertBook()
    d = book.update([f(), Finding(FindingKind.INTRUSION, ("UAV9", "R1"), Severity.WARNING),
                     Finding(FindingKind.LOST_CONTACT, ("UAV3",), Severity.CAUTION)], 0.0)
    assert sorted(a.alert_id for a in d.new) == [
        "conflict:UAV10|UAV9:1", "intrusion:UAV9|R1:1", "lost_contact:UAV3:1"]
    with pytest.raises(ValueError, match="backwards"):
        book.update([], -1.0)
