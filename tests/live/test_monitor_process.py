"""The monitor in a process of its own (the server's default) against the in-thread monitor.

Same ticks in, same findings out; acknowledgements, ``GET /alerts`` and adoption go through the pipe;
a diff larger than one pipe message arrives whole; a killed child is replaced and continues the same
alerts under the same ids; ``close`` ends the child.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from lowalt.live.monitor import ConflictMonitor
from lowalt.live.monitor_process import PART_ALERTS, ProcessMonitor
from lowalt.live.plans import EMPTY
from tests.live.test_monitor_unit import NOW, picture


class NoPlans:
    """Every cooperative aircraft flies without a plan: each one is an unauthorised-flight alert."""

    def picture(self, now: float) -> Any:
        return EMPTY


def findings(res: Any) -> set[tuple[str, tuple[str, ...], str]]:
    return {(a["kind"], tuple(a["subject"]), a["severity"]) for a in res.active.values()}


@pytest.fixture(scope="module")
def pm() -> Iterator[ProcessMonitor]:
    mon = ProcessMonitor(plan_source=NoPlans())
    yield mon
    mon.close()


def _ticks() -> list[list[dict[str, Any]]]:
    head_on = [{"id": "A", "x": 0, "vx": 20}, {"id": "B", "x": 2000, "vx": -20}, {"id": "C", "x": 9000, "alt": 900}]
    return [[{**r, "x": r["x"] + r.get("vx", 0) * k, "t": NOW + k} for r in head_on] for k in range(4)]


def test_same_findings_as_the_thread_monitor(pm: ProcessMonitor) -> None:
    thread = ConflictMonitor(plan_source=NoPlans())
    for k, rows in enumerate(_ticks()):
        a = thread.assess(picture(rows), NOW + k, picture([]))
        b = pm.assess(picture(rows), NOW + k, picture([]))
        assert b.statuses == a.statuses
        assert findings(b) == findings(a)
        assert len(b.alerts_new) == len(a.alerts_new) and len(b.alerts_cleared) == len(a.alerts_cleared)
    assert {"predict", "conflicts", "lifecycle"} <= set(pm.last_phases_ms)
    # acknowledgement and the current details go to the child, and come back
    conflict = next(a for a in pm.current_alerts() if a["kind"] == "conflict")
    acked = pm.acknowledge(conflict["id"], "duty-officer", NOW + 4)
    assert acked is not None and acked["acknowledged_by"] == "duty-officer"
    assert pm.acknowledge("conflict-no-such-alert", "duty-officer", NOW + 4) is None
    res = pm.assess(picture(_ticks()[-1]), NOW + 5, picture([]))
    assert res.active[conflict["id"]]["acknowledged_by"] == "duty-officer"


def test_a_diff_larger_than_one_pipe_message_arrives_whole() -> None:
    n = PART_ALERTS + 37
    rows = [{"id": f"U{k}", "x": 600.0 * (k % 100), "alt": 100.0 + 200.0 * (k // 100)} for k in range(n)]
    thread = ConflictMonitor(plan_source=NoPlans())
    mon = ProcessMonitor(plan_source=NoPlans())
    try:
        a = thread.assess(picture(rows), NOW, picture([]))
        b = mon.assess(picture(rows), NOW, picture([]))
        assert len(b.alerts_new) == len(a.alerts_new) >= n
        assert len({x["id"] for x in b.alerts_new}) == len(b.alerts_new)
        assert findings(b) == findings(a)
        current = mon.current_alerts()  # GET /alerts: in parts too, every one once
        assert sorted(x["id"] for x in current) == sorted(x["id"] for x in b.alerts_new)
    finally:
        mon.close()


def test_a_killed_monitor_process_is_replaced_and_continues_the_same_alerts() -> None:
    mon = ProcessMonitor(plan_source=NoPlans())
    ticks = _ticks()
    try:
        first = mon.assess(picture(ticks[0]), NOW, picture([]))
        ids = set(first.active)
        assert ids
        pid = mon.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # a pending SIGKILL is taken before the child runs again
        again = mon.assess(picture(ticks[1]), NOW + 1, picture([]))
        assert mon.restarts == 1 and mon.pid != pid
        assert again.alerts_new == []  # the same findings, under the same ids
        assert set(again.active) == ids
    finally:
        mon.close()
    assert mon.pid is None

