"""Government fleets (政务"一网统飞", issue #19): what the centre may register as a standing approval (pure).

Which organisations are government fleets, and which level their missions carry, is the filing policy's
(``priorities`` in ``airspace_data/<area>/policy.yaml``; :func:`lowalt.filing.policy.priority_for`); whether
a standing approval covers a plan is filing's rule (:mod:`lowalt.filing.standing`). This module checks a
new standing approval before it is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lowalt.coordination.rules import ConstraintProblem
from lowalt.filing.model import MissionType
from lowalt.filing.policy import Policy, fleet_of

MAX_STANDING = timedelta(days=180)
"""The longest validity of one standing approval (以下: exactly 180 days is accepted). Illustrative: the
条例's long-term application (Art. 26, D2) sets no maximum; the centre re-registers visibly."""


def check_standing(policy: Policy, organisation: str, missions: list[MissionType], start: datetime, end: datetime,
                   now: datetime) -> None:
    """Raise :class:`ConstraintProblem` naming the field: the organisation must be a government fleet of
    the policy, the missions non-empty, the window after ``now``, end after start and at most
    :data:`MAX_STANDING`."""
    if fleet_of(policy, organisation) is None:
        raise ConstraintProblem("organisation", f"{organisation!r} is not a government fleet of the policy "
                                "(priorities.government_fleets)")
    if not missions:
        raise ConstraintProblem("missions", "name at least one mission")
    if end <= start:
        raise ConstraintProblem("end", "must be after start")
    if end <= now:
        raise ConstraintProblem("end", "is already past")
    if end - start > MAX_STANDING:
        raise ConstraintProblem("end", f"a standing approval is valid for at most {MAX_STANDING.days} days")
