"""The party views (``/static/coordination/index.html``, issue #19) in Debian's chromium, in Chinese, against a
real server on PostGIS: the military activates an area (its purpose shown to it alone), ATC and the
military each approve a plan that needs both, police intercept and resolve a rogue drone's case, and the
centre registers and revokes a government fleet's standing approval and reads the preemption audit (then in
English). Each step's screenshot goes to ``docs/screenshots/coordination/``; the visible text never shows a
raw code."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.conftest import REPO, Server, auth, doc_screenshot, wait_until
from tests.filing.conftest import local_day, plan_body, soon

SHOTS = REPO / "docs" / "screenshots" / "coordination"
CODE_TOKEN = re.compile(r"\b[a-z]+_[a-z]+\b")
URL = "/static/coordination/index.html"


class PartyPage:
    def __init__(self, page: Any, name: str) -> None:
        self.page, self.name = page, name

    async def open(self, server: Server, token: str) -> None:
        await self.page.goto(f"{server.url}{URL}")
        await self.page.locator("#token").fill(token)
        await self.page.locator("#signin button[type=submit]").click()
        await self.page.locator("#board").wait_for(state="visible")

    async def shot(self, step: str, lang: str = "zh") -> None:
        text = await self.page.locator("body").inner_text()
        for credit in await self.page.locator(".maplibregl-ctrl-attrib").all_inner_texts():
            text = text.replace(credit, "")  # the map's data credits name data sets, not codes of ours
        assert not CODE_TOKEN.findall(text), f"{self.name}/{step}: raw codes on screen: {CODE_TOKEN.findall(text)}"
        await doc_screenshot(self.page, SHOTS / f"{self.name}-{step}-{lang}.png", full_page=True)

    async def row_text(self, table: str, contains: str) -> str:
        row = self.page.locator(f"#{table} tbody tr", has_text=contains).first
        await row.wait_for()
        return str(await row.inner_text())


async def map_features(page: Any, source: str) -> list[dict[str, Any]]:
    """The features of one of the party map's sources, as MapLibre holds them (not pixels), once it is idle;
    each as its properties plus its geometry type."""
    await page.wait_for_function("() => window.lowaltParty?.partyMap?.ready === true")
    feats: list[dict[str, Any]] = await page.evaluate("""(source) => window.lowaltParty.partyMap.map
        .querySourceFeatures(source).map((f) => ({ ...f.properties, geometry: f.geometry.type }))""", source)
    return feats


async def wait_map(page: Any, source: str, test: Any, what: str) -> list[dict[str, Any]]:
    """Wait until the map source's features pass ``test`` (the poll and the feed update it)."""
    got: list[dict[str, Any]] = []

    async def ok() -> bool:
        nonlocal got
        got = await map_features(page, source)
        return bool(test(got))

    await wait_until(ok, what=what, every=0.3)
    return got


async def _new(browser: Any, name: str) -> tuple[PartyPage, Any]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai")
    return PartyPage(await ctx.new_page(), name), ctx


