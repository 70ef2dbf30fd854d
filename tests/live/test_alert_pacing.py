"""A tick's alert diff reaches the feed in messages of at most FEED_ALERTS_PER_MESSAGE alerts, in order."""

from __future__ import annotations

from typing import Any

from lowalt.live.service import FEED_ALERTS_PER_MESSAGE, _alert_parts


def _alerts(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{k}"} for k in range(n)]


def _flat(parts: list[Any]) -> tuple[list[str], list[str], list[str]]:
    return ([a["id"] for p in parts for a in p[0]], [a["id"] for p in parts for a in p[1]],
            [c for p in parts for c in p[2]])


def test_a_diff_of_exactly_one_message_is_one_message_and_one_more_alert_is_two() -> None:
    m = FEED_ALERTS_PER_MESSAGE
    assert len(_alert_parts(_alerts("n", m), [], [], 1.0)) == 1
    assert len(_alert_parts(_alerts("n", m - 1), [], ["c"], 1.0)) == 1
    two = _alert_parts(_alerts("n", m), [], ["c"], 1.0)
    assert len(two) == 2 and two[1] == ([], [], ["c"], 1.0)
    assert _alert_parts([], [], [], 1.0) == []


def test_parts_keep_every_alert_once_in_order_new_then_updated_then_cleared() -> None:
    m = FEED_ALERTS_PER_MESSAGE
    new, updated, cleared = _alerts("n", m + 7), _alerts("u", 2 * m), [f"c{k}" for k in range(m // 2)]
    parts = _alert_parts(new, updated, cleared, 5.0)
    assert all(len(p[0]) + len(p[1]) + len(p[2]) <= m for p in parts)
    assert len(parts) == -(-(len(new) + len(updated) + len(cleared)) // m)
    assert _flat(parts) == ([a["id"] for a in new], [a["id"] for a in updated], cleared)
    seen_updated = next(k for k, p in enumerate(parts) if p[1])
    assert all(not p[0] for p in parts[seen_updated + 1:])  # no "new" after an "updated" began
    assert {p[3] for p in parts} == {5.0}
