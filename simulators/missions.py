"""Missions built from the server's airspace: waypoints to fly plus the flight plan to file for them.

A mission is what an operator's planning tool produces: a path in local metres (flown by
:mod:`simulators.models`) and the matching ``POST /plans`` body (GeoJSON route or area, band,
window). Patterns: tourism loops and corridor transits along published routes, logistics
shuttles between hubs, lawnmower surveys, orbit inspections, low agricultural spraying passes and
urgent hospital runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from simulators.airspace import Airspace, RouteInfo
from simulators.geo import to_lonlat, to_xy
from simulators.models import Envelope

F64 = npt.NDArray[np.float64]


@dataclass
class Mission:
    kind: str
    """tourism_loop | corridor | delivery | survey | orbit | spray | hospital_run | transit"""
    waypoints: F64
    """(W, 3) local metres east/north and altitude in ``ref``; the aircraft starts at waypoints[0]."""
    speed: F64
    """(W,) speed commanded toward each waypoint, m/s."""
    hold_s: F64
    """(W,) hover time at each waypoint (hover-capable aircraft), s."""
    mission_type: str
    """Plan mission type (tourism, logistics, inspection, survey, agriculture, medical...)."""
    floor_m: float
    ceiling_m: float
    ref: str = "AGL"
    area: bool = False
    """File the plan as an operating area (polygon) rather than a route."""
    half_width_m: float = 50.0
    corridor_id: str | None = None
    urgent: bool = False
    area_margin_m: float = 60.0
    notes: dict[str, Any] = field(default_factory=dict)

    def length_m(self) -> float:
        d = np.diff(self.waypoints[:, :2], axis=0)
        return float(np.hypot(d[:, 0], d[:, 1]).sum())

    def duration_s(self, env: Envelope) -> float:
        """Rough flight time: legs at their speeds, holds, climbs and descents, turn slack."""
        d = np.diff(self.waypoints, axis=0)
        horiz = np.hypot(d[:, 0], d[:, 1])
        v = np.maximum(np.minimum(self.speed[1:], env.max_ms), 1.0)
        t_h = float((horiz / v).sum())
        t_v = float(np.clip(d[:, 2], 0, None).sum() / env.climb_ms - np.clip(d[:, 2], None, 0).sum() / env.descent_ms)
        return t_h + t_v + float(self.hold_s.sum()) + 10.0 * len(self.waypoints)

    def lonlat(self) -> list[list[float]]:
        lon, lat = to_lonlat(self.waypoints[:, 0], self.waypoints[:, 1])
        out: list[list[float]] = []
        for a, b in zip(lon.tolist(), lat.tolist(), strict=True):
            p = [round(a, 7), round(b, 7)]
            if not out or out[-1] != p:
                out.append(p)
        return out

    def plan_geometry(self) -> dict[str, Any]:
        if not self.area:
            return {"type": "LineString", "coordinates": self.lonlat()}
        xy = self.waypoints[:, :2]
        x0, y0 = xy.min(axis=0) - self.area_margin_m
        x1, y1 = xy.max(axis=0) + self.area_margin_m
        lon, lat = to_lonlat(np.array([x0, x1, x1, x0, x0]), np.array([y0, y0, y1, y1, y0]))
        return {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)] for a, b in
                                                    zip(lon.tolist(), lat.tolist(), strict=True)]]}

    def plan_body(self, aircraft_id: str, category: str, env: Envelope, start: datetime, *, pilot: str,
                  window_factor: float = 1.5, window_pad_s: float = 60.0) -> dict[str, Any]:
        """The ``POST /plans`` body an operator files for this mission."""
        dur = self.duration_s(env) * window_factor + window_pad_s
        ll = self.lonlat()
        body: dict[str, Any] = {
            "aircraft_id": aircraft_id, "category": category, "pilot": pilot, "mission": self.mission_type,
            "geometry": self.plan_geometry(), "half_width_m": self.half_width_m,
            "altitude": {"floor": {"value_m": self.floor_m, "reference": self.ref},
                         "ceiling": {"value_m": self.ceiling_m, "reference": self.ref}},
            "takeoff": {"type": "Point", "coordinates": ll[0]},
            "landing": {"type": "Point", "coordinates": ll[-1]},
            "start": start.astimezone(UTC).isoformat(),
            "end": (start + timedelta(seconds=dur)).astimezone(UTC).isoformat(),
            "urgent": self.urgent,
        }
        if category not in ("micro_uav", "light_uav"):
            body["licence_id"] = f"CAAC-UAS-{abs(hash(aircraft_id)) % 10**8:08d}"
        if self.corridor_id:
            body["corridor_id"] = self.corridor_id
        return body

    def shifted(self, dx: float, dy: float, dz: float = 0.0) -> Mission:
        """The same mission moved (used to place patterns and for misbehaviour offsets)."""
        return replace(self, waypoints=self.waypoints + np.array([dx, dy, dz]))


def _mk(pts: list[tuple[float, float, float]], v: float, hold: list[float] | None = None) -> tuple[F64, F64, F64]:
    w = np.array(pts, dtype=np.float64)
    return w, np.full(len(w), v), np.array(hold if hold is not None else [0.0] * len(w), dtype=np.float64)


def _route_xy(r: RouteInfo) -> F64:
    lon = np.array([c[0] for c in r.coords])
    lat = np.array([c[1] for c in r.coords])
    x, y = to_xy(lon, lat)
    return np.column_stack([x, y])


def _trim(xy: F64, d: float) -> F64:
    """Shorten a polyline by ``d`` metres at both ends (legs shorter than that are left alone)."""
    out = xy.copy()
    for a, b in ((0, 1), (-1, -2)):
        v = out[b] - out[a]
        n = float(np.hypot(*v))
        if n > 2 * d:
            out[a] = out[a] + v / n * d
    return out


def along_route(r: RouteInfo, env: Envelope, kind: str, mission_type: str, *, back: bool = False,
                reverse: bool = False, lane: int = 0, lanes: int = 1) -> Mission:
    """Fly a published route inside its band (entering at cruise height: see ``airborne``).

    Corridor flights start and end at the route's ends at cruise altitude: the climb out of and
    the descent into the vertiport happen inside the vertiport's own area, which the band of the
    corridor does not cover, so the simulator does not fly them.
    """
    xy = _trim(_route_xy(r), r.half_width_m + 30.0)  # corridors have flat caps: stay inside the ends
    if reverse:
        xy = xy[::-1]
    if back:
        xy = np.vstack([xy, xy[-2::-1]])
    # the band is split into vertical lanes so that several flights can share a corridor: the
    # strategic deconfliction keeps whole plans apart (15 m vertical buffer), not positions
    lanes = max(1, min(lanes, int((r.ceiling_m - r.floor_m) // 45)))  # lanes >= 30 m apart (NMAC)
    lane = lane % lanes
    span = (r.ceiling_m - r.floor_m) / lanes
    pad = min(8.0, span / 4)
    lo, hi = r.floor_m + lane * span + pad, r.floor_m + (lane + 1) * span - pad
    z = 0.5 * (lo + hi)
    w = np.column_stack([xy, np.full(len(xy), z)])
    return Mission(kind, w, np.full(len(w), env.cruise_ms), np.zeros(len(w)), mission_type, lo, hi,
                   r.ref, half_width_m=min(r.half_width_m * 0.8, r.half_width_m - 20), corridor_id=r.id,
                   notes={"airborne": True, "route": r.id})


def transit(a: tuple[float, float], b: tuple[float, float], env: Envelope, *, alt: float = 90.0,
            mission_type: str = "logistics", kind: str = "delivery", hold_at_b: float = 0.0,
            airborne: bool = False, half_width_m: float = 40.0) -> Mission:
    """Point-to-point in the W layer (<= 120 m AGL): take off, cruise, (drop/hover), land."""
    (ax, ay), (bx, by) = a, b
    if airborne:
        pts = [(ax, ay, alt), (bx, by, alt)]
        hold = [0.0, hold_at_b]
    else:
        pts = [(ax, ay, 0.0), (ax, ay, alt), (bx, by, alt), (bx, by, 0.0)]
        hold = [0.0, 0.0, hold_at_b, 0.0]
    w, v, h = _mk(pts, env.cruise_ms, hold)
    return Mission(kind, w, v, h, mission_type, 0.0, 115.0, "AGL", half_width_m=half_width_m,
                   notes={"airborne": airborne})


def lawnmower(centre: tuple[float, float], env: Envelope, *, width: float = 400.0, height: float = 300.0,
              spacing: float = 60.0, alt: float = 80.0, rotation_deg: float = 0.0,
              kind: str = "survey", mission_type: str = "survey") -> Mission:
    """Boustrophedon survey lines over a rectangle, filed as an operating area."""
    cx, cy = centre
    n = max(2, int(height // spacing) + 1)
    ys = np.linspace(-height / 2, height / 2, n)
    pts: list[tuple[float, float]] = []
    for k, yy in enumerate(ys):
        xs = (-width / 2, width / 2) if k % 2 == 0 else (width / 2, -width / 2)
        pts += [(xs[0], yy), (xs[1], yy)]
    rot = math.radians(rotation_deg)
    c, s = math.cos(rot), math.sin(rot)
    xy = [(cx + px * c - py * s, cy + px * s + py * c) for px, py in pts]
    full = [(xy[0][0], xy[0][1], 0.0)] + [(x, y, alt) for x, y in xy] + [(xy[-1][0], xy[-1][1], 0.0)]
    w, v, h = _mk(full, min(env.cruise_ms, 10.0))
    return Mission(kind, w, v, h, mission_type, 0.0, min(115.0, alt + 30.0), "AGL", area=True)


def orbit(centre: tuple[float, float], env: Envelope, *, radius: float = 150.0, alt: float = 60.0,
          laps: float = 2.0, points_per_lap: int = 16) -> Mission:
    """Inspection orbit around a structure (tower, bridge pier), filed as an operating area."""
    cx, cy = centre
    k = int(laps * points_per_lap) + 1
    ang = np.linspace(0.0, 2 * math.pi * laps, k)
    ring = [(cx + radius * math.sin(a), cy + radius * math.cos(a), alt) for a in ang.tolist()]
    full = [(cx, cy, 0.0), (cx, cy, alt)] + ring + [(cx, cy, alt), (cx, cy, 0.0)]
    w, v, h = _mk(full, min(env.cruise_ms, 8.0))
    h[1] = 5.0  # hover check before the orbit
    return Mission("orbit", w, v, h, "inspection", 0.0, min(115.0, alt + 30.0), "AGL", area=True)


def spray(centre: tuple[float, float], env: Envelope, *, width: float = 200.0, height: float = 120.0,
          swath: float = 8.0, alt: float = 6.0) -> Mission:
    """Agricultural spraying passes: low, slow, tight lawnmower (filed as an area)."""
    m = lawnmower(centre, env, width=width, height=height, spacing=swath, alt=alt, kind="spray",
                  mission_type="agriculture")
    return replace(m, speed=np.full(len(m.speed), min(env.cruise_ms, 6.0)), ceiling_m=30.0)


def random_open_spot(air: Airspace, rng: np.random.Generator, *, centre: tuple[float, float] = (0.0, 0.0),
                     radius_m: float = 25_000.0, tries: int = 50) -> tuple[float, float]:
    """A random local point clear of restricted and no-fly volumes (by ~500 m)."""
    for _ in range(tries):
        r = radius_m * math.sqrt(float(rng.random()))
        a = float(rng.random()) * 2 * math.pi
        x, y = centre[0] + r * math.sin(a), centre[1] + r * math.cos(a)
        lon, lat = to_lonlat(np.array([x]), np.array([y]))
        if air.blocked(float(lon[0]), float(lat[0])) is None:
            return x, y
    return x, y


def point_xy(air: Airspace, point_id: str) -> tuple[float, float]:
    p = air.points[point_id]
    x, y = to_xy(np.array([p.lon]), np.array([p.lat]))
    return float(x[0]), float(y[0])


def build(kind: str, env: Envelope, air: Airspace, rng: np.random.Generator, spec: dict[str, Any]) -> Mission:
    """One mission of ``kind`` for an aircraft with envelope ``env`` (``spec``: the group's options;
    ``mission_type`` and ``urgent`` there override the pattern's plan fields)."""
    m = _build(kind, env, air, rng, spec)
    if "mission_type" in spec and kind not in ("tourism_loop", "corridor"):
        m = replace(m, mission_type=str(spec["mission_type"]))
    if "urgent" in spec:
        m = replace(m, urgent=bool(spec["urgent"]))
    return m


def _build(kind: str, env: Envelope, air: Airspace, rng: np.random.Generator, spec: dict[str, Any]) -> Mission:
    centre = tuple(spec.get("centre_xy", (0.0, 0.0)))
    radius = float(spec.get("radius_m", 25_000.0))
    if kind in ("tourism_loop", "corridor"):
        ids = [r for r in spec.get("routes", []) if r in air.routes] or \
              [r.id for r in air.routes.values() if env.category in r.allowed and r.ref == "AGL"]
        r = air.routes[ids[int(rng.integers(len(ids)))]]
        return along_route(r, env, kind, spec.get("mission_type", "tourism" if kind == "tourism_loop" else "logistics"),
                           back=kind == "tourism_loop" and r.two_way,
                           reverse=r.two_way and bool(rng.random() < 0.5) and kind == "corridor",
                           lane=int(rng.integers(3)), lanes=3)
    if kind == "delivery":
        hubs = [p for p in spec.get("hubs", []) if p in air.points]
        if spec.get("to") in air.points:  # converge on one pad (vertiport rush)
            b = point_xy(air, spec["to"])
            a = random_open_spot(air, rng, centre=b, radius_m=radius)
        elif len(hubs) >= 2:
            i, j = rng.choice(len(hubs), 2, replace=False)
            a, b = point_xy(air, hubs[int(i)]), point_xy(air, hubs[int(j)])
        else:
            a = random_open_spot(air, rng, centre=centre, radius_m=radius)  # type: ignore[arg-type]
            b = random_open_spot(air, rng, centre=a, radius_m=3000.0)
        return transit(a, b, env, alt=float(spec.get("alt", 60 + 50 * rng.random())), hold_at_b=10.0)
    if kind == "hospital_run":
        starts = [p for p in spec.get("from", ["hub_jdz"]) if p in air.points]
        ends = [p for p in spec.get("to_any", ["hosp1_pad"]) if p in air.points]
        a = point_xy(air, starts[int(rng.integers(len(starts)))])
        b = point_xy(air, ends[int(rng.integers(len(ends)))])
        m = transit(a, b, env, alt=100.0, mission_type="medical", kind="hospital_run", hold_at_b=5.0)
        return replace(m, urgent=True)
    spot = random_open_spot(air, rng, centre=centre, radius_m=radius)  # type: ignore[arg-type]
    if kind == "survey":
        return lawnmower(spot, env, rotation_deg=float(rng.uniform(0, 180)),
                         width=float(rng.uniform(300, 600)), height=float(rng.uniform(200, 400)))
    if kind == "orbit":
        return orbit(spot, env, radius=float(rng.uniform(80, 200)), alt=float(rng.uniform(40, 90)))
    if kind == "spray":
        return spray(spot, env)
    raise ValueError(f"unknown mission kind {kind!r}")
