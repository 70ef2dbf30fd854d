"""The live map as the centre's daily tool (issue 17), in a real browser against a real server and PostGIS.

* triage: alerts grouped by kind (fixed group order) and, in each group, ordered by severity, first seen,
  id; rows are the same DOM nodes across updates (updated in place, not rebuilt); filter by kind; a new
  alarm beeps and flashes the title, not when muted; acknowledge a whole group; a selected alert is
  marked and its pair drawn, with a translated detail card;
* search and card: the search box finds an aircraft by id, by operator and by plan id; the table sorts;
  counts by status and category; the aircraft card shows every field translated (zh and en), altitudes
  labelled AMSL / AGL;
* plan queue: urgency order, a comment being typed survives queue updates (same input node, same value,
  still focused), a plan whose window has passed leaves the queue, rejecting needs a reason.

Screenshots (zh and en) go to docs/screenshots/map/.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import REPO, Server, auth, doc_screenshot, wait_until
from tests.e2e.conftest import Flight, Traffic, register, ring, wait_js

SHOTS = REPO / "docs" / "screenshots" / "map"
RAW_CODES = ("small_uav", "light_uav", "telemetry", "noncoop", "unauthorised", "no_plan", "outside_corridor",
             "state.", "kind.", "cat.", "mission.", "src.", "coop")
ORG = "浮梁文旅"


def plan_body(aircraft_id: str, days: int, hour: int, lon0: float = 117.60) -> dict[str, Any]:
    """Light drone at 150-200 m AGL in class W (suitable up to 120 m): referred to the centre."""
    d = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)
    start = datetime(d.year, d.month, d.day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))
    return {
        "aircraft_id": aircraft_id, "category": "light_uav", "pilot": "张伟", "mission": "tourism",
        "geometry": {"type": "LineString", "coordinates": [[lon0, 29.30], [lon0 + 0.03, 29.32]]}, "half_width_m": 50,
        "altitude": {"floor": {"value_m": 150, "reference": "AGL"}, "ceiling": {"value_m": 200, "reference": "AGL"}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
    }


async def shot(pg: Any, name: str) -> None:
    await doc_screenshot(pg, SHOTS / name)


DOM_ORDER = """() => [...document.querySelectorAll('#alerts > li')].map(li => li.classList.contains('group')
    ? 'group:' + li.dataset.kind : li.dataset.alert)"""
EXPECTED_ORDER = """async () => {
  const { alertOrder, KIND_ORDER } = await import('/static/js/alerts.js');
  const all = [...lowalt.alerts.byId.values()];
  const out = [];
  for (const k of KIND_ORDER) {
    const g = all.filter(a => a.kind === k).sort(alertOrder);
    if (g.length) out.push('group:' + k, ...g.map(a => a.id));
  }
  return out;
}"""


async def test_triage_search_and_card(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    fleet = {f.id: "small_uav" for f in ring(6)} | {"PAIR-A": "small_uav", "PAIR-B": "small_uav",
                                                    "PAIR-C": "small_uav", "PAIR-D": "small_uav",
                                                    "TOUR-1": "light_uav"}
    op, device = await register(server, make_token, ORG, fleet)
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    filed = await server.http.post("/plans", headers=auth(op), json=plan_body("TOUR-1", 2, 10))
    assert filed.status_code == 201 and filed.json()["state"] == "referred", filed.text
    plan_id = filed.json()["id"]

    async with Traffic(server, device) as traffic:
        traffic.add(*ring(6))  # flying without a plan: unauthorised-flight warnings
        await pg.goto(f"{server.url}/?token={centre}")
        await wait_js(pg, "window.lowalt && window.lowalt.ready && lowalt.store.size >= 6", 30)
        await pg.locator("#alerts li.kind-unauthorised").nth(5).wait_for(timeout=30000)
        beeps0 = await pg.evaluate("lowalt.beeps()")

        # a new alarm: two aircraft 30 m apart at one altitude (separation lost and staying lost)
        traffic.add(Flight("PAIR-A", -400, 300, 5, 0, alt=200), Flight("PAIR-B", -400, 330, 5, 0, alt=200))
        conflict = pg.locator("#alerts li.kind-conflict", has_text="PAIR-A")
        await conflict.wait_for(timeout=30000)
        await wait_js(pg, f"lowalt.beeps() > {beeps0}", 10)
        await wait_js(pg, "document.title.includes('新紧急告警')", 5)

        # stable order: groups in a fixed order, rows by severity, first seen, id
        await wait_js(pg, f"(async () => JSON.stringify(({DOM_ORDER})()) === JSON.stringify(await ({EXPECTED_ORDER})()))()",
                      10)
        dom = await pg.evaluate(DOM_ORDER)
        assert dom[0] == "group:conflict" and "group:unauthorised" in dom
        # rows are updated in place across alert updates: mark the nodes, wait for several updates
        ids = [x for x in dom if not x.startswith("group:")]
        await pg.evaluate("document.querySelectorAll('#alerts > li').forEach(li => li.__mark = true)")
        m0 = await pg.evaluate("lowalt.messages")
        await wait_js(pg, f"lowalt.messages >= {m0 + 5}", 20)  # the feed moved on (and the panel with it)
        await pg.evaluate("lowalt.alertsPanel.render(true)")
        assert await pg.evaluate("ids => ids.every(id => document.querySelector(`#alerts li[data-alert='${id}']`)"
                                 "?.__mark)", ids)
        now = [x for x in await pg.evaluate(DOM_ORDER) if x in ids]
        assert now == ids

        # muted: the next alarm flashes but does not beep
        await pg.locator("#alert-mute").uncheck()
        beeps1 = await pg.evaluate("lowalt.beeps()")
        await pg.mouse.move(700, 400)  # pointer off the list (a hovered list holds its rows)
        traffic.add(Flight("PAIR-C", 400, -300, 0, 5, alt=260), Flight("PAIR-D", 430, -300, 0, 5, alt=260))
        await pg.locator("#alerts li.kind-conflict", has_text="PAIR-C").wait_for(timeout=30000)
        assert await pg.evaluate("lowalt.beeps()") == beeps1

        # filter by kind
        await pg.locator("#alert-filter").select_option("conflict")
        await wait_js(pg, "document.querySelectorAll('#alerts li.kind-unauthorised').length === 0", 5)
        assert await pg.locator("#alerts li.kind-conflict").count() >= 2
        await pg.locator("#alert-filter").select_option("")
        await pg.locator("#alerts li.kind-unauthorised").first.wait_for(timeout=5000)

        # select a conflict: row marked, pair drawn, detail card translated
        await conflict.locator(".alert-detail").click()
        assert "selected" in (await conflict.get_attribute("class") or "")
        drawn = await wait_js(pg, "lowalt.map.getSource('selected')._data.features.length", 5)
        assert drawn == 3  # two rings and the line joining them
        card = pg.locator("#alert-card")
        await card.wait_for(state="visible")
        text = await card.inner_text()
        assert "冲突" in text and "紧急" in text and "小型无人机" in text and "PAIR-B" in text
        assert not [c for c in RAW_CODES if c in text], text
        await pg.evaluate("document.querySelector('#alerts').scrollTop = 0")
        await shot(pg, "01-triage-zh.png")

        # acknowledge the whole unauthorised group (centre); the API agrees
        await pg.locator("#alerts li.group[data-kind='unauthorised'] button.ack-group").click()
        await wait_js(pg, "[...lowalt.alerts.byId.values()].filter(a => a.kind === 'unauthorised')"
                          ".every(a => a.acknowledged_by)", 10)
        active = (await server.http.get("/alerts", headers=auth(centre))).json()
        unauth = [a for a in active if a["kind"] == "unauthorised"]
        assert len(unauth) >= 6 and all(a["acknowledged_by"] for a in unauth)
        assert not any(a["acknowledged_by"] for a in active if a["kind"] == "conflict")

        # search: by aircraft id, by operator, by plan id
        traffic.add(Flight("TOUR-1", 0, -1200, 5, 0, alt=160))
        await wait_js(pg, "lowalt.store.position('TOUR-1')", 15)
        await pg.mouse.move(700, 400)
        search = pg.locator("#search")
        await search.fill("flt-03")
        await wait_js(pg, "[...document.querySelectorAll('#track-rows tr')].map(r => r.dataset.id).join() === 'FLT-03'", 5)
        await search.fill(ORG)
        n_org = len(fleet)
        await wait_js(pg, f"document.querySelectorAll('#track-rows tr').length === {n_org}", 10)
        await search.fill(plan_id[:12])
        await wait_js(pg, "[...document.querySelectorAll('#track-rows tr')].map(r => r.dataset.id).join() === 'TOUR-1'",
                      10)
        # counts by status and category
        cats = await pg.evaluate("[...document.querySelectorAll('#track-counts .chip.cat')].map(c => c.textContent)")
        assert any(c.startswith("小型无人机") for c in cats) and any(c.startswith("轻型无人机") for c in cats), cats
        # sort by altitude, descending
        await search.fill("")
        await pg.locator("#track-table th[data-sort='alt']").click()
        await pg.locator("#track-table th[data-sort='alt']").click()
        await wait_js(pg, "(() => { const a = [...document.querySelectorAll('#track-rows tr')].map(r => +r.children[3]"
                          ".textContent); return a.length > 5 && a.every((x, k) => !k || a[k - 1] >= x); })()", 5)

        # the card: every field, translated, altitudes labelled
        await search.fill("TOUR-1")
        await pg.locator("#track-rows tr[data-id='TOUR-1']").click()
        popup = pg.locator(".maplibregl-popup .card[data-id='TOUR-1']")
        await popup.wait_for(timeout=5000)
        await wait_js(pg, "!document.querySelector('.maplibregl-popup .card')?.textContent.includes('查询中')", 10)
        fields = await pg.evaluate("Object.fromEntries([...document.querySelectorAll('.maplibregl-popup tr[data-field]')]"
                                   ".map(r => [r.dataset.field, r.children[1].textContent]))")
        assert fields["operator"] == ORG
        assert fields["category"] == "轻型无人机"
        assert fields["mission"] == "旅游观光"
        assert fields["plan"].startswith(plan_id) and "待审批" in fields["plan"] and "AGL" in fields["plan"]
        assert fields["alt_amsl"].endswith("米 AMSL")
        assert fields["alt_agl"].endswith("米 AGL") or fields["alt_agl"] == "无地形数据"
        assert fields["source"] == "遥测" and fields["coasting"] in ("是", "否")
        assert "°N" in fields["position"] and fields["heading"].endswith("°")
        assert "秒前" in fields["age"] and fields["battery"] == "实时数据未提供"
        text = " ".join(fields.values())
        assert not [c for c in RAW_CODES if c in text], fields
        await shot(pg, "02-search-card-zh.png")

        await pg.locator("#lang-switch").click()
        await wait_js(pg, "document.querySelector('.maplibregl-popup tr[data-field=category] td')?.textContent"
                          " === 'Light UAV'", 5)
        fields = await pg.evaluate("Object.fromEntries([...document.querySelectorAll('.maplibregl-popup tr[data-field]')]"
                                   ".map(r => [r.dataset.field, r.children[1].textContent]))")
        assert fields["mission"] == "Sightseeing" and fields["source"] == "Telemetry"
        assert "Referred" in fields["plan"]
        assert not [c for c in RAW_CODES if c in " ".join(fields.values())], fields
        await shot(pg, "02-search-card-en.png")
        await pg.locator(".maplibregl-popup-close-button").click()
        await conflict.locator(".alert-detail").click()
        await card.wait_for(state="visible")
        text = await card.inner_text()
        assert "Conflict" in text and "Alarm" in text and "Small UAV" in text
        assert await pg.locator("#alerts li.group[data-kind='unauthorised'] .group-name").inner_text() \
            == "Unauthorised flight"
        assert await conflict.locator("button.ack").inner_text() == "Acknowledge"
        await shot(pg, "01-triage-en.png")

    assert not watch.foreign()
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


async def test_plan_queue(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    op, _ = await register(server, make_token, ORG, {"Q-1": "light_uav", "Q-2": "light_uav", "Q-3": "light_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    later = (await server.http.post("/plans", headers=auth(op), json=plan_body("Q-1", 3, 10))).json()
    sooner = (await server.http.post("/plans", headers=auth(op), json=plan_body("Q-2", 2, 9))).json()
    assert later["state"] == sooner["state"] == "referred"

    await pg.goto(f"{server.url}/?token={centre}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready")
    await pg.locator(f"#plans li[data-plan='{later['id']}']").wait_for(timeout=10000)
    order = await pg.evaluate("[...document.querySelectorAll('#plans li[data-plan]')].map(li => li.dataset.plan)")
    assert order == [sooner["id"], later["id"]]  # no emergency: by start
    # the urgency order itself: emergency (decide-by) first, soonest decide-by first, then start
    got = await pg.evaluate("""async () => {
      const { planOrder } = await import('/static/js/plans.js');
      const p = (id, start, mission, by) => ({ id, start, mission, decision: by ? { decide_by: by } : {} });
      return [p('logi', '2030-01-01T08:00:00Z', 'logistics'), p('med2', '2030-01-01T12:00:00Z', 'medical',
        '2030-01-01T11:50:00Z'), p('med1', '2030-01-01T10:00:00Z', 'medical', '2030-01-01T09:50:00Z'),
        p('tour', '2030-01-01T07:00:00Z', 'tourism')].sort(planOrder).map(x => x.id);
    }""")
    assert got == ["med1", "med2", "tour", "logi"]
    due = await pg.locator(f"#plans li[data-plan='{sooner['id']}'] .plan-due").inner_text()
    assert "后开始" in due

    # type a comment; queue updates (a new plan filed, several refreshes) keep it, in the same focused input
    item = pg.locator(f"#plans li[data-plan='{later['id']}']")
    box = item.locator("input.comment")
    await box.click()
    await box.type("已与运营人电话核实")
    await pg.evaluate("document.activeElement.__mark = true")
    third = (await server.http.post("/plans", headers=auth(op), json=plan_body("Q-3", 2, 8, lon0=117.64))).json()
    await pg.locator(f"#plans li[data-plan='{third['id']}']").wait_for(timeout=10000)
    for _ in range(3):
        seq = await pg.evaluate("lowalt.plansPanel.seq")
        await pg.evaluate("lowalt.plansPanel.refresh()")
        await wait_js(pg, f"lowalt.plansPanel.seq > {seq}")
    assert await box.input_value() == "已与运营人电话核实"
    assert await pg.evaluate("document.activeElement.__mark === true && document.activeElement.value")
    await box.type("，同意")
    assert await box.input_value() == "已与运营人电话核实，同意"
    order = await pg.evaluate("[...document.querySelectorAll('#plans li[data-plan]')].map(li => li.dataset.plan)")
    assert order == [third["id"], sooner["id"], later["id"]]
    await shot(pg, "03-plan-queue-zh.png")

    # rejecting needs a reason
    await pg.locator(f"#plans li[data-plan='{sooner['id']}'] button.reject").click()
    assert await pg.locator(f"#plans li[data-plan='{sooner['id']}'] .plan-status").inner_text() == "驳回须填写理由"
    assert (await server.http.get(f"/plans/{sooner['id']}", headers=auth(centre))).json()["state"] == "referred"
    await pg.locator(f"#plans li[data-plan='{sooner['id']}'] input.comment").fill("与航拍活动冲突")
    await pg.locator(f"#plans li[data-plan='{sooner['id']}'] button.reject").click()
    await pg.locator(f"#plans li[data-plan='{sooner['id']}']").wait_for(state="detached", timeout=10000)

    async def rejected() -> bool:
        got = (await server.http.get(f"/plans/{sooner['id']}", headers=auth(centre))).json()
        return got["state"] == "rejected" and got["events"][-1]["reason"] == "与航拍活动冲突"

    await wait_until(rejected, what="plan rejected with its reason")
    # the comment typed in another row is still there
    assert await box.input_value() == "已与运营人电话核实，同意"

    # a plan whose window has passed leaves the queue: the panel's clock moved past its end (not the next one's)
    await pg.evaluate(f"lowalt.plansPanel.skewMs = Date.parse('{third['end']}') - Date.now() + 60000")
    await pg.locator(f"#plans li[data-plan='{third['id']}']").wait_for(state="detached", timeout=5000)
    assert await pg.locator("#plan-count").inner_text() == "1"

    await pg.locator("#lang-switch").click()
    await wait_js(pg, "document.querySelector('#plans li[data-plan] .plan-due')?.textContent.startsWith('starts in')")
    assert "Sightseeing" in await item.locator(".plan-head").inner_text()
    assert await box.input_value() == "已与运营人电话核实，同意"
    await shot(pg, "03-plan-queue-en.png")
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


async def test_api_docs_render_offline(server: Server, page: Any) -> None:
    """/docs (Swagger UI) and /redoc from the bundled assets: they render, and nothing leaves localhost."""
    pg, watch = page
    await pg.goto(f"{server.url}/docs")
    await pg.locator(".swagger-ui .opblock").nth(10).wait_for(timeout=30000)
    assert await pg.locator(".swagger-ui .opblock-summary-path", has_text="/plans/{plan_id}/approve").count() == 1
    await shot(pg, "04-docs.png")
    await pg.goto(f"{server.url}/redoc")
    await pg.locator(".api-content h2", has_text="Centre approves a referred plan").first.wait_for(timeout=30000)
    await shot(pg, "05-redoc.png")
    assert any("/static/vendor/swagger-ui/swagger-ui-bundle.js" in u for u in watch.requests)
    assert any("/static/vendor/redoc/redoc.standalone.js" in u for u in watch.requests)
    assert not watch.foreign(), watch.foreign()
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


async def test_altitude_filter_in_one_datum_applies_to_tracks(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    _, device = await register(server, make_token, ORG, {"LOW-1": "small_uav", "HIGH-1": "small_uav"})
    viewer = await make_token("viewer")
    async with Traffic(server, device) as traffic:
        traffic.add(Flight("LOW-1", 0, 0, 3, 0, alt=120), Flight("HIGH-1", 300, 0, 3, 0, alt=900))
        # every feed frame parsed in the Web Worker here (by default only big ones are)
        await pg.goto(f"{server.url}/?token={viewer}&worker_min=0")
        await wait_js(pg, "window.lowalt && window.lowalt.ready && lowalt.store.size >= 2", 30)
        assert await pg.evaluate("lowalt.feed.workerFrames") >= 1
        assert await pg.evaluate("lowalt.feed.workerFrames - lowalt.feed.pending.length === lowalt.messages")
        await pg.evaluate("lowalt.map.jumpTo({center: lowalt.store.position('LOW-1'), zoom: 13})")
        shown = "[...new Set(lowalt.map.queryRenderedFeatures({layers: ['tracks']}).map(f => f.properties.id))].sort().join()"
        await wait_js(pg, f"{shown} === 'HIGH-1,LOW-1'", 15)
        # 500-3000 m AMSL: only the high one
        await pg.locator("#alt-min").fill("500")
        await pg.locator("#alt-min").dispatch_event("input")
        assert await pg.locator("#alt-label").inner_text() == "500–3000 m AMSL"
        await wait_js(pg, f"{shown} === 'HIGH-1'", 10)
        # the same numbers as height over the terrain: both aircraft compared after subtracting the ground
        ground = await pg.evaluate("lowalt.layers.terrain.at(...lowalt.store.position('HIGH-1'))")
        assert await pg.evaluate("lowalt.layers.terrain.available")
        await pg.locator("#alt-datum").select_option("agl")
        assert await pg.locator("#alt-label").inner_text() == "500–3000 m AGL"
        expect = "HIGH-1" if 900 - ground >= 500 else ""
        await wait_js(pg, f"{shown} === '{expect}'", 10)
        await pg.locator("#alt-min").fill("0")
        await pg.locator("#alt-min").dispatch_event("input")
        await wait_js(pg, f"{shown} === 'HIGH-1,LOW-1'", 10)
        agl = await pg.evaluate("lowalt.map.queryRenderedFeatures({layers: ['tracks']})"
                                ".find(f => f.properties.id === 'HIGH-1').properties.agl")
        assert abs(agl - (900 - ground)) <= 1
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors


async def test_replay_plays_a_recorded_conflict(server: Server, make_token: Any, page: Any) -> None:
    """A conflict is flown and recorded; the replay (from PostGIS history and the alert log) plays it back."""
    pg, watch = page
    _, device = await register(server, make_token, ORG, {"REC-A": "small_uav", "REC-B": "small_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    async with Traffic(server, device) as traffic:
        traffic.add(Flight("REC-A", -400, 300, 6, 0, alt=200), Flight("REC-B", -400, 330, 6, 0, alt=200))
        await pg.goto(f"{server.url}/?token={centre}")
        await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
        row = pg.locator("#alerts li.kind-conflict", has_text="REC-A")
        await row.wait_for(timeout=30000)

        async def recorded() -> bool:
            h = (await server.http.get("/tracks/REC-A/history", headers=auth(centre))).json()
            log = (await server.http.get("/alerts?log=true", headers=auth(centre))).json()
            reports = [f for f in h["features"] if f["properties"]["kind"] == "report"]
            return len(reports) >= 12 and any(a["kind"] == "conflict" and "REC-A" in a["aircraft"] for a in log)

        await wait_until(recorded, timeout=60, what="history and the alert log written to PostGIS")
        # from the alert's card: replay the pair from two minutes before the alert until now
        await row.locator(".alert-detail").click()
        await pg.locator("#alert-card button.replay").click()
        await wait_js(pg, "lowalt.replay.state === 'ready'", 15)

    assert await pg.locator("#replay-ids").input_value() == "REC-A,REC-B"
    assert await pg.locator("#replay-alerts li.kind-conflict").count() >= 1
    n_hist = await pg.evaluate("lowalt.replay.tracks.map(x => x.t.length)")
    assert len(n_hist) == 2 and min(n_hist) >= 12
    await pg.locator("#replay-speed").select_option("60")
    await pg.locator("#replay-play").click()
    await wait_js(pg, "lowalt.replay.state === 'playing'", 5)
    await wait_js(pg, "lowalt.replay.state === 'ended'", 30)
    # the conflict was shown active during the replay, both aircraft are drawn where they last were
    assert await pg.evaluate("[...lowalt.replay.seenActive].length") >= 1
    assert await pg.locator("#replay-alerts li.kind-conflict.active").count() >= 1
    pts = await pg.evaluate("lowalt.map.getSource('replay')._data.features.filter(f => f.geometry.type === 'Point')"
                            ".map(f => [f.properties.id, f.geometry.coordinates])")
    last = await pg.evaluate("lowalt.replay.tracks.map(x => [x.id, [x.lon.at(-1), x.lat.at(-1)]])")
    assert sorted(p[0] for p in pts) == ["REC-A", "REC-B"]
    for pid, c in pts:
        want = dict(last)[pid]
        assert abs(c[0] - want[0]) < 1e-6 and abs(c[1] - want[1]) < 1e-6
    await pg.evaluate("lowalt.map.jumpTo({center: lowalt.replay.tracks[0].lon.length ? "
                      "[lowalt.replay.tracks[0].lon.at(-1), lowalt.replay.tracks[0].lat.at(-1)] : [117.2, 29.3],"
                      " zoom: 15})")
    await pg.locator("#replay-panel").scroll_into_view_if_needed()
    await shot(pg, "06-replay-zh.png")
    await pg.locator("#lang-switch").click()
    assert await pg.locator("#replay-status").inner_text() == "Replay finished"
    assert await pg.locator("#replay-alerts li.kind-conflict .kind").first.inner_text() == "Conflict"
    await shot(pg, "06-replay-en.png")
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
