"""The offline PMTiles basemap (issue 17): the built-in service-area archives render in a real browser with
no request leaving the server, they are served with HTTP range requests, a plugged-in archive
(``LOWALT_BASEMAP_PMTILES``) is drawn by what its header says, and the committed archives equal a fresh
build from ``airspace_data/``.

Screenshots (zh and en) go to docs/screenshots/map/.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LineString, Point, box

from lowalt.web import basemap
from tests.conftest import REPO, Server, doc_screenshot
from tests.e2e.conftest import wait_js

SHOTS = REPO / "docs" / "screenshots" / "map"

PLACES_DRAWN = """() => lowalt.map.queryRenderedFeatures({layers: ['bm-places-label', 'bm-places']})
  .map(f => f.properties.id)"""


def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[tuple[int, int, int], bytes]]:
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with path.open("rb") as fh:
        source = MmapSource(fh)
        reader = Reader(source)
        return reader.header(), reader.metadata(), dict(all_tiles(source))


def test_committed_archives_are_a_fresh_build(tmp_path: Path) -> None:
    """Edit airspace_data/ and forget to rebuild: this fails (rebuild: python -m lowalt.web.basemap)."""
    basemap.build(tmp_path)
    for name in (basemap.VECTOR_NAME, basemap.HILLSHADE_NAME):
        h_new, md_new, tiles_new = _read(tmp_path / name)
        h_old, md_old, tiles_old = _read(basemap.OUT_DIR / name)
        assert md_new == md_old, name
        assert tiles_new.keys() == tiles_old.keys(), name
        assert all(tiles_new[k] == tiles_old[k] for k in tiles_new), f"{name}: stale tiles"
        assert (h_new["min_zoom"], h_new["max_zoom"]) == (h_old["min_zoom"], h_old["max_zoom"])
    size = sum((basemap.OUT_DIR / n).stat().st_size for n in (basemap.VECTOR_NAME, basemap.HILLSHADE_NAME))
    assert size < 2 * 2**20, f"built-in basemap is {size:,} bytes: keep it under 2 MB"


def test_builtin_vector_tiles_hold_the_service_area() -> None:
    import mapbox_vector_tile

    header, md, tiles = _read(basemap.OUT_DIR / basemap.VECTOR_NAME)
    assert {layer["id"] for layer in md["vector_layers"]} == {"area", "airspace", "routes", "pads", "places", "runway"}
    assert (header["min_zoom"], header["max_zoom"]) == (4, 12)
    # the city centre tile at zoom 10 (117.1986 E, 29.2917 N) holds the places, the runway and the pads
    x, y = next((x, y) for x, y in basemap.tiles_covering(10, (117.1986, 29.2917, 117.1986, 29.2917)))
    tile = mapbox_vector_tile.decode(gzip.decompress(tiles[(10, x, y)]))
    names = {f["properties"]["name_zh"] for f in tile["places"]["features"]}
    assert "景德镇市中心(市人大)" in names
    assert tile["runway"]["features"][0]["properties"]["name_en"] == "RWY 04/22"
    assert any(f["properties"]["id"] == "zsjd" for f in tile["pads"]["features"])


def test_tiles_covering_both_sides_of_a_tile_edge() -> None:
    # zoom 1 splits at 0 E and 0 N: a box on one side is one tile, a box across the edge is two
    assert sorted(basemap.tiles_covering(1, (10.0, 10.0, 20.0, 20.0))) == [(1, 0)]
    assert sorted(basemap.tiles_covering(1, (-10.0, 10.0, 20.0, 20.0))) == [(0, 0), (1, 0)]
    assert sorted(basemap.tiles_covering(1, (10.0, -10.0, 20.0, 20.0))) == [(1, 0), (1, 1)]


async def test_archives_are_served_with_range_requests(server: Server) -> None:
    url = "/static/basemap/fuliang.pmtiles"
    r = await server.http.get(url, headers={"Range": "bytes=0-126"})
    assert r.status_code == 206 and len(r.content) == 127 and r.content[:7] == b"PMTiles"
    assert r.headers["content-range"].startswith("bytes 0-126/")
    # not configured: the plug-in archive is a 404, and the page is told there is none
    assert (await server.http.get("/web/basemap.pmtiles")).status_code == 404
    cfg = (await server.http.get("/web/config")).json()
    assert cfg["basemap_pmtiles"] == {"builtin": url, "hillshade": "/static/basemap/hillshade.pmtiles", "custom": None}


async def test_offline_basemap_renders(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    viewer = await make_token("viewer")
    await pg.goto(f"{server.url}/?token={viewer}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
    await pg.evaluate("lowalt.layers.basemapReady")
    await pg.evaluate("lowalt.map.jumpTo({center: [117.20, 29.31], zoom: 11})")
    # features of the basemap layers are drawn: the city centre, Fuliang town, the runway, and the hillshade
    drawn = await wait_js(pg, f"(({PLACES_DRAWN})().includes('jdz_centre') && ({PLACES_DRAWN})())", 30)
    assert {"jdz_centre", "fuliang_seat"} <= set(drawn)
    assert await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['bm-runway']}).length", 15)
    assert await wait_js(pg, "lowalt.map.isSourceLoaded('bm-hillshade') && lowalt.map.isSourceLoaded('bm-vector')", 15)
    assert await pg.locator("#toggle-basemap-row").is_visible()
    label = await pg.evaluate("lowalt.map.getLayoutProperty('bm-places-label', 'text-field')")
    assert label == ["get", "name_zh"]
    await doc_screenshot(pg, SHOTS / "07-basemap-zh.png")
    await pg.locator("#lang-switch").click()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('bm-places-label', 'text-field')") == ["get", "name_en"]
    await doc_screenshot(pg, SHOTS / "07-basemap-en.png")
    # the layer switch hides the basemap (every bm- layer), and shows it again
    await pg.locator("input[data-group='basemap']").uncheck()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('bm-places', 'visibility')") == "none"
    await pg.locator("input[data-group='basemap']").check()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('bm-places', 'visibility')") == "visible"
    assert not watch.foreign(), watch.foreign()  # nothing left the server
    assert any("/static/basemap/fuliang.pmtiles" in u for u in watch.requests)
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


def _protomaps_like(path: Path) -> None:
    """A tiny archive with a Protomaps basemap's layer names (earth, water, roads, places) over the city."""
    feats = [
        basemap.Feature("earth", box(116.9, 29.1, 117.5, 29.5), {"kind": "earth"}),
        basemap.Feature("water", box(117.19, 29.28, 117.21, 29.32), {"kind": "water"}),
        basemap.Feature("roads", LineString([(117.0, 29.3), (117.4, 29.3)]), {"kind": "major_road"}),
        basemap.Feature("places", Point(117.1986, 29.2917), {"kind": "locality", "name": "景德镇", "min_zoom": 1,
                                                              "population_rank": 12}),
    ]
    tiles = list(basemap.vector_tiles(feats, range(8, 12)))
    basemap.write_pmtiles(path, tiles, vector=True, metadata={
        "name": "test extract", "attribution": "test", "vector_layers": [
            {"id": n, "fields": {}} for n in ("earth", "water", "roads", "places")]})


