"""Who may do what: the one authorisation table, and the tenancy filters (pure functions, plain data).

Every route of the app has exactly one rule here, keyed by ``(METHOD, path template)`` (``WS`` for
websockets). :class:`lowalt.api.guard.Guard` consults it for every request before the handler runs
(and before a body is read); a route without a rule is refused (403) and fails the generated
authorisation-matrix test (``tests/security/test_authz_matrix.py``). ``docs/security.md`` explains the
table.

A rule maps each admitted role to an :class:`Access` scope. ``admin`` is admitted everywhere with
``ALL``. What ``OWN`` and ``REDACTED`` mean for a resource is decided by the filter functions below,
which the routers apply to what they return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lowalt.identity.model import Principal, Role


class Access(StrEnum):
    ALL = "all"
    """Everything of this resource."""
    OWN = "own"
    """Only what belongs to (or involves) the caller's organisation; anything else is 'not found'."""
    REDACTED = "redacted"
    """Everything, without operators' free text (reasons, comments, pilots, decision details)."""


@dataclass(frozen=True)
class Rule:
    roles: Mapping[Role, Access]
    """Roles admitted (admin always is, with ALL) and what each sees."""
    public: bool = False
    """No token needed (health, metrics, the map page, the OpenAPI document)."""

    def access(self, principal: Principal) -> Access | None:
        if principal.role is Role.ADMIN:
            return Access.ALL
        return self.roles.get(principal.role)


PUBLIC = Rule({}, public=True)
A, OW, R = Access.ALL, Access.OWN, Access.REDACTED
OP, DEV, CEN, VIEW = Role.OPERATOR, Role.DEVICE, Role.CENTRE, Role.VIEWER
MIL, ATC, POL = Role.MILITARY, Role.ATC, Role.POLICE  # the parties (issue #19, lowalt.coordination)
EVERY_ROLE = Rule({OP: A, DEV: A, CEN: A, VIEW: A, MIL: A, ATC: A, POL: A})
AUTHORITIES = Rule({MIL: A, ATC: A, CEN: A})  # who issues constraints and decides approvals (#19)
CENTRE_ONLY = Rule({CEN: A})
ADMIN_ONLY = Rule({})
OWN_PLANS = Rule({OP: OW, CEN: A})

