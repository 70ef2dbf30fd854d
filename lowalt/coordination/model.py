"""The parties, their constraints, approval requests and counter-UAS cases as plain data (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from lowalt.identity.model import Role


class Authority(StrEnum):
    """An authority that issues constraints and approves flights in its airspace (军地民)."""

    MILITARY = "military"
    """军: the military airspace authority (activates military areas)."""
    ATC = "atc"
    """民: civil aviation ATC at Luojia (ZSJD): notices for its controlled airspace."""
    LOCAL = "local"
    """地: local government, acting through the coordination centre (events, VIP, disaster)."""

    @property
    def zh(self) -> str:
        return {"military": "军方空域管理部门", "atc": "民航景德镇罗家机场管制", "local": "地方政府（协调运行中心）"}[self.value]

    @property
    def en(self) -> str:
        return {"military": "military airspace authority", "atc": "civil aviation ATC (ZSJD)",
                "local": "local government (coordination centre)"}[self.value]


AUTHORITY_OF_ROLE: dict[Role, Authority] = {
    Role.MILITARY: Authority.MILITARY, Role.ATC: Authority.ATC, Role.CENTRE: Authority.LOCAL}
"""The authority a user speaks for, by role (police and others speak for none: they issue no constraints)."""


class ConstraintKind(StrEnum):
    """What a party constrains; each authority issues exactly one kind."""

    MILITARY_ACTIVATION = "military_activation"
    """A military area activated for a time window (published to others as "reserved", no purpose)."""
    ATC_NOTICE = "atc_notice"
    """A NOTAM-like notice: runway operations, an approach corridor active."""
    LOCAL_RESTRICTION = "local_restriction"
    """An event, a VIP movement, a disaster area."""


KIND_OF: dict[Authority, ConstraintKind] = {
    Authority.MILITARY: ConstraintKind.MILITARY_ACTIVATION, Authority.ATC: ConstraintKind.ATC_NOTICE,
    Authority.LOCAL: ConstraintKind.LOCAL_RESTRICTION}
ID_PREFIX: dict[Authority, str] = {Authority.MILITARY: "MIL", Authority.ATC: "ATC", Authority.LOCAL: "LOC"}


class ConstraintStatus(StrEnum):
    ACTIVE = "active"
    """In force on its window (a version superseded by a newer one is history, not active)."""
    CANCELLED = "cancelled"
    """Lifted by its authority (the last version says so)."""


@dataclass(frozen=True)
class ConstraintVersion:
    """One version of a party constraint; a change is a new version, never an overwrite."""

    constraint_id: str
    version: int
    authority: Authority
    kind: ConstraintKind
    status: ConstraintStatus
    title: str
    """Public title (a military activation's is replaced by "reserved" for everyone but the military)."""
    purpose: str
    """Why (military: never shown to another party)."""
    geometry: dict[str, Any]
    """GeoJSON Polygon or MultiPolygon, lon/lat."""
    floor_m: float
    floor_ref: str
    ceiling_m: float
    ceiling_ref: str
    start: datetime
    end: datetime
    short_notice: bool
    coordinated_categories: tuple[str, ...]
    """Categories that may still enter with the authority's approval (others are forbidden)."""
    created_by: str
    created_at: datetime
    restriction_id: str | None = None
    """The airspace restriction that carries this version (None once cancelled)."""

    @property
    def ref(self) -> str:
        """``<constraint>.v<version>``: how decisions name the exact version they were taken on (also the
        id of the airspace restriction that carries it)."""
        return f"{self.constraint_id}.v{self.version}"


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class ApprovalRequest:
    """One authority's part of a multi-party approval."""

    plan_id: str
    authority: Authority
    state: ApprovalState
    decide_by: datetime
    reason: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    escalated_at: datetime | None = None
    constraint_refs: tuple[str, ...] = ()
    """The constraint versions the plan touched when it was routed."""
    decided_on: tuple[str, ...] = ()
    """The constraint versions in force when this authority decided."""


class Combined(StrEnum):
    """The plan's outcome from its authorities' decisions."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuthorityArea:
    """Where an authority's word is needed: an area (local metres), over a window (None: always)."""

    authority: Authority
    area: Any
    """shapely geometry in EPSG:4548 metres."""
    ref: str
    """What it is: a volume id or a constraint version ref."""
    start: datetime | None = None
    end: datetime | None = None


class CaseKind(StrEnum):
    UNAUTHORISED = "unauthorised"
    """A cooperative aircraft flying without an approved plan."""
    NON_COOPERATIVE = "non_cooperative"
    """A detection (radar, RF, camera) with no identity."""


class CaseState(StrEnum):
    ASSIGNED = "assigned"
    INTERCEPTING = "intercepting"
    RESOLVED = "resolved"

    def can_transition_to(self, other: CaseState) -> bool:
        return other in _CASE_TRANSITIONS[self]


_CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.ASSIGNED: frozenset({CaseState.INTERCEPTING, CaseState.RESOLVED}),
    CaseState.INTERCEPTING: frozenset({CaseState.RESOLVED}),
    CaseState.RESOLVED: frozenset(),
}


class CaseOutcome(StrEnum):
    LANDED = "landed"
    LEFT_AREA = "left_area"
    COUNTERED = "countered"
    """Stopped by counter-UAS means (反制)."""


@dataclass(frozen=True)
class Site:
    """A sensitive site near a case's track."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    distance_m: float


@dataclass(frozen=True)
class TrackPoint:
    lon: float
    lat: float
    alt_amsl_m: float
    t: float
    """Epoch seconds UTC."""


@dataclass(frozen=True)
class Exit:
    """The nearest way out of a constraint's area for an airborne plan inside it (``rules.nearest_exit``)."""

    lon: float
    lat: float
    """The nearest point of the area's boundary (on it: an aircraft there is outside)."""
    bearing_deg: float
    """True bearing from the position to it, degrees clockwise from north, [0, 360)."""
    distance_m: float
    from_lon: float
    from_lat: float
    source: str
    """``track``: the aircraft's last reported position; ``route``: where the plan's route has it now."""


@dataclass(frozen=True)
class CaseFacts:
    """What the police get with a case: the track now, its recent positions, where it is going, what is near."""

    last_positions: list[TrackPoint]
    predicted_path: list[TrackPoint]
    nearby_sites: list[Site] = field(default_factory=list)


NOTICE = timedelta(minutes=30)
"""A military activation's normal notice: it starts at least this long after it is filed (以上: exactly
30 min is enough) unless it is marked short notice, which may start at once."""
DECIDE_WITHIN = timedelta(minutes=30)
"""Each authority's decide-by: this long after routing, or earlier when the flight starts sooner."""
DECIDE_LEAD = timedelta(minutes=5)
"""Decide at least this long before take-off (the operator needs the answer)."""
DECIDE_MIN = timedelta(minutes=2)
"""Never less time than this to decide."""
MAX_WINDOW = timedelta(hours=72)
"""The longest window one constraint version may cover (a standing area is re-issued, visibly)."""
SITE_RADIUS_M = 3000.0
"""Sensitive sites within this distance of a case's track are listed."""
PREDICT_S = 120.0
PREDICT_STEP_S = 10.0
