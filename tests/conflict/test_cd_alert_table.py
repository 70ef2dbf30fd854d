"""The columnar alert book against the per-object reference: same diffs for any sequence of ticks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lowalt.conflict.alert_table import FindingBatch
from lowalt.conflict.alerts import AlertBook, Finding, FindingKind, Severity
from tests.conflict.reference_alert_book import ReferenceAlertBook

SUBJECTS = [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")]
tick = st.lists(st.tuples(st.sampled_from(range(len(SUBJECTS))), st.sampled_from([1, 2, 3])), max_size=6)


def _wire(diff: object) -> tuple[list[tuple[object, ...]], ...]:
    def rows(alerts: tuple[object, ...]) -> list[tuple[object, ...]]:
        return [(a.alert_id, a.severity, a.state, a.first_seen, a.last_seen, dict(a.details), a.cleared_at)  # type: ignore[attr-defined]
                for a in alerts]

    return rows(diff.new), rows(diff.updated), rows(diff.cleared)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(ticks=st.lists(tick, min_size=1, max_size=25), clear=st.integers(1, 4), down=st.integers(1, 4),
       clear_s=st.sampled_from([None, 2.0, 5.0]), as_batch=st.booleans())
def test_same_diffs_as_the_reference(ticks: list[list[tuple[int, int]]], clear: int, down: int,
                                     clear_s: float | None, as_batch: bool) -> None:
    ref = ReferenceAlertBook(clear_after_ticks=clear, downgrade_after_ticks=down, clear_after_s=clear_s)
    book = AlertBook(clear_after_ticks=clear, downgrade_after_ticks=down, clear_after_s=clear_s)
    for k, items in enumerate(ticks):
        now = 100.0 + k
        fs = [Finding(FindingKind.CONFLICT, SUBJECTS[s], Severity(v), {"t_in": float(k)}) for s, v in items]
        expected = _wire(ref.update(fs, now))
        if as_batch:  # the monitor's path: columns, keys of its own choosing
            batch = FindingBatch(FindingKind.CONFLICT, np.array([s * 7 + 3 for s, _ in items], dtype=np.int64),
                                 np.array([v for _, v in items], dtype=np.int8),
                                 lambda row, items=items: SUBJECTS[items[row][0]],
                                 {"t_in": np.full(len(items), float(k))})
            got = _wire(book.update([], now, batches=[batch]))
        else:
            got = _wire(book.update(fs, now))
        assert got == expected, (k, items)
    assert [a.alert_id for a in book.active] == [a.alert_id for a in ref.active]


def test_acknowledgement_survives_updates_and_is_cleared_with_its_alert() -> None:
    book = AlertBook(clear_after_ticks=1)
    aid = book.update([Finding(FindingKind.INTRUSION, ("U1", "R1"), Severity.WARNING)], 0.0).new[0].alert_id
    book.acknowledge(aid, "duty", 0.5)
    book.update([Finding(FindingKind.INTRUSION, ("U1", "R1"), Severity.ALARM)], 1.0)
    assert book.get(aid).acknowledged_by == "duty" and book.get(aid).severity == Severity.ALARM
    cleared = book.update([], 2.0).cleared
    assert [(a.alert_id, a.acknowledged_by) for a in cleared] == [(aid, "duty")]
