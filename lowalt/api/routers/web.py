"""The live map page (``/``), its static assets (``/static/...``) and its configuration (``/web/config``).

Everything the page needs ships in ``lowalt/web/static`` (MapLibre GL JS included), so it works on a
closed network. The page itself needs no token to load; it asks for one (sign-in form or ``?token=``).

Configuration, read once per app from the environment (``app.state.web_config`` may be set in tests):

* ``LOWALT_BASEMAP_URL``: optional raster tile template, e.g. OSM
  ``https://tile.openstreetmap.org/{z}/{x}/{y}.png`` or Tianditu with the user's key
  ``https://t0.tianditu.gov.cn/vec_w/wmts?...&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY``.
  Unset (the default): a plain offline basemap, no request leaves the server.
* ``LOWALT_BASEMAP_CRS``: ``wgs84`` (default; OSM, Tianditu) or ``gcj02`` (AMap/Tencent style tiles):
  with ``gcj02`` the page converts every overlay coordinate so that it lines up with the tiles.
* ``LOWALT_BASEMAP_ATTRIBUTION``: attribution text shown on the map for the raster source.
* ``LOWALT_BASEMAP_PMTILES`` (``Settings.basemap_pmtiles``): a PMTiles archive served at
  ``/web/basemap.pmtiles`` (HTTP range requests) and drawn under the overlays. The built-in service-area
  archives (``static/basemap/``, built by ``lowalt.web.basemap``) are drawn in any case.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from lowalt import __version__
from lowalt.api.schemas import FeatureCollection, MapConfig, documented

router = APIRouter(tags=["web"])

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "web" / "static"
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidate (ETag) so a new release is picked up at once
CONTEXT_KINDS = ("open",)


@dataclass(frozen=True)
class WebConfig:
    basemap_url: str | None = None
    """Raster tile URL template ({z}/{x}/{y}); None: the offline basemap only."""
    basemap_crs: str = "wgs84"
    """``wgs84`` or ``gcj02``: the datum the raster tiles are drawn in."""
    basemap_attribution: str = ""
    centre: tuple[float, float] = (117.21, 29.30)
    """Initial map centre, lon/lat degrees (WGS84), between Jingdezhen and Fuliang."""
    zoom: float = 10.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WebConfig:
        e = dict(os.environ if env is None else env)
        crs = (e.get("LOWALT_BASEMAP_CRS") or "wgs84").strip().lower()
        if crs not in ("wgs84", "gcj02"):
            raise ValueError(f"LOWALT_BASEMAP_CRS: expected wgs84 or gcj02, got {crs!r}")
        return cls(basemap_url=e.get("LOWALT_BASEMAP_URL") or None, basemap_crs=crs,
                   basemap_attribution=e.get("LOWALT_BASEMAP_ATTRIBUTION", ""))


def _config(request: Request) -> WebConfig:
    cfg = getattr(request.app.state, "web_config", None)
    if cfg is None:
        cfg = request.app.state.web_config = WebConfig.from_env()
    return cfg


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/portal", include_in_schema=False)
async def portal() -> FileResponse:
    """The operator portal (issue #22; its ES modules are under ``/static/portal/``)."""
    return FileResponse(STATIC_DIR / "portal" / "index.html", media_type="text/html; charset=utf-8",
                        headers=NO_CACHE)


@router.get("/docs", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    """Swagger UI from the bundled assets (``static/vendor/swagger-ui``): it works on a closed network."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="lowalt API",
                               swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                               swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                               swagger_favicon_url="data:,", oauth2_redirect_url="/docs/oauth2-redirect")


@router.get("/docs/oauth2-redirect", include_in_schema=False)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", include_in_schema=False)
async def redoc() -> HTMLResponse:
    """ReDoc from the bundled standalone script (``static/vendor/redoc``), no web fonts fetched."""
    return get_redoc_html(openapi_url="/openapi.json", title="lowalt API",
                          redoc_js_url="/static/vendor/redoc/redoc.standalone.js", redoc_favicon_url="data:,",
                          with_google_fonts=False)


_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
          ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8", ".html": "text/html"}


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str) -> FileResponse:
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise HTTPException(404, f"no static file {path!r}")
    return FileResponse(target, media_type=_TYPES.get(target.suffix, "application/octet-stream"), headers=NO_CACHE)


@router.get("/web/config", response_model=None, responses=documented(MapConfig),
            summary="Map page configuration (basemap source and datum, initial view, terrain grid)")
async def web_config(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    terrain = _terrain_grid(Path(settings.airspace_dir), getattr(settings, "dem_path", None))
    pmtiles = {"builtin": "/static/basemap/fuliang.pmtiles", "hillshade": "/static/basemap/hillshade.pmtiles",
               "custom": "/web/basemap.pmtiles" if getattr(settings, "basemap_pmtiles", None) else None}
    return {**asdict(_config(request)), "version": __version__, "terrain": terrain, "basemap_pmtiles": pmtiles}


@router.get("/web/basemap.pmtiles", include_in_schema=False)
async def basemap_pmtiles(request: Request) -> FileResponse:
    """The archive of ``LOWALT_BASEMAP_PMTILES``; MapLibre's pmtiles protocol reads it by HTTP range requests
    (Starlette's ``FileResponse`` answers ``Range`` with 206), so a planet-sized extract is never sent whole."""
    path = getattr(request.app.state.settings, "basemap_pmtiles", None)
    if not path:
        raise HTTPException(404, "no basemap archive configured (LOWALT_BASEMAP_PMTILES)")
    return FileResponse(path, media_type="application/vnd.pmtiles", headers=NO_CACHE)


TERRAIN_STEP_DEG = 0.02
"""Spacing of the terrain grid sent to the page (about 2 km): enough to put AGL and AMSL on one scale."""


@lru_cache(maxsize=4)
def _terrain_grid(airspace_dir: Path, dem_path: Path | None) -> dict[str, Any] | None:
    """Terrain heights (metres AMSL, whole metres, row 0 south) over the extent of the airspace data set.

    The page converts between AGL and AMSL with it (altitude filter, aircraft card); None without data.
    """
    import numpy as np

    from lowalt.services.airspace import load_terrain

    path = airspace_dir / "volumes.geojson"
    if not path.is_file():
        return None
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for x in c:
                walk(x)

    for f in json.loads(path.read_text(encoding="utf-8")).get("features", []):
        walk(f["geometry"]["coordinates"])
    if not xs:
        return None
    step = TERRAIN_STEP_DEG
    w, s = np.floor(min(xs) / step) * step, np.floor(min(ys) / step) * step
    nx = int(np.ceil((max(xs) - w) / step)) + 1
    ny = int(np.ceil((max(ys) - s) / step)) + 1
    lon, lat = np.meshgrid(w + step * np.arange(nx), s + step * np.arange(ny))
    elev = np.asarray(load_terrain(dem_path).elevation(lon.ravel(), lat.ravel()), dtype=float)
    values = [None if not np.isfinite(v) else round(float(v)) for v in elev]
    return {"lon0": round(float(w), 6), "lat0": round(float(s), 6), "step": step, "nx": nx, "ny": ny,
            "values": values}


@lru_cache(maxsize=4)
def _context(airspace_dir: Path) -> bytes:
    """Outline of the service area (the background W/G layers) for the offline basemap."""
    path = airspace_dir / "volumes.geojson"
    feats: list[dict[str, Any]] = []
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        for f in data.get("features", []):
            p = f.get("properties") or {}
            if p.get("kind") in CONTEXT_KINDS:
                feats.append({"type": "Feature", "geometry": f["geometry"],
                              "properties": {"id": p.get("id"), "name_zh": p.get("name_zh"),
                                             "name_en": p.get("name_en")}})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode()


@router.get("/web/context.geojson", response_model=None, responses=documented(FeatureCollection),
            summary="Offline basemap context (service area outline)")
async def context(request: Request) -> JSONResponse:
    body = _context(Path(request.app.state.settings.airspace_dir))
    return JSONResponse(content=json.loads(body))
