"""The analytics dashboard (``/static/analytics/index.html``) in Debian's chromium against a real server on
PostGIS with the generated history: the numbers on the page are the API's, every chart draws, nothing is
fetched off localhost, no raw code is shown, Chinese first and English on a button; a viewer sees the
airspace measures and is told filing and operators are not for its role. Screenshots (zh/en, desktop and
phone) go to ``docs/screenshots/analytics/``."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from lowalt.airspace.schedule import LOCAL_TZ
from tests.analytics import history as hist
from tests.conftest import REPO, Server, auth, doc_screenshot
from tests.e2e.conftest import PageWatch, browser, page, wait_js  # noqa: F401  (fixtures)

SHOTS = REPO / "docs" / "screenshots" / "analytics"
DAY = "2026-11-24"
RAW = re.compile(r"\b(long_term_corridor|no_application|standard|approved|referred|rejected|automatic)\b")


async def _seed(server: Server) -> None:
    async with server.app.state.db.unit_of_work() as uow:  # type: ignore[attr-defined]
        await hist.store(uow.conn, hist.build())
        await uow.commit()
    await hist.roll_all(server.app.state.db)  # type: ignore[attr-defined]  # the separation is read from roll-ups


async def _axis(pg: Any, chart: str) -> str:
    """The category labels of a chart's x axis, as ECharts holds them."""
    return str(await pg.evaluate(f"window.analytics.state.charts['{chart}'].getOption().xAxis[0].data.join(' ')"))


async def _open(pg: Any, server: Server, token: str) -> None:
    await pg.goto(f"{server.url}/static/analytics/index.html?day={DAY}")
    await pg.locator("#token").fill(token)
    await pg.locator("#signin button[type=submit]").click()
    await pg.wait_for_function("window.analytics && window.analytics.ready", timeout=60000)


async def test_dashboard_shows_the_api_numbers_in_chinese_then_english(
        server: Server, make_token: Any, page: tuple[Any, PageWatch]) -> None:  # noqa: F811
    pg, watch = page
    await _seed(server)
    token = await make_token("centre")
    await _open(pg, server, token)
    window = {"from": f"{DAY}T00:00:00+08:00", "to": "2026-11-25T00:00:00+08:00"}
    ops = (await server.http.get("/analytics/operators", params=window, headers=auth(token))).json()
    slots = (await server.http.get("/analytics/takeoff-points", params=window, headers=auth(token))).json()
    assert await pg.locator("#kpi-flights").inner_text() == str(sum(o["flights"] for o in ops["operators"]))
    assert await pg.locator("#kpi-full").inner_text() == str(sum(s["booked"] >= s["capacity"] for s in slots["slots"]))
    filing = (await server.http.get("/analytics/filing", params=window, headers=auth(token))).json()
    taken = next(a for a in filing["alternatives"] if a["kind"] == "all")
    assert await pg.locator("#kpi-alternatives").inner_text() == f"{taken['accepted']}/{taken['offered']}" == "2/4"
    for chart in ("slots", "cells", "corridors", "separation", "filing"):
        assert await pg.locator(f"#chart-{chart} canvas").count() >= 1, chart
    got = (await server.http.get("/analytics/corridors", params=window, headers=auth(token))).json()
    corridors = got["hours"]
    # the separation covers what is rolled (10:00 Beijing on, the history's hours at least); the page says up to
    # when (a server's own roller may have rolled further, so the API's answer is the reference)
    beijing = ZoneInfo(LOCAL_TZ)
    to = datetime.fromisoformat(got["separation_to"]).astimezone(beijing)
    assert got["separation_from"] == "2026-11-24T02:00:00Z" and to >= datetime(2026, 11, 24, 13, tzinfo=beijing)
    cover = await pg.locator("#sep-cover").inner_text()
    assert cover.startswith("间隔统计截至") and cover.endswith(to.strftime("%H:%M")), cover
    drawn = await pg.evaluate("window.analytics.state.charts['chart-separation'].getOption().series"
                              ".map(s => s.data)")
    r1 = sorted((c for c in corridors if c["route_id"] == "R1"), key=lambda c: c["hour"])
    assert drawn[1] == [c["p95_separation_m"] for c in r1] and drawn[2] == [c["loss_of_separation_s"] for c in r1]
    assert max(drawn[2]) == hist.A3_CLIMB_S  # the loss of separation the history holds is on the chart
    assert await pg.locator("#operators tr").count() == 1 + len(ops["operators"])
    text = await pg.locator("body").inner_text()
    assert "容量与使用分析" in text and "访问令牌" not in text and not RAW.findall(text)
    assert "标准申报" in await _axis(pg, "chart-filing")  # the chart's labels are drawn, not text
    await doc_screenshot(pg, SHOTS / "dashboard-desktop-zh.png", full_page=True)
    await pg.locator("#lang").click()
    await pg.wait_for_function("document.documentElement.lang === 'en' && window.analytics.ready")
    text = await pg.locator("body").inner_text()
    assert "Capacity and utilisation" in text and "flight hours" in text and not RAW.findall(text.replace(
        "standard", ""))
    assert "standard" in await _axis(pg, "chart-filing")
    await doc_screenshot(pg, SHOTS / "dashboard-desktop-en.png", full_page=True)
    await pg.set_viewport_size({"width": 360, "height": 740})
    await pg.locator("#lang").click()
    await doc_screenshot(pg, SHOTS / "dashboard-phone-zh.png", full_page=True)
    assert not watch.foreign(), watch.foreign()
    assert not watch.errors, watch.errors


