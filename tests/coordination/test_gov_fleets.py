"""Government fleets (政务"一网统飞", issue #19) on a real server and PostGIS: the scenarios of
simulators/scenarios/gov-preemption.yml (each expectation there checked here), standing approvals
through their API, and who may do what with them."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import connect

from tests.conftest import Server, auth
from tests.coordination.test_scenarios import _frames
from tests.filing.conftest import plan_body, soon

SCENARIOS = yaml.safe_load((Path(__file__).resolve().parents[2] / "simulators" / "scenarios" /
                            "gov-preemption.yml").read_text(encoding="utf-8"))["scenarios"]
NORTH_ROUTE = [[117.60, 29.345], [117.63, 29.365]]
"""East of the city, clear of OPEN_W_ROUTE (the airborne plan)."""
EAST = {"type": "Polygon", "coordinates": [[[117.58, 29.28], [117.66, 29.28], [117.66, 29.38], [117.58, 29.38],
                                            [117.58, 29.28]]]}
PATROL = [[117.60, 29.30], [117.64, 29.36]]
"""Inside EAST (with its 50 m half-width)."""


async def _operator(server: Server, make_token: Any, org: str, *aircraft: str) -> tuple[str, str]:
    name = f"{org}-{uuid.uuid4().hex[:6]}"
    token = await make_token("operator", name=name, organisation=org)
    for aid in aircraft:
        r = await server.http.post("/aircraft", headers=auth(token), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201, r.text
    return token, name


async def _file(server: Server, token: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await server.http.post("/plans", headers=auth(token), json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_emergency_preempts_commercial_and_never_airborne_or_equal(server: Server, make_token: Any) -> None:
    tours, _ = await _operator(server, make_token, "浮梁文旅", "GT-1", "GT-2")
    rescue, rescue_name = await _operator(server, make_token, "jdz-emergency", "EM-1", "EM-2", "EM-3")
    police, _ = await _operator(server, make_token, "jdz-police", "PO-1")
    centre = await make_token("centre")
    start = soon(20)
    commercial = await _file(server, tours, plan_body("GT-1", start=start))
    airborne = await _file(server, tours, plan_body("GT-2", start=start, coords=NORTH_ROUTE))
    assert commercial["state"] == airborne["state"] == "approved" and commercial["priority"] == 1
    r = await server.http.post(f"/plans/{airborne['id']}/activate", headers=auth(tours))
    assert r.status_code == 200 and r.json()["state"] == "active", r.text
    async with connect(f"{server.ws_url}/ws/plans?token={tours}") as ws_tours, \
            connect(f"{server.ws_url}/ws/plans?token={rescue}") as ws_rescue:
        assert json.loads(await ws_tours.recv())["type"] == json.loads(await ws_rescue.recv())["type"] == "subscribed"
        emergency = await _file(server, rescue, plan_body("EM-1", start=start, mission="emergency_rescue"))
        assert emergency["state"] == "approved" and emergency["priority"] == 4, emergency["decision"]
        assert emergency["decision"]["preemption"]["priority"] == "emergency"
        got_tours = await _frames(ws_tours, lambda fs: {f["type"] for f in fs} >= {"plan_state", "plan_preempted"})
        got_rescue = await _frames(ws_rescue, lambda fs: "plan_preempting" in {f["type"] for f in fs})
    plans = {"commercial-plan": commercial["id"], "emergency-plan": emergency["id"]}
    frames = {"commercial": got_tours, "emergency": got_rescue}
    for want in SCENARIOS["emergency-preempts-commercial"]["expected_events"]:
        hits = [f for f in frames[want["to"]] if f["plan_id"] == plans[want["plan"]] and f["type"] == want["type"]
                and ("to_state" not in want or f["to_state"] == want["to_state"])
                and ("priority" not in want or f["details"]["priority"] == want["priority"])]
        assert hits, f"no event {want} in {frames[want['to']]}"
    preempted = next(f for f in got_tours if f["type"] == "plan_preempted")
    assert preempted["details"]["priority_zh"] == "应急救援" and preempted["details"]["your_priority"] == "commercial"
    assert "应急救援" in preempted["details"]["message_zh"] and "emergency" in preempted["details"]["message_en"]
    assert preempted["details"]["preempted_by"] == "another-organisation"  # never the other operator's plan
    seen = json.dumps(got_tours, ensure_ascii=False)
    assert "jdz-emergency" not in seen and rescue_name not in seen and emergency["id"] not in seen
    assert preempted["details"]["alternatives"], "the nearest free time is offered"
    notice = next(f for f in got_rescue if f["type"] == "plan_preempting")
    assert notice["details"]["displaced"] == [{"plan": "another-organisation", "priority": "commercial",
                                               "priority_zh": "商业"}]
    assert "浮梁文旅" not in json.dumps(got_rescue, ensure_ascii=False)
    # the audit: who preempted which plan, when, under which rule (the centre's)
    assert (await server.http.get("/coordination/preemptions", headers=auth(tours))).status_code == 403
    audit = (await server.http.get("/coordination/preemptions", headers=auth(centre),
                                   params={"plan_id": emergency["id"]})).json()
    [want] = SCENARIOS["emergency-preempts-commercial"]["expected_audit"]
    assert [(a["plan_id"], a["action"], a["actor"]) for a in audit] == [(commercial["id"], want["action"], rescue_name)]
    d = audit[0]["details"]
    assert (d["by_plan"], d["priority"], d["preempted_priority"], d["rule"]) == (
        emergency["id"], want["priority"], want["preempted_priority"], want["rule"])
    assert d["article"].startswith("条例 Art. 29") and audit[0]["at"]
    got = (await server.http.get(f"/plans/{commercial['id']}", headers=auth(tours))).json()
    assert got["state"] == "withdrawn" and got["decision"]["withdrawn"]["priority"] == "emergency"
    assert emergency["id"] not in json.dumps(got)  # the audit trail an operator reads names no other plan

    # never preempted: an airborne plan, a plan of equal or higher priority
    over_airborne = await _file(server, rescue, plan_body("EM-2", start=start, coords=NORTH_ROUTE,
                                                          mission="emergency_rescue", urgent=True))
    police_over = await _file(server, police, plan_body("PO-1", start=start, mission="police"))
    equal = await _file(server, rescue, plan_body("EM-3", start=start, mission="medical"))
    states = {"emergency-over-airborne": over_airborne["state"], "police-over-emergency": police_over["state"],
              "emergency-over-emergency": equal["state"],
              "airborne-plan": (await server.http.get(f"/plans/{airborne['id']}", headers=auth(tours))).json()["state"]}
    assert states == SCENARIOS["never-preempted"]["expected_states"], (over_airborne["decision"]["reasons"],)
    assert police_over["priority"] == 3 and [r["code"] for r in police_over["decision"]["reasons"]] == ["conflict"]
    assert [r["code"] for r in equal["decision"]["reasons"]] == ["conflict"]
    assert "conflict_active_flight" in [r["code"] for r in over_airborne["decision"]["reasons"]]
    assert (await server.http.get(f"/plans/{emergency['id']}", headers=auth(rescue))).json()["state"] == "approved"
    assert len((await server.http.get("/coordination/preemptions", headers=auth(centre))).json()) >= 1


def _standing(start: Any, end: Any, **kw: Any) -> dict[str, Any]:
    return {"organisation": "jdz-police", "title": "东区治安巡逻", "geometry": EAST,
            "floor": {"value_m": 0, "ref": "AGL"}, "ceiling": {"value_m": 150, "ref": "AGL"},
            "start": start.isoformat(), "end": end.isoformat(), "missions": ["police"], **kw}


async def test_standing_approval_for_a_patrol_area(server: Server, make_token: Any) -> None:
    police, _ = await _operator(server, make_token, "jdz-police", "PO-7")
    other, _ = await _operator(server, make_token, "浮梁文旅", "GT-7")
    centre = await make_token("centre", name=f"centre-{uuid.uuid4().hex[:6]}")
    now = soon(0)
    # who may: the centre registers; operators may not; bad input names its field
    assert (await server.http.post("/coordination/standing-approvals", headers=auth(police),
                                   json=_standing(now, now + timedelta(days=2)))).status_code == 403
    for body, field in ((_standing(now, now + timedelta(days=2), organisation="浮梁文旅"), "organisation"),
                        (_standing(now, now + timedelta(days=180, seconds=1)), "end"),
                        (_standing(now, now - timedelta(minutes=1)), "end"),
                        (_standing(now, now + timedelta(days=2), missions=[]), "missions"),
                        (_standing(now, now + timedelta(days=2), missions=["spying"]), "missions"),
                        (_standing(now, now + timedelta(days=2), ceiling={"value_m": 0, "ref": "AGL"}), "floor")):
        r = await server.http.post("/coordination/standing-approvals", headers=auth(centre), json=body)
        assert r.status_code == 422 and field in r.text, (field, r.text)
    r = await server.http.post("/coordination/standing-approvals", headers=auth(centre),
                               json=_standing(now, now + timedelta(days=2)))
    assert r.status_code == 201, r.text
    sa = r.json()
    assert sa["state"] == "active" and sa["missions"] == ["police"] and sa["id"].startswith("SA-")
    # the organisation's operators list their own; others see none of it
    assert [s["id"] for s in (await server.http.get("/coordination/standing-approvals",
                                                    headers=auth(police))).json()] == [sa["id"]]
    assert (await server.http.get("/coordination/standing-approvals", headers=auth(other))).json() == []
    assert (await server.http.get(f"/coordination/standing-approvals/{sa['id']}",
                                  headers=auth(other))).status_code == 404
    # 150 m true height (以下: the band's ceiling included), take-off in 3 h: approved at once by it
    at150 = await _file(server, police, plan_body("PO-7", start=soon(180), coords=PATROL, mission="police",
                                                  ceiling=150))
    assert at150["state"] == "approved", at150["decision"]["reasons"]
    assert at150["decision"]["pathway"] == "standing_approval" and at150["priority"] == 3
    assert at150["decision"]["standing_approval"]["id"] == sa["id"]
    assert "常备批准" in at150["decision"]["standing_approval"]["message_zh"]
    # 151 m: outside its band, so the emergency pathway refers it (above suitable airspace) and says why
    at151 = await _file(server, police, plan_body("PO-7", start=soon(300), coords=PATROL, mission="police",
                                                  ceiling=151))
    assert at151["state"] == "referred" and at151["decision"]["pathway"] == "emergency"
    why = next(p for p in at151["decision"]["pathways"] if p["pathway"] == "standing_approval")
    assert not why["applicable"] and "高度" in why["message_zh"]
    # another organisation's plan in the same area is not covered
    theirs = await _file(server, other, plan_body("GT-7", start=soon(180), coords=PATROL, ceiling=150, minutes=20,
                                                  mission="inspection"))
    assert theirs["decision"]["pathway"] != "standing_approval" and theirs["state"] != "approved"
    # revoked by the centre (a reason is required), then it approves nothing; the audit has both steps
    rv = f"/coordination/standing-approvals/{sa['id']}/revoke"
    assert (await server.http.post(rv, headers=auth(police), json={"reason": "x"})).status_code == 403
    assert (await server.http.post(rv, headers=auth(centre), json={})).status_code == 422
    r = await server.http.post(rv, headers=auth(centre), json={"reason": "巡逻任务调整"})
    assert r.status_code == 200 and r.json()["state"] == "revoked", r.text
    assert (await server.http.post(rv, headers=auth(centre), json={"reason": "again"})).status_code == 409
    after = await _file(server, police, plan_body("PO-7", start=soon(420), coords=PATROL, mission="police",
                                                  ceiling=150))
    assert after["state"] == "referred" and after["decision"]["pathway"] != "standing_approval"
    detail = (await server.http.get(f"/coordination/standing-approvals/{sa['id']}", headers=auth(police))).json()
    assert [a["action"] for a in detail["audit"]] == SCENARIOS["standing-approval-patrol"]["expected_audit_standing"]
    assert (await server.http.get("/coordination/standing-approvals", headers=auth(police))).json() == []
    assert [s["state"] for s in (await server.http.get("/coordination/standing-approvals", headers=auth(centre),
                                                       params={"all": "true"})).json() if s["id"] == sa["id"]] == [
        "revoked"]
