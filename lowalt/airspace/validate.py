"""Validation of an airspace data folder: a pure function returning every problem found.

:func:`validate_airspace` reads ``volumes.geojson``, ``points.geojson``, ``routes.geojson``
and (optional) ``restrictions.geojson`` and reports, per feature:

- unreadable file / not a FeatureCollection; missing required property; unknown class,
  kind, category, reference, direction, provenance (any enum value); wrong geometry type;
- invalid polygon (self-intersection, too few points: shapely's validity reason) or
  non-simple route centreline;
- floor not below ceiling (mixed references compared in AMSL using the terrain at the
  polygon's representative point / the route's highest terrain);
- outside the service area (:data:`SERVICE_AREA_BBOX`); when swapping lon/lat would put
  it inside, the message says "lon/lat swapped?";
- duplicate ids (across all files of the folder);
- open volume with a controlled class (A-E) — contradictory;
- route ``from_id``/``to_id``/``crossings`` naming unknown features, or endpoints more than
  1 km from the named vertiport;
- route band below terrain: an AMSL floor lower than the highest terrain sampled along
  the corridor (centreline and both edges every ~250 m) — checked where the terrain is known;
- conflicting routes (see :func:`route_conflicts`).

Conflicting routes: two route corridors whose horizontal overlap (ignoring discs of
:data:`SHARED_ENDPOINT_RADIUS_M` around endpoints the two routes share, where routes merge
at a vertiport or a leg joins the next) is non-empty and whose altitude bands overlap
(strictly; touching bands are separated) at that place, unless one route lists the other
in ``crossings`` (a designated crossing, CCAR-92 §92.513: crossings separated by altitude
or procedure), or both are one-way and flow in the same direction there (within 30 deg).
The message distinguishes one-way routes in opposite directions from crossings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from lowalt.airspace.geojson import (
    PARSERS,
    POINTS_FILE,
    RESTRICTIONS_FILE,
    ROUTES_FILE,
    VOLUMES_FILE,
    AirspaceDataError,
    FeatureError,
    feature_id,
    read_feature_collection,
)
from lowalt.airspace.model import Restriction, Route, RouteDirection, Vertiport, Volume, VolumeKind
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.geo.crs import geometry_to_local, to_wgs84
from lowalt.geo.terrain import TerrainModel, default_terrain

SERVICE_AREA_BBOX = (115.70, 28.70, 118.60, 29.95)
"""(min_lon, min_lat, max_lon, max_lat) of the Jingdezhen service area incl. the routes to
Lushan (115.98 E), Huangshan/Tunxi (118.32 E, 29.73 N), Sanqingshan (28.92 N) and Wuyuan."""

SHARED_ENDPOINT_RADIUS_M = 3000.0
ENDPOINT_TOLERANCE_M = 1000.0
_SAME_DIRECTION_COS = math.cos(math.radians(30.0))


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the data."""

    file: str
    """File name (e.g. volumes.geojson)."""
    feature_id: str | None
    """Feature id, or None for file-level problems / features without an id."""
    message: str
    """What is wrong."""

    def __str__(self) -> str:
        return f"{self.file}: {self.feature_id or '-'}: {self.message}"


