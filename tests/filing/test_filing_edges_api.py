"""Issue 14 through the API on PostGIS: double booking, approval re-running every rule, weather
warnings re-evaluating plans (and their end API), the emergency decide-by path, API consistency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import auth
from tests.filing.conftest import local_day, plan_body, soon

FAR_ROUTE = [[117.30, 29.20], [117.33, 29.22]]
"""About 30 km from OPEN_W_ROUTE, also open class W."""


def _square(lon: float, lat: float, d: float = 0.03) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


async def _next(queue: asyncio.Queue[Any], pred: Any, timeout: float = 5.0) -> Any:
    """The first event matching ``pred`` (waits on the condition, not on a clock)."""
    async def scan() -> Any:
        while True:
            ev = await queue.get()
            if pred(ev):
                return ev
    return await asyncio.wait_for(scan(), timeout)


async def test_one_aircraft_cannot_hold_two_overlapping_plans(client: httpx.AsyncClient,
                                                              operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    start = soon(30)
    first = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=start))).json()
    assert first["state"] == "approved"
    second = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-001", coords=FAR_ROUTE, start=start + timedelta(minutes=10)))).json()
    assert second["state"] == "rejected"
    busy = next(r for r in second["decision"]["reasons"] if r["code"] == "aircraft_busy")
    assert busy["details"]["plan"] == first["id"] and "FL-001" in busy["message_zh"]
    t = next(a for a in second["decision"]["alternatives"] if a["kind"] == "time")
    t0, t1 = datetime.fromisoformat(t["start"]), datetime.fromisoformat(t["end"])
    f0, f1 = datetime.fromisoformat(first["start"]), datetime.fromisoformat(first["end"])
    assert t0 >= f1 + timedelta(minutes=10) or t1 <= f0 - timedelta(minutes=10)
    # a cancelled plan frees its aircraft
    await client.post(f"/plans/{first['id']}/cancel", headers=op.headers, json={})
    again = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-001", coords=FAR_ROUTE, start=start + timedelta(minutes=10)))).json()
    assert again["state"] == "approved"


async def test_centre_approval_reruns_every_rule(client: httpx.AsyncClient, operator_factory: Any,
                                                 make_token: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    high = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-001", start=local_day(2, 10), floor=150, ceiling=200))).json()
    assert high["state"] == "referred"
    end = (local_day(2, 12)).isoformat()
    r = await client.post("/airspace/restrictions", headers=auth(centre), json={
        "reason": "police", "geometry": _square(117.615, 29.31), "floor": {"value_m": 0, "ref": "AGL"},
        "ceiling": {"value_m": 500, "ref": "AGL"}, "start": datetime.now(UTC).isoformat(), "end": end,
        "name_zh": "警务活动"})
    assert r.status_code == 201, r.text
    refused = await client.post(f"/plans/{high['id']}/approve", headers=auth(centre), json={"comment": "ok"})
    assert refused.status_code == 409
    err = refused.json()["error"]
    assert err["code"] == "approval_refused"
    assert "airspace_forbidden" in {x["code"] for x in err["reasons"]}
    assert "无法批准" in err["message_zh"]
    got = (await client.get(f"/plans/{high['id']}", headers=op.headers)).json()
    assert got["state"] == "referred"


async def test_thunderstorm_withdraws_and_visibility_suspends_with_events(client: httpx.AsyncClient,
                                                                         operator_factory: Any,
                                                                         make_token: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav", "FL-002": "light_uav", "FL-003": "light_uav",
                                          "FL-004": "light_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    svc = client.app.state.filing  # type: ignore[attr-defined]
    start = soon(60)
    inside = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=start))).json()
    outside = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-002", coords=FAR_ROUTE, start=start))).json()
    later = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-003", start=start + timedelta(hours=3)))).json()
    assert {inside["state"], outside["state"], later["state"]} == {"approved"}
    flying = (await client.post("/plans", headers=op.headers, json=plan_body(
        "FL-004", coords=[[117.605, 29.30], [117.62, 29.33]], start=soon(5), minutes=120, floor=116,
        ceiling=120))).json()  # above the others' 0-100 m band (plus the 15 m buffer)
    assert (await client.post(f"/plans/{flying['id']}/activate", headers=op.headers)).json()["state"] == "active"
    warning = {"kind": "thunderstorm", "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(),
               "area": _square(117.615, 29.31)}
    async with svc.notifier.subscribe() as queue:
        r = await client.post("/weather/warnings", headers=auth(centre), json=warning)
        assert r.status_code == 201, r.text
        assert r.json()["affected_plans"] == [inside["id"]]
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            e = await _next(queue, lambda e: e.plan_id in (inside["id"], flying["id"]))
            seen[e.plan_id] = e
        ev, advisory = seen[inside["id"]], seen[flying["id"]]
    assert advisory.kind == "plan_advisory" and advisory.to_state == "active" and "雷暴" in advisory.details["message_zh"]
    assert ev.to_state == "withdrawn" and ev.details["kind"] == "thunderstorm"
    assert "雷暴" in ev.details["message_zh"]
    alt = ev.details["alternatives"][0]
    a0, a1 = datetime.fromisoformat(alt["start"]), datetime.fromisoformat(alt["end"])
    assert alt["kind"] == "time" and (a1 <= start or a0 >= start + timedelta(hours=2))  # clear of the storm
    states = {p["id"]: p["state"] for p in (await client.get("/plans", headers=op.headers)).json()}
    assert states == {inside["id"]: "withdrawn", outside["id"]: "approved", later["id"]: "approved",
                      flying["id"]: "active"}
    # low visibility needs the centre's judgement: the approved plan is suspended back to it
    fog = {"kind": "visibility", "value": 400, "start": (start + timedelta(hours=3)).isoformat(),
           "end": (start + timedelta(hours=4)).isoformat()}
    async with svc.notifier.subscribe() as queue:
        r = await client.post("/weather/warnings", headers=auth(centre), json=fog)
        ev = await _next(queue, lambda e: e.plan_id == later["id"])
    assert (ev.from_state, ev.to_state) == ("approved", "referred") and "暂停" in ev.details["message_zh"]
    assert later["id"] not in svc.held  # its airspace is no longer held


async def test_warnings_have_a_maximum_duration_and_can_be_ended(client: httpx.AsyncClient,
                                                                 make_token: Any) -> None:
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    start = soon(10)
    too_long = {"kind": "wind", "value": 20, "start": start.isoformat(),
                "end": (start + timedelta(hours=24, seconds=1)).isoformat()}
    r = await client.post("/weather/warnings", headers=auth(centre), json=too_long)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.end"
    ok = await client.post("/weather/warnings", headers=auth(centre), json={
        **too_long, "end": (start + timedelta(hours=24)).isoformat()})
    assert ok.status_code == 201, ok.text
    wid = ok.json()["id"]
    assert wid in {w["id"] for w in (await client.get("/weather/warnings", headers=auth(centre))).json()}
    ended = await client.post(f"/weather/warnings/{wid}/end", headers=auth(centre))
    assert ended.status_code == 200 and ended.json()["ended"] is True
    assert wid not in {w["id"] for w in (await client.get("/weather/warnings", headers=auth(centre))).json()}
    assert (await client.post(f"/weather/warnings/{wid}/end", headers=auth(centre))).status_code == 404
    assert (await client.delete("/weather/warnings/nope", headers=auth(centre))).status_code == 404
    second = await client.post("/weather/warnings", headers=auth(centre), json={
        **too_long, "end": (start + timedelta(hours=1)).isoformat()})
    assert (await client.delete(f"/weather/warnings/{second.json()['id']}", headers=auth(centre))).status_code == 200
    # ended warnings stay ended after a restart of the filing service
    svc = client.app.state.filing  # type: ignore[attr-defined]
    await svc.start()
    assert svc.weather == []


async def test_emergency_referred_with_decide_by_displaced_told_then_decided_at_deadline(
        client: httpx.AsyncClient, operator_factory: Any) -> None:
    tours = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    rescue = await operator_factory("景德镇急救中心", {"MED-1": "small_uav"})
    svc = client.app.state.filing  # type: ignore[attr-defined]
    start = soon(45)
    commercial = (await client.post("/plans", headers=tours.headers, json=plan_body("FL-001", start=start,
                                                                                    ceiling=120))).json()
    assert commercial["state"] == "approved"
    async with svc.notifier.subscribe() as queue:
        med = (await client.post("/plans", headers=rescue.headers, json=plan_body(
            "MED-1", "small_uav", start=start, floor=100, ceiling=150, mission="medical",
            licence_id="L-1"))).json()
        assert med["state"] == "referred", med["decision"]["reasons"]
        decide_by = datetime.fromisoformat(med["decide_by"])
        assert decide_by == start - timedelta(minutes=10)
        assert med["decision"]["preempts"] == ["another-organisation"]  # not whose (docs/security.md)
        risk = await _next(queue, lambda e: e.kind == "plan_at_risk")
    assert risk.plan_id == commercial["id"] and risk.organisation == "浮梁文旅"
    assert risk.details["decide_by"] == med["decide_by"]
    # nothing is due before the reminder; at decide-by the policy's action runs (approve_if_clear)
    assert await svc.run_due(decide_by - timedelta(minutes=6)) == []
    assert [a.action for a in await svc.run_due(decide_by - timedelta(minutes=5))] == ["escalate"]
    async with svc.notifier.subscribe() as queue:
        assert [a.action for a in await svc.run_due(decide_by)] == ["approve_if_clear"]
        withdrawn = await _next(queue, lambda e: e.plan_id == commercial["id"] and e.to_state == "withdrawn")
    assert withdrawn.details["preempted_by"] == med["id"]
    got = (await client.get(f"/plans/{med['id']}", headers=rescue.headers)).json()
    assert got["state"] == "approved" and got["decision"]["escalated_at"]


async def test_one_time_convention_unknown_fields_and_bbox(client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    start = local_day(1, 10)  # sent with +08:00
    posted = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=start))).json()
    got = (await client.get(f"/plans/{posted['id']}", headers=op.headers)).json()
    for key in ("start", "end", "created_at"):
        assert posted[key] == got[key] and posted[key].endswith("+00:00")
    assert posted["start"] == start.astimezone(UTC).isoformat()
    r = await client.post("/plans", headers=op.headers, json={**plan_body("FL-001"), "colour": "red"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.colour"
    body = plan_body("FL-001")
    body["geometry"]["crs"] = "EPSG:4326"
    r = await client.post("/plans", headers=op.headers, json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.geometry.crs"
    r = await client.post("/plans", headers=op.headers, json=plan_body("FL-001", organisation="别家"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.organisation"
    same = await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=soon(300),
                                                                          organisation="浮梁文旅"))
    assert same.status_code == 201
    for bad in ("29.2,117.1,29.4,117.3", "117.3,29.2,117.1,29.4", "1,2,3"):
        r = await client.get("/plans", headers=op.headers, params={"bbox": bad})
        assert r.status_code == 422 and "bbox" in r.json()["error"]["message"], bad
    ok = await client.get("/plans", headers=op.headers, params={"bbox": "117.5,29.2,117.7,29.4"})
    assert posted["id"] in {p["id"] for p in ok.json()}

