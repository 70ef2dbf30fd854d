"""The verdict rule table: what one active volume containing a point means for a category.

Every (point, volume) pair where the volume contains the point in 3-D and is active at
``t`` yields a :class:`Rule` = (tier, verdict, reason). Per point the pair with the highest
**tier** wins; within a tier the most restrictive verdict wins (FORBIDDEN > NEEDS_APPROVAL >
ALLOWED); remaining ties go to the reason order below, then to the lowest volume index.
Tiers encode precedence: prohibitions beat a released corridor for the categories it admits
(a long-term approved route is coordinated airspace even where it crosses controlled airspace,
as the city routes inside ZSJD's protection area do: D2, 即报即飞 b), which beats controlled
airspace, which beats a corridor's reservation against other categories, which beats the
background W/G layers.

==== ============================ ======================= ======================= =====================================
tier volume (active)              category admitted       category not admitted    basis
==== ============================ ======================= ======================= =====================================
5    temporary restriction        NEEDS_APPROVAL          FORBIDDEN                临时管制空域 (C4); exempt categories
                                  temporary_restriction_  temporary_restriction    e.g. rescue helicopters still need
                                  exempt                                           approval
5    no_fly                       FORBIDDEN no_fly        FORBIDDEN no_fly         禁区 / airport core (C1, Jiangxi
                                                                                   2017 notice)
5    restricted                   NEEDS_APPROVAL          FORBIDDEN                限制区 (C1: military/classified
                                  restricted_authorised   restricted_area          sites); admitted = may apply
3    controlled, or open with     NEEDS_APPROVAL          FORBIDDEN                条例 Art. 19 (C1): controlled
     class A-E                    controlled_airspace     category_excluded        airspace needs an application (D1)
4/2  corridor (route released)    ALLOWED route_released  NEEDS_APPROVAL           long-term approved fixed route
     (tier 4 admitted,                                    route_reserved           (D2, 即报即飞 b); others keep out
     tier 2 not admitted)
1    open class W                 ALLOWED                 NEEDS_APPROVAL           适飞空域 (C2, D5 ¶1): micro/light/
                                  suitable_airspace       category_not_suitable    small below 120 m 真高 need no
                                                                                   application; medium/large UAVs have
                                                                                   no suitable airspace; crewed GA
                                                                                   files a plan (D9)
1    open class G                 NEEDS_APPROVAL          NEEDS_APPROVAL           above 120 m 真高 is controlled for
                                  class_g_approval        class_g_approval         UAVs (C1); crewed GA files (D9)
0    (no volume contains point)   NEEDS_APPROVAL no_airspace_data                  outside the modelled data: ask
==== ============================ ======================= ======================= =====================================

Inactive volumes contribute nothing: a corridor outside its release hours gives no
privilege, so the point falls back to the layers below it (W: allowed for micro/light/small
UAVs under 120 m true height, otherwise G/controlled: needs approval). This is how "outside
released schedule -> needs approval" is realised, without penalising a micro UAV that is
legally in 适飞空域 under a closed corridor.

Not modelled (documented simplifications): the micro-UAV 50 m design height (C2), the D6
clawbacks (crowds, swarms, dangerous goods), and VLOS rules — these belong to filing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from lowalt.airspace.model import AirspaceClass, VolumeKind


class Verdict(StrEnum):
    """Outcome for one point and category. Array code = position in :data:`VERDICTS` = severity."""

    ALLOWED = "allowed"
    NEEDS_APPROVAL = "needs_approval"
    FORBIDDEN = "forbidden"

    @property
    def code(self) -> int:
        return VERDICTS.index(self)


VERDICTS: tuple[Verdict, ...] = (Verdict.ALLOWED, Verdict.NEEDS_APPROVAL, Verdict.FORBIDDEN)


class Reason(StrEnum):
    """Why a verdict was given. Array code = position in :data:`REASONS` (also the tie-break order)."""

    NO_AIRSPACE_DATA = "no_airspace_data"
    SUITABLE_AIRSPACE = "suitable_airspace"
    CATEGORY_NOT_SUITABLE = "category_not_suitable"
    CLASS_G_APPROVAL = "class_g_approval"
    ROUTE_RELEASED = "route_released"
    ROUTE_RESERVED = "route_reserved"
    CONTROLLED_AIRSPACE = "controlled_airspace"
    CATEGORY_EXCLUDED = "category_excluded"
    RESTRICTED_AUTHORISED = "restricted_authorised"
    RESTRICTED_AREA = "restricted_area"
    TEMPORARY_RESTRICTION_EXEMPT = "temporary_restriction_exempt"
    TEMPORARY_RESTRICTION = "temporary_restriction"
    NO_FLY = "no_fly"

    @property
    def code(self) -> int:
        return REASONS.index(self)


REASONS: tuple[Reason, ...] = tuple(Reason)


class Tier(IntEnum):
    """Precedence of a rule (higher wins)."""

    NONE = 0
    LAYER = 1
    CORRIDOR = 2
    CONTROLLED = 3
    RELEASED_CORRIDOR = 4
    PROHIBITIVE = 5


@dataclass(frozen=True, slots=True)
class Rule:
    """The effect of one active volume containing a point."""

    tier: Tier
    verdict: Verdict
    reason: Reason

    @property
    def rank(self) -> int:
        """Total order used to pick the winner: tier, then severity, then reason order."""
        return (int(self.tier) * len(VERDICTS) + self.verdict.code) * len(REASONS) + self.reason.code


NO_DATA_RULE = Rule(Tier.NONE, Verdict.NEEDS_APPROVAL, Reason.NO_AIRSPACE_DATA)


def volume_rule(kind: VolumeKind, airspace_class: AirspaceClass, admitted: bool, *, temporary: bool = False) -> Rule:
    """The rule of one **active** volume that contains the point (see the module table).

    ``admitted`` says whether the aircraft's category is in the volume's allowed categories
    (for temporary restrictions: its exempt categories).
    """
    if temporary:
        if admitted:
            return Rule(Tier.PROHIBITIVE, Verdict.NEEDS_APPROVAL, Reason.TEMPORARY_RESTRICTION_EXEMPT)
        return Rule(Tier.PROHIBITIVE, Verdict.FORBIDDEN, Reason.TEMPORARY_RESTRICTION)
    if kind is VolumeKind.NO_FLY:
        return Rule(Tier.PROHIBITIVE, Verdict.FORBIDDEN, Reason.NO_FLY)
    if kind is VolumeKind.RESTRICTED:
        if admitted:
            return Rule(Tier.PROHIBITIVE, Verdict.NEEDS_APPROVAL, Reason.RESTRICTED_AUTHORISED)
        return Rule(Tier.PROHIBITIVE, Verdict.FORBIDDEN, Reason.RESTRICTED_AREA)
    if kind is VolumeKind.CONTROLLED or (kind is VolumeKind.OPEN and airspace_class.controlled):
        if admitted:
            return Rule(Tier.CONTROLLED, Verdict.NEEDS_APPROVAL, Reason.CONTROLLED_AIRSPACE)
        return Rule(Tier.CONTROLLED, Verdict.FORBIDDEN, Reason.CATEGORY_EXCLUDED)
    if kind is VolumeKind.CORRIDOR:
        if admitted:
            return Rule(Tier.RELEASED_CORRIDOR, Verdict.ALLOWED, Reason.ROUTE_RELEASED)
        return Rule(Tier.CORRIDOR, Verdict.NEEDS_APPROVAL, Reason.ROUTE_RESERVED)
    if airspace_class is AirspaceClass.W:
        if admitted:
            return Rule(Tier.LAYER, Verdict.ALLOWED, Reason.SUITABLE_AIRSPACE)
        return Rule(Tier.LAYER, Verdict.NEEDS_APPROVAL, Reason.CATEGORY_NOT_SUITABLE)
    return Rule(Tier.LAYER, Verdict.NEEDS_APPROVAL, Reason.CLASS_G_APPROVAL)
