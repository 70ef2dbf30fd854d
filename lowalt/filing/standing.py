"""Standing approvals for government patrol areas (政务"一网统飞", issue #19) as plain data, and which one
covers a plan (pure: no clock, no I/O).

A standing approval is the centre's long-term approval of a government organisation's flights in one
area (条例 Art. 26 long-term application, D2): an area, an altitude band with its references, a validity
window and the missions it covers. A plan of that organisation, of a covered mission, wholly inside the
area, band and window, is approved at once under the ``standing_approval`` pathway; restrictions,
weather, deconfliction and every other common rule still apply (``lowalt.filing.rules``).

Every edge is inclusive (以内 / 以下 / 以上): a footprint on the area's boundary, a band touching the
approval's floor or ceiling, a window starting or ending exactly at the approval's are covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from lowalt.filing.model import FlightPlan, Footprint, MissionType
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local

EDGE_TOLERANCE_M = 0.01
"""A footprint on the area's edge is inside it: both are projected from the same lon/lat, so a shared
edge can differ by rounding only (1 cm, far below any buffer)."""


@dataclass(frozen=True, eq=False)
class StandingApproval:
    id: str
    organisation: str
    title: str
    geometry: dict[str, Any]
    """GeoJSON Polygon or MultiPolygon, lon/lat."""
    floor: Altitude
    ceiling: Altitude
    start: datetime
    end: datetime
    missions: frozenset[MissionType]
    created_by: str
    created_at: datetime
    state: str = "active"
    """``active`` or ``revoked`` (revoked ones cover nothing)."""
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""

    @cached_property
    def area(self) -> BaseGeometry:
        """The area in EPSG:4548 metres, widened by :data:`EDGE_TOLERANCE_M`."""
        return geometry_to_local(shape(self.geometry)).buffer(EDGE_TOLERANCE_M)


def _band_problem(sa: StandingApproval, fp: Footprint) -> bool:
    """The plan's band leaves the approval's (floor 以上, ceiling 以下: both inclusive). Compared in the
    approval's reference with the footprint's conservative values (exact when the references match)."""
    floor = fp.true_floor if sa.floor.reference is AltitudeReference.AGL else fp.floor_amsl
    ceiling = fp.true_ceiling if sa.ceiling.reference is AltitudeReference.AGL else fp.ceiling_amsl
    return floor < sa.floor.value_m or ceiling > sa.ceiling.value_m


def why_not(sa: StandingApproval, plan: FlightPlan, fp: Footprint) -> str | None:
    """None when ``sa`` covers the plan, else the first reason it does not: ``organisation``,
    ``revoked``, ``mission``, ``window``, ``area``, ``band``."""
    if sa.organisation != plan.organisation:
        return "organisation"
    if sa.state != "active":
        return "revoked"
    if plan.mission not in sa.missions:
        return "mission"
    if plan.start < sa.start or plan.end > sa.end:
        return "window"
    if not sa.area.covers(fp.area):
        return "area"
    if _band_problem(sa, fp):
        return "band"
    return None


def covering(plan: FlightPlan, fp: Footprint, approvals: list[StandingApproval]
             ) -> tuple[StandingApproval | None, str | None]:
    """The first approval (by id) that covers the plan, or None with why the plan's own organisation's
    approvals do not (None: it has none)."""
    why: str | None = None
    for sa in sorted(approvals, key=lambda a: a.id):
        problem = why_not(sa, plan, fp)
        if problem is None:
            return sa, None
        if problem != "organisation" and why is None:
            why = problem
    return None, why
