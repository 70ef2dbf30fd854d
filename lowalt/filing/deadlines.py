"""Referred emergency plans against their decide-by time (条例 Art. 29: decided 10 min before take-off).

:func:`due_actions` is pure: given the referred plans and the time, it says what is due. The
filing service runs it periodically (``FilingService.run_due``) and applies the actions:

* ``escalate``: ``emergency.escalate_before_min`` before decide-by, once per plan (an event on
  ``/ws/plans`` and ``decision.escalated_at``);
* at decide-by, the policy's ``emergency.deadline_action``: ``approve_if_clear`` (every rule
  re-run; approved when none rejects, else rejected with the reasons) or ``reject``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lowalt.filing.model import FlightPlan, PlanState
from lowalt.filing.policy import Policy


@dataclass(frozen=True)
class DueAction:
    plan_id: str
    action: str
    """escalate | approve_if_clear | reject"""
    decide_by: datetime


def due_actions(plans: Iterable[FlightPlan], now: datetime, policy: Policy) -> list[DueAction]:
    """What is due for each referred plan with a ``decision.decide_by`` (at decide-by exactly: the action)."""
    out: list[DueAction] = []
    for p in plans:
        raw = p.decision.get("decide_by") if p.state is PlanState.REFERRED else None
        if not raw:
            continue
        by = datetime.fromisoformat(raw)
        if now >= by:
            out.append(DueAction(p.id, policy.emergency_deadline_action, by))
        elif now >= by - policy.emergency_escalate_before and not p.decision.get("escalated_at"):
            out.append(DueAction(p.id, "escalate", by))
    return out