def _generic(path: Path) -> None:
    feats = [basemap.Feature("parcels", box(117.15, 29.25, 117.25, 29.35), {"name": "地块"}),
             basemap.Feature("tracks", LineString([(117.1, 29.3), (117.3, 29.3)]), {"name": "小路"})]
    basemap.write_pmtiles(path, list(basemap.vector_tiles(feats, range(8, 12))), vector=True, metadata={
        "name": "other schema", "vector_layers": [{"id": "parcels", "fields": {}}, {"id": "tracks", "fields": {}}]})


@pytest.mark.parametrize(("build", "drawn_layer"), [(_protomaps_like, "bm-p-earth"), (_generic, "bm-p-bm-x-parcels-fill")])
async def test_plugged_in_archive_is_drawn(server: Server, make_token: Any, page: Any, tmp_path: Path,
                                           build: Any, drawn_layer: str) -> None:
    pg, watch = page
    archive = tmp_path / "extract.pmtiles"
    build(archive)
    server.app.state.settings = replace(server.app.state.settings, basemap_pmtiles=archive)  # type: ignore[attr-defined]
    r = await server.http.get("/web/basemap.pmtiles", headers={"Range": "bytes=0-6"})
    assert r.status_code == 206 and r.content == b"PMTiles"
    viewer = await make_token("viewer")
    await pg.goto(f"{server.url}/?token={viewer}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
    ids = await pg.evaluate("lowalt.layers.basemapReady")
    assert drawn_layer in ids and "bm-places" in ids  # the built-in archive is drawn as well
    await pg.evaluate("lowalt.map.jumpTo({center: [117.20, 29.30], zoom: 10})")
    assert await wait_js(pg, f"lowalt.map.queryRenderedFeatures({{layers: ['{drawn_layer}']}}).length", 30)
    if build is _protomaps_like:  # the bundled @protomaps/basemaps style: dozens of layers
        assert sum(i.startswith("bm-p-") for i in ids) > 20
    assert not watch.foreign(), watch.foreign()
    assert not [e for e in watch.errors if "favicon" not in e and "image" not in e.lower()], watch.errors
