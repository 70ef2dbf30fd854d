"""The coordination rules, pure: constraint checks, routing by footprint, combination of decisions,
deadlines, what each party may see, and the facts of a counter-UAS case.

Nothing here reads a clock or a database; every time is an argument, so each rule is tested on both
sides of its boundaries (``tests/coordination/test_rules.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import shapely
from pyproj import Geod
from shapely import ops

from lowalt.coordination.model import (
    AUTHORITY_OF_ROLE,
    DECIDE_LEAD,
    DECIDE_MIN,
    DECIDE_WITHIN,
    MAX_WINDOW,
    NOTICE,
    PREDICT_S,
    PREDICT_STEP_S,
    SITE_RADIUS_M,
    ApprovalRequest,
    ApprovalState,
    Authority,
    AuthorityArea,
    CaseState,
    Combined,
    ConstraintKind,
    ConstraintStatus,
    ConstraintVersion,
    Exit,
    Site,
    TrackPoint,
)
from lowalt.geo.crs import geometry_to_local, to_local, to_wgs84
from lowalt.identity.model import Role

ATC_VOLUMES = ("zsjd_protection",)
"""Published volumes that are ATC's controlled airspace (the ZSJD protection area contains the runway
core and both approach funnels)."""
SENSITIVE_KINDS = ("no_fly", "restricted")
"""Volume kinds listed as sensitive sites near a counter-UAS case (besides airports and vertiports)."""


class ConstraintProblem(ValueError):
    """A constraint the rules refuse; ``field`` names the request field (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_window(kind: ConstraintKind, start: datetime, end: datetime, now: datetime, short_notice: bool) -> None:
    """A constraint's window: after now-ish, end after start, at most :data:`MAX_WINDOW` (以下: exactly the
    maximum is accepted), and a military activation without short notice starts at least :data:`NOTICE`
    after it is filed (以上: exactly the notice is enough)."""
    if end <= start:
        raise ConstraintProblem("end", "must be after start")
    if end - start > MAX_WINDOW:
        raise ConstraintProblem("end", f"a window is at most {MAX_WINDOW} (re-issue a new version to extend)")
    if end <= now:
        raise ConstraintProblem("end", "is already past")
    if kind is ConstraintKind.MILITARY_ACTIVATION and not short_notice and start - now < NOTICE:
        raise ConstraintProblem("start", f"a military activation needs {NOTICE} notice unless short_notice is set")


def routing_needed(needs: Sequence[Authority]) -> bool:
    """Whether a referred plan goes to the parties rather than to the centre desk alone.

    Two or more authorities: each in parallel. A military area alone: the military (the centre cannot speak
    for it). ATC alone or the local government alone: the centre desk as before (it holds ZSJD's
    delegation for the protection area and speaks for the local government).
    """
    return len(set(needs)) >= 2 or Authority.MILITARY in needs


def authorities_needed(plan_area: Any, start: datetime, end: datetime, areas: Iterable[AuthorityArea]
                       ) -> dict[Authority, list[str]]:
    """Which authorities a plan's footprint (``plan_area``, local metres, over ``[start, end)``) needs,
    each with the volume ids / constraint versions that make it so. An area's window is ``[start, end)``
    too: a plan that ends exactly when an activation starts does not need the military."""
    out: dict[Authority, list[str]] = {}
    for a in areas:
        if a.start is not None and a.end is not None and (end <= a.start or start >= a.end):
            continue
        if shapely.intersects(plan_area, a.area) and not shapely.touches(plan_area, a.area):
            out.setdefault(a.authority, []).append(a.ref)
    return out


def decide_by(now: datetime, plan_start: datetime) -> datetime:
    """The deadline for each authority: :data:`DECIDE_WITHIN` after routing, brought forward to
    :data:`DECIDE_LEAD` before take-off, but never less than :data:`DECIDE_MIN` from now."""
    return max(now + DECIDE_MIN, min(now + DECIDE_WITHIN, plan_start - DECIDE_LEAD))


def combine(requests: Sequence[ApprovalRequest]) -> Combined:
    """Any refusal refuses; all approvals approve; otherwise still pending (an empty set is pending)."""
    if any(r.state is ApprovalState.REFUSED for r in requests):
        return Combined.REFUSED
    if requests and all(r.state is ApprovalState.APPROVED for r in requests):
        return Combined.APPROVED
    return Combined.PENDING


def overdue(requests: Iterable[ApprovalRequest], now: datetime) -> list[ApprovalRequest]:
    """Pending requests at or past their decide-by (``now >= decide_by``) not yet escalated."""
    return [r for r in requests
            if r.state is ApprovalState.PENDING and r.escalated_at is None and now >= r.decide_by]


def reasons_text(requests: Sequence[ApprovalRequest]) -> tuple[str, str]:
    """zh and en lines naming each authority's decision and reason, refusals first."""
    order = sorted(requests, key=lambda r: (r.state is not ApprovalState.REFUSED, r.authority.value))
    zh_state = {ApprovalState.APPROVED: "同意", ApprovalState.REFUSED: "不同意", ApprovalState.PENDING: "待定"}
    z = "；".join(f"{r.authority.zh}{zh_state[r.state]}" + (f"：{r.reason}" if r.reason else "") for r in order)
    en = "; ".join(f"{r.authority.en} {r.state.value}" + (f": {r.reason}" if r.reason else "") for r in order)
    return z, en


# ------------------------------------------------------------------ who may see what

RESERVED_ZH = "保留空域（军方活动）"
RESERVED_EN = "Reserved airspace (military activity)"


def sees_purpose(role: Role, c: ConstraintVersion) -> bool:
    """A military activation's purpose (and its own title) is the military's alone; other constraints'
    purposes are public (a NOTAM or an event is meant to be read)."""
    return c.kind is not ConstraintKind.MILITARY_ACTIVATION or role in (Role.MILITARY, Role.ADMIN)


def constraint_view(role: Role, c: ConstraintVersion) -> ConstraintVersion:
    """The version as ``role`` may see it: a military activation is "reserved", without title or purpose."""
    if sees_purpose(role, c):
        return c
    return replace(c, title=f"{RESERVED_ZH} / {RESERVED_EN}", purpose="")


def may_decide(role: Role, authority: Authority) -> bool:
    """Only the authority itself decides its part (the centre its local part; admin anything)."""
    return role is Role.ADMIN or AUTHORITY_OF_ROLE.get(role) is authority


def current_versions(versions: Iterable[ConstraintVersion]) -> list[ConstraintVersion]:
    """The latest version of each constraint (cancelled ones included: callers filter on status)."""
    latest: dict[str, ConstraintVersion] = {}
    for v in versions:
        if v.constraint_id not in latest or v.version > latest[v.constraint_id].version:
            latest[v.constraint_id] = v
    return sorted(latest.values(), key=lambda v: v.constraint_id)


def in_force(versions: Iterable[ConstraintVersion], now: datetime) -> list[ConstraintVersion]:
    """Current, not cancelled, not yet over at ``now``."""
    return [v for v in current_versions(versions) if v.status is ConstraintStatus.ACTIVE and v.end > now]


# ------------------------------------------------------------------ counter-UAS case facts


def transition_problem(state: CaseState, to: CaseState, outcome: str | None) -> str | None:
    """Why a case may not move from ``state`` to ``to`` with ``outcome`` (None when it may)."""
    if not state.can_transition_to(to):
        return f"state: a case {state.value} cannot become {to.value}"
    if to is CaseState.RESOLVED and outcome is None:
        return "outcome: a resolved case needs landed, left_area or countered"
    if to is not CaseState.RESOLVED and outcome is not None:
        return "outcome: only a resolved case has an outcome"
    return None


def predict_path(lon: float, lat: float, alt: float, vx: float, vy: float, vz: float, t: float,
                 horizon_s: float = PREDICT_S, step_s: float = PREDICT_STEP_S) -> list[TrackPoint]:
    """Straight-line extrapolation every ``step_s`` up to ``horizon_s`` (east/north/up m/s), never below
    sea level. Metres to degrees on the local sphere: good to metres over two minutes at drone speeds."""
    out = []
    k = 1
    while k * step_s <= horizon_s + 1e-9:
        dt = k * step_s
        dlat = vy * dt / 111_320.0
        dlon = vx * dt / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
        out.append(TrackPoint(round(lon + dlon, 7), round(lat + dlat, 7), max(alt + vz * dt, 0.0), t + dt))
        k += 1
    return out


def nearby_sites(track_local: Sequence[Any], sites: Iterable[tuple[Site, Any]],
                 radius_m: float = SITE_RADIUS_M) -> list[Site]:
    """Sites (each with its local-metre geometry) within ``radius_m`` (以下: exactly the radius counts)
    of any point of the track (now and predicted), nearest first."""
    line = shapely.geometry.LineString(track_local) if len(track_local) >= 2 else shapely.geometry.Point(
        track_local[0])
    out = []
    for site, geom in sites:
        d = float(shapely.distance(line, geom))
        if d <= radius_m:
            out.append(replace(site, distance_m=round(d, 1)))
    return sorted(out, key=lambda s: (s.distance_m, s.id))



_GEOD = Geod(ellps="WGS84")


def nearest_exit(area: Any, lon: float, lat: float, source: str) -> Exit | None:
    """The nearest point of ``area``'s boundary (WGS84 polygon) from a position strictly inside it, with the
    true bearing and distance to it; None when the position is outside or exactly on the boundary (an
    aircraft on the boundary is outside: nothing to leave). The nearest point is found in EPSG:4548 metres
    (an interior ring, a hole in the area, is a way out too); bearing and distance are geodesic."""
    local = geometry_to_local(area)
    x, y = to_local([lon], [lat])
    here = shapely.Point(float(x[0]), float(y[0]))
    if not local.contains(here):
        return None
    edge = ops.nearest_points(local.boundary, here)[0]
    elon, elat = to_wgs84([edge.x], [edge.y])
    out_lon, out_lat = float(elon[0]), float(elat[0])
    azimuth, _, dist = _GEOD.inv(lon, lat, out_lon, out_lat)
    return Exit(round(out_lon, 7), round(out_lat, 7), round(float(azimuth) % 360.0, 1), round(float(dist), 1),
                lon, lat, source)


def route_position(geometry: Any, start: datetime, end: datetime, now: datetime) -> tuple[float, float]:
    """Where a plan without a live track is expected to be at ``now``: along its route in proportion to the
    elapsed window (the first point before the start, the last after the end); an area plan, its inside."""
    if isinstance(geometry, shapely.geometry.LineString):
        span = (end - start).total_seconds()
        frac = min(max((now - start).total_seconds() / span if span > 0 else 0.0, 0.0), 1.0)
        p = geometry_to_local(geometry).interpolate(frac, normalized=True)  # by metres flown, not degrees
        lon, lat = to_wgs84([p.x], [p.y])
        return float(lon[0]), float(lat[0])
    p = geometry.representative_point()
    return float(p.x), float(p.y)
