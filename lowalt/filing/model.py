"""Flight plans (operational intents) as plain data: states, missions, priority, geometry.

Geometry is WGS84 lon/lat (RFC 7946 order). Metres live in :class:`Footprint`, computed
once per plan with :mod:`lowalt.geo.crs`, so rules and the 4D index never project twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from lowalt.airspace.model import AircraftCategory
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local, to_wgs84
from lowalt.geo.terrain import TerrainModel


class PlanState(StrEnum):
    """Lifecycle of a plan; every transition is written to the audit trail."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REFERRED = "referred"
    REJECTED = "rejected"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    """By the operator (or the centre on its behalf)."""
    WITHDRAWN = "withdrawn"
    """By the system/centre: a higher-priority flight or a new restriction took the airspace."""

    def can_transition_to(self, other: PlanState) -> bool:
        return other in _TRANSITIONS[self]

    @property
    def holds_airspace(self) -> bool:
        """Approved and active plans occupy their 4D volume in the deconfliction index."""
        return self in (PlanState.APPROVED, PlanState.ACTIVE)


_TRANSITIONS: dict[PlanState, frozenset[PlanState]] = {
    PlanState.SUBMITTED: frozenset({PlanState.APPROVED, PlanState.REFERRED, PlanState.REJECTED}),
    PlanState.REFERRED: frozenset({PlanState.APPROVED, PlanState.REJECTED, PlanState.CANCELLED,
                                   PlanState.WITHDRAWN}),
    PlanState.APPROVED: frozenset({PlanState.ACTIVE, PlanState.CANCELLED, PlanState.WITHDRAWN,
                                   PlanState.REFERRED}),
    # approved -> referred: suspended (a warning that needs the centre's judgement, e.g. low visibility)
    PlanState.ACTIVE: frozenset({PlanState.COMPLETED}),
    PlanState.REJECTED: frozenset(),
    PlanState.COMPLETED: frozenset(),
    PlanState.CANCELLED: frozenset(),
    PlanState.WITHDRAWN: frozenset(),
}


class MissionType(StrEnum):
    TOURISM = "tourism"
    LOGISTICS = "logistics"
    INSPECTION = "inspection"
    AGRICULTURE = "agriculture"
    SURVEY = "survey"
    TRAINING = "training"
    POLICE = "police"
    EMERGENCY_RESCUE = "emergency_rescue"
    MEDICAL = "medical"


class Priority(IntEnum):
    """Who flies first when two plans want the same airspace (higher wins in deconfliction).

    emergency > police > inspection > commercial > training (policy.yaml ``priorities``, which says which
    missions and government fleets carry each level; 条例 Art. 29 puts emergency flights first, the rest
    of the order is the centre's, illustrative). The numbers are stored in ``plans.priority`` (0016).
    """

    TRAINING = 0
    COMMERCIAL = 1
    INSPECTION = 2
    POLICE = 3
    EMERGENCY = 4

    @property
    def zh(self) -> str:
        return PRIORITY_ZH[self]


PRIORITY_ZH = {Priority.TRAINING: "训练", Priority.COMMERCIAL: "商业", Priority.INSPECTION: "政务巡检",
               Priority.POLICE: "警务", Priority.EMERGENCY: "应急救援"}
EMERGENCY_MISSIONS = frozenset({MissionType.EMERGENCY_RESCUE, MissionType.MEDICAL})


def priority_of(mission: MissionType) -> Priority:
    """The level a mission carries without a policy (tests, tools): the policy's
    :func:`lowalt.filing.policy.priority_for` also asks who flies it (a government fleet or not)."""
    if mission in EMERGENCY_MISSIONS:
        return Priority.EMERGENCY
    if mission is MissionType.POLICE:
        return Priority.POLICE
    if mission is MissionType.TRAINING:
        return Priority.TRAINING
    return Priority.COMMERCIAL


CLAWBACKS = ("relay_network", "dangerous_goods", "drops_objects", "over_crowds", "moving_vehicle", "swarm")
"""The five 条例 Art. 31 ¶2 clawbacks (dangerous goods and dropping counted separately)."""


@dataclass
class FlightPlan:
    """One operational intent as filed, plus its current state and decision."""

    id: str
    organisation: str
    submitted_by: str
    aircraft_id: str
    category: AircraftCategory
    pilot: str
    licence_id: str | None
    mission: MissionType
    geometry: LineString | Polygon
    """Route centreline or operating area, WGS84 lon/lat."""
    half_width_m: float
    """Corridor half-width for a route (ignored for an area)."""
    floor: Altitude
    ceiling: Altitude
    takeoff: Point
    landing: Point
    start: datetime
    end: datetime
    flags: frozenset[str] = frozenset()
    """Subset of :data:`CLAWBACKS` that apply to this flight."""
    corridor_id: str | None = None
    """A long-term-approved route this daily plan is filed under (条例 Art. 26, D2)."""
    urgent: bool = False
    """Especially urgent emergency mission: may file any time (条例 Art. 29)."""
    state: PlanState = PlanState.SUBMITTED
    decision: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    priority_level: Priority | None = None
    """The level the policy gave it when it was filed (``policy.priority_for``: mission and government
    fleet); None before filing, when :func:`priority_of` (the mission alone) stands in."""

    @property
    def priority(self) -> Priority:
        return self.priority_level if self.priority_level is not None else priority_of(self.mission)