async def test_viewer_sees_airspace_measures_only(server: Server, make_token: Any,
                                                  page: tuple[Any, PageWatch]) -> None:  # noqa: F811
    pg, watch = page
    await _seed(server)
    await _open(pg, server, await make_token("viewer"))
    assert await pg.locator("#chart-cells canvas").count() >= 1
    assert "本角色无权查看此项" in await pg.locator("#operators").inner_text()
    assert "本角色无权查看此项" in await pg.locator("#chart-filing").inner_text()
    assert await pg.locator("#kpi-flights").inner_text() == "–"
    assert await pg.locator("#kpi-alternatives").inner_text() == "–"
    assert not [e for e in watch.errors if "403" not in e], watch.errors


async def test_a_refused_token_asks_to_sign_in_again(server: Server, page: tuple[Any, PageWatch]) -> None:  # noqa: F811
    pg, _watch = page
    await pg.goto(f"{server.url}/static/analytics/index.html?day={DAY}")
    await pg.locator("#token").fill("not-a-token")
    await pg.locator("#signin button[type=submit]").click()
    await pg.locator("#error").wait_for(state="visible")
    assert "令牌无效" in await pg.locator("#error").inner_text()
    assert await pg.locator("#signin").is_visible()


async def test_centre_toggles_the_occupancy_heat_map_on_the_live_map(
        server: Server, make_token: Any, page: tuple[Any, PageWatch]) -> None:  # noqa: F811
    """The live map's heat map is the cells measure over the last hour: one heat point per occupied cell,
    weighted by occupancy over the busiest cell's; off by default, on and off with its switch (zh label)."""
    pg, watch = page
    now = time.time()
    async with server.app.state.db.unit_of_work() as uow:  # type: ignore[attr-defined]
        # two aircraft over the last 5 minutes at 1 Hz, 3 km apart (two cells), one of them twice as long
        for ac, lon, secs in (("HEAT-1", 117.20, 300), ("HEAT-2", 117.23, 150)):
            await uow.conn.execute(text(
                "INSERT INTO track_points (aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src) "
                "SELECT :ac, :t0 + s, :lon, 29.35, 200, 0, 0, 0, 0 FROM generate_series(0, :n - 1) s"),
                {"ac": ac, "t0": now - secs, "lon": lon, "n": secs})
        await uow.commit()
    token = await make_token("centre")
    await pg.goto(f"{server.url}/?token={token}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
    box = pg.locator("#toggle-heat")
    assert await box.is_visible() and not await box.is_checked()
    assert "占用热力图" in await pg.locator("label", has=box).inner_text()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('occupancy-heat', 'visibility')") == "none"
    await box.check()
    await wait_js(pg, "lowalt.heat.window !== null", 15)
    window = await pg.evaluate("lowalt.heat.window")
    cells = (await server.http.get("/analytics/cells", params=window, headers=auth(token))).json()["cells"]
    drawn = await pg.evaluate("lowalt.map.getSource('occupancy')._data.features.map(f => f.properties)")
    assert len(cells) == 2 and sorted((d["cx"], d["cy"]) for d in drawn) == sorted((c["cx"], c["cy"]) for c in cells)
    top = max(c["occupancy"] for c in cells)
    assert sorted(d["weight"] for d in drawn) == sorted(c["occupancy"] / top for c in cells)
    assert sorted(d["weight"] for d in drawn)[0] < 1.0  # the shorter flight weighs less
    assert await pg.evaluate("lowalt.map.getLayoutProperty('occupancy-heat', 'visibility')") == "visible"
    await box.uncheck()
    assert await pg.evaluate("lowalt.map.getLayoutProperty('occupancy-heat', 'visibility')") == "none"
    assert not watch.foreign(), watch.foreign()
    assert not watch.errors, watch.errors