RULES: dict[tuple[str, str], Rule] = {
    # public: liveness, metrics (counters only), the map page and its assets, the API description
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/portal"): PUBLIC,  # the operator portal page (issue #22); it asks for a token itself
    ("GET", "/static/{path:path}"): PUBLIC,
    ("GET", "/web/config"): PUBLIC,
    ("GET", "/web/context.geojson"): PUBLIC,
    ("GET", "/web/basemap.pmtiles"): PUBLIC,  # the LOWALT_BASEMAP_PMTILES archive (a map, like /static)
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # identity
    ("GET", "/me"): EVERY_ROLE,
    ("GET", "/admin/users"): ADMIN_ONLY,
    ("POST", "/admin/users"): ADMIN_ONLY,
    ("POST", "/admin/users/{name}/suspend"): ADMIN_ONLY,
    ("POST", "/admin/users/{name}/reinstate"): ADMIN_ONLY,
    # aircraft, the live picture, history, alerts
    ("POST", "/aircraft"): Rule({OP: OW, CEN: A}),
    ("GET", "/aircraft"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("POST", "/aircraft/{aircraft_id}/suspend"): CENTRE_ONLY,
    ("POST", "/aircraft/{aircraft_id}/reinstate"): CENTRE_ONLY,
    ("GET", "/aircraft/{aircraft_id}/audit"): CENTRE_ONLY,
    # the operator portal's pilot register and fleet edits (issue #22; lowalt.api.routers.pilots, .fleet)
    ("GET", "/pilots"): Rule({OP: OW, CEN: A}),
    ("POST", "/pilots"): Rule({OP: OW, CEN: A}),
    ("PATCH", "/pilots/{pilot_id}"): Rule({OP: OW, CEN: A}),
    ("DELETE", "/pilots/{pilot_id}"): Rule({OP: OW, CEN: A}),
    ("PATCH", "/aircraft/{aircraft_id}"): Rule({OP: OW, CEN: A}),
    ("GET", "/tracks"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/tracks/{aircraft_id}/history"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/rid/flights"): Rule({OP: OW, CEN: A, VIEW: A}),  # network Remote ID (F3411) display query
    ("GET", "/alerts"): Rule({OP: OW, CEN: A, VIEW: A, POL: R, MIL: R, ATC: R}),  # parties: theirs (feed_scope)
    ("GET", "/replay/area"): Rule({OP: OW, CEN: A, VIEW: A}),  # history + alerts of an area and window
    ("POST", "/alerts/{alert_id}/ack"): CENTRE_ONLY,
    ("WS", "/ws/telemetry"): Rule({DEV: OW}),
    ("WS", "/ws/live"): Rule({CEN: A, VIEW: A, POL: R, MIL: R, ATC: R}),  # parties: their alerts (#19, feed_scope)
    # airspace: everyone who flies or watches needs it; only the centre changes it
    ("GET", "/airspace/volumes"): EVERY_ROLE,
    ("GET", "/airspace/points"): EVERY_ROLE,
    ("GET", "/airspace/routes"): EVERY_ROLE,
    ("GET", "/airspace/restrictions"): EVERY_ROLE,
    ("POST", "/airspace/restrictions"): CENTRE_ONLY,
    ("DELETE", "/airspace/restrictions/{restriction_id}"): CENTRE_ONLY,
    ("GET", "/airspace/query"): EVERY_ROLE,
    ("GET", "/airspace/ed269"): EVERY_ROLE,
    # capacity and utilisation analytics (issue #20; lowalt.api.routers.analytics, docs/analytics.md): the
    # airspace measures name no operator (viewers see them); filing and operators rate organisations
    ("GET", "/analytics/takeoff-points"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/analytics/corridors"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/analytics/cells"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/analytics/demand"): Rule({OP: OW, CEN: A, VIEW: A}),
    ("GET", "/analytics/filing"): Rule({OP: OW, CEN: A}),
    ("GET", "/analytics/operators"): Rule({OP: OW, CEN: A}),
    # flight plans and their events
    ("POST", "/plans"): OWN_PLANS,
    ("GET", "/plans"): OWN_PLANS,
    ("GET", "/plans/{plan_id}"): OWN_PLANS,
    ("POST", "/plans/{plan_id}/approve"): CENTRE_ONLY,
    ("POST", "/plans/{plan_id}/reject"): CENTRE_ONLY,
    ("POST", "/plans/{plan_id}/cancel"): OWN_PLANS,
    ("POST", "/plans/{plan_id}/activate"): OWN_PLANS,
    ("POST", "/plans/{plan_id}/complete"): OWN_PLANS,
    ("WS", "/ws/plans"): Rule({OP: OW, CEN: A, VIEW: R, MIL: R, ATC: R}),  # parties: their routings (#19)
    # weather warnings: posted by the centre, read by those who plan or watch
    ("POST", "/weather/warnings"): CENTRE_ONLY,
    ("GET", "/weather/warnings"): Rule({OP: A, CEN: A, VIEW: A}),
    ("POST", "/weather/warnings/{warning_id}/end"): CENTRE_ONLY,
    ("DELETE", "/weather/warnings/{warning_id}"): CENTRE_ONLY,
    # three-party coordination (issue #19; lowalt.api.routers.coordination, docs/coordination.md)
    ("POST", "/coordination/constraints"): AUTHORITIES,
    ("GET", "/coordination/constraints"): Rule({OP: A, CEN: A, VIEW: A, MIL: A, ATC: A, POL: A}),
    ("POST", "/coordination/constraints/{constraint_id}/versions"): AUTHORITIES,
    ("GET", "/coordination/constraints/{constraint_id}/history"): AUTHORITIES,
    ("GET", "/coordination/plans"): AUTHORITIES,
    ("GET", "/coordination/approvals"): AUTHORITIES,
    ("GET", "/coordination/approvals/{plan_id}"): AUTHORITIES,
    ("POST", "/coordination/approvals/{plan_id}/decision"): AUTHORITIES,
    ("GET", "/coordination/tracks"): Rule({CEN: A, POL: A}),
    ("POST", "/coordination/cases"): CENTRE_ONLY,
    ("GET", "/coordination/cases"): Rule({CEN: A, POL: A}),
    ("GET", "/coordination/cases/{case_id}"): Rule({CEN: A, POL: A}),
    ("POST", "/coordination/cases/{case_id}/state"): Rule({POL: A}),
    # government fleets (政务"一网统飞", #19): the centre registers standing approvals, a fleet's operators
    # read their own; the preemption audit is the centre's
    ("POST", "/coordination/standing-approvals"): CENTRE_ONLY,
    ("GET", "/coordination/standing-approvals"): Rule({OP: OW, CEN: A}),
    ("GET", "/coordination/standing-approvals/{standing_id}"): Rule({OP: OW, CEN: A}),
    ("POST", "/coordination/standing-approvals/{standing_id}/revoke"): CENTRE_ONLY,
    ("GET", "/coordination/preemptions"): CENTRE_ONLY,
}


def rule_for(method: str, path: str) -> Rule | None:
    """The rule for a route (``HEAD`` is ``GET``), or None when the route has none (refused)."""
    return RULES.get(("GET" if method == "HEAD" else method, path))


def roles_admitted(rule: Rule) -> str:
    return ", ".join(sorted({*(r.value for r in rule.roles), Role.ADMIN.value}))


# ------------------------------------------------------------------ tenancy filters


OrgOf = Callable[[str], str | None]
"""Aircraft id -> owning organisation (None when unknown or unowned)."""


def owns_aircraft(principal: Principal, aircraft_id: str, org_of: OrgOf) -> bool:
    """Whether the caller's organisation owns the aircraft (an operator without one owns nothing)."""
    return principal.organisation is not None and org_of(aircraft_id) == principal.organisation


def may_see_aircraft(principal: Principal, access: Access, aircraft_id: str, org_of: OrgOf) -> bool:
    return access is not Access.OWN or owns_aircraft(principal, aircraft_id, org_of)


def visible_alerts(principal: Principal, access: Access, alerts: Iterable[Mapping[str, Any]],
                   org_of: OrgOf) -> list[Mapping[str, Any]]:
    """OWN: the alerts that involve at least one of the caller's aircraft (the other party's id stays
    visible: it is what the operator has to avoid)."""
    if access is not Access.OWN:
        return list(alerts)
    return [a for a in alerts if any(owns_aircraft(principal, str(x), org_of) for x in a.get("aircraft") or ())]


PLAN_EVENT_PUBLIC_KEYS = ("type", "plan_id", "organisation", "from_state", "to_state", "at")


def plan_event_view(principal: Principal, access: Access | None, event: Mapping[str, Any]
                    ) -> dict[str, Any] | None:
    """What a subscriber may see of one plan event: None (not theirs), all of it, or (REDACTED, viewers)
    the state change without its free text (reason, details, who)."""
    if access is None:
        return None
    if access is Access.OWN:
        return dict(event) if event.get("organisation") == principal.organisation else None
    if access is Access.REDACTED and principal.role in (MIL, ATC):
        return party_plan_event(principal.role.value, event)
    if access is Access.REDACTED:
        return {k: event[k] for k in PLAN_EVENT_PUBLIC_KEYS if k in event}
    return dict(event)


PARTY_EVENT_TYPES = ("plan_coordination", "plan_escalated")
PARTY_DETAIL_KEYS = ("authority", "authorities", "decide_by", "verdict", "combined", "constraints", "decided_on")


def party_plan_event(authority: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """An approving authority (issue #19) hears of the plans routed to it: the coordination events that
    name it (routed, each decision, escalation), without operators' free text."""
    details = event.get("details") or {}
    if event.get("type") not in PARTY_EVENT_TYPES or authority not in (
            details.get("authority"), *(details.get("authorities") or ())):
        return None
    return {**{k: event[k] for k in PLAN_EVENT_PUBLIC_KEYS if k in event},
            "details": {k: details[k] for k in PARTY_DETAIL_KEYS if k in details}}


def device_binding_allowed(principal: Principal, device: Mapping[str, Any] | None, aircraft_org: str | None) -> bool:
    """An operator may bind only a device user of its own organisation; the centre any device user.
    ``device`` is the user's row (role, organisation) or None when there is no such user."""
    if device is None or device.get("role") != Role.DEVICE.value:
        return False
    if principal.has_role(Role.CENTRE):
        return device.get("organisation") in (None, aircraft_org)
    return principal.organisation is not None and device.get("organisation") == principal.organisation


PLAN_ID = re.compile(r"^[0-9a-f]{32}$")
REDACTED_PLAN = "another-organisation"
"""What an operator sees in place of another organisation's plan id (in reasons, preemptions, audit)."""


def redact_foreign_plan_ids(doc: Any, keep: Callable[[str], bool]) -> Any:
    """``doc`` with every plan id (32 hex digits) that ``keep`` refuses replaced by ``REDACTED_PLAN``:
    a rejected plan tells its operator *that* it conflicts, never *which* plan of whom."""
    if isinstance(doc, str):
        return REDACTED_PLAN if PLAN_ID.match(doc) and not keep(doc) else doc
    if isinstance(doc, dict):
        return {k: redact_foreign_plan_ids(v, keep) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [redact_foreign_plan_ids(v, keep) for v in doc]
    return doc