async def test_party_views_military_atc_police(server: Server, make_token: Any, browser: Any) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    mil = await make_token("military", name="军方值班")
    atc = await make_token("atc", name="罗家管制")
    cen = await make_token("centre", name="中心值班")
    police = await make_token("police", name="公安值班")
    for aid in ("FL-1", "ROGUE-1"):
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201
    contexts = []
    try:
        # the military activates an area north-east of Luojia, light UAVs with its approval
        m, ctx = await _new(browser, "military")
        contexts.append(ctx)
        await m.open(server, mil)
        await m.page.locator("#c-title").fill("北区训练")
        await m.page.locator("#c-purpose").fill("演习保障")
        await m.page.locator("#c-bbox").fill("117.23,29.44,117.30,29.48")
        await m.page.locator("#c-hours").fill("72")  # the longest: covers the flight two Beijing days ahead at any hour
        await m.page.locator("#c-light").check()
        await m.page.locator("#issue button[type=submit]").click()
        row = await m.row_text("constraints", "北区训练")
        assert "演习保障" in row and "军方" in row
        await m.shot("1-activated")
        # an operator files a plan inside it and the ZSJD protection area: routed to ATC and the military
        r = await server.http.post("/plans", headers=auth(op), json=plan_body(
            "FL-1", start=local_day(2, 10), coords=[[117.25, 29.45], [117.28, 29.46]], ceiling=200))
        assert r.json()["state"] == "referred", r.json()["decision"]["reasons"]
        plan_id = r.json()["id"]

        async def routed() -> bool:
            return (await server.http.get(f"/coordination/approvals/{plan_id}", headers=auth(cen))).status_code == 200

        await wait_until(routed, what="the plan routed")
        a, ctx = await _new(browser, "atc")
        contexts.append(ctx)
        await a.open(server, atc)
        row = await a.row_text("approvals", plan_id[:8])
        assert "待答复" in row and "民航" in row
        assert "罗家机场净空保护区" in await a.row_text("plans", plan_id[:8])
        assert await a.page.locator("#alerts-section").is_visible()  # its party's alerts (none flying here)
        constraints = await a.page.locator("#constraints").inner_text()
        assert "保留空域" in constraints and "北区训练" not in constraints and "演习保障" not in constraints
        # on ATC's map the activation is reserved airspace: drawn, with neither its title nor its purpose
        drawn = await wait_map(a.page, "party-constraints", lambda fs: any(f["reserved"] for f in fs),
                               "the activation on ATC's map")
        assert [f["label"] for f in drawn if f["reserved"]][0] == "保留空域"
        assert not any("北区训练" in str(f) or "演习保障" in str(f) for f in drawn), drawn
        assert {f["geometry"] for f in drawn} == {"Polygon"}
        # the military's own map names it (its own title, its authority)
        mine = await wait_map(m.page, "party-constraints", lambda fs: any("北区训练" in f["label"] for f in fs),
                              "the activation on the military's map")
        assert not any(f["reserved"] for f in mine if "北区训练" in f["label"])
        await a.page.locator("#constraints tbody tr", has_text="保留空域").click()  # the map fits the area
        await a.page.wait_for_function("""() => { const m = window.lowaltParty.partyMap.map, c = m.getCenter();
            return !m.isMoving() && Math.abs(c.lng - 117.265) < 0.01 && Math.abs(c.lat - 29.46) < 0.01; }""")
        await a.page.locator(f"#approvals tr[data-id='{plan_id}'] input.reason").fill("与跑道运行无冲突")
        await a.page.locator(f"#approvals tr[data-id='{plan_id}'] button", has_text="同意").first.click()
        await a.page.locator(f"#approvals tr[data-id='{plan_id}'] td.state-approved").wait_for()
        await a.shot("2-atc-approved")
        await m.page.reload()
        await m.page.locator("#board").wait_for(state="visible")
        await m.page.locator(f"#approvals tr[data-id='{plan_id}'] button", has_text="同意").first.click()
        await m.page.locator(f"#approvals tr[data-id='{plan_id}'] td.state-approved").wait_for()
        await m.shot("3-military-approved")

        async def approved() -> bool:
            got = await server.http.get(f"/plans/{plan_id}", headers=auth(op))
            return bool(got.json()["state"] == "approved")

        await wait_until(approved, what="the plan approved by both")
        # a rogue drone near Luojia: the centre sees it among the suspect tracks and hands it to police
        device = await make_token("device", organisation="浮梁文旅")
        c, ctx = await _new(browser, "centre")
        contexts.append(ctx)
        async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
            sent = 0

            async def report(ws: Any = tele) -> None:  # the rogue flies north-east, about 6 m/s
                nonlocal sent
                sent += 1
                await ws.send(orjson.dumps([{"id": "ROGUE-1", "t": time.time(), "lon": 117.19 + 0.0004 * sent,
                                               "lat": 29.31 + 0.0004 * sent, "alt": 80, "ref": "AGL", "gs": 6,
                                               "trk": 45}]).decode())
                await ws.recv()

            async def suspect() -> bool:
                await report()
                got = (await server.http.get("/coordination/tracks", headers=auth(cen))).json()
                return any(x["id"] == "ROGUE-1" for x in got)

            async def recorded() -> bool:  # a few positions stored: the case carries them as its track
                await report()
                got = await server.http.get("/tracks/ROGUE-1/history", headers=auth(cen))
                return any(f["properties"].get("points", 0) >= 3 for f in got.json()["features"])

            await wait_until(suspect, what="the rogue among the suspect tracks", every=0.5)
            await wait_until(recorded, what="the rogue's track recorded", every=0.5)
            await c.open(server, cen)
            row = c.page.locator("#tracks tbody tr", has_text="ROGUE-1")
            await row.wait_for()
            assert "未经批准飞行" in await row.inner_text()
            assert "未经批准飞行" in await c.row_text("alerts", "ROGUE-1")  # the centre's live alerts: all
            await c.shot("4-suspect-track")
            await row.locator("button", has_text="移交公安").click()
            await c.page.locator("#cases tbody tr", has_text="ROGUE-1").wait_for()
        p, ctx = await _new(browser, "police")
        contexts.append(ctx)
        await p.open(server, police)
        assert not await p.page.locator("#issue").is_visible()  # police issue no constraints
        row = await p.row_text("cases", "ROGUE-1")
        assert "已指派" in row and "未经批准飞行" in row and "罗家" in row
        # the police map: the case's track (a line), its predicted path, the sites near it, its state as the
        # marker's colour; clicking the row (not a button) flies the map to it
        case_id = await p.page.locator("#cases tbody tr", has_text="ROGUE-1").get_attribute("data-id")
        await p.page.locator("#cases tbody tr", has_text="ROGUE-1").locator("td").first.click()
        await p.page.wait_for_function("""() => { const c = window.lowaltParty.partyMap.map.getCenter();
            return !window.lowaltParty.partyMap.map.isMoving() && Math.abs(c.lng - 117.19) < 0.02
              && Math.abs(c.lat - 29.31) < 0.02 && window.lowaltParty.partyMap.map.getZoom() >= 13; }""")
        track = await wait_map(p.page, "case-track", lambda fs: any(f["case"] == case_id for f in fs), "the track")
        assert {f["geometry"] for f in track} == {"LineString"} and track[0]["state"] == "assigned"
        path = await wait_map(p.page, "case-path", lambda fs: any(f["case"] == case_id for f in fs), "the path")
        assert {f["geometry"] for f in path} == {"LineString"}
        marker = await wait_map(p.page, "case-marker", lambda fs: any(f["case"] == case_id for f in fs), "marker")
        assert marker[0]["state"] == "assigned" and marker[0]["label"] == "ROGUE-1 · 已指派"
        colour = await p.page.evaluate("""() => window.lowaltParty.partyMap.map
            .getPaintProperty("case-marker", "circle-color")""")
        assert "assigned" in colour and "#f08c00" in colour  # the state picks the marker's colour
        sites = await wait_map(p.page, "case-sites", lambda fs: any(f["case"] == case_id for f in fs), "sites")
        assert any("罗家" in f["label"] for f in sites), sites
        # the police's alerts, at the aircraft's position from their scoped feed (the rogue still reporting)
        async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
            async def alert_drawn() -> bool:
                await report(tele)
                fs = await map_features(p.page, "party-alerts")
                return any(f["aircraft"] == "ROGUE-1" and f["label"] == "ROGUE-1 · 未经批准飞行" for f in fs)

            await wait_until(alert_drawn, what="the rogue's alert on the police map", every=0.5)
        await p.shot("5-case-assigned")
        await p.page.locator("#cases tbody tr", has_text="ROGUE-1").locator("button", has_text="开始拦截").click()
        await p.page.locator("#cases tbody tr td.state-intercepting").wait_for()
        await p.page.locator("#cases tbody tr", has_text="ROGUE-1").locator("button", has_text="已反制").click()
        await p.page.locator("#cases tbody tr td.state-resolved").wait_for()
        await wait_map(p.page, "case-marker", lambda fs: any(f["state"] == "resolved" for f in fs), "resolved")
        await wait_map(p.page, "case-path", lambda fs: not fs, "no path: a resolved case is going nowhere any more")
        assert await map_features(p.page, "case-track")
        assert "已处置（已反制）" in await p.row_text("cases", "ROGUE-1")
        await p.shot("6-case-resolved")
        # government fleets: the centre registers the police fleet's standing approval for the longest
        # validity (180 days: accepted), then revokes it with a reason
        await c.page.locator("#s-title").fill("东区治安巡逻")
        await c.page.locator("#s-ceiling").fill("150")
        await c.page.locator("#s-days").fill("180")
        await c.page.locator("#standing-form button[type=submit]").click()
        row = await c.row_text("standing", "东区治安巡逻")
        assert "有效" in row and "警务" in row and "jdz-police" in row and "0–150（真高）" in row
        standing = c.page.locator("#standing tbody tr", has_text="东区治安巡逻")
        await standing.locator("input.reason").fill("巡逻任务调整")
        await standing.locator("button", has_text="撤销").click()
        await c.page.locator("#standing tbody tr td.state-revoked", has_text="巡逻任务调整").wait_for()
        # an emergency flight preempts a tourism flight that has not taken off: the centre's audit shows it
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": "GT-9", "category": "light_uav"})
        assert r.status_code == 201
        rescue = await make_token("operator", name="应急值班", organisation="jdz-emergency")
        r = await server.http.post("/aircraft", headers=auth(rescue), json={"id": "EM-9", "category": "light_uav"})
        assert r.status_code == 201
        start = soon(20)
        tour = (await server.http.post("/plans", headers=auth(op), json=plan_body("GT-9", start=start))).json()
        assert tour["state"] == "approved", tour["decision"]
        em = (await server.http.post("/plans", headers=auth(rescue), json=plan_body(
            "EM-9", start=start, mission="emergency_rescue"))).json()
        assert em["state"] == "approved" and em["decision"]["preemption"], em["decision"]
        row = await c.row_text("preemptions", em["id"][:8])
        assert tour["id"][:8] in row and "浮梁文旅（商业）" in row and "jdz-emergency（应急救援）" in row
        assert "应急值班" in row and "政务巡检及以上" in row
        await c.page.locator("#standing-section").scroll_into_view_if_needed()
        await c.shot("7-standing-and-preemption")
        await c.page.locator("#lang").click()  # the English switch: the same tables, no raw code either
        assert await c.page.locator("#standing-section h2").inner_text() == (
            "Standing approvals (government fleets' patrol areas)")
        row = await c.row_text("preemptions", "Commercial")
        assert "jdz-emergency (Emergency)" in row and "Priority preemption (Inspection and above" in row
        assert "Revoked" in await c.row_text("standing", "东区治安巡逻")
        await c.shot("7-standing-and-preemption", "en")
    finally:
        for ctx in contexts:
            await ctx.close()
