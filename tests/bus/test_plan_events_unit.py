"""Plan events as NOTIFY payloads between nodes: round trip, own events skipped, size limit kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lowalt.filing.service import FilingService, PlanEvent
from lowalt.store import filing_repo, pilot_repo
from tests.filing.builders import airspace, policy

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _node() -> FilingService:
    return FilingService(None, airspace(), policy(), repo=filing_repo,  # type: ignore[arg-type]  # no database
                         pilots=pilot_repo)  # is touched


def _event(details: dict[str, Any]) -> PlanEvent:
    return PlanEvent("p-1", "浮梁文旅", "approved", "withdrawn", "centre", AT, "restriction TR-1", details)


def test_another_nodes_event_reaches_this_nodes_subscribers_unchanged() -> None:
    a, b = _node(), _node()
    ev = _event({"restriction": "TR-1", "message_zh": "因临时管制撤销", "alternatives": [{"kind": "time"}]})
    got: list[PlanEvent] = []
    b.notifier.publish = got.append  # type: ignore[method-assign,assignment]
    b._on_plan_event(None, 0, filing_repo.PLANS_CHANNEL, a._wire(ev))
    assert [g.as_dict() for g in got] == [ev.as_dict()]


def test_a_nodes_own_event_is_not_published_twice() -> None:
    a = _node()
    got: list[PlanEvent] = []
    a.notifier.publish = got.append  # type: ignore[method-assign,assignment]
    a._on_plan_event(None, 0, filing_repo.PLANS_CHANNEL, a._wire(_event({})))
    assert got == []


def test_an_event_too_big_for_notify_goes_without_its_details() -> None:
    a, b = _node(), _node()
    noise = {f"k{i}": f"{i * 7919 % 1000003:x}" * 8 for i in range(2000)}  # does not compress below the limit
    big = _event({"message_zh": "因临时管制撤销", "message_en": "withdrawn", **noise})
    small = _event({"message_zh": "因临时管制撤销"})
    assert len(a._wire(small)) <= filing_repo.NOTIFY_MAX
    wire = a._wire(big)
    assert len(wire) <= filing_repo.NOTIFY_MAX
    got: list[PlanEvent] = []
    b.notifier.publish = got.append  # type: ignore[method-assign,assignment]
    b._on_plan_event(None, 0, filing_repo.PLANS_CHANNEL, wire)
    assert got[0].details == {"message_zh": "因临时管制撤销", "message_en": "withdrawn", "truncated": True}
    assert got[0].to_state == "withdrawn"


def test_an_unreadable_payload_is_skipped() -> None:
    b = _node()
    got: list[PlanEvent] = []
    b.notifier.publish = got.append  # type: ignore[method-assign,assignment]
    b._on_plan_event(None, 0, filing_repo.PLANS_CHANNEL, "other-node not-base64!")
    assert got == []