def _in_bbox(geom: BaseGeometry, bbox: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = geom.bounds
    eps = 1e-6
    return bool(x0 >= bbox[0] - eps and y0 >= bbox[1] - eps and x1 <= bbox[2] + eps and y1 <= bbox[3] + eps)


def _area_problem(geom: BaseGeometry, bbox: tuple[float, float, float, float]) -> str | None:
    if _in_bbox(geom, bbox):
        return None
    swapped = shapely.transform(geom, lambda c: c[:, ::-1])
    x0, y0, x1, y1 = geom.bounds
    where = f"bounds lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}"
    if _in_bbox(swapped, bbox):
        return f"lies outside the service area ({where}): lon/lat swapped?"
    return f"lies outside the service area {bbox} ({where})"


def _amsl(a: Altitude, terrain_m: float) -> float:
    return a.value_m + terrain_m if a.reference is AltitudeReference.AGL else a.value_m


def _limits_problem(floor: Altitude, ceiling: Altitude, terrain_m: float) -> str | None:
    if floor.reference is ceiling.reference:
        if floor.value_m >= ceiling.value_m:
            return f"floor {floor} is not below ceiling {ceiling}"
        return None
    if math.isnan(terrain_m):
        return None
    f, c = _amsl(floor, terrain_m), _amsl(ceiling, terrain_m)
    if f >= c:
        return (f"floor {floor} is not below ceiling {ceiling} (= {f:.0f} vs {c:.0f} m AMSL with terrain "
                f"{terrain_m:.0f} m)")
    return None


def _terrain_at(geom: BaseGeometry, terrain: TerrainModel) -> float:
    p = geom.representative_point()
    return float(terrain.elevation(p.x, p.y))


def _corridor_samples(route: Route, step_m: float = 250.0) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat of points on the centreline and both corridor edges, every ~step_m."""
    c = geometry_to_local(route.centreline)
    lines = [c]
    for side in (route.half_width_m, -route.half_width_m):
        off = c.offset_curve(side)
        if not off.is_empty:
            lines.append(off)
    coords = np.vstack([shapely.get_coordinates(shapely.segmentize(ln, step_m)) for ln in lines])
    return to_wgs84(coords[:, 0], coords[:, 1])


def route_band_problem(route: Route, terrain: TerrainModel) -> str | None:
    """An AMSL floor (or ceiling) below the highest terrain under the corridor, if any."""
    if route.floor.reference is AltitudeReference.AGL and route.ceiling.reference is AltitudeReference.AGL:
        return None
    lon, lat = _corridor_samples(route)
    z = np.asarray(terrain.elevation(lon, lat), dtype=np.float64)
    if np.all(np.isnan(z)):
        return None
    k = int(np.nanargmax(z))
    top = float(z[k])
    for label, alt in (("floor", route.floor), ("ceiling", route.ceiling)):
        if alt.reference is AltitudeReference.AMSL and alt.value_m <= top:
            return (f"band {label} {alt} is below terrain {top:.0f} m AMSL at "
                    f"({lon[k]:.4f}, {lat[k]:.4f})")
    return None


def _direction_at(line_local: LineString, p: Point) -> np.ndarray:
    s = line_local.project(p)
    a = line_local.interpolate(max(s - 25.0, 0.0))
    b = line_local.interpolate(min(s + 25.0, line_local.length))
    d = np.array([b.x - a.x, b.y - a.y])
    n = float(np.hypot(*d))
    return d / n if n > 0 else d


def route_conflicts(routes: list[Route], terrain: TerrainModel) -> list[tuple[str, str, str]]:
    """Pairs of conflicting routes as (id_a, id_b, message); see the module docstring."""
    out: list[tuple[str, str, str]] = []
    locals_ = [geometry_to_local(r.centreline) for r in routes]
    corridors = [ln.buffer(r.half_width_m, cap_style="flat") for r, ln in zip(routes, locals_, strict=True)]
    tree = shapely.STRtree(corridors)
    ia, ib = tree.query(np.array(corridors, dtype=object), predicate="intersects")
    for i, j in zip(ia.tolist(), ib.tolist(), strict=True):
        if i >= j:
            continue
        a, b = routes[i], routes[j]
        if b.id in a.crossings or a.id in b.crossings:
            continue
        overlap = corridors[i].intersection(corridors[j])
        ends_a = [Point(c) for c in (locals_[i].coords[0], locals_[i].coords[-1])]
        ends_b = [Point(c) for c in (locals_[j].coords[0], locals_[j].coords[-1])]
        for ea in ends_a:
            for eb in ends_b:
                if ea.distance(eb) <= 50.0:
                    overlap = overlap.difference(ea.buffer(SHARED_ENDPOINT_RADIUS_M))
        if overlap.is_empty or overlap.area < 1.0:
            continue
        p = overlap.representative_point()
        plon, plat = (float(v) for v in to_wgs84(p.x, p.y))
        g = float(terrain.elevation(plon, plat))
        g = 0.0 if math.isnan(g) else g
        fa, ca = _amsl(a.floor, g), _amsl(a.ceiling, g)
        fb, cb = _amsl(b.floor, g), _amsl(b.ceiling, g)
        if not (max(fa, fb) < min(ca, cb)):
            continue
        where = f"near ({plon:.4f}, {plat:.4f})"
        bands = f"bands {fa:.0f}-{ca:.0f} and {fb:.0f}-{cb:.0f} m AMSL overlap"
        if a.direction is RouteDirection.ONE_WAY and b.direction is RouteDirection.ONE_WAY:
            dot = float(_direction_at(locals_[i], p) @ _direction_at(locals_[j], p))
            if dot >= _SAME_DIRECTION_COS:
                continue
            if dot <= -_SAME_DIRECTION_COS:
                out.append((a.id, b.id, f"one-way routes {a.id} and {b.id} overlap in opposite directions {where}; "
                                        f"{bands}"))
                continue
        out.append((a.id, b.id, f"routes {a.id} and {b.id} cross {where} without a designated crossing; {bands}"))
    return out


def _parse_file(path: Path, problems: list[Problem], ids: dict[str, str]) -> list[Any]:
    name = path.name
    try:
        doc = read_feature_collection(path)
    except AirspaceDataError as exc:
        problems.append(Problem(name, None, exc.message))
        return []
    parser = PARSERS[name]
    out = []
    for k, f in enumerate(doc["features"]):
        if not isinstance(f, Mapping) or f.get("type") != "Feature":
            problems.append(Problem(name, None, f"features[{k}] is not a GeoJSON Feature"))
            continue
        fid = feature_id(f)
        if fid is not None:
            if fid in ids:
                problems.append(Problem(name, fid, f"duplicate id (also in {ids[fid]})"))
            else:
                ids[fid] = name
        try:
            out.append(parser(f))
        except FeatureError as exc:
            problems.append(Problem(name, fid, str(exc)))
    return out


def validate_airspace(
    path: str | Path,
    terrain: TerrainModel | None = None,
    bbox: tuple[float, float, float, float] = SERVICE_AREA_BBOX,
) -> list[Problem]:
    """Every problem in the data folder ``path`` (empty list = clean). Pure apart from reading files."""
    folder = Path(path)
    terrain = terrain or default_terrain()
    problems: list[Problem] = []
    if not folder.is_dir():
        return [Problem(str(folder), None, "not a directory")]
    ids: dict[str, str] = {}
    parsed: dict[str, list[Any]] = {}
    for name in PARSERS:
        fp = folder / name
        if not fp.exists():
            if name != RESTRICTIONS_FILE:
                problems.append(Problem(name, None, f"file missing in {folder}"))
            parsed[name] = []
            continue
        parsed[name] = _parse_file(fp, problems, ids)

    volumes: list[Volume] = parsed[VOLUMES_FILE]
    restrictions: list[Restriction] = parsed[RESTRICTIONS_FILE]
    for file, items in ((VOLUMES_FILE, volumes), (RESTRICTIONS_FILE, restrictions)):
        for v in items:
            if not v.polygon.is_valid:
                problems.append(Problem(file, v.id, f"invalid polygon: {shapely.is_valid_reason(v.polygon)}"))
                continue
            if v.polygon.is_empty:
                problems.append(Problem(file, v.id, "empty polygon"))
                continue
            msg = _area_problem(v.polygon, bbox)
            if msg:
                problems.append(Problem(file, v.id, msg))
            msg = _limits_problem(v.floor, v.ceiling, _terrain_at(v.polygon, terrain))
            if msg:
                problems.append(Problem(file, v.id, msg))
            if isinstance(v, Volume) and v.kind is VolumeKind.OPEN and v.airspace_class.controlled:
                problems.append(Problem(file, v.id, f"class {v.airspace_class} is controlled but kind is 'open'"))

    points: list[Vertiport] = parsed[POINTS_FILE]
    by_id = {p.id: p for p in points}
    for p in points:
        msg = _area_problem(p.point, bbox)
        if msg:
            problems.append(Problem(POINTS_FILE, p.id, msg))

    routes: list[Route] = parsed[ROUTES_FILE]
    route_ids = {r.id for r in routes}
    good_routes: list[Route] = []
    for r in routes:
        c = r.centreline
        if len(c.coords) < 2 or c.length == 0:
            problems.append(Problem(ROUTES_FILE, r.id, "centreline needs at least two distinct points"))
            continue
        if not c.is_simple:
            problems.append(Problem(ROUTES_FILE, r.id, "centreline crosses itself (not simple)"))
            continue
        msg = _area_problem(c, bbox)
        if msg:
            problems.append(Problem(ROUTES_FILE, r.id, msg))
            continue
        band_terrain = float(np.nanmax(terrain.elevation(*_corridor_samples(r))))
        msg = _limits_problem(r.floor, r.ceiling, band_terrain)
        if msg:
            problems.append(Problem(ROUTES_FILE, r.id, msg))
        msg = route_band_problem(r, terrain)
        if msg:
            problems.append(Problem(ROUTES_FILE, r.id, msg))
        for label, pid, end in (("from_id", r.from_id, c.coords[0]), ("to_id", r.to_id, c.coords[-1])):
            if pid is None:
                continue
            if pid not in by_id:
                problems.append(Problem(ROUTES_FILE, r.id, f"{label} {pid!r} is not a point in {POINTS_FILE}"))
                continue
            vp = by_id[pid].point
            d = geometry_to_local(Point(end)).distance(geometry_to_local(vp))
            if d > ENDPOINT_TOLERANCE_M:
                problems.append(Problem(ROUTES_FILE, r.id, f"{label} {pid!r} is {d:.0f} m from the centreline end"))
        for other in sorted(r.crossings - route_ids):
            problems.append(Problem(ROUTES_FILE, r.id, f"crossings names unknown route {other!r}"))
        good_routes.append(r)
    for a, _b, msg in route_conflicts(good_routes, terrain):
        problems.append(Problem(ROUTES_FILE, a, msg))
    return problems
