"""The live map in a real browser, against a real server fed over /ws/telemetry.

One page session walks through what issue #7 asks to be shown: the page loads with no request leaving
localhost; tracks appear and move; an injected conflict shows in the alert panel and as a line on the
map, and is acknowledged; a referred plan is approved from the UI and its state changes in the API;
the language switch works. A screenshot is saved to artifacts/map.png.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from lowalt.geo.gcj02 import wgs84_to_gcj02
from tests.conftest import Server, auth, doc_screenshot, wait_until
from tests.e2e.conftest import ARTIFACTS, Flight, Traffic, register, ring, wait_js

OPEN_W_ROUTE = [[117.60, 29.30], [117.63, 29.32]]


def referred_plan_body(aircraft_id: str) -> dict[str, Any]:
    """Light drone at 150-200 m AGL in class W (suitable up to 120 m): the rules refer it to the centre."""
    d = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    start = datetime(d.year, d.month, d.day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    return {
        "aircraft_id": aircraft_id, "category": "light_uav", "pilot": "张伟", "mission": "tourism",
        "geometry": {"type": "LineString", "coordinates": OPEN_W_ROUTE}, "half_width_m": 50,
        "altitude": {"floor": {"value_m": 150, "reference": "AGL"}, "ceiling": {"value_m": 200, "reference": "AGL"}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
    }


async def test_live_map_end_to_end(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    fleet = {f.id: "small_uav" for f in ring(12)} | {"HEAD-A": "small_uav", "HEAD-B": "small_uav",
                                                     "TOUR-1": "light_uav"}
    op, device = await register(server, make_token, "浮梁文旅", fleet)
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    filed = await server.http.post("/plans", headers=auth(op), json=referred_plan_body("TOUR-1"))
    assert filed.status_code == 201, filed.text
    plan = filed.json()
    assert plan["state"] == "referred"

    async with Traffic(server, device) as traffic:
        traffic.add(*ring(12))
        await pg.goto(f"{server.url}/?token={centre}")
        assert "token=" not in pg.url  # taken out of the address bar
        await wait_js(pg, "window.lowalt && window.lowalt.ready && window.lowalt.store.size >= 12", 20)

        # tracks appear on the map (rendered, not only stored) and move
        await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['tracks']}).length >= 12", 15)
        p0 = await pg.evaluate("lowalt.store.position('FLT-00')")
        # it moves, and the drawn aircraft is where the store says (waited for, not slept)
        p1, rendered = await wait_js(pg, f"""(() => {{
            const p = lowalt.store.position('FLT-00');
            const r = lowalt.map.queryRenderedFeatures({{layers: ['tracks']}})
                .find(f => f.properties.id === 'FLT-00')?.geometry.coordinates;
            const moved = p && (p[0] !== {p0[0]} || p[1] !== {p0[1]});
            return moved && r && Math.abs(r[0] - p[0]) < 0.01 && Math.abs(r[1] - p[1]) < 0.01 ? [p, r] : null;
        }})()""", 10)
        assert p0 != p1 and abs(rendered[0] - p1[0]) < 0.01 and abs(rendered[1] - p1[1]) < 0.01
        assert await wait_js(pg, "lowalt.perf.stats().n > 3")

        # inject a conflict that lasts (however slow this machine): two aircraft in loose formation 30 m apart
        # at the same altitude (separation already lost, and stays lost)
        traffic.add(Flight("HEAD-A", -400, 300, 5, 0, alt=200), Flight("HEAD-B", -400, 330, 5, 0, alt=200))
        row = pg.locator("#alerts li.kind-conflict", has_text="HEAD-A")
        await row.first.wait_for(timeout=15000)
        text = await row.first.inner_text()
        assert "HEAD-B" in text and ("秒后失去间隔" in text or "间隔已丧失" in text)
        line = await wait_js(pg, "lowalt.map.getSource('conflicts')._data.features"
                                 ".find(f => f.properties.severity && f.geometry.coordinates.length === 2)", 5)
        a_pos = await pg.evaluate("lowalt.store.position('HEAD-A')")
        assert abs(line["geometry"]["coordinates"][0][0] - a_pos[0]) < 0.01
        # a screenshot of the map with the conflict line in view, for people to look at (artifacts/)
        await pg.evaluate("lowalt.map.jumpTo({center: lowalt.store.position('HEAD-A'), zoom: 13.2})")
        await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['conflict-lines']}).length > 0", 5)
        await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['tracks-label']}).length > 0", 8)
        await doc_screenshot(pg, ARTIFACTS / "map.png")

        # acknowledge it (centre) from the panel; the API agrees
        alert_id = await row.first.get_attribute("data-alert")
        await row.first.locator("button.ack").click()
        await pg.locator(f'#alerts li[data-alert="{alert_id}"] .acked').wait_for(timeout=5000)
        active = (await server.http.get("/alerts", headers=auth(centre))).json()
        assert next(a for a in active if a["id"] == alert_id)["acknowledged_by"]

        # click to fly to it
        await pg.evaluate("lowalt.map.jumpTo({center: [117.21, 29.30], zoom: 10})")
        await pg.locator(f'#alerts li[data-alert="{alert_id}"] .alert-detail').click()
        await wait_js(pg, "lowalt.map.getZoom() > 13.9 && !lowalt.map.isMoving()", 8)
        centre_ll = await pg.evaluate("lowalt.map.getCenter().toArray()")
        a_pos = await pg.evaluate("lowalt.store.position('HEAD-A')")
        assert abs(centre_ll[0] - a_pos[0]) < 0.01 and abs(centre_ll[1] - a_pos[1]) < 0.01

        # approve the referred plan from the UI, with a comment
        item = pg.locator(f'#plans li[data-plan="{plan["id"]}"]')
        await item.wait_for(timeout=10000)
        assert "150" in await item.inner_text()  # its band
        assert await item.locator(".reasons li").count() >= 1
        await item.locator("input.comment").fill("协调完毕，可以飞")
        await item.locator("button.approve").click()
        for _ in range(50):
            got = (await server.http.get(f"/plans/{plan['id']}", headers=auth(centre))).json()
            if got["state"] == "approved":
                break
            await asyncio.sleep(0.1)
        assert got["state"] == "approved"
        assert got["events"][-1]["reason"] == "协调完毕，可以飞"
        await pg.locator(f'#plans li[data-plan="{plan["id"]}"]').wait_for(state="detached", timeout=5000)

        # click an aircraft: its card, and its (now approved) plan drawn on the map
        traffic.add(Flight("TOUR-1", 0, -1200, 5, 0, alt=160))
        await wait_js(pg, "lowalt.store.position('TOUR-1')", 5)
        await pg.evaluate("lowalt.map.jumpTo({center: lowalt.store.position('TOUR-1'), zoom: 14})")
        await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['tracks']})"
                          ".some(f => f.properties.id === 'TOUR-1')", 5)
        xy = await pg.evaluate("(() => { const p = lowalt.map.project(lowalt.store.position('TOUR-1'));"
                               " const r = lowalt.map.getCanvas().getBoundingClientRect();"
                               " return [r.left + p.x, r.top + p.y]; })()")
        await pg.mouse.click(xy[0], xy[1])
        card = pg.locator('.maplibregl-popup tr[data-field="plan"] td')
        await card.wait_for(timeout=15000)
        await wait_js(pg, "document.querySelector('.maplibregl-popup tr[data-field=plan] td')?.textContent"
                          ".includes('批准')", 15)
        drawn = await wait_js(pg, "lowalt.map.getSource('plan')._data.features?.[0]?.geometry", 5)
        assert drawn == {"type": "LineString", "coordinates": OPEN_W_ROUTE}

        # language switch: Chinese first, English on request, and back
        assert await pg.evaluate("document.documentElement.lang") == "zh-CN"
        assert (await pg.locator("[data-i18n='alerts.title']").inner_text()) == "告警"
        await pg.locator("#lang-switch").click()
        assert await pg.evaluate("document.documentElement.lang") == "en"
        assert (await pg.locator("[data-i18n='alerts.title']").inner_text()) == "Alerts"
        assert (await pg.locator("[data-i18n='status.noncoop']").inner_text()) == "Non-cooperative"
        assert await pg.evaluate("lowalt.map.getLayoutProperty('volumes-label', 'text-field')") == ["get", "name_en"]
        assert (await pg.locator("#lang-switch").inner_text()) == "中文"
        await pg.locator("#lang-switch").click()
        assert (await pg.locator("[data-i18n='layers.title']").inner_text()) == "图层"

        await pg.evaluate("lowalt.map.jumpTo({center: [117.21, 29.30], zoom: 10})")
        await wait_js(pg, "lowalt.map.loaded()", 8)
        await doc_screenshot(pg, ARTIFACTS / "map-overview.png")

    assert traffic.rejected == 0
    foreign = watch.foreign()
    assert not foreign, f"requests left localhost: {foreign[:5]}"
    assert any("/static/vendor/maplibre-gl.js" in u for u in watch.requests)
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


async def test_airspace_layers_and_filters(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    viewer = await make_token("viewer")
    await pg.goto(f"{server.url}/?token={viewer}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready")
    n = await wait_js(pg, "lowalt.map.getSource('volumes')._data.features?.length", 10)
    assert n >= 5
    assert await wait_js(pg, "lowalt.map.getSource('routes')._data.features?.length", 10)
    assert await wait_js(pg, "lowalt.map.getSource('points')._data.features?.length", 10)
    assert all("active" in f["properties"] for f in await pg.evaluate("lowalt.map.getSource('volumes')._data.features"))
    await wait_js(pg, "lowalt.map.queryRenderedFeatures({layers: ['volumes-line']}).length > 0", 10)
    # switch a layer off and on
    await pg.locator("input[data-group='volumes']").uncheck()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('volumes-fill', 'visibility')") == "none"
    await pg.locator("input[data-group='volumes']").check()
    # altitude filter: only bands overlapping 3000-6000 m stay
    await pg.locator("#alt-max").fill("6000")
    await pg.locator("#alt-min").fill("3000")
    await pg.locator("#alt-min").dispatch_event("input")
    ids = await wait_js(pg, "(() => { const ids = [...new Set(lowalt.map.queryRenderedFeatures({layers: "
                            "['volumes-line', 'volumes-line-inactive']}).map(f => f.properties.id))];"
                            " return ids.length === 1 && ids[0] === 'fl_e_layer' ? ids : null; })()", 10)
    assert ids == ["fl_e_layer"], ids
    # the time slider asks the API what is released at that time
    await pg.locator("#time-slider").fill("1440")
    await pg.locator("#time-slider").dispatch_event("input")
    tomorrow = datetime.now(UTC) + timedelta(hours=24)

    async def asked_for_tomorrow() -> bool:
        asked = [datetime.fromisoformat(parse_qs(urlsplit(u).query)["at"][0].replace("Z", "+00:00"))
                 for u in watch.requests if "/airspace/volumes?at=" in u]
        return any(abs((a - tomorrow).total_seconds()) < 120 for a in asked)

    await wait_until(asked_for_tomorrow, timeout=10, what="the map to ask what is released tomorrow")
    # viewer: no acknowledge buttons, plans panel says it may not see them
    assert await pg.locator("button.ack").count() == 0
    assert await pg.locator("#plans li.empty").count() == 1
    assert not watch.foreign()


async def test_sign_in_form_and_bad_token(server: Server, make_token: Any, page: Any) -> None:
    pg, _ = page
    viewer = await make_token("viewer")
    await pg.goto(f"{server.url}/?token=not-a-token")
    await pg.locator("#signin").wait_for(state="visible")
    assert (await pg.locator("#signin-error").inner_text()) == "令牌无效或已过期"
    await pg.locator("#signin-token").fill(viewer)
    await pg.locator("#signin button[type=submit]").click()
    await wait_js(pg, "window.lowalt && window.lowalt.ready")
    assert await pg.locator("#signin").is_hidden()
    assert await pg.evaluate("localStorage.getItem('lowalt.token')") == viewer


async def test_gcj02_port_matches_python_and_i18n_tables_match(server: Server, page: Any) -> None:
    pg, _ = page
    await pg.goto(f"{server.url}/static/vendor/README.txt")
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(73, 135, 200), rng.uniform(1, 55, 200)])
    pts = np.vstack([pts, [[117.2, 29.3], [117.6, 29.5], [10.0, 50.0], [-70.0, -30.0]]])
    js = await pg.evaluate(
        """async (pts) => {
            const m = await import('/static/js/gcj02.js');
            return pts.map(([lo, la]) => m.wgs84ToGcj02(lo, la));
        }""", pts.tolist())
    lon, lat = wgs84_to_gcj02(pts[:, 0], pts[:, 1])
    got = np.asarray(js)
    assert np.max(np.abs(got[:, 0] - lon)) < 1e-9 and np.max(np.abs(got[:, 1] - lat)) < 1e-9
    # in Jingdezhen the shift is the documented ~590 m; outside China nothing moves
    assert 0.004 < got[-4, 0] - 117.2 < 0.007
    assert got[-2].tolist() == [10.0, 50.0]
    missing = await pg.evaluate("import('/static/js/i18n.js').then(m => m.missingKeys())")
    assert missing == []


async def test_gcj02_basemap_shifts_overlays(server: Server, make_token: Any, page: Any) -> None:
    from lowalt.api.routers.web import WebConfig

    pg, watch = page
    server.app.state.web_config = WebConfig(basemap_url="http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
                                            basemap_crs="gcj02")
    viewer = await make_token("viewer")
    await pg.route("**/tiles/**", lambda route: route.abort())
    await pg.goto(f"{server.url}/?token={viewer}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready")
    assert await pg.locator("#toggle-basemap-row").is_visible()
    assert await pg.evaluate("lowalt.map.getLayer('basemap').type") == "raster"
    vol = await wait_js(pg, "lowalt.map.getSource('points')._data.features?.find(f => f.properties.id === 'zsjd')")
    raw = (await server.http.get("/airspace/points", headers=auth(viewer))).json()
    src = next(f for f in raw["features"] if f["properties"]["id"] == "zsjd")["geometry"]["coordinates"]
    glon, glat = wgs84_to_gcj02(src[0], src[1])
    assert abs(vol["geometry"]["coordinates"][0] - float(glon)) < 1e-9
    assert abs(vol["geometry"]["coordinates"][1] - float(glat)) < 1e-9
    assert not watch.foreign()  # the tile requests went to 127.0.0.1:9 (aborted); nothing else


async def test_page_assets_are_served_without_a_token(server: Server) -> None:
    r = await server.http.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/static/vendor/maplibre-gl.js" in r.text and "https://" not in r.text
    js = await server.http.get("/static/js/main.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert (await server.http.get("/static/vendor/maplibre-gl.js")).status_code == 200
    assert (await server.http.get("/static/../routers/web.py")).status_code == 404
    assert (await server.http.get("/static/%2e%2e/%2e%2e/api/app.py")).status_code == 404
    assert (await server.http.get("/static/nope.js")).status_code == 404
    cfg = (await server.http.get("/web/config")).json()
    assert cfg["basemap_url"] is None and cfg["basemap_crs"] == "wgs84"
    ctx = (await server.http.get("/web/context.geojson")).json()
    assert ctx["type"] == "FeatureCollection" and ctx["features"]
