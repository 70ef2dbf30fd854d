"""A filing decision: the verdict (:mod:`lowalt.filing.evaluation`) and, for a refusal, the concrete
alternatives (:mod:`lowalt.filing.alternatives`).

All rules pass -> approved in the same request; any soft failure (refer) -> referred to
the centre's queue; any hard failure (reject) -> rejected with every reason and, when
one exists, a concrete alternative. The alternatives re-run the evaluation, so the evaluation lives
in its own module that imports neither: ``alternatives -> evaluation <- decision -> alternatives``
(no import cycle). The evaluation's names are re-exported here for the callers that decide.
"""

from __future__ import annotations

from lowalt.filing.alternatives import find_alternatives
from lowalt.filing.evaluation import Decision, Facts, Verdict, decide_by, evaluate, slot_of
from lowalt.filing.model import FlightPlan, Footprint

__all__ = ["Decision", "Facts", "Verdict", "decide", "decide_by", "evaluate", "slot_of"]


def decide(plan: FlightPlan, facts: Facts, fp: Footprint | None = None) -> tuple[Decision, Footprint | None]:
    """Evaluate, and look for concrete alternatives (all re-checked: each one, filed as suggested, is approved).

    ``fp``: the plan's footprint if the caller already projected it (the service does, for its locks).
    """
    decision, fp = evaluate(plan, facts, fp)
    if decision.verdict is not Verdict.APPROVED and fp is not None:
        decision.alternatives = find_alternatives(plan, decision, facts, fp)
    return decision, fp
