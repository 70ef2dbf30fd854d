"""Concrete alternatives for a rejected, referred (or displaced) plan.

Each is re-checked by the full rule set before it is offered, and offered only if the plan,
filed again as suggested, would be **approved** (``tests/filing/test_alternatives_property.py``):

* ``time``: the nearest start (in ``alternatives.time_step_min`` steps, later or earlier)
  at which no rule rejects: free of conflicts, inside release and opening hours, after
  the filing cut-off, clear of weather warnings;
* ``altitude``: another band of the same height in the same layer (W: 0-120 m, G:
  120-300 m true height) when the conflict is vertical-separable;
* ``route``: a detour around the closed volumes along their boundary, buffered by
  ``alternatives.reroute_margin_m`` plus the corridor half-width;
* ``location``: the whole route/area moved to the nearest position outside the closed (and
  approval-only) volumes, for a footprint a detour cannot save (e.g. inside a no-fly area);
* ``lower``: the band lowered to the exempt ceiling (micro 50 m, light/small 120 m true
  height, inclusive), when the band crosses it.

:func:`after_withdrawal` gathers them for an approved plan a new restriction withdraws (the
operator re-files one as a new plan; nothing is filed for them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import shapely
import shapely.affinity
from shapely import ops
from shapely.geometry import LineString, Polygon, mapping

from lowalt.airspace.rules import Reason
from lowalt.filing.evaluation import Decision, Facts, Verdict, evaluate
from lowalt.filing.messages import alt_zh, local, text
from lowalt.filing.model import FlightPlan, Footprint, footprint, rebanded
from lowalt.filing.rules import Outcome, iso, rule_aircraft
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local, geometry_to_wgs84, to_local, to_wgs84

TIME_CODES = {"conflict", "corridor_closed", "vertiport_closed", "vertiport_full", "weather_thunderstorm",
              "weather_wind", "filed_too_late", "window_in_past", "aircraft_busy", "pilot_busy", "night_not_allowed"}
MOVE_REASONS = {Reason.NO_FLY, Reason.RESTRICTED_AREA, Reason.TEMPORARY_RESTRICTION, Reason.CATEGORY_EXCLUDED,
                Reason.CONTROLLED_AIRSPACE, Reason.RESTRICTED_AUTHORISED, Reason.TEMPORARY_RESTRICTION_EXEMPT,
                Reason.ROUTE_RESERVED}
"""Volumes a plan can be moved out of (not the background layers, which cover everything)."""
MAX_MOVE_M = 30_000.0
LAYERS_AGL = ((0.0, 120.0), (120.0, 300.0))
MAX_TIME_TRIES = 24
"""Full evaluations one time-alternative search may spend (it runs inside a filing request)."""


def find_alternatives(plan: FlightPlan, decision: Decision, facts: Facts, fp: Footprint | None = None
                      ) -> list[dict[str, Any]]:
    """Alternatives for a rejected or referred plan; only those that would be approved as filed."""
    codes = {r.code for r in decision.reasons if r.outcome is Outcome.REJECT}
    soft = {r.code for r in decision.reasons if r.outcome is Outcome.REFER}
    out: list[dict[str, Any]] = []
    if codes & {"above_category_ceiling"} or soft & {"above_suitable_airspace"}:
        alt = lower_band(plan, facts, fp or _fp(plan, facts))
        if alt:
            out.append(alt)
    if "airspace_forbidden" in codes:
        ids = [v["volume"] for r in decision.reasons if r.code == "airspace_forbidden"
               for v in r.details.get("volumes", []) if v.get("volume")]
        alt = reroute(plan, ids, facts)
        if alt:
            out.append(alt)
        else:
            alt = move_outside(plan, decision, facts)
            if alt:
                out.append(alt)
    if codes & {"band_outside_corridor", "conflict"} and codes <= {"band_outside_corridor"} | TIME_CODES:
        alt = other_band(plan, decision, facts, fp)
        if alt:
            out.append(alt)
    if codes and codes <= TIME_CODES:
        alt = nearest_time(plan, facts, not_before=_earliest(decision), fp=fp)
        if alt:
            out.append(alt)
    elif not codes and any(rs and {r.code for r in rs if r.outcome is Outcome.REJECT} <= TIME_CODES
                           and all(r.outcome is Outcome.REJECT for r in rs) for rs in decision.tried.values()):
        # referred, but another pathway (e.g. a released route) would approve it at another time
        alt = nearest_time(plan, facts, fp=fp)
        if alt:
            out.append(alt)
    return out


def after_withdrawal(plan: FlightPlan, facts: Facts, fp: Footprint | None = None) -> list[dict[str, Any]]:
    """The reroute offered with a withdrawal by a new restriction: every kind the machinery has.

    The plan is decided again against the airspace as it now is (the restriction in the index), so
    the restriction shows as ``airspace_forbidden`` and :func:`find_alternatives` offers a route around
    it (or the whole footprint moved out of it); another band in the same layer and the nearest start
    outside its window are tried as well (it may be short or shallow). Each offered one would be
    approved as filed; the operator re-files it as a new plan, decided by every rule as usual.
    """
    decision, fp = evaluate(plan, facts, fp, registry=False)
    out = find_alternatives(plan, decision, facts, fp)
    kinds = {a["kind"] for a in out}
    if "altitude" not in kinds:
        band = other_band(plan, decision, facts, fp)
        if band:
            out.append(band)
    if "time" not in kinds:
        when = nearest_time(plan, facts, not_before=_earliest(decision), fp=fp)
        if when:
            out.append(when)
    return out


def _earliest(decision: Decision) -> datetime | None:
    earliest = next((r.details.get("earliest_start") for r in decision.reasons if r.code == "filed_too_late"), None)
    return datetime.fromisoformat(earliest) if earliest else None


def _verdict(candidate: FlightPlan, facts: Facts, fp: Footprint | None = None) -> str | None:
    d, _ = evaluate(candidate, facts, fp, registry=False)
    return d.verdict.value if d.verdict is Verdict.APPROVED else None


def nearest_time(plan: FlightPlan, facts: Facts, *, not_before: datetime | None = None,
                 fp: Footprint | None = None) -> dict[str, Any] | None:
    """The closest shifted window that no rule rejects (searching later first, then earlier).

    ``fp``: the plan's footprint if already projected (a time shift moves no metre)."""
    step = facts.policy.alt_time_step
    base = timedelta(0)
    if not_before is not None and not_before > plan.start:
        base = not_before - plan.start
        base = step * -(-base // step)  # round up to a whole step
    horizon = int(facts.policy.alt_time_horizon / step)
    shifts: list[timedelta] = [base] if base else []
    for k in range(1, horizon + 1):
        shifts.append(base + k * step)
        if not base:
            shifts.append(-k * step)
    tried = 0
    base_fp = fp or footprint(plan, facts.airspace.terrain)  # a time shift moves no metre: project once
    for shift in shifts:
        start = plan.start + shift
        if start < facts.now:
            continue
        cand = replace(plan, start=start, end=plan.end + shift)
        fp = replace(base_fp, start_s=cand.start.timestamp(), end_s=cand.end.timestamp())
        if not _cheap_ok(cand, facts, fp):
            continue
        tried += 1
        verdict = _verdict(cand, facts, fp)
        if verdict:
            z, en = text("alt_time", start=local(cand.start, facts.policy.tz))
            return {"kind": "time", "start": iso(cand.start), "end": iso(cand.end),
                    "shift_min": int(shift.total_seconds() // 60), "expected": verdict,
                    "message_zh": z, "message_en": en}
        if tried >= MAX_TIME_TRIES:
            break
    return None


def _cheap_ok(cand: FlightPlan, facts: Facts, fp: Footprint | None = None) -> bool:
    """The aircraft's own bookings and deconfliction only (the rest runs in full on survivors):
    a busy aircraft would otherwise cost a full evaluation per candidate slot, on the event loop."""
    if facts.bookings and rule_aircraft(cand, facts.bookings, facts.policy).outcome is Outcome.REJECT:
        return False
    fp = fp or footprint(cand, facts.airspace.terrain)
    conflicts = facts.index.conflicts(fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s,
                                      exclude=cand.id, floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl)
    return all(c.priority < cand.priority and not c.active for c in conflicts) if conflicts else True


def other_band(plan: FlightPlan, decision: Decision, facts: Facts, fp: Footprint | None = None
               ) -> dict[str, Any] | None:
    """The same-height band nearest to the filed one, inside the same layer, that passes.

    ``fp``: the plan's footprint if already projected; each band's is derived from it (same area)."""
    corridor = next((r for r in decision.reasons if r.code == "band_outside_corridor"), None)
    candidates: list[tuple[Altitude, Altitude]] = []
    base = fp or _fp(plan, facts)
    if corridor is not None:
        route = facts.airspace.route(plan.corridor_id or "") or facts.airspace.corridor_for(plan, base)
        if route is not None:
            candidates.append((route.floor, route.ceiling))
    elif plan.floor.reference is AltitudeReference.AGL and plan.ceiling.reference is AltitudeReference.AGL:
        lo, hi = plan.floor.value_m, plan.ceiling.value_m
        height = hi - lo
        layer = next(((a, b) for a, b in LAYERS_AGL if a <= lo and hi <= b), None)
        if layer is not None:
            gap = height + facts.policy.v_buffer_m + 1.0
            offsets = sorted({k * gap for k in range(-8, 9) if k} | {layer[0] - lo, layer[1] - hi},
                             key=abs)
            for off in offsets:
                if off and layer[0] <= lo + off and hi + off <= layer[1]:
                    candidates.append((Altitude(lo + off, AltitudeReference.AGL),
                                       Altitude(hi + off, AltitudeReference.AGL)))
    for floor, ceiling in candidates[:8]:
        cand = replace(plan, floor=floor, ceiling=ceiling)
        cand_fp = rebanded(base, cand)
        if not _cheap_ok(cand, facts, cand_fp):
            continue
        verdict = _verdict(cand, facts, cand_fp)
        if verdict:
            z, en = text("alt_band", floor=str(floor), ceiling=str(ceiling), floor_zh=alt_zh(floor),
                         ceiling_zh=alt_zh(ceiling))
            return {"kind": "altitude", "floor": {"value_m": floor.value_m, "reference": floor.reference.value},
                    "ceiling": {"value_m": ceiling.value_m, "reference": ceiling.reference.value},
                    "expected": verdict, "message_zh": z, "message_en": en}
    return None


def lower_band(plan: FlightPlan, facts: Facts, fp: Footprint) -> dict[str, Any] | None:
    """The band lowered to the exempt true-height ceiling (inclusive), keeping its height where it fits.

    An AMSL ceiling becomes (lowest terrain + limit), so its true height is at most the limit everywhere.
    """
    limit = facts.policy.max_height_agl_m.get(plan.category)
    if limit is None:
        return None
    if plan.ceiling.reference is AltitudeReference.AGL:
        ceiling = Altitude(limit, AltitudeReference.AGL)
    else:
        ceiling = Altitude(float(int((fp.ground_min + limit) * 100) / 100), AltitudeReference.AMSL)
    height = plan.ceiling.value_m - plan.floor.value_m if plan.floor.reference is plan.ceiling.reference else 0.0
    if plan.floor.reference is AltitudeReference.AGL:
        floor = Altitude(max(0.0, min(plan.floor.value_m, limit - height)), AltitudeReference.AGL)
    else:
        floor = Altitude(min(plan.floor.value_m, ceiling.value_m - max(height, 1.0)), AltitudeReference.AMSL)
    if plan.floor.reference is AltitudeReference.AGL and floor.value_m >= ceiling.value_m and \
            ceiling.reference is AltitudeReference.AGL:
        return None
    cand = replace(plan, floor=floor, ceiling=ceiling)
    verdict = _verdict(cand, facts)
    if not verdict:
        return None
    z, en = text("alt_lower", ceiling=str(ceiling), ceiling_zh=alt_zh(ceiling))
    return {"kind": "altitude", "floor": {"value_m": floor.value_m, "reference": floor.reference.value},
            "ceiling": {"value_m": ceiling.value_m, "reference": ceiling.reference.value}, "lowered": True,
            "expected": verdict, "message_zh": z, "message_en": en}


def move_outside(plan: FlightPlan, decision: Decision, facts: Facts) -> dict[str, Any] | None:
    """Move the whole footprint to the nearest position outside the closed and approval-only volumes.

    Candidate directions: away from the nearest obstacle boundary, and the eight compass points;
    the shortest shift that clears the obstacle (plus the reroute margin) and is approved wins.
    """
    ids = {v["volume"] for r in decision.reasons if r.code in ("airspace_forbidden", "airspace_needs_approval")
           for v in r.details.get("volumes", []) if v.get("volume") and Reason(v["reason"]) in MOVE_REASONS}
    local_geom = geometry_to_local(plan.geometry)
    pad = facts.policy.reroute_margin_m + (plan.half_width_m if isinstance(plan.geometry, LineString) else 0.0)
    tried = 0
    for _ in range(3):
        obstacle = facts.airspace.forbidden_area_local(sorted(ids))
        if obstacle is None:
            return None
        obstacle = obstacle.buffer(pad)
        c = local_geom.centroid
        near = ops.nearest_points(obstacle.boundary, c)[0]
        dirs: list[tuple[float, float]] = []
        dx, dy = near.x - c.x, near.y - c.y
        if obstacle.contains(c) and (dx or dy):
            dirs.append((dx, dy))
        elif dx or dy:
            dirs.append((-dx, -dy))
        dirs += [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)]
        shifts = []
        for ux, uy in dirs:
            n = (ux * ux + uy * uy) ** 0.5
            ux, uy = ux / n, uy / n
            d = _clearing_shift(local_geom, obstacle, ux, uy)
            if d is not None:
                shifts.append((d, ux, uy))
        more: set[str] = set()
        for d, ux, uy in sorted(shifts)[:4]:
            moved = shapely.affinity.translate(local_geom, ux * d, uy * d)
            cand = replace(plan, geometry=geometry_to_wgs84(moved), takeoff=_shift_point(plan.takeoff, ux * d, uy * d),
                           landing=_shift_point(plan.landing, ux * d, uy * d))
            tried += 1
            dd, _ = evaluate(cand, facts, registry=False)
            if dd.verdict.value == "approved":
                z, en = text("alt_area", distance=d)
                return {"kind": "location", "geometry": mapping(cand.geometry), "takeoff": mapping(cand.takeoff),
                        "landing": mapping(cand.landing), "shift_m": round(d, 1), "avoids": sorted(ids),
                        "expected": "approved", "message_zh": z, "message_en": en}
            more |= {v["volume"] for r in dd.reasons if r.code in ("airspace_forbidden", "airspace_needs_approval")
                     for v in r.details.get("volumes", []) if v.get("volume") and Reason(v["reason"]) in MOVE_REASONS}
        if not more - ids:
            return None
        ids |= more
    return None


def _clearing_shift(geom: shapely.Geometry, obstacle: shapely.Geometry, ux: float, uy: float) -> float | None:
    """The smallest shift along (ux, uy), to 10 m, after which ``geom`` no longer meets ``obstacle``."""
    hi = 250.0
    while shapely.affinity.translate(geom, ux * hi, uy * hi).intersects(obstacle):
        hi *= 2
        if hi > MAX_MOVE_M:
            return None
    lo = 0.0
    while hi - lo > 10.0:
        mid = (lo + hi) / 2
        if shapely.affinity.translate(geom, ux * mid, uy * mid).intersects(obstacle):
            lo = mid
        else:
            hi = mid
    return hi


def _shift_point(p: shapely.Point, dx: float, dy: float) -> shapely.Point:
    x, y = to_local([p.x], [p.y])
    lon, lat = to_wgs84(x + dx, y + dy)
    return shapely.Point(float(lon[0]), float(lat[0]))


def _fp(plan: FlightPlan, facts: Facts) -> Footprint:
    return footprint(plan, facts.airspace.terrain)


def reroute(plan: FlightPlan, volume_ids: list[str], facts: Facts) -> dict[str, Any] | None:
    """A route (or the part of an area) that avoids the closed volumes (and any the detour meets)."""
    ids = set(volume_ids)
    for _ in range(3):
        new = _avoid(plan, sorted(ids), facts)
        if new is None:
            return None
        cand = replace(plan, geometry=new)
        d, _ = evaluate(cand, facts, registry=False)
        more = {v["volume"] for r in d.reasons if r.code == "airspace_forbidden"
                for v in r.details.get("volumes", []) if v.get("volume")}
        if more - ids:
            ids |= more
            continue
        if more:
            return None
        z, en = text("alt_route")
        out: dict[str, Any] = {"kind": "route", "geometry": mapping(new), "expected": d.verdict.value,
                               "message_zh": z, "message_en": en, "avoids": sorted(ids)}
        if d.verdict.value == "approved":
            return out
        if d.verdict.value == "referred":
            return None
        left = {r.code for r in d.reasons if r.outcome is Outcome.REJECT}
        if not left <= TIME_CODES:
            return None
        when = nearest_time(cand, facts, not_before=_earliest(d))
        if when is None:
            return None
        return {**out, "start": when["start"], "end": when["end"], "expected": when["expected"]}
    return None


def _avoid(plan: FlightPlan, volume_ids: list[str], facts: Facts) -> LineString | Polygon | None:
    obstacle = facts.airspace.forbidden_area_local(volume_ids)
    if obstacle is None:
        return None
    margin = facts.policy.reroute_margin_m + (plan.half_width_m if isinstance(plan.geometry, LineString) else 0)
    obstacle = obstacle.buffer(margin)
    local = geometry_to_local(plan.geometry)
    if isinstance(local, Polygon):
        rest = local.difference(obstacle)
        parts = getattr(rest, "geoms", [rest])
        best = max(parts, key=lambda g: g.area, default=None)
        if best is None or best.is_empty or not isinstance(best, Polygon):
            return None
        return geometry_to_wgs84(best)
    path = _detour(local, obstacle)
    return None if path is None else geometry_to_wgs84(path)


def _detour(line: LineString, obstacle: shapely.Geometry) -> LineString | None:
    parts = [Polygon(p.exterior) for p in getattr(obstacle, "geoms", [obstacle])]
    inner = [p.buffer(-20.0) for p in parts]  # the detour runs on the boundary: test against the inside
    for _ in range(6):
        crossing = [(line.project(line.intersection(q).representative_point()), p)
                    for p, q in zip(parts, inner, strict=True) if line.intersects(q)]
        if not crossing:
            return line
        _, poly = min(crossing, key=lambda c: c[0])
        if poly.contains(shapely.Point(line.coords[0])) or poly.contains(shapely.Point(line.coords[-1])):
            return None
        inter = line.intersection(poly)
        ds = [line.project(shapely.Point(c)) for c in shapely.get_coordinates(inter)]
        d0, d1 = min(ds), max(ds)
        ring = LineString(poly.exterior.coords)
        s0, s1 = ring.project(line.interpolate(d0)), ring.project(line.interpolate(d1))
        length = ring.length
        if s0 <= s1:
            a = ops.substring(ring, s0, s1)
            b = _join(ops.substring(ring, s0, 0), ops.substring(ring, length, s1))
        else:
            a = ops.substring(ring, s0, s1)
            b = _join(ops.substring(ring, s0, length), ops.substring(ring, 0, s1))
        around = a if a.length <= b.length else b
        head = ops.substring(line, 0, d0)
        tail = ops.substring(line, d1, line.length)
        coords = list(head.coords) + list(around.coords) + list(tail.coords)
        line = LineString(coords).simplify(5.0)
    return None


def _join(a: shapely.Geometry, b: shapely.Geometry) -> LineString:
    ca = list(getattr(a, "coords", []))
    cb = list(getattr(b, "coords", []))
    return LineString(ca + cb) if len(ca + cb) >= 2 else LineString([(0, 0), (0, 0)])
