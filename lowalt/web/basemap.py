"""The built-in offline basemap of the service area, written as PMTiles archives.

Why: a kiosk on a closed network has no tile server, and a blank grey map gives the duty officer no
sense of place. The archives are built from what this repository holds (``airspace_data/``: the airspace
volumes, the routes, the take-off/landing points, the landmark table with towns, hospitals, peaks and
airports, the derived ZSJD runway) plus a hillshade of the terrain model (``lowalt.geo.terrain``), and
served as static files: MapLibre reads them with the ``pmtiles://`` protocol over HTTP range requests.

* ``static/basemap/fuliang.pmtiles``: Mapbox vector tiles, zoom 4-12, layers ``area``, ``airspace``,
  ``routes``, ``pads``, ``places``, ``runway`` (feature properties ``id``, ``name_zh``, ``name_en``,
  ``kind``);
* ``static/basemap/hillshade.pmtiles``: PNG tiles, zoom 5-10, black with the shade as alpha (the
  terrain model is a ~1 km grid: more zoom would only magnify it).

Both are committed (about 1 MB together); rebuild after editing ``airspace_data/`` with
``python -m lowalt.web.basemap`` (a test checks the committed tiles equal a fresh build). The writer and
the vector-tile encoder are the ``pmtiles`` and ``mapbox-vector-tile`` packages (dev extras: the server
only serves the files). Any other archive (a Protomaps extract, a raster MBTiles converted with
``pmtiles convert``) is plugged in with ``LOWALT_BASEMAP_PMTILES`` (docs/map.md).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Point, box, shape
from shapely.geometry.base import BaseGeometry

from lowalt.geo.terrain import GridTerrain, airspace_data_dir, default_terrain

OUT_DIR = Path(__file__).resolve().parent / "static" / "basemap"
VECTOR_NAME = "fuliang.pmtiles"
HILLSHADE_NAME = "hillshade.pmtiles"
BBOX = (115.7, 28.7, 118.6, 29.95)
"""The service area (``service_area_bbox`` of every airspace file), lon/lat degrees."""
VECTOR_ZOOMS = range(4, 13)
HILLSHADE_ZOOMS = range(5, 11)
EXTENT = 4096
BUFFER = 64  # tile units kept outside each tile edge, so strokes do not stop at tile seams
R = 6378137.0
ZSJD_RUNWAY = {"bearing_deg": 40.0, "half_length_m": 1200.0}
"""Runway 04/22 of Luojia (ZSJD): true bearing from the designator, 2,400 m, ARP at its midpoint (derived,
as ``airspace_data/build_fuliang.py`` assumes)."""
PLACE_KINDS = {"town", "city_centre", "destination", "hospital", "terrain_peak", "airport_controlled"}
"""Landmark kinds drawn as places (the rest: sites already drawn as airspace or pads)."""


@dataclass(frozen=True)
class Feature:
    layer: str
    geometry: BaseGeometry  # lon/lat degrees
    properties: dict[str, str | int | float]
    min_zoom: int = 0


def merc(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 degrees to Web Mercator metres (EPSG:3857)."""
    x = math.radians(lon) * R
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * R
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (minx, miny, maxx, maxy) of tile z/x/y (XYZ scheme, y down)."""
    size = 2 * math.pi * R / 2**z
    minx = -math.pi * R + x * size
    maxy = math.pi * R - y * size
    return minx, maxy - size, minx + size, maxy


def tiles_covering(z: int, bbox: tuple[float, float, float, float]) -> Iterator[tuple[int, int]]:
    """Every (x, y) of zoom ``z`` that intersects the lon/lat ``bbox``."""
    n = 2**z

    def tx(lon: float) -> int:
        return int(min(n - 1, int((lon + 180.0) / 360.0 * n)))

    def ty(lat: float) -> int:
        r = math.radians(lat)
        return int(min(n - 1, int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)))

    for x in range(tx(bbox[0]), tx(bbox[2]) + 1):
        for y in range(ty(bbox[3]), ty(bbox[1]) + 1):
            yield x, y


def _to_merc(geom: BaseGeometry) -> BaseGeometry:
    def project(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        return np.column_stack([lon * R, np.log(np.tan(np.pi / 4 + lat / 2)) * R])

    out: BaseGeometry = shapely.transform(geom, project)
    return out


def _names(p: dict[str, Any]) -> dict[str, str | int | float]:
    return {"id": str(p["id"]), "name_zh": str(p.get("name_zh") or ""), "name_en": str(p.get("name_en") or ""),
            "kind": str(p.get("kind") or "")}


def _runway(lon: float, lat: float) -> LineString:
    b = math.radians(ZSJD_RUNWAY["bearing_deg"])
    d = ZSJD_RUNWAY["half_length_m"]
    dlat = d * math.cos(b) / 111_320.0
    dlon = d * math.sin(b) / (111_320.0 * math.cos(math.radians(lat)))
    return LineString([(lon - dlon, lat - dlat), (lon + dlon, lat + dlat)])


def service_area_features(data_dir: Path | None = None) -> list[Feature]:
    """The basemap's features from ``airspace_data/`` (pure: reads the files, no network)."""
    root = data_dir or airspace_data_dir()
    out: list[Feature] = [Feature("area", box(*BBOX).exterior, {"id": "service_area", "name_zh": "服务区",
                                                                 "name_en": "Service area", "kind": "area"})]
    for layer, name in (("airspace", "volumes"), ("routes", "routes"), ("pads", "points")):
        doc = json.loads((root / "fuliang" / f"{name}.geojson").read_text(encoding="utf-8"))
        for f in doc["features"]:
            p = f["properties"]
            geom = shape(f["geometry"])
            extra: dict[str, str | int | float] = {}
            if layer == "airspace":
                extra = {"class": str(p.get("class") or "")}
            out.append(Feature(layer, geom, _names(p) | extra, 8 if layer == "pads" and p.get("kind") == "temporary_pad" else 0))
    with (root / "sources" / "landmarks.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row["lat"] or not row["lon"] or row["kind"] not in PLACE_KINDS:
                continue
            lon, lat = float(row["lon"]), float(row["lat"])
            props = {"id": row["id"], "name_zh": row["name_zh"], "name_en": row["name_en"], "kind": row["kind"]}
            if row["elev_m"]:
                props["elev_m"] = float(row["elev_m"])
            out.append(Feature("places", Point(lon, lat), props, 9 if row["kind"] == "hospital" else 0))
            if row["id"] == "zsjd_arp":
                out.append(Feature("runway", _runway(lon, lat), {"id": "zsjd_04_22", "name_zh": "04/22",
                                                                  "name_en": "RWY 04/22", "kind": "runway"}))
    return out


def vector_tiles(features: list[Feature], zooms: range = VECTOR_ZOOMS) -> Iterator[tuple[int, int, int, bytes]]:
    """(z, x, y, gzipped MVT) for every tile of the service area that holds a feature."""
    import mapbox_vector_tile

    layers = sorted({f.layer for f in features})
    merc_geoms = [(f, _to_merc(f.geometry)) for f in features]
    for z in zooms:
        for x, y in tiles_covering(z, BBOX):
            b = tile_bounds(z, x, y)
            pad = (b[2] - b[0]) * BUFFER / EXTENT
            clip = box(b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
            by_layer: dict[str, list[dict[str, Any]]] = {name: [] for name in layers}
            for f, g in merc_geoms:
                if z < f.min_zoom or not g.intersects(clip):
                    continue
                part = g.intersection(clip)
                if part.is_empty:
                    continue
                by_layer[f.layer].append({"geometry": part, "properties": f.properties})
            tile_layers = [{"name": name, "features": feats} for name, feats in by_layer.items() if feats]
            if not tile_layers:
                continue
            with warnings.catch_warnings():  # the encoder still calls shapely.ops.transform (deprecated)
                warnings.simplefilter("ignore", DeprecationWarning)
                data = mapbox_vector_tile.encode(tile_layers, default_options={"quantize_bounds": b, "extents": EXTENT})
            yield z, x, y, gzip.compress(data, mtime=0)


def hillshade(elev: npt.NDArray[np.float64], dx_m: float, dy_m: float) -> npt.NDArray[np.uint8]:
    """Shade alpha (0 = lit, 255 = black) of an elevation grid (rows north to south), sun from the NW at 45°.

    ``elev`` has a one-cell border (it is trimmed); NaN (outside the model) gives 0 (no shade)."""
    gy, gx = np.gradient(elev, dy_m, dx_m)
    slope = np.arctan(np.hypot(gx, gy) * 6.0)  # 6x vertical exaggeration: the model is a smooth ~1 km grid
    aspect = np.arctan2(-gx, gy)  # rows go south: gy > 0 means the ground falls to the north
    az, alt = math.radians(315.0), math.radians(45.0)
    lit = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    shade = np.clip((np.sin(alt) - lit) / np.sin(alt), 0.0, 1.0)  # 0 on flat ground, 1 in full shadow
    alpha = np.where(np.isfinite(shade), np.round(shade * 180.0 / 10.0) * 10.0, 0.0)
    return alpha[1:-1, 1:-1].astype(np.uint8)


def hillshade_tiles(terrain: GridTerrain, zooms: range = HILLSHADE_ZOOMS) -> Iterator[tuple[int, int, int, bytes]]:
    """(z, x, y, PNG) of the terrain's hillshade (grey-alpha, 256 px) over the service area."""
    from PIL import Image

    n = 256
    for z in zooms:
        for x, y in tiles_covering(z, BBOX):
            minx, miny, maxx, maxy = tile_bounds(z, x, y)
            px = (maxx - minx) / n
            mx = minx + (np.arange(-1, n + 1) + 0.5) * px
            my = maxy - (np.arange(-1, n + 1) + 0.5) * px
            lon = np.degrees(mx / R)
            lat = np.degrees(2 * np.arctan(np.exp(my / R)) - math.pi / 2)
            lo, la = np.meshgrid(lon, lat)
            elev = terrain.elevation(lo.ravel(), la.ravel()).reshape(lo.shape)
            # every tile of the area is written, blank ones too (one shared copy in the archive): MapLibre
            # keeps waiting on a raster tile the archive lacks
            ground = px * math.cos(math.radians(float(lat.mean())))  # metres per pixel on the ground
            alpha = hillshade(elev, ground, ground)
            rgba = np.zeros((n, n, 2), dtype=np.uint8)
            rgba[..., 1] = alpha
            buf = io.BytesIO()
            Image.fromarray(rgba, mode="LA").save(buf, format="PNG", optimize=True)
            yield z, x, y, buf.getvalue()


def write_pmtiles(path: Path, tiles: list[tuple[int, int, int, bytes]], *, vector: bool,
                  metadata: dict[str, Any]) -> None:
    """Write ``tiles`` (sorted by tile id, as the format wants) into a PMTiles v3 archive."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    entries = sorted((zxy_to_tileid(z, x, y), data) for z, x, y, data in tiles)
    path.parent.mkdir(parents=True, exist_ok=True)
    e7 = [round(v * 1e7) for v in BBOX]
    with path.open("wb") as fh:
        writer = Writer(fh)  # type: ignore[no-untyped-call]
        for tile_id, data in entries:
            writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
        writer.finalize({  # type: ignore[no-untyped-call]
            "tile_type": TileType.MVT if vector else TileType.PNG,
            "tile_compression": Compression.GZIP if vector else Compression.NONE,
            "min_lon_e7": e7[0], "min_lat_e7": e7[1], "max_lon_e7": e7[2], "max_lat_e7": e7[3],
            "center_zoom": 9, "center_lon_e7": round(117.21e7), "center_lat_e7": round(29.30e7),
        }, metadata)


def build(out_dir: Path = OUT_DIR, data_dir: Path | None = None) -> dict[str, int]:
    """Build both archives into ``out_dir``; returns their sizes in bytes."""
    feats = service_area_features(data_dir)
    attribution = "lowalt airspace_data (illustrative, NOT FOR OPERATIONAL USE)"
    vector_layers = [{"id": name, "fields": {"id": "String", "name_zh": "String", "name_en": "String",
                                             "kind": "String"}}
                     for name in sorted({f.layer for f in feats})]
    write_pmtiles(out_dir / VECTOR_NAME, list(vector_tiles(feats)), vector=True, metadata={
        "name": "lowalt service area", "format": "pbf", "attribution": attribution,
        "vector_layers": vector_layers, "generator": "lowalt.web.basemap"})
    write_pmtiles(out_dir / HILLSHADE_NAME, list(hillshade_tiles(default_terrain())), vector=False, metadata={
        "name": "lowalt hillshade", "format": "png", "generator": "lowalt.web.basemap",
        "attribution": "terrain: approximate grid from spot heights (lowalt.geo.terrain), NOT a DEM"})
    return {name: (out_dir / name).stat().st_size for name in (VECTOR_NAME, HILLSHADE_NAME)}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT_DIR
    sizes = build(out)
    for name, size in sizes.items():
        sys.stdout.write(f"{out / name}: {size:,} bytes\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
