"""The operator portal (``/portal``) in Debian's chromium against a real server on PostGIS.

Each flow runs on a desktop (1280x800) and a phone (360x740) viewport, and saves a screenshot of each
step in Chinese and in English under ``docs/screenshots/portal/`` (``docs/portal.md`` shows them):

* first flight: sign in, register an aircraft, draw an area, see the airspace it touches, file, get
  approved; in My flights activate, complete and export the plan as GeoJSON;
* the airport zone: draw an area in the Luojia runway core, get refused with the reason and its
  article and an alternative drawn on the map, refile the alternative with one click, get approved;
* a referred plan: 150-200 m AGL two days ahead is referred; the centre approves it on its own map in
  another browser context, and the operator's page shows the approval without a reload (/ws/plans);
* a thunderstorm warning withdraws an approved plan: a notification with the alternative time, refiled
  in one click and approved.

On every screenshot the visible text is checked for raw codes (``light_uav``, ``no_application``...).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO, Server, auth, doc_screenshot, wait_until

SHOTS = REPO / "docs" / "screenshots" / "portal"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
CODE_TOKEN = re.compile(r"\b[a-z]+_[a-z]+\b")
OPEN_AREA = (117.615, 29.31)
"""Open class W countryside east of Jingdezhen: a light drone under 120 m needs no application."""
LUOJIA_CORE = (117.176, 29.339)
"""Inside the Luojia (ZSJD) runway core: closed to every UAV."""
REFERRED_AREA = (117.64, 29.33)
ROUTE_AREA = (117.66, 29.36)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Portal:
    """One portal page in one viewport, with helpers that act like the operator does."""

    def __init__(self, page: Any, viewport: str, errors: list[str]) -> None:
        self.page = page
        self.viewport = viewport
        self.errors = errors

    async def open(self, server: Server, token: str) -> None:
        await self.page.goto(f"{server.url}/portal")
        await self.page.locator("#signin-token").fill(token)
        await self.page.locator("#signin-form button[type=submit]").click()
        await self.page.wait_for_function("window.portal && window.portal.ready", timeout=30000)

    async def tab(self, name: str) -> None:
        await self.page.locator(f"#tabs button[data-tab={name}]").click()
        await self.page.locator(f"#pane-{name}").wait_for(state="visible")

    async def visible_codes(self) -> list[str]:
        text = await self.page.evaluate("document.body.innerText")
        return sorted(set(CODE_TOKEN.findall(text)))

    async def shot(self, step: str) -> None:
        """Screenshot in Chinese and in English (no raw code visible in either); back to Chinese."""
        from playwright.async_api import expect

        for lang in ("zh", "en"):
            await expect(self.page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")
            assert await self.visible_codes() == [], f"raw codes on screen at {step} ({lang})"
            await doc_screenshot(self.page, SHOTS / f"{step}-{self.viewport}-{lang}.png")
            await self.page.locator("#lang-switch").click()
        await expect(self.page.locator("html")).to_have_attribute("lang", "zh-CN")

    async def click_map(self, lon: float, lat: float) -> None:
        x, y = await self.page.evaluate(
            "([lon, lat]) => { const p = portal.map.project([lon, lat]);"
            " const r = portal.map.getCanvas().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
            [lon, lat])
        await self.page.mouse.click(x, y)

    async def draw_square(self, centre: tuple[float, float], half: float = 0.003) -> None:
        await self.tab("file")
        await self.page.evaluate("(c) => { portal.map.resize(); portal.map.jumpTo({center: c, zoom: 13}); }",
                                 list(centre))
        await self.page.wait_for_function("!portal.map.isMoving()")
        await self.page.locator("button[data-draw=polygon]").click()
        lon, lat = centre
        for dx, dy in ((-half, -half), (half, -half), (half, half), (-half, half)):
            await self.click_map(lon + dx, lat + dy)
        await self.page.wait_for_function("portal.pmap.sketch.length === 4")
        await self.page.locator("#draw-finish").click()
        await self.page.wait_for_function("portal.pmap.footprint && portal.pmap.footprint.type === 'Polygon'")

    async def fill_flight(self, aircraft: str, *, floor: int = 0, ceiling: int = 100,
                          window: tuple[str, str, str] | None = None) -> None:
        await self.page.locator("#f-aircraft").select_option(aircraft)
        await self.page.locator("#f-pilot").fill("张伟")
        await self.page.locator("#f-floor").fill(str(floor))
        await self.page.locator("#f-ceiling").fill(str(ceiling))
        if window:
            await self.page.locator("#f-date").fill(window[0])
            await self.page.locator("#f-start").fill(window[1])
            await self.page.locator("#f-end").fill(window[2])
        await self.page.locator("#f-ceiling").dispatch_event("change")
        await self.page.locator("#touches[data-state=ready]").wait_for()

    async def submit(self) -> Any:
        await self.page.locator("#f-submit").click()
        return await self.decision()

    async def decision(self, state: str | None = None) -> Any:
        sel = f"#decision[data-state={state}]" if state else "#decision[data-plan-id]"
        await self.page.locator(sel).wait_for(timeout=20000)
        return await self.page.locator("#decision").get_attribute("data-plan-id")


@pytest.fixture(params=list(VIEWPORTS))
async def portal(request: pytest.FixtureRequest, browser: Any) -> Any:
    viewport = request.param
    ctx = await browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", timezone_id="Asia/Shanghai",
                                    accept_downloads=True, is_mobile=viewport == "phone",
                                    has_touch=False)
    errors: list[str] = []
    pg = await ctx.new_page()
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    try:
        yield Portal(pg, viewport, errors)
    finally:
        await ctx.close()
    assert errors == [], errors


async def test_first_flight_register_draw_file_approved(server: Server, make_token: Any, portal: Portal) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    pg = portal.page
    await pg.goto(f"{server.url}/portal")
    await pg.locator("#signin-token").wait_for()
    await portal.shot("01-signin")
    await pg.locator("#signin-token").fill(op)
    await pg.locator("#signin-form button[type=submit]").click()
    await pg.wait_for_function("window.portal && window.portal.ready", timeout=30000)

    # fleet: register an aircraft with its category and real-name registration number
    await pg.locator("#pane-fleet").wait_for(state="visible")  # no aircraft yet: the portal opens on Fleet
    await pg.locator("#ac-id").fill("FL-101")
    await pg.locator("#ac-category").select_option("light_uav")
    await pg.locator("#ac-registration").fill("UAS-JX-000101")
    await pg.locator("#fleet-form button[type=submit]").click()
    card = pg.locator("#fleet-list li[data-id='FL-101']")
    await card.wait_for()
    assert "轻型无人机" in await card.inner_text() and "UAS-JX-000101" in await card.inner_text()
    registered = (await server.http.get("/aircraft", headers=auth(op))).json()
    assert [(a["id"], a["category"], a["registration"]) for a in registered] == [("FL-101", "light_uav", "UAS-JX-000101")]
    await portal.shot("02-fleet")

    # file: draw an area in open W airspace, see what it touches before submitting
    await portal.draw_square(OPEN_AREA)
    await portal.fill_flight("FL-101")
    touches = await pg.locator("#touches li").all_inner_texts()
    assert any("W类" in x for x in touches), touches
    ground = await pg.locator("#touches .ground").inner_text()  # the terrain under the area, and the band over it
    assert re.fullmatch(r"区域内地面海拔约 \d+–\d+ 米；所选真高高度约合海拔 \d+–\d+ 米", ground), ground
    assert not any(k in x for x in touches for k in ("禁飞区", "限制区")), touches
    await portal.shot("03-drawn")
    plan_id = await portal.submit()
    await portal.decision("approved")
    text = await pg.locator("#decision").inner_text()
    assert "已批准" in text and "无需申请（适飞空域）" in text
    plan = (await server.http.get(f"/plans/{plan_id}", headers=auth(op))).json()
    assert plan["state"] == "approved" and plan["geometry"]["type"] == "Polygon"
    assert plan["altitude"]["ceiling"] == {"value_m": 100.0, "reference": "AGL"}
    await portal.shot("04-approved")

    # my flights: activate (within the hour before take-off), export, complete
    await portal.tab("plans")
    item = pg.locator(f"#plan-list li[data-id='{plan_id}']")
    await item.locator(".badge", has_text="已批准").wait_for()
    await portal.shot("05-my-flights")
    async with pg.expect_download() as dl_info:
        await item.locator("button.act-export").click()
    exported = json.loads(Path(await (await dl_info.value).path()).read_text())
    assert exported["type"] == "Feature" and exported["geometry"] == plan["geometry"]
    assert exported["properties"]["state"] == "approved" and exported["properties"]["aircraft_id"] == "FL-101"
    await item.locator("button.act-activate").click()
    await pg.locator(f"#plan-list li[data-id='{plan_id}'][data-state=active]").wait_for()
    await pg.locator(f"#plan-list li[data-id='{plan_id}'] button.act-complete").click()
    await pg.locator(f"#plan-list li[data-id='{plan_id}'][data-state=completed]").wait_for()
    assert (await server.http.get(f"/plans/{plan_id}", headers=auth(op))).json()["state"] == "completed"


async def test_airport_zone_refused_then_alternative_refiled_in_one_click(
        server: Server, make_token: Any, portal: Portal) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    r = await server.http.post("/aircraft", headers=auth(op), json={"id": "FL-201", "category": "light_uav"})
    assert r.status_code == 201, r.text
    await portal.open(server, op)
    pg = portal.page

    await portal.draw_square(LUOJIA_CORE, half=0.002)
    await portal.fill_flight("FL-201")
    touched = await pg.locator("#touches li").all_inner_texts()
    assert any("罗家机场跑道核心禁飞区" in x for x in touched), touched
    assert await pg.locator("#touches .verdict-forbidden").count() == 1  # the centre: forbidden
    refused_id = await portal.submit()
    await portal.decision("rejected")
    text = await pg.locator("#decision").inner_text()
    assert "未批准" in text and "罗家机场跑道核心禁飞区" in text
    alt = pg.locator("#decision li.alternative").first
    await alt.wait_for()
    assert "移至" in await alt.inner_text()
    preview = await pg.evaluate("portal.map.getSource('preview')._data.geometry")
    assert preview and preview["type"] == "Polygon"  # the suggestion is drawn on the map
    await portal.shot("06-refused")

    await alt.locator("button.refile").click()
    await pg.wait_for_function(f"document.querySelector('#decision').dataset.planId !== '{refused_id}'")
    new_id = await portal.decision("approved")
    assert "已按建议重新申报" in await pg.locator("#decision").inner_text()
    await portal.shot("07-refiled-approved")
    refused = (await server.http.get(f"/plans/{refused_id}", headers=auth(op))).json()
    approved = (await server.http.get(f"/plans/{new_id}", headers=auth(op))).json()
    suggested = refused["decision"]["alternatives"][0]
    assert approved["state"] == "approved" and approved["geometry"] == suggested["geometry"]
    assert approved["start"] == refused["start"] and approved["altitude"] == refused["altitude"]


async def test_referred_plan_approved_by_the_centre_updates_without_reload(
        server: Server, make_token: Any, portal: Portal, browser: Any) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    r = await server.http.post("/aircraft", headers=auth(op), json={"id": "FL-301", "category": "light_uav"})
    assert r.status_code == 201, r.text
    await portal.open(server, op)
    pg = portal.page
    await pg.wait_for_function("portal.planEvents.connected")

    day = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
    await portal.draw_square(REFERRED_AREA)
    await portal.fill_flight("FL-301", floor=150, ceiling=200, window=(day, "10:00", "10:30"))
    plan_id = await portal.submit()
    await portal.decision("referred")
    text = await pg.locator("#decision").inner_text()
    assert "待中心审批" in text and "标准申请" in text and "条例" in text  # reasons with their article
    await portal.shot("08-referred")
    await pg.evaluate("window.__noReload = true")

    # the centre, on its own map in another browser context, approves the plan
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                    timezone_id="Asia/Shanghai")
    try:
        centre_page = await ctx.new_page()
        await centre_page.goto(f"{server.url}/?token={centre}")
        item = centre_page.locator(f'#plans li[data-plan="{plan_id}"]')
        await item.wait_for(timeout=30000)
        await item.locator("button.approve").click()
        await item.wait_for(state="detached", timeout=10000)
    finally:
        await ctx.close()

    await portal.decision("approved")
    assert await pg.evaluate("window.__noReload") is True  # the same page, never reloaded
    assert "协调中心已处理：已批准" in await pg.locator("#decision").inner_text()
    assert any(e.get("plan_id") == plan_id and e.get("to_state") == "approved"
               for e in await pg.evaluate("portal.events"))
    await portal.shot("09-centre-approved")
    assert (await server.http.get(f"/plans/{plan_id}", headers=auth(op))).json()["state"] == "approved"


async def test_circle_and_route_are_drawn_and_filed_as_geojson(server: Server, make_token: Any, browser: Any) -> None:
    """A circle becomes a 64-sided polygon of the radius given; a route keeps its clicked waypoints and
    the half-width given; both are filed and approved (desktop only: drawing is the same on a phone)."""
    op = await make_token("operator", organisation="浮梁文旅")
    for aid in ("FL-401", "FL-402"):
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201, r.text
    ctx = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list[str] = []
    try:
        pg = await ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        portal = Portal(pg, "desktop", errors)
        await portal.open(server, op)
        await portal.tab("file")
        await pg.evaluate("(c) => portal.map.jumpTo({center: c, zoom: 13})", list(OPEN_AREA))

        await pg.locator("button[data-draw=circle]").click()
        await pg.locator("#radius").fill("400")
        await pg.locator("#radius").dispatch_event("change")
        await portal.click_map(*OPEN_AREA)
        ring = await pg.wait_for_function("portal.pmap.footprint && portal.pmap.footprint.coordinates[0]")
        ring = await ring.json_value()
        assert len(ring) == 65 and ring[0] == ring[-1]
        assert all(abs(_metres(p, OPEN_AREA) - 400) < 40 for p in ring)  # the click lands within a pixel
        await portal.fill_flight("FL-401")
        circle_id = await portal.submit()
        await portal.decision("approved")
        filed = (await server.http.get(f"/plans/{circle_id}", headers=auth(op))).json()
        assert filed["geometry"] == {"type": "Polygon", "coordinates": [ring]}

        await pg.locator("#draw-clear").click()
        lon, lat = ROUTE_AREA  # away from the circle: the same place and time would be a conflict
        await pg.evaluate("(c) => portal.map.jumpTo({center: c, zoom: 13})", [lon, lat])
        await pg.locator("button[data-draw=route]").click()
        await pg.locator("#half-width").fill("30")
        await pg.locator("#half-width").dispatch_event("change")
        for dx, dy in ((-0.01, -0.004), (0.0, 0.003), (0.01, -0.002)):
            await portal.click_map(lon + dx, lat + dy)
        await pg.locator("#draw-finish").click()
        line = await (await pg.wait_for_function(
            "portal.pmap.footprint && portal.pmap.footprint.type === 'LineString' && portal.pmap.footprint")).json_value()
        assert len(line["coordinates"]) == 3
        assert abs(line["coordinates"][1][0] - lon) < 1e-4 and abs(line["coordinates"][1][1] - (lat + 0.003)) < 1e-4
        await portal.fill_flight("FL-402")
        route_id = await _submit_new(pg, circle_id)
        await portal.decision("approved")
        filed = (await server.http.get(f"/plans/{route_id}", headers=auth(op))).json()
        assert filed["geometry"] == line and filed["half_width_m"] == 30
    finally:
        await ctx.close()
    assert errors == [], errors


async def _submit_new(pg: Any, previous: str) -> str:
    await pg.locator("#f-submit").click()
    await pg.wait_for_function(f"document.querySelector('#decision').dataset.planId !== '{previous}'")
    return str(await pg.locator("#decision").get_attribute("data-plan-id"))


def _metres(p: list[float], q: tuple[float, float]) -> float:
    k = math.pi / 180 * 6371008.8
    return math.hypot((p[0] - q[0]) * k * math.cos(math.radians(q[1])), (p[1] - q[1]) * k)


async def test_weather_warning_notice_offers_an_alternative_refiled_in_one_click(
        server: Server, make_token: Any, portal: Portal) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    r = await server.http.post("/aircraft", headers=auth(op), json={"id": "FL-501", "category": "light_uav"})
    assert r.status_code == 201, r.text
    lon, lat = OPEN_AREA
    area = {"type": "Polygon", "coordinates": [[[lon - 0.003, lat - 0.003], [lon + 0.003, lat - 0.003],
                                                [lon + 0.003, lat + 0.003], [lon - 0.003, lat + 0.003],
                                                [lon - 0.003, lat - 0.003]]]}
    start = datetime.now(SHANGHAI) + timedelta(minutes=40)
    plan = (await server.http.post("/plans", headers=auth(op), json={
        "aircraft_id": "FL-501", "category": "light_uav", "pilot": "张伟", "mission": "inspection", "geometry": area,
        "altitude": {"floor": {"value_m": 0, "reference": "AGL"}, "ceiling": {"value_m": 100, "reference": "AGL"}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()})).json()
    assert plan["state"] == "approved", plan["decision"]
    await portal.open(server, op)
    pg = portal.page
    await pg.wait_for_function("portal.planEvents.connected")

    storm_end = start + timedelta(hours=1)
    r = await server.http.post("/weather/warnings", headers=auth(centre), json={
        "kind": "thunderstorm", "start": (start - timedelta(minutes=10)).isoformat(), "end": storm_end.isoformat(),
        "area": {"type": "Polygon", "coordinates": [[[lon - 0.05, lat - 0.05], [lon + 0.05, lat - 0.05],
                                                     [lon + 0.05, lat + 0.05], [lon - 0.05, lat + 0.05],
                                                     [lon - 0.05, lat - 0.05]]]}})
    assert r.status_code == 201 and r.json()["affected_plans"] == [plan["id"]], r.text
    notice = pg.locator(f"#notices li[data-plan-id='{plan['id']}']")
    await notice.locator("button.refile").wait_for()  # no reload: it came over /ws/plans
    text = await notice.inner_text()
    assert "雷暴" in text and "已撤销" in text and "改期" in text
    await portal.shot("10-weather-notice")

    await notice.locator("button.refile").click()
    new_id = await portal.decision("approved")
    assert new_id != plan["id"] and await pg.locator("#notices li").count() == 0
    refiled = (await server.http.get(f"/plans/{new_id}", headers=auth(op))).json()
    assert refiled["geometry"] == area and refiled["aircraft_id"] == "FL-501"
    assert datetime.fromisoformat(refiled["start"]) >= storm_end  # clear of the storm


async def test_own_aircraft_flying_now_on_the_map_and_in_the_fleet(server: Server, make_token: Any,
                                                                   browser: Any) -> None:
    """Telemetry from the organisation's fleet gateway: the aircraft shows as flying and on the map;
    another organisation's aircraft never appears (tenancy: /tracks is filtered to one's own). The
    active plan's flown track is drawn on the map and exported as a flight-log CSV."""
    import numpy as np

    from lowalt.geo.crs import to_local
    from tests.e2e.conftest import CENTRE, Flight, Traffic, register

    op, device = await register(server, make_token, "浮梁文旅", {"FL-701": "light_uav", "FL-702": "light_uav"})
    lon0, lat0 = OPEN_AREA
    x, y = to_local(np.array([lon0, CENTRE[0]]), np.array([lat0, CENTRE[1]]))
    dx, dy = float(x[0] - x[1]), float(y[0] - y[1])  # OPEN_AREA in metres off the traffic's origin
    start = datetime.now(SHANGHAI) + timedelta(minutes=15)
    ring = [[lon0 - 0.01, lat0 - 0.01], [lon0 + 0.01, lat0 - 0.01], [lon0 + 0.01, lat0 + 0.01],
            [lon0 - 0.01, lat0 + 0.01], [lon0 - 0.01, lat0 - 0.01]]
    plan = (await server.http.post("/plans", headers=auth(op), json={
        "aircraft_id": "FL-701", "category": "light_uav", "pilot": "张伟", "mission": "inspection",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "altitude": {"floor": {"value_m": 0, "reference": "AGL"}, "ceiling": {"value_m": 120, "reference": "AGL"}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()})).json()
    assert plan["state"] == "approved", plan["decision"]
    r = await server.http.post(f"/plans/{plan['id']}/activate", headers=auth(op))
    assert r.json()["state"] == "active", r.text
    _, other_device = await register(server, make_token, "别家公司", {"XX-1": "light_uav"})
    ctx = await browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        portal = Portal(await ctx.new_page(), "desktop", [])
        await portal.open(server, op)
        pg = portal.page
        await portal.tab("fleet")
        async with Traffic(server, device) as mine, Traffic(server, other_device) as theirs:
            mine.add(Flight("FL-701", dx, dy, 3, 0, alt=450))
            theirs.add(Flight("XX-1", 300, 0, 0, 0, alt=150))
            await pg.locator("#fleet-list li[data-id='FL-701'] .badge.flying").wait_for(timeout=20000)
            assert await pg.locator("#fleet-list li[data-id='FL-702'] .badge.idle").count() == 1
            centre = await make_token("centre", organisation="景德镇通航协调运行中心")

            async def both_tracked() -> bool:
                r = await server.http.get("/tracks", headers=auth(centre))
                return {f["id"] for f in r.json()["features"]} >= {"FL-701", "XX-1"}

            await wait_until(both_tracked, what="both aircraft tracked by the server")
            await pg.evaluate("portal.fleet.poll()")  # one more poll now that the other one is tracked too
            drawn = await pg.evaluate("portal.map.getSource('tracks')._data.features")
            assert [f["properties"]["id"] for f in drawn] == ["FL-701"]
            drawn = drawn[0]
            assert abs(drawn["geometry"]["coordinates"][0] - lon0) < 2e-3
            assert abs(drawn["geometry"]["coordinates"][1] - lat0) < 2e-3

            async def history_written() -> bool:
                h = await server.http.get("/tracks/FL-701/history", headers=auth(op))
                return sum(f["properties"]["kind"] == "report" for f in h.json()["features"]) >= 3

            await wait_until(history_written, what="FL-701's reports in the history")
        await portal.tab("plans")
        item = pg.locator(f"#plan-list li[data-id='{plan['id']}'][data-state=active]")
        await item.locator("button.act-track").click()
        await pg.wait_for_function("portal.map.getSource('shown')._data.geometry?.type === 'LineString'")
        async with pg.expect_download() as dl_info:
            await item.locator("button.act-log").click()
        lines = Path(await (await dl_info.value).path()).read_text().splitlines()
        assert lines[0].startswith("time_utc,time_beijing,lon,lat,alt_amsl_m") and len(lines) >= 4
        first = lines[1].split(",")
        assert abs(float(first[2]) - lon0) < 2e-3 and abs(float(first[3]) - lat0) < 2e-3 and first[-1] == "telemetry"
        # replay: a marker moves along the flown track (10x; a few seconds of history) to its end
        await item.locator("button.act-replay").click()
        await pg.wait_for_function("portal.plans.replaying && portal.map.getSource('replay')._data.geometry")
        await pg.wait_for_function("portal.plans.replaying.done", timeout=20000)
        assert await pg.evaluate("portal.plans.replaying.t === portal.plans.replaying.end")
        at = await pg.evaluate("portal.map.getSource('replay')._data.geometry.coordinates")
        assert abs(at[0] - lon0) < 2e-3 and abs(at[1] - lat0) < 2e-3
        assert "回放 FL-701" in await pg.locator("#plans-msg").inner_text()
        at = await pg.evaluate("""import('/static/portal/js/plans.js').then(({ positionAt }) => {
            const r = [{ t: 10, lon: 117, lat: 29 }, { t: 20, lon: 118, lat: 30 }];
            return [positionAt(r, 5), positionAt(r, 15), positionAt(r, 25), positionAt([], 1)]; })""")
        assert at == [[117, 29], [117.5, 29.5], [118, 30], None]  # clamped before and after, interpolated
    finally:
        await ctx.close()


async def test_pilot_register_and_licence_expiry_day_inclusive(server: Server, make_token: Any,
                                                               portal: Portal) -> None:
    """Fleet: register a pilot with a licence valid until D (the identity number shown masked); File:
    pick the pilot; a flight on D is approved, the same flight on D+1 is refused with the licence's
    expiry and the article (the expiry day is inclusive)."""
    from tests.portal.conftest import id_number

    op = await make_token("operator", organisation="浮梁文旅")
    r = await server.http.post("/aircraft", headers=auth(op), json={"id": "FL-801", "category": "small_uav"})
    assert r.status_code == 201, r.text
    await portal.open(server, op)
    pg = portal.page
    d = (datetime.now(SHANGHAI) + timedelta(days=1)).date()
    ident = id_number(801)

    await portal.tab("fleet")
    await pg.locator("#pl-name").fill("张伟")
    await pg.locator("#pl-id").fill(ident)
    await pg.locator("#pl-licence").fill("CAAC-UAS-0801")
    await pg.locator("#pl-class").select_option("uas_small")
    await pg.locator("#pl-expiry").fill(d.isoformat())
    await pg.locator("#pilot-form button[type=submit]").click()
    card = pg.locator("#pilot-list li.pilot")
    await card.wait_for()
    text = await card.inner_text()
    assert "张伟" in text and "CAAC-UAS-0801" in text and "小型无人驾驶航空器操控员执照" in text, text
    assert ident not in text and f"{ident[:3]}***********{ident[-4:]}" in text and "执照有效" in text
    await portal.shot("11-pilots")

    await portal.draw_square(OPEN_AREA)
    await pg.locator("#pilot-pick-row").wait_for()
    pick = await pg.locator("#f-pilot-pick option", has_text="CAAC-UAS-0801").get_attribute("value")
    await pg.locator("#f-pilot-pick").select_option(pick)
    assert await pg.locator("#f-licence").input_value() == "CAAC-UAS-0801"
    await pg.locator("#f-aircraft").select_option("FL-801")
    await pg.locator("#f-date").fill(d.isoformat())
    await pg.locator("#f-start").fill("10:00")
    await pg.locator("#f-end").fill("10:30")
    on_d = await portal.submit()
    await portal.decision("approved")
    filed = (await server.http.get(f"/plans/{on_d}", headers=auth(op))).json()
    assert filed["pilot"] == "张伟" and filed["licence_id"] == "CAAC-UAS-0801"

    await pg.locator("#f-date").fill((d + timedelta(days=1)).isoformat())
    await _submit_new(pg, on_d)
    await portal.decision("rejected")
    text = await pg.locator("#decision").inner_text()
    assert "CAAC-UAS-0801" in text and f"有效期至 {d.isoformat()}" in text and "已过期" in text, text
    assert "条例 Art. 16" in text
    await portal.shot("12-licence-expired")


async def test_aircraft_edited_category_registration_and_device(server: Server, make_token: Any,
                                                                portal: Portal) -> None:
    """Fleet: edit an aircraft in place (category, registration number, bind the organisation's device
    user); binding another organisation's device is refused with the field named."""
    op = await make_token("operator", organisation="浮梁文旅")
    await make_token("device", name=f"fl-gw-{portal.viewport}", organisation="浮梁文旅")
    await make_token("device", name=f"other-gw-{portal.viewport}", organisation="别家公司")
    r = await server.http.post("/aircraft", headers=auth(op), json={"id": "FL-901", "category": "light_uav"})
    assert r.status_code == 201, r.text
    await portal.open(server, op)
    pg = portal.page
    await portal.tab("fleet")
    card = pg.locator("#fleet-list li[data-id='FL-901']")
    await card.locator("button.act-edit").click()
    form = card.locator("form.edit")
    await form.locator("select.e-category").select_option("small_uav")
    await form.locator("input.e-registration").fill("UAS-JX-000901")
    await form.locator("input.e-device").fill(f"fl-gw-{portal.viewport}")
    await form.locator("button.e-save").click()
    await pg.locator("#fleet-msg.ok").wait_for()
    await card.locator("form.edit").wait_for(state="detached")
    text = await card.inner_text()
    assert "小型无人机" in text and "UAS-JX-000901" in text and "已绑定设备" in text, text
    got = (await server.http.get("/aircraft", headers=auth(op))).json()[0]
    assert (got["category"], got["registration"]) == ("small_uav", "UAS-JX-000901") and got["device_user_id"]
    await card.locator("button.act-edit").click()
    await card.locator("input.e-unbind").wait_for()  # bound: the editor offers to unbind
    await portal.shot("13-aircraft-edit")  # (a language switch redraws the list: the editor closes)

    await card.locator("button.act-edit").click()
    await card.locator("input.e-device").fill(f"other-gw-{portal.viewport}")
    await card.locator("button.e-save").click()
    await pg.locator("#fleet-msg.error").wait_for()
    assert "输入有误" in await pg.locator("#fleet-msg").inner_text()
    expected = [e for e in portal.errors if "422" in e]  # chromium logs the refusal asked for: only that one
    assert len(expected) == 1
    portal.errors.remove(expected[0])
    await card.locator("input.e-unbind").check()
    await card.locator("input.e-device").fill("")
    await card.locator("button.e-save").click()
    await pg.locator("#fleet-msg.ok").wait_for()
    assert (await server.http.get("/aircraft", headers=auth(op))).json()[0]["device_user_id"] is None


async def test_published_route_and_take_off_point_picked_and_filed(server: Server, make_token: Any,
                                                                   portal: Portal) -> None:
    """File a plan: pick the published Yaoli sightseeing route (its line, width and band; the airspace
    it touches listed before submitting), filed with its corridor id and approved; then pick the Yaoli
    vertiport as the take-off point: a circle around it, filed taking off and landing there."""
    op = await make_token("operator", organisation="浮梁文旅")
    for aid in ("FL-601", "FL-602"):
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201, r.text
    await portal.open(server, op)
    pg = portal.page
    await portal.tab("file")
    day = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
    await pg.locator("#f-published").select_option("route:T-YAOLI")
    route = await pg.evaluate("portal.pmap.footprint")
    assert route["type"] == "LineString" and len(route["coordinates"]) == 5
    hint = await pg.locator("#published-hint").inner_text()
    assert "瑶里古镇观光航线" in hint and "宽 400 米" in hint and "30–120 米 真高" in hint and "08:00–17:30" in hint, hint
    assert await pg.locator("#f-ceiling").input_value() == "120"
    width = await pg.evaluate("portal.map.getPaintProperty('footprint-corridor', 'line-width')")
    metres_per_px_z0 = 156543.03 * math.cos(math.radians(route["coordinates"][0][1]))
    assert width[:4] == ["interpolate", ["exponential", 2], ["zoom"], 0]  # drawn 400 m wide at every zoom
    assert abs(width[4] - 400 / metres_per_px_z0) < 1e-9 and abs(width[6] / width[4] - 2 ** 22) < 1
    await pg.locator("#f-aircraft").select_option("FL-601")
    await pg.locator("#f-pilot").fill("张伟")
    await pg.locator("#f-date").fill(day)
    await pg.locator("#f-start").fill("10:00")
    await pg.locator("#f-end").fill("10:30")
    await pg.locator("#f-end").dispatch_event("change")
    await pg.locator("#touches[data-state=ready]").wait_for()
    touched = await pg.locator("#touches li").all_inner_texts()
    assert any("瑶里古镇观光航线" in x for x in touched), touched
    await portal.shot("14-published-route")
    on_route = await portal.submit()
    await portal.decision("approved")
    filed = (await server.http.get(f"/plans/{on_route}", headers=auth(op))).json()
    assert filed["corridor_id"] == "T-YAOLI" and filed["geometry"] == route and filed["half_width_m"] == 200

    await pg.locator("#f-published").select_option("point:pad_yaoli")
    await pg.locator("#radius").fill("250")
    await pg.locator("#radius").dispatch_event("change")
    circle = await pg.evaluate("portal.pmap.footprint")
    assert circle["type"] == "Polygon" and len(circle["coordinates"][0]) == 65
    pad_hint = await pg.locator("#published-hint").inner_text()
    assert "瑶里" in pad_hint and "半径 250 米" in pad_hint and "每 15 分钟起降" in pad_hint, pad_hint
    await pg.locator("#f-aircraft").select_option("FL-602")
    await pg.locator("#f-ceiling").fill("100")
    at_pad = await _submit_new(pg, on_route)
    filed = (await server.http.get(f"/plans/{at_pad}", headers=auth(op))).json()
    pad = [117.5588598, 29.506311]
    assert filed["takeoff"]["coordinates"][:2] == pad and filed["landing"]["coordinates"][:2] == pad
    assert all(abs(_metres(p, (pad[0], pad[1])) - 250) < 5 for p in filed["geometry"]["coordinates"][0])
    assert filed.get("corridor_id") is None


async def test_announced_warning_notice_and_own_alerts(server: Server, make_token: Any, portal: Portal) -> None:
    """A wind warning under the aircraft's limit withdraws nothing, but the operator is told that it
    overlaps an approved plan, with "after it ends" refiled in one click; My flights lists the alerts
    that involve the organisation's aircraft (another organisation's aircraft named as the other party)."""
    from tests.e2e.conftest import Flight, Traffic, register

    op, device = await register(server, make_token, "浮梁文旅", {"FL-A1": "light_uav", "FL-A2": "light_uav"})
    _, other_device = await register(server, make_token, "别家公司", {"XX-9": "light_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    lon, lat = OPEN_AREA
    area = {"type": "Polygon", "coordinates": [[[lon - 0.003, lat - 0.003], [lon + 0.003, lat - 0.003],
                                                [lon + 0.003, lat + 0.003], [lon - 0.003, lat + 0.003],
                                                [lon - 0.003, lat - 0.003]]]}
    start = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    plan = (await server.http.post("/plans", headers=auth(op), json={
        "aircraft_id": "FL-A1", "category": "light_uav", "pilot": "张伟", "mission": "inspection", "geometry": area,
        "altitude": {"floor": {"value_m": 0, "reference": "AGL"}, "ceiling": {"value_m": 100, "reference": "AGL"}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()})).json()
    assert plan["state"] == "approved", plan["decision"]
    wind_end = start + timedelta(hours=2)
    r = await server.http.post("/weather/warnings", headers=auth(centre), json={
        "kind": "wind", "value": 6, "start": (start - timedelta(hours=1)).isoformat(), "end": wind_end.isoformat()})
    assert r.status_code == 201 and r.json()["affected_plans"] == [], r.text  # 6 m/s: under the light UAV limit

    await portal.open(server, op)
    pg = portal.page
    notice = pg.locator(f"#notices li[data-plan-id='{plan['id']}']")
    await notice.locator("button.refile").wait_for()
    text = await notice.inner_text()
    assert "大风预警" in text and "计划仍有效" in text and "改在预警结束后" in text, text
    assert (await server.http.get(f"/plans/{plan['id']}", headers=auth(op))).json()["state"] == "approved"

    await portal.tab("plans")
    async with Traffic(server, device) as mine, Traffic(server, other_device) as theirs:
        mine.add(Flight("FL-A2", -150, 0, 10, 0, alt=150))
        theirs.add(Flight("XX-9", 150, 0, -10, 0, alt=150))
        card = pg.locator("#alert-list li.alert", has_text="他方 XX-9")
        await card.first.wait_for(timeout=30000)
        await pg.evaluate("portal.alerts.load()")
        rows = await pg.locator("#alert-list li.alert").all_inner_texts()
        assert rows and all("FL-A2" in x for x in rows), rows
        assert any("冲突" in x for x in rows), rows
        await portal.shot("15-alerts-and-notice")
    await notice.locator("button.refile").click()
    new_id = await portal.decision("approved")
    refiled = (await server.http.get(f"/plans/{new_id}", headers=auth(op))).json()
    assert new_id != plan["id"] and datetime.fromisoformat(refiled["start"]) >= wind_end
    assert refiled["geometry"] == area and refiled["aircraft_id"] == "FL-A1"
