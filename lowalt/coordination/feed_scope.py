"""Which live alerts each party receives on ``/ws/live`` (issue #19: "the alert feed scoped per party").

Pure: an alert is the monitor's wire dict (``kind``, ``aircraft``, ``details.volume`` for an intrusion);
the rule reads nothing else. The hub builds one payload per distinct :class:`FeedScope`, so the rule runs
once per scope per message, never per subscriber.

Who receives what (docs/coordination.md, "what each may see"):

- centre, viewer, admin: every alert (as before; the viewer's map always showed them all);
- police: unauthorised flights, every alert about a non-cooperative track (ids ``nc:SENSOR:ID``, the
  tracks they may be handed as cases), and intrusions into any volume (no-fly, restricted, a party's
  constraint: the sensitive sites they protect); not conflicts, non-conformance or lost contact between
  cooperative, authorised aircraft, which are the centre's and the operators' to resolve;
- military: intrusions into its own activations (constraint versions ``MIL-...``);
- ATC: intrusions into its controlled airspace (the ZSJD protection area and the no-fly and restricted volumes
  inside it, :data:`ATC_AIRSPACE_VOLUMES`) and into its notices (``ATC-...``);
- operators: the alerts that involve one of their organisation's aircraft (the rule of ``GET /alerts``,
  ``lowalt.api.authz.visible_alerts``); they are not admitted to ``/ws/live`` (their live view is
  ``GET /tracks`` and ``/ws/plans``), so this branch only keeps the rule whole;
- devices: nothing.

A cleared alert's id goes to the scopes that may have received the alert (``LiveHub.alert_diff`` keeps
what it sent); an id the hub never sent goes to every scope as a bare ``{kind}-{uuid}``, which a client
drops if it does not hold it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lowalt.coordination.model import ID_PREFIX, Authority
from lowalt.coordination.rules import ATC_VOLUMES
from lowalt.identity.model import Role

NONCOOP_PREFIX = "nc:"
"""Non-cooperative track ids live in the sensors' namespace (``lowalt.live.service.noncoop_track_id``)."""

ATC_AIRSPACE_VOLUMES = (*ATC_VOLUMES, "zsjd_core", "zsjd_app_04", "zsjd_app_22", "changhe_plant")
"""Published volumes inside ATC's controlled airspace whose intrusion concerns ATC (the protection area,
the runway core, both approach funnels and the Changhe plant next to the runway; ``tests/coordination/test_feed_scope.py`` checks the list
against the airspace data: every no-fly or restricted volume inside the protection area is here)."""


class Party(StrEnum):
    """The alert scope a subscriber gets (one payload is built per distinct scope)."""

    ALL = "all"
    POLICE = "police"
    MILITARY = "military"
    ATC = "atc"
    OWN = "own"
    NONE = "none"


PARTY_OF_ROLE: dict[Role, Party] = {
    Role.CENTRE: Party.ALL, Role.VIEWER: Party.ALL, Role.ADMIN: Party.ALL, Role.POLICE: Party.POLICE,
    Role.MILITARY: Party.MILITARY, Role.ATC: Party.ATC, Role.OPERATOR: Party.OWN, Role.DEVICE: Party.NONE}


@dataclass(frozen=True)
class FeedScope:
    """What one subscriber may receive; hashable, the hub's payload cache key."""

    party: Party
    organisation: str | None = None
    """Only for :attr:`Party.OWN` (the operator's organisation); None otherwise, so that every police
    subscriber shares one payload."""


FULL = FeedScope(Party.ALL)


def scope_of(role: Role, organisation: str | None) -> FeedScope:
    party = PARTY_OF_ROLE[role]
    return FeedScope(party, organisation if party is Party.OWN else None)


OrgOf = Callable[[str], str | None]


def _aircraft(alert: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in alert.get("aircraft") or ()]


def _volume(alert: Mapping[str, Any]) -> str:
    return str((alert.get("details") or {}).get("volume") or "") if alert.get("kind") == "intrusion" else ""


def _constraint_of(volume: str, authority: Authority) -> bool:
    return volume.startswith(ID_PREFIX[authority] + "-")


def alert_visible(scope: FeedScope, alert: Mapping[str, Any], org_of: OrgOf | None = None) -> bool:
    """Whether a subscriber of ``scope`` receives ``alert`` (``org_of``: aircraft -> organisation, needed
    for operators only)."""
    volume = _volume(alert)
    match scope.party:
        case Party.ALL:
            return True
        case Party.POLICE:
            return (alert.get("kind") in ("unauthorised", "intrusion")
                    or any(a.startswith(NONCOOP_PREFIX) for a in _aircraft(alert)))
        case Party.MILITARY:
            return _constraint_of(volume, Authority.MILITARY)
        case Party.ATC:
            return volume in ATC_AIRSPACE_VOLUMES or _constraint_of(volume, Authority.ATC)
        case Party.OWN:
            return (scope.organisation is not None and org_of is not None
                    and any(org_of(a) == scope.organisation for a in _aircraft(alert)))
    return False


def feed_visible(role: Role, organisation: str | None, alert: Mapping[str, Any], org_of: OrgOf | None = None) -> bool:
    """The rule as (role, organisation, alert) -> visible."""
    return alert_visible(scope_of(role, organisation), alert, org_of)


def visible_alerts(scope: FeedScope, alerts: Iterable[Mapping[str, Any]], org_of: OrgOf | None = None
                   ) -> list[Mapping[str, Any]]:
    if scope.party is Party.ALL:
        return list(alerts)
    return [a for a in alerts if alert_visible(scope, a, org_of)]
