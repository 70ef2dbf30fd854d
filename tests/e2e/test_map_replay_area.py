"""Replay by area (issue 17): every aircraft's history inside a box and a window, with the alerts of that
window, from PostGIS (``GET /replay/area``), played back on the map at 1-60x.

API: the box and the window are checked on both sides of each limit (a clear 422 naming the field), the
answer holds exactly the aircraft that flew inside, operators see only their own aircraft, viewers and
the centre every one. Browser: the area is taken from the map view, loaded, played to the end at 60x with
the recorded conflict shown active. Screenshots (zh and en) go to docs/screenshots/map/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lowalt.api.routers.replay import MAX_SPAN_DEG, MAX_WINDOW
from tests.conftest import REPO, Server, auth, doc_screenshot, wait_until
from tests.e2e.conftest import CENTRE, Flight, Traffic, register, wait_js

SHOTS = REPO / "docs" / "screenshots" / "map"
ORG = "浮梁文旅"
OTHER = "昌江物流"
# the box around CENTRE (117.23, 29.26): about 2 km either way
BOX = (CENTRE[0] - 0.02, CENTRE[1] - 0.02, CENTRE[0] + 0.02, CENTRE[1] + 0.02)


def _q(bbox: tuple[float, ...] | str, start: datetime, end: datetime) -> dict[str, str]:
    b = bbox if isinstance(bbox, str) else ",".join(f"{v:.6f}" for v in bbox)
    return {"bbox": b, "from": start.isoformat(), "to": end.isoformat()}


async def _fly(server: Server, make_token: Any) -> dict[str, str]:
    """Two aircraft of ORG in conflict inside BOX, one of OTHER inside, one of ORG far outside; wait until
    their history and the conflict are in PostGIS. Returns the tokens."""
    op, device = await register(server, make_token, ORG, {"AR-A": "small_uav", "AR-B": "small_uav",
                                                          "AR-FAR": "small_uav"})
    other_op, other_device = await register(server, make_token, OTHER, {"AR-X": "small_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    viewer = await make_token("viewer")

    async def recorded() -> bool:
        now = datetime.now(UTC)
        r = (await server.http.get("/replay/area", params=_q(BOX, now - timedelta(minutes=10), now),
                                   headers=auth(centre))).json()
        n = {t["id"]: len(t["points"]) for t in r["tracks"]}
        return (min(n.get("AR-A", 0), n.get("AR-B", 0), n.get("AR-X", 0)) >= 12
                and any(a["kind"] == "conflict" for a in r["alerts"]))

    async with Traffic(server, device) as ours, Traffic(server, other_device) as theirs:
        ours.add(Flight("AR-A", -400, 300, 6, 0, alt=200), Flight("AR-B", -400, 330, 6, 0, alt=200),
                 Flight("AR-FAR", 30_000, 30_000, 5, 0, alt=300))
        theirs.add(Flight("AR-X", 500, -800, 0, 5, alt=400))
        await wait_until(recorded, timeout=60, what="history of the area and the conflict in PostGIS")
    return {"op": op, "other": other_op, "centre": centre, "viewer": viewer}


async def test_area_replay_api(server: Server, make_token: Any) -> None:
    tokens = await _fly(server, make_token)
    now = datetime.now(UTC)
    start = now - timedelta(minutes=10)
    for who in ("centre", "viewer"):
        r = await server.http.get("/replay/area", params=_q(BOX, start, now), headers=auth(tokens[who]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert sorted(t["id"] for t in body["tracks"]) == ["AR-A", "AR-B", "AR-X"], who  # AR-FAR flew outside
        assert body["points"] == sum(len(t["points"]) for t in body["tracks"]) and body["truncated"] is False
        for tr in body["tracks"]:
            ts = [p[0] for p in tr["points"]]
            assert ts == sorted(ts)
            assert all(BOX[0] <= p[1] <= BOX[2] and BOX[1] <= p[2] <= BOX[3] for p in tr["points"])
        conflict = next(a for a in body["alerts"] if a["kind"] == "conflict")
        assert set(conflict["aircraft"]) == {"AR-A", "AR-B"}
    # operators: their own aircraft only, and only alerts that involve them
    mine = (await server.http.get("/replay/area", params=_q(BOX, start, now), headers=auth(tokens["op"]))).json()
    assert sorted(t["id"] for t in mine["tracks"]) == ["AR-A", "AR-B"]
    assert any(a["kind"] == "conflict" for a in mine["alerts"])
    theirs = (await server.http.get("/replay/area", params=_q(BOX, start, now),
                                    headers=auth(tokens["other"]))).json()
    assert [t["id"] for t in theirs["tracks"]] == ["AR-X"]
    assert not [a for a in theirs["alerts"] if "AR-X" not in a["aircraft"]]
    # a window before anything flew: nothing (the end is exclusive, the start inclusive)
    empty = (await server.http.get("/replay/area", params=_q(BOX, start - timedelta(hours=1), start),
                                   headers=auth(tokens["centre"]))).json()
    assert empty["tracks"] == [] and empty["alerts"] == [] and empty["points"] == 0
    # devices may not; no token: 401
    device = await make_token("device", organisation=ORG)
    assert (await server.http.get("/replay/area", params=_q(BOX, start, now), headers=auth(device))).status_code == 403
    assert (await server.http.get("/replay/area", params=_q(BOX, start, now))).status_code == 401


async def test_area_replay_refuses_bad_input_naming_the_field(server: Server, make_token: Any) -> None:
    centre = await make_token("centre")
    now = datetime.now(UTC)

    async def status(params: dict[str, str]) -> tuple[int, str | None]:
        r = await server.http.get("/replay/area", params=params, headers=auth(centre))
        fields = (r.json().get("error") or {}).get("fields") or [{}]
        return r.status_code, fields[0].get("field")

    # the window: exactly MAX_WINDOW is allowed, a second more is not; the end must follow the start
    assert await status(_q(BOX, now - MAX_WINDOW, now)) == (200, None)
    assert await status(_q(BOX, now - MAX_WINDOW - timedelta(seconds=1), now)) == (422, "to")
    assert await status(_q(BOX, now, now)) == (422, "to")
    assert await status(_q(BOX, now, now - timedelta(seconds=1))) == (422, "to")
    assert await status({**_q(BOX, now - timedelta(minutes=1), now), "from": "yesterday"}) == (422, "from")
    assert await status({**_q(BOX, now - timedelta(minutes=1), now), "to": "2026-11-24T08:00:00"}) == (422, "to")
    # the box: each side up to MAX_SPAN_DEG inclusive
    x0, y0 = 116.0, 29.0
    assert (await status(_q((x0, y0, x0 + MAX_SPAN_DEG, y0 + MAX_SPAN_DEG), now - timedelta(minutes=1), now)))[0] == 200
    assert await status(_q((x0, y0, x0 + MAX_SPAN_DEG + 0.001, y0 + 1), now - timedelta(minutes=1), now)) == (422, "bbox")
    assert await status(_q((x0, y0, x0 + 1, y0 + MAX_SPAN_DEG + 0.001), now - timedelta(minutes=1), now)) == (422, "bbox")
    for bad in ("117,29,118", "117,29,118,30,1", "a,b,c,d", "118,29,117,30", "117,30,118,29", "117,29,117,30",
                "179,29,181,30", "117,-91,118,-89", "nan,29,118,30", ""):
        assert await status(_q(bad, now - timedelta(minutes=1), now)) == (422, "bbox"), bad
    missing = await server.http.get("/replay/area", params={"bbox": "117,29,118,30"}, headers=auth(centre))
    assert missing.status_code == 422 and "from" in missing.text


async def test_area_replay_plays_in_the_map(server: Server, make_token: Any, page: Any) -> None:
    pg, watch = page
    tokens = await _fly(server, make_token)
    await pg.goto(f"{server.url}/?token={tokens['centre']}")
    await wait_js(pg, "window.lowalt && window.lowalt.ready", 30)
    # the area: the map's current view over the box
    await pg.evaluate(f"lowalt.map.fitBounds([[{BOX[0]}, {BOX[1]}], [{BOX[2]}, {BOX[3]}]], {{padding: 0, duration: 0}})")
    await pg.locator("#replay-view").click()
    area = [float(v) for v in (await pg.locator("#replay-area").input_value()).split(",")]
    assert area[0] <= BOX[0] and area[1] <= BOX[1] and area[2] >= BOX[2] and area[3] >= BOX[3]
    await pg.locator("#replay-load").click()
    await wait_js(pg, "lowalt.replay.state === 'ready'", 20)
    ids = await pg.evaluate("lowalt.replay.tracks.map(x => x.id).sort()")
    assert {"AR-A", "AR-B", "AR-X"} <= set(ids)
    assert await pg.locator("#replay-alerts li.kind-conflict").count() >= 1
    await pg.locator("#replay-speed").select_option("60")
    await pg.locator("#replay-play").click()
    await wait_js(pg, "lowalt.replay.state === 'ended'", 60)
    assert await pg.evaluate("[...lowalt.replay.seenActive].length") >= 1
    drawn = await pg.evaluate("lowalt.map.getSource('replay')._data.features.map(f => f.geometry.type)")
    assert "Polygon" in drawn and drawn.count("Point") == len(ids)  # the area outlined, every aircraft drawn
    await pg.locator("#replay-panel").scroll_into_view_if_needed()
    await doc_screenshot(pg, SHOTS / "08-replay-area-zh.png")
    await pg.locator("#lang-switch").click()
    assert await pg.locator("#replay-status").inner_text() == "Replay finished"
    await doc_screenshot(pg, SHOTS / "08-replay-area-en.png")
    # drawing an area on the map fills the field (drag with the mouse; the map does not pan meanwhile)
    await pg.locator("#replay-pick").click()
    box = await pg.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    centre_before = await pg.evaluate("lowalt.map.getCenter().toArray()")
    await pg.mouse.move(cx - 100, cy - 80)
    await pg.mouse.down()
    await pg.mouse.move(cx + 100, cy + 80, steps=5)
    await pg.mouse.up()
    drawn_area = [float(v) for v in (await pg.locator("#replay-area").input_value()).split(",")]
    assert drawn_area[0] < drawn_area[2] and drawn_area[1] < drawn_area[3]
    assert await pg.evaluate("lowalt.map.getCenter().toArray()") == centre_before
    # a typed area that is not a box is refused before any request
    await pg.locator("#replay-area").fill("117,29,116")
    await pg.locator("#replay-load").click()
    assert await pg.evaluate("lowalt.replay.state") == "error"
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
