"""The three-party scenarios (simulators/scenarios/coordination-three-party.yml) on a real server and PostGIS:
each step through the REST API, the expected ``/ws/plans`` events and the audit actions checked against
the scenario file."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from websockets.asyncio.client import connect

from tests.conftest import Server, auth, wait_until
from tests.filing.conftest import local_day, plan_body, soon

SCENARIOS = yaml.safe_load((Path(__file__).resolve().parents[2] / "simulators" / "scenarios" /
                            "coordination-three-party.yml").read_text(encoding="utf-8"))["scenarios"]
EAST = {"type": "Polygon", "coordinates": [[[117.58, 29.28], [117.66, 29.28], [117.66, 29.38], [117.58, 29.38],
                                            [117.58, 29.28]]]}
"""Over the open class W east of the city (both mid-flight plans)."""
NORTH_OF_LUOJIA = {"type": "Polygon", "coordinates": [[[117.23, 29.44], [117.30, 29.44], [117.30, 29.48],
                                                      [117.23, 29.48], [117.23, 29.44]]]}
"""A military area north-east of Luojia, overlapping the ZSJD protection area."""
IN_BOTH = [[117.25, 29.45], [117.28, 29.46]]
"""Inside the ZSJD protection area (clear of the runway core and approach funnels) and the military area."""


async def _frames(ws: Any, until: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Plan events until ``until(frames)`` holds (or fail after ``timeout``)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(out):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; got {out}")
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            continue
    return out


def _expect(events: list[dict[str, Any]], scenario: str, plans: dict[str, str], ref: str | None = None) -> None:
    for want in SCENARIOS[scenario].get("expected_events", []):
        pid = plans[want["plan"]]
        hits = [e for e in events if e["plan_id"] == pid and e["type"] == want["type"]
                and ("to_state" not in want or e["to_state"] == want["to_state"])
                and ("reason" not in want or e["reason"].startswith(want["reason"]))
                and ("by" not in want or e["by"].startswith(want["by"] + "/"))
                and ("authority" not in want or e["details"].get("authority") == want["authority"])
                and ("restriction" not in want or e["details"].get("restriction") == ref)
                and ("constraint" not in want or e["details"].get("constraint") == ref)
                and ("alternatives" not in want or set(want["alternatives"]) <= {
                    a["kind"] for a in e["details"].get("alternatives", [])})
                and ("exit" not in want or (e["details"].get("exit") or {}).get("source") == want["exit"])]
        assert hits, f"{scenario}: no event {want} in {events}"


async def _aircraft(server: Server, token: str, *ids: str) -> None:
    for aid in ids:
        r = await server.http.post("/aircraft", headers=auth(token), json={"id": aid, "category": "light_uav"})
        assert r.status_code == 201, r.text


def _constraint(title: str, geometry: dict[str, Any], start: datetime, end: datetime, **kw: Any) -> dict[str, Any]:
    return {"title": title, "geometry": geometry, "floor": {"value_m": 0, "ref": "AGL"},
            "ceiling": {"value_m": 600, "ref": "AGL"}, "start": start.isoformat(), "end": end.isoformat(), **kw}


async def test_military_activation_mid_flight(server: Server, make_token: Any) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    mil = await make_token("military", name="mil-duty")
    viewer = await make_token("viewer")
    await _aircraft(server, op, "FL-1", "FL-2")
    start = soon(20)
    approved = (await server.http.post("/plans", headers=auth(op), json=plan_body("FL-1", start=start))).json()
    airborne = (await server.http.post("/plans", headers=auth(op), json=plan_body(
        "FL-2", start=start, coords=[[117.60, 29.345], [117.63, 29.365]]))).json()
    assert approved["state"] == airborne["state"] == "approved", (approved["decision"], airborne["decision"])
    r = await server.http.post(f"/plans/{airborne['id']}/activate", headers=auth(op))
    assert r.status_code == 200 and r.json()["state"] == "active", r.text
    device = await make_token("device", organisation="浮梁文旅")
    cen = await make_token("centre")
    live = server.app.state.live  # type: ignore[attr-defined]
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        async def tracked() -> bool:  # the airborne aircraft reports (its exit is named from its track)
            await tele.send(orjson.dumps([_report("FL-2", 117.615, 29.355)]).decode())
            assert orjson.loads(await tele.recv())["accepted"] == 1
            return "FL-2" in live._full_snapshot().ids

        await wait_until(tracked, what="FL-2 in the live picture", every=0.3)
        async with connect(f"{server.ws_url}/ws/plans?token={op}") as ws:
            assert json.loads(await ws.recv())["type"] == "subscribed"
            r = await server.http.post("/coordination/constraints", headers=auth(mil), json=_constraint(
                "东区防空演习", EAST, datetime.now(UTC), start + timedelta(hours=2), purpose="air defence exercise",
                short_notice=True))
            assert r.status_code == 201, r.text
            c = r.json()
            assert c["kind"] == "military_activation" and c["purpose"] == "air defence exercise" and c["version"] == 1
            events = await _frames(ws, lambda fs: {f["plan_id"] for f in fs} >= {approved["id"], airborne["id"]})
        _expect(events, "military-activation-mid-flight", {"approved-plan": approved["id"],
                                                           "airborne-plan": airborne["id"]}, c["ref"])

        # the monitor too: the airborne aircraft still inside gets the intrusion on the constraint version
        async def intrusion() -> dict[str, Any] | None:
            await tele.send(orjson.dumps([_report("FL-2", 117.615, 29.355)]).decode())
            assert orjson.loads(await tele.recv())["accepted"] == 1
            alerts = (await server.http.get("/alerts", headers=auth(cen))).json()
            return next((a for a in alerts if a["kind"] == "intrusion" and a["aircraft"] == ["FL-2"]), None)

        alert = await wait_until(intrusion, what="the intrusion alert", every=0.5)
    [want] = SCENARIOS["military-activation-mid-flight"]["expected_alerts"]
    assert (alert["kind"], alert["aircraft"], alert["details"]["volume"]) == (want["kind"], [want["aircraft"]], c["ref"])
    withdrawn = next(e for e in events if e["plan_id"] == approved["id"])
    assert withdrawn["by"] == "military/mil-duty" and withdrawn["details"]["message_zh"]
    # withdrawn and rerouted: each alternative offered is re-filed as a new plan and approved by every rule
    alts = withdrawn["details"]["alternatives"]
    assert "改航方案" in withdrawn["details"]["message_zh"] and "POST /plans" in withdrawn["details"]["message_en"]
    got = (await server.http.get(f"/plans/{approved['id']}", headers=auth(op))).json()
    assert got["state"] == "withdrawn"
    assert next(e for e in got["events"] if e["to_state"] == "withdrawn")["details"]["alternatives"] == alts
    for alt in alts:
        body = plan_body("FL-1", start=datetime.fromisoformat(alt.get("start", approved["start"])))
        if "geometry" in alt:
            body["geometry"] = alt["geometry"]
        if alt["kind"] == "altitude":
            body["altitude"] = {"floor": alt["floor"], "ceiling": alt["ceiling"]}
        refiled = (await server.http.post("/plans", headers=auth(op), json=body)).json()
        assert refiled["state"] == "approved", (alt["kind"], refiled["decision"])
        assert (await server.http.post(f"/plans/{refiled['id']}/cancel", headers=auth(op))).status_code == 200
    # the airborne one: the nearest exit from its last reported position (0.025 deg south of the north edge)
    advisory = next(e for e in events if e["plan_id"] == airborne["id"])
    way_out = advisory["details"]["exit"]
    assert (way_out["source"], way_out["from_lon"], way_out["from_lat"]) == ("track", 117.615, 29.355)
    assert abs(way_out["lat"] - 29.38) < 1e-4 and abs(way_out["distance_m"] - 2772) < 15
    assert way_out["bearing_deg"] < 1 or way_out["bearing_deg"] > 359
    assert "最近出口" in advisory["details"]["message_zh"]
    assert (await server.http.get(f"/plans/{airborne['id']}", headers=auth(op))).json()["state"] == "active"
    # others see reserved airspace, never the title or the purpose (REST and the map's restrictions layer)
    for token in (op, viewer):
        seen = (await server.http.get("/coordination/constraints", headers=auth(token))).json()
        assert [s["ref"] for s in seen] == [c["ref"]]
        assert seen[0]["purpose"] == "" and "演习" not in seen[0]["title"] and seen[0]["created_by"] == "military"
        layer = (await server.http.get("/airspace/restrictions", headers=auth(token))).text
        assert c["ref"] in layer and "演习" not in layer and "air defence" not in layer
    # a new version (never an overwrite) by the military only; the audit names who changed what
    r = await server.http.post(f"/coordination/constraints/{c['constraint_id']}/versions", headers=auth(cen),
                               json={"title": "x"})
    assert r.status_code == 403 and r.json()["error"]["fields"][0]["field"] == "constraint"
    r = await server.http.post(f"/coordination/constraints/{c['constraint_id']}/versions", headers=auth(mil),
                               json={"end": (start + timedelta(hours=1)).isoformat()})
    assert r.status_code == 201 and r.json()["version"] == 2, r.text
    h = (await server.http.get(f"/coordination/constraints/{c['constraint_id']}/history", headers=auth(mil))).json()
    assert [v["version"] for v in h["versions"]] == [1, 2]
    assert [a["action"] for a in h["audit"]] == [*SCENARIOS["military-activation-mid-flight"]["expected_audit"],
                                                 "revised"]
    assert h["audit"][1]["actor"] == "mil-duty" and h["audit"][1]["details"]["changed"] == ["end"]
    layer = (await server.http.get("/airspace/restrictions", headers=auth(op))).json()
    assert [f["id"] for f in layer["features"]] == [f"{c['constraint_id']}.v2"]  # v1 lifted once v2 was in force


async def test_plan_in_zsjd_and_a_military_area_needs_both(server: Server, make_token: Any) -> None:
    op = await make_token("operator", organisation="浮梁文旅")
    mil = await make_token("military", name="mil-duty")
    atc = await make_token("atc", name="zsjd-atc")
    cen = await make_token("centre")
    await _aircraft(server, op, "FL-1", "FL-2", "FL-3")
    day = local_day(2, 8)  # standard filing: the day before 12:00 at the latest (so two days ahead)
    r = await server.http.post("/coordination/constraints", headers=auth(mil), json=_constraint(
        "西区训练", NORTH_OF_LUOJIA, day, day + timedelta(hours=12), purpose="training",
        coordinated_categories=["light_uav"]))
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    svc = server.app.state.coordination  # type: ignore[attr-defined]
    plans: dict[str, str] = {}
    async with connect(f"{server.ws_url}/ws/plans?token={op}") as ws, \
            connect(f"{server.ws_url}/ws/plans?token={atc}") as ws_atc:
        assert json.loads(await ws.recv())["type"] == "subscribed"
        assert json.loads(await ws_atc.recv())["type"] == "subscribed"
        for name, aid, hour in (("both-approve", "FL-1", 10), ("military-refuses", "FL-2", 13),
                                ("unanswered", "FL-3", 16)):
            r = await server.http.post("/plans", headers=auth(op), json=plan_body(
                aid, start=local_day(2, hour), coords=IN_BOTH, ceiling=200))
            assert r.status_code == 201 and r.json()["state"] == "referred", r.json()["decision"]["reasons"]
            plans[name] = r.json()["id"]

        async def routed() -> bool:
            for pid in plans.values():
                got = await server.http.get(f"/coordination/approvals/{pid}", headers=auth(cen))
                if got.status_code != 200:
                    return False
            return True

        await wait_until(routed, what="the three plans routed")
        # ATC hears of the plans routed to it, without the operator's free text
        heard = await _frames(ws_atc, lambda fs: len(fs) >= 3)
        assert {f["plan_id"] for f in heard} == set(plans.values())
        assert all(f["type"] == "plan_coordination" and f["details"]["authorities"] == ["atc", "military"]
                   and "reason" not in f and "message_zh" not in f["details"] for f in heard), heard
        got = await server.http.get(f"/coordination/approvals/{plans['both-approve']}", headers=auth(atc))
        assert got.status_code == 200, got.text
        one = got.json()
        assert [(q["authority"], q["state"]) for q in one["requests"]] == [("atc", "pending"), ("military", "pending")]
        assert one["requests"][1]["constraint_refs"] == [ref] and one["requests"][0]["constraint_refs"] == [
            "zsjd_protection"]
        queue = (await server.http.get("/coordination/approvals", headers=auth(mil))).json()
        assert {q["plan_id"] for q in queue} == set(plans.values()) and {q["authority"] for q in queue} == {"military"}
        # ATC sees the plans that enter its controlled airspace, the military those in its area
        seen = (await server.http.get("/coordination/plans", headers=auth(atc))).json()
        assert {q["plan_id"] for q in seen} == set(plans.values())
        assert all(q["touches"] == {"atc": ["zsjd_protection"]} for q in seen)
        seen = (await server.http.get("/coordination/plans", headers=auth(mil))).json()
        assert {q["plan_id"] for q in seen} == set(plans.values()) and seen[0]["touches"] == {"military": [ref]}
        # ATC may not decide the military's part, nor an operator anything
        r = await server.http.post(f"/coordination/approvals/{plans['both-approve']}/decision", headers=auth(atc),
                                   json={"verdict": "approve", "authority": "military"})
        assert r.status_code == 403 and r.json()["error"]["fields"][0]["field"] == "authority"
        r = await server.http.post(f"/coordination/approvals/{plans['both-approve']}/decision", headers=auth(op),
                                   json={"verdict": "approve"})
        assert r.status_code == 403
        # the centre desk cannot approve a routed plan behind the parties' backs
        r = await server.http.post(f"/plans/{plans['both-approve']}/approve", headers=auth(cen), json={})
        assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "plan_id", r.text
        assert "atc, military" in r.json()["error"]["message"]
        # both approve -> approved (only after the second)
        r = await server.http.post(f"/coordination/approvals/{plans['both-approve']}/decision", headers=auth(atc),
                                   json={"verdict": "approve", "reason": "no runway conflict"})
        assert r.status_code == 200 and r.json()["combined"] == "pending", r.text
        assert (await server.http.get(f"/plans/{plans['both-approve']}", headers=auth(op))).json()["state"] == \
            "referred"
        r = await server.http.post(f"/coordination/approvals/{plans['both-approve']}/decision", headers=auth(atc),
                                   json={"verdict": "approve"})
        assert r.status_code == 409  # decided once
        r = await server.http.post(f"/coordination/approvals/{plans['both-approve']}/decision", headers=auth(mil),
                                   json={"verdict": "approve"})
        assert r.status_code == 200 and r.json()["combined"] == "approved", r.text
        # the military refuses the second (a refusal needs its reason): refused whatever ATC says
        r = await server.http.post(f"/coordination/approvals/{plans['military-refuses']}/decision",
                                   headers=auth(mil), json={"verdict": "refuse"})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reason"
        r = await server.http.post(f"/coordination/approvals/{plans['military-refuses']}/decision",
                                   headers=auth(mil), json={"verdict": "refuse", "reason": "live firing 13:00-15:00"})
        assert r.json()["combined"] == "refused"  # at once, ATC still pending
        await wait_until(lambda: _state(server, op, plans["military-refuses"], "rejected"), what="the rejection")
        # nobody answers the third: escalated at its decide-by, not a moment before
        third = (await server.http.get(f"/coordination/approvals/{plans['unanswered']}", headers=auth(cen))).json()
        deadline = datetime.fromisoformat(third["requests"][0]["decide_by"])
        assert await svc.run_due(deadline - timedelta(microseconds=1)) == []
        assert len(await svc.run_due(deadline)) == 2  # not ATC's pending part of the rejected plan
        r = await server.http.post(f"/coordination/approvals/{plans['military-refuses']}/decision", headers=auth(atc),
                                   json={"verdict": "approve"})
        assert r.json()["combined"] == "refused"  # whatever ATC says
        events = await _frames(ws, lambda fs: sum(f["type"] == "plan_escalated" for f in fs) >= 2 and any(
            f.get("to_state") == "rejected" for f in fs) and any(f.get("to_state") == "approved" for f in fs))
    _expect(events, "zsjd-and-military-area", plans)
    ok = (await server.http.get(f"/plans/{plans['both-approve']}", headers=auth(op))).json()
    assert ok["state"] == "approved"
    no = (await server.http.get(f"/plans/{plans['military-refuses']}", headers=auth(op))).json()
    assert no["state"] == "rejected"
    rejected = next(e for e in events if e["plan_id"] == plans["military-refuses"] and e["to_state"] == "rejected")
    assert "live firing 13:00-15:00" in rejected["reason"] and "military" in rejected["reason"]
    audit = [(a["action"], a["actor"]) for pid in plans.values() for a in (await server.http.get(
        f"/coordination/approvals/{pid}", headers=auth(cen))).json()["audit"]]
    assert {a for a, _ in audit} == set(SCENARIOS["zsjd-and-military-area"]["expected_audit"])
    assert ("approved", "zsjd-atc") in audit and ("refused", "mil-duty") in audit
    decided = (await server.http.get(f"/coordination/approvals/{plans['both-approve']}", headers=auth(cen))).json()
    assert all(q["decided_on"] == sorted([ref, "zsjd_protection"]) for q in decided["requests"])  # which versions
    assert (await server.http.get(f"/coordination/approvals/{plans['both-approve']}", headers=auth(
        await make_token("police")))).status_code == 403


async def _state(server: Server, token: str, plan_id: str, state: str) -> bool:
    return bool((await server.http.get(f"/plans/{plan_id}", headers=auth(token))).json()["state"] == state)


def _report(aid: str, lon: float, lat: float) -> dict[str, Any]:
    return {"id": aid, "t": time.time(), "lon": lon, "lat": lat, "alt": 80, "ref": "AGL", "gs": 6, "trk": 45}


async def test_rogue_drone_near_luojia_becomes_a_police_case(server: Server, make_token: Any) -> None:
    op = await make_token("operator", organisation="unknown-owner")
    device = await make_token("device", organisation="unknown-owner")
    cen = await make_token("centre", name="centre-duty")
    police = await make_token("police", name="police-duty")
    await _aircraft(server, op, "ROGUE-1")
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        async def unauthorised() -> dict[str, Any] | None:
            await tele.send(orjson.dumps([_report("ROGUE-1", 117.19, 29.31)]).decode())
            assert orjson.loads(await tele.recv())["accepted"] == 1
            alerts = (await server.http.get("/alerts", headers=auth(cen))).json()
            return next((a for a in alerts if a["kind"] == "unauthorised" and a["aircraft"] == ["ROGUE-1"]), None)

        alert = await wait_until(unauthorised, what="the unauthorised alert", every=0.5)

        async def police_see_it() -> list[dict[str, Any]]:
            await tele.send(orjson.dumps([_report("ROGUE-1", 117.19, 29.31)]).decode())
            await tele.recv()
            got = (await server.http.get("/coordination/tracks", headers=auth(police))).json()
            return [x for x in got if x["id"] == "ROGUE-1"]

        [seen] = await wait_until(police_see_it, what="police to see the unauthorised track", every=0.5)
        assert seen["status"] == "unauthorised" and seen["cooperative"] is True
        r = await server.http.post("/coordination/cases", headers=auth(police), json={
            "aircraft_id": "ROGUE-1", "kind": "unauthorised"})
        assert r.status_code == 403  # the centre hands over; police do not open cases
        r = await server.http.post("/coordination/cases", headers=auth(cen), json={
            "aircraft_id": "NOT-FLYING", "kind": "unauthorised"})
        assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "aircraft_id"
        r = await server.http.post("/coordination/cases", headers=auth(cen), json={
            "aircraft_id": "ROGUE-1", "kind": "unauthorised", "alert_id": alert["id"], "note": "罗家机场附近"})
    assert r.status_code == 201, r.text
    case = r.json()
    facts = case["facts"]
    assert case["state"] == "assigned" and facts["last_positions"] and len(facts["predicted_path"]) == 12
    assert {"zsjd_core", "zsjd_app_22"} & {s["id"] for s in facts["nearby_sites"]}, facts["nearby_sites"]
    assert [c["id"] for c in (await server.http.get("/coordination/cases", headers=auth(police))).json()] == [
        case["id"]]
    url = f"/coordination/cases/{case['id']}/state"
    r = await server.http.post(url, headers=auth(police), json={"state": "resolved"})
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "outcome"
    assert (await server.http.post(url, headers=auth(cen), json={"state": "intercepting"})).status_code == 403
    r = await server.http.post(url, headers=auth(police), json={"state": "intercepting", "note": "两组出警"})
    assert r.status_code == 200 and r.json()["state"] == "intercepting"
    r = await server.http.post(url, headers=auth(police), json={"state": "resolved", "outcome": "countered"})
    assert r.status_code == 200 and r.json()["outcome"] == "countered"
    r = await server.http.post(url, headers=auth(police), json={"state": "intercepting"})
    assert r.status_code == 409
    detail = (await server.http.get(f"/coordination/cases/{case['id']}", headers=auth(police))).json()
    assert [(a["action"], a["actor"]) for a in detail["audit"]] == list(zip(
        SCENARIOS["rogue-near-luojia-case"]["expected_audit"], ["centre-duty", "police-duty", "police-duty"],
        strict=True))
    assert detail["audit"][0]["details"]["alert_id"] == alert["id"]


async def test_plans_referred_while_nobody_listened_are_routed(server: Server, make_token: Any) -> None:
    """A referred plan is routed by the sweep (at start) or when the centre desk tries to approve it,
    whichever comes first; routing is done once."""
    op = await make_token("operator", organisation="浮梁文旅")
    mil = await make_token("military")
    cen = await make_token("centre")
    await _aircraft(server, op, "FL-1", "FL-2")
    day = local_day(2, 8)
    r = await server.http.post("/coordination/constraints", headers=auth(mil), json=_constraint(
        "西区训练", NORTH_OF_LUOJIA, day, day + timedelta(hours=12), coordinated_categories=["light_uav"]))
    assert r.status_code == 201, r.text
    svc = server.app.state.coordination  # type: ignore[attr-defined]
    await svc.stop()  # nobody listens to filing's events from here on
    ids = []
    for aid, hour in (("FL-1", 10), ("FL-2", 13)):
        r = await server.http.post("/plans", headers=auth(op), json=plan_body(
            aid, start=local_day(2, hour), coords=IN_BOTH, ceiling=200))
        assert r.json()["state"] == "referred"
        ids.append(r.json()["id"])
    assert (await server.http.get(f"/coordination/approvals/{ids[0]}", headers=auth(cen))).status_code == 404
    r = await server.http.post(f"/plans/{ids[0]}/approve", headers=auth(cen), json={})
    assert r.status_code == 409 and "atc, military" in r.json()["error"]["message"]  # routed on the spot
    assert await svc.sweep() == 1  # the other one; the first is not routed twice
    assert await svc.sweep() == 0
    for pid in ids:
        got = (await server.http.get(f"/coordination/approvals/{pid}", headers=auth(cen))).json()
        assert [q["authority"] for q in got["requests"]] == ["atc", "military"]
        assert [a["action"] for a in got["audit"]] == ["routed"]


async def test_an_approved_plan_in_a_new_coordinated_area_is_suspended_and_routed(server: Server,
                                                                                  make_token: Any) -> None:
    """A military activation that admits light UAVs with its approval: the approved light UAV plan inside it
    goes back to referred (naming the constraint and its authority) and to the military, whose approval
    approves it again."""
    op = await make_token("operator", organisation="浮梁文旅")
    mil = await make_token("military", name="mil-duty")
    await _aircraft(server, op, "FL-1")
    start = local_day(2, 10)  # filed in time for the standard pathway too (re-approval re-runs every rule)
    plan = (await server.http.post("/plans", headers=auth(op), json=plan_body("FL-1", start=start))).json()
    assert plan["state"] == "approved", plan["decision"]
    async with connect(f"{server.ws_url}/ws/plans?token={op}") as ws:
        assert json.loads(await ws.recv())["type"] == "subscribed"
        r = await server.http.post("/coordination/constraints", headers=auth(mil), json=_constraint(
            "东区演练", EAST, start - timedelta(hours=2), start + timedelta(hours=2),
            coordinated_categories=["light_uav"]))
        assert r.status_code == 201, r.text
        ref = r.json()["ref"]
        events = await _frames(ws, lambda fs: any(f["type"] == "plan_coordination" for f in fs))
        suspended = next(e for e in events if e["type"] == "plan_state")
        assert (suspended["from_state"], suspended["to_state"], suspended["by"]) == (
            "approved", "referred", "military/mil-duty")
        assert ref in suspended["reason"] and "military" in suspended["reason"]
        routed = next(e for e in events if e["type"] == "plan_coordination")
        assert routed["details"]["authorities"] == ["military"] and routed["details"]["constraints"] == {
            "military": [ref]}
        r = await server.http.post(f"/coordination/approvals/{plan['id']}/decision", headers=auth(mil),
                                   json={"verdict": "approve", "reason": "clear of the exercise box"})
        assert r.status_code == 200 and r.json()["combined"] == "approved", r.text
        events += await _frames(ws, lambda fs: any(f.get("to_state") == "approved" for f in fs))
    _expect(events, "coordinated-area-suspends", {"suspended-plan": plan["id"]})
    assert (await server.http.get(f"/plans/{plan['id']}", headers=auth(op))).json()["state"] == "approved"
