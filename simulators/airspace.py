"""The airspace as the simulator sees it: fetched from the server's public ``/airspace/*`` API.

Missions are built from what the server publishes (points, routes, volumes as GeoJSON), like an
operator's planning tool would. Reading ``airspace_data/fuliang`` directly is only a fallback for
offline unit tests (``Airspace.from_files``); a live run always asks the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, shape

FILES_DIR = Path(__file__).resolve().parent.parent / "airspace_data" / "fuliang"
AVOID_KINDS = ("restricted", "no_fly")
"""Volume kinds a random mission is kept out of (controlled airspace is filed for and referred)."""


@dataclass(frozen=True)
class PointInfo:
    id: str
    kind: str
    lon: float
    lat: float
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class RouteInfo:
    id: str
    kind: str
    coords: tuple[tuple[float, float], ...]
    floor_m: float
    ceiling_m: float
    ref: str
    """Altitude reference of the band (routes with mixed references are not flown)."""
    half_width_m: float
    allowed: tuple[str, ...]
    two_way: bool


@dataclass
class Airspace:
    points: dict[str, PointInfo] = field(default_factory=dict)
    routes: dict[str, RouteInfo] = field(default_factory=dict)
    avoid: list[tuple[str, Any]] = field(default_factory=list)
    """(volume id, shapely polygon lon/lat) for volumes a random drone mission should stay out of."""

    @classmethod
    def from_geojson(cls, points: dict[str, Any], routes: dict[str, Any], volumes: dict[str, Any]) -> Airspace:
        a = cls()
        for f in points.get("features", []):
            p = f["properties"]
            lon, lat = f["geometry"]["coordinates"][:2]
            a.points[p["id"]] = PointInfo(p["id"], p.get("kind", ""), float(lon), float(lat),
                                          tuple(p.get("allowed_categories") or ()))
        for f in routes.get("features", []):
            p = f["properties"]
            if f["geometry"]["type"] != "LineString" or p.get("floor_ref") != p.get("ceiling_ref"):
                continue
            a.routes[p["id"]] = RouteInfo(
                p["id"], p.get("kind", ""), tuple((float(c[0]), float(c[1])) for c in f["geometry"]["coordinates"]),
                float(p["floor_m"]), float(p["ceiling_m"]), str(p["floor_ref"]), float(p.get("half_width_m", 100)),
                tuple(p.get("allowed_categories") or ()), p.get("direction") == "two_way")
        for f in volumes.get("features", []):
            p = f["properties"]
            if p.get("kind") in AVOID_KINDS and float(p.get("floor_m", 0)) < 1000:  # not the high E layer
                a.avoid.append((p["id"], shape(f["geometry"])))
        return a

    @classmethod
    def from_files(cls, folder: Path = FILES_DIR) -> Airspace:
        """Offline fallback (unit tests): the committed data set, without the server."""
        def read(name: str) -> dict[str, Any]:
            return dict(json.loads((folder / f"{name}.geojson").read_text(encoding="utf-8")))

        return cls.from_geojson(read("points"), read("routes"), read("volumes"))

    def path_blocked(self, coords: list[list[float]], margin_deg: float = 0.012) -> str | None:
        """Id of an avoided volume within ~1.2 km of a path (lon/lat), else None.

        The server predicts intrusions by straight-line look-ahead (60 s, up to ~1 km for a fast
        drone), so a mission placed closer than that to a restricted area would raise predicted
        intrusions at the end of every leg pointing at it, although it never enters.
        """
        from shapely.geometry import LineString

        geom = Point(coords[0]) if len(coords) < 2 else LineString(coords)
        g = geom.buffer(margin_deg)
        for vid, poly in self.avoid:
            if shapely.intersects(poly, g):
                return vid
        return None

    def blocked(self, lon: float, lat: float, margin_deg: float = 0.005) -> str | None:
        """Id of an avoided volume within ~500 m of the point, else None."""
        pt = Point(lon, lat).buffer(margin_deg)
        for vid, poly in self.avoid:
            if shapely.intersects(poly, pt):
                return vid
        return None