@dataclass(frozen=True, eq=False)
class Footprint:
    """A plan in local metres: horizontal footprint, conservative AMSL band, sample points."""

    area: Polygon
    """EPSG:4548 metres: route buffered by its half-width, or the area itself."""
    floor_amsl: float
    ceiling_amsl: float
    sample_lon: np.ndarray
    sample_lat: np.ndarray
    start_s: float
    end_s: float
    floor_agl: float = float("nan")
    """True-height band when both limits are AGL (NaN otherwise): terrain-following flights
    are separated by true height, without the terrain spread that the AMSL band carries."""
    ceiling_agl: float = float("nan")
    ground_min: float = 0.0
    """Lowest terrain (m AMSL) under the footprint's samples."""
    ground_max: float = 0.0
    """Highest terrain (m AMSL) under the footprint's samples."""

    true_floor: float = 0.0
    """The floor's true height: AGL as filed; AMSL over the HIGHEST terrain under the footprint."""
    true_ceiling: float = 0.0
    """The ceiling's true height: AGL as filed; AMSL over the LOWEST terrain (the most it can reach)."""
    sample_ground: np.ndarray | None = None
    """Terrain (m AMSL, NaN where unknown) under each sample, from ``sampled_on``: the airspace check
    classifies the samples over the same ground and need not look it up again."""
    sampled_on: object = None
    """The terrain model ``sample_ground`` came from."""


def footprint(plan: FlightPlan, terrain: TerrainModel, spacing_m: float = 250.0) -> Footprint:
    """Project once; sample the footprint every ``spacing_m`` for airspace checks.

    AGL limits become AMSL with the lowest terrain under the footprint for the floor and
    the highest for the ceiling, so the 4D band can only be too large, never too small.
    """
    local = geometry_to_local(plan.geometry)
    if isinstance(local, LineString):
        area = local.buffer(max(plan.half_width_m, 1.0))
        edge = shapely.segmentize(area.exterior, spacing_m)
        line = shapely.segmentize(local, spacing_m)
        xy = np.vstack([shapely.get_coordinates(line), shapely.get_coordinates(edge)])
    else:
        area = local
        edge = shapely.segmentize(area.exterior, spacing_m)
        minx, miny, maxx, maxy = area.bounds
        step = max(spacing_m, max(maxx - minx, maxy - miny) / 40.0)
        gx, gy = np.meshgrid(np.arange(minx, maxx + step, step), np.arange(miny, maxy + step, step))
        grid = shapely.points(gx.ravel(), gy.ravel())
        inside = shapely.contains_xy(area, gx.ravel(), gy.ravel())
        xy = np.vstack([shapely.get_coordinates(edge), shapely.get_coordinates(grid[inside])])
    lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
    under = np.asarray(terrain.elevation(lon, lat), dtype=np.float64)
    ground = under[np.isfinite(under)]
    lo, hi = (float(ground.min()), float(ground.max())) if ground.size else (0.0, 0.0)
    return replace(_banded(plan, area, lon, lat, lo, hi), sample_ground=under, sampled_on=terrain)


def rebanded(fp: Footprint, plan: FlightPlan) -> Footprint:
    """The footprint of ``plan``, which differs from ``fp``'s plan in its band (and window) only: the
    area, samples and terrain under them are ``fp``'s, not projected and sampled again (an altitude
    alternative tries up to eight bands of one route)."""
    return replace(_banded(plan, fp.area, fp.sample_lon, fp.sample_lat, fp.ground_min, fp.ground_max),
                   sample_ground=fp.sample_ground, sampled_on=fp.sampled_on)


def _banded(plan: FlightPlan, area: Polygon, lon: np.ndarray, lat: np.ndarray, lo: float, hi: float) -> Footprint:
    """The footprint's band and window: AGL limits over the lowest (floor) and highest (ceiling) terrain."""
    floor = plan.floor.value_m + (lo if plan.floor.reference is AltitudeReference.AGL else 0.0)
    ceiling = plan.ceiling.value_m + (hi if plan.ceiling.reference is AltitudeReference.AGL else 0.0)
    both_agl = plan.floor.reference is AltitudeReference.AGL and plan.ceiling.reference is AltitudeReference.AGL
    nan = float("nan")
    return Footprint(area=area, floor_amsl=floor, ceiling_amsl=ceiling, sample_lon=lon, sample_lat=lat,
                     start_s=plan.start.timestamp(), end_s=plan.end.timestamp(),
                     floor_agl=plan.floor.value_m if both_agl else nan,
                     ceiling_agl=plan.ceiling.value_m if both_agl else nan, ground_min=lo, ground_max=hi,
                     true_floor=round(plan.floor.value_m - (
                         0.0 if plan.floor.reference is AltitudeReference.AGL else hi), 6),
                     true_ceiling=round(plan.ceiling.value_m - (
                         0.0 if plan.ceiling.reference is AltitudeReference.AGL else lo), 6))
    # rounded to the micrometre: (ground + 50) - ground is 50 again, not 50.000000000000007
