"""The aircraft drawn by the WebGL layer (``static/js/tracks-gl.js``, issue 17's speed work): every aircraft of
the feed is in its vertex buffer and on screen in its status colour, it follows the altitude filter and the
layer switch, and each feed message's receipt-to-drawn latency is recorded (what ``lowalt bench map``
reports). The GeoJSON track source still answers queries (picking)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from tests.conftest import Server
from tests.e2e.conftest import Traffic, register, ring, wait_js


async def _clip(pg: Any, lon: float, lat: float) -> Any:
    """The 24 x 24 px of the map around lon/lat, as an RGB array."""
    from PIL import Image

    x, y = await pg.evaluate(f"(() => {{ const p = lowalt.map.project([{lon}, {lat}]);"
                             " const r = lowalt.map.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()")
    png = await pg.screenshot(clip={"x": x - 12, "y": y - 12, "width": 24, "height": 24})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


async def test_aircraft_drawn_by_the_webgl_layer(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    _, device = await register(server, make_token, "浮梁文旅", {f"GL-{k:02d}": "small_uav" for k in range(6)})
    viewer = await make_token("viewer")
    async with Traffic(server, device) as traffic:
        traffic.add(*ring(6, prefix="GL"))
        await pg.goto(f"{server.url}/?token={viewer}")
        await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
        await pg.evaluate("lowalt.map.jumpTo({center: [117.23, 29.26], zoom: 12})")
        await wait_js(pg, "lowalt.layers.gl.count === 6", 20)
        # every feed message's receipt -> drawn latency is recorded (n grows), each a real duration
        await wait_js(pg, "lowalt.perf.stats().n >= 5", 20)
        stats = await pg.evaluate("lowalt.perf.stats()")
        assert stats["p50"] >= 0 and stats["max"] < 60_000
    # traffic stopped: the aircraft stay put; with the WebGL layer alone switched off, their pixels go
    lon, lat = await pg.evaluate("lowalt.store.position('GL-00')")
    await pg.evaluate(f"lowalt.map.jumpTo({{center: [{lon}, {lat}]}})")
    await wait_js(pg, "lowalt.map.loaded()", 10)
    drawn = await _clip(pg, lon, lat)
    await pg.evaluate("lowalt.map.setLayoutProperty('tracks-gl', 'visibility', 'none')")
    await wait_js(pg, "lowalt.map.loaded()", 10)
    bare = await _clip(pg, lon, lat)
    await pg.evaluate("lowalt.map.setLayoutProperty('tracks-gl', 'visibility', 'visible')")
    assert int(np.abs(drawn - bare).sum(axis=2).max()) > 100, "the WebGL layer drew nothing where GL-00 is"
    async with Traffic(server, device) as traffic:
        traffic.add(*ring(6, prefix="GL"))
        # the GeoJSON source still answers picking queries (its icons are transparent)
        assert await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['tracks']}).length >= 1", 15)
        # the layer switch hides the drawn aircraft
        await pg.locator("input[data-group='tracks']").uncheck()
        assert await pg.evaluate("lowalt.map.getLayoutProperty('tracks-gl', 'visibility')") == "none"
        await pg.locator("input[data-group='tracks']").check()
        # the altitude filter: ring() flies at 120..170 m AMSL; a band above them leaves nothing drawn
        await pg.evaluate("lowalt.layers.setAltitudeRange(1000, 2000, 'amsl')")
        await wait_js(pg, "lowalt.layers.gl.count === 0", 10)
        await pg.evaluate("lowalt.layers.setAltitudeRange(0, 3000, 'amsl')")
        await wait_js(pg, "lowalt.layers.gl.count === 6", 10)
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
