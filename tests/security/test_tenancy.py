"""Tenancy on a running server: operators see their own aircraft's tracks, history and alerts, bind only
their own devices, learn nothing of other organisations from errors; viewers get plan events without
free text; query integers are bounded."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from lowalt.api.authz import PLAN_EVENT_PUBLIC_KEYS, REDACTED_PLAN
from tests.conftest import Server
from tests.filing.conftest import plan_body
from tests.security.conftest import User, UserFactory, wait_for

SPOT = (117.2300, 29.2600)  # open countryside south-east of the city
FAR = (117.3300, 29.3100)


def _report(aid: str, lon: float, lat: float) -> dict[str, Any]:
    return {"id": aid, "t": time.time(), "lon": lon, "lat": lat, "alt": 150.0, "ref": "AMSL", "vx": 0.0, "vy": 0.0}


async def _register(server: Server, op: User, aid: str, device: str | None = None,
                    category: str = "small_uav") -> int:
    body: dict[str, Any] = {"id": aid, "category": category}
    if device:
        body["device"] = device
    return (await server.http.post("/aircraft", headers=op.headers, json=body)).status_code


async def _send(ws: ClientConnection, reports: list[dict[str, Any]]) -> None:
    await ws.send(orjson.dumps(reports).decode())
    while (msg := orjson.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "ack":
        pass
    assert msg["accepted"] == len(reports), msg


async def test_operators_see_only_their_own_tracks_history_and_alerts(server: Server,
                                                                      new_user: UserFactory) -> None:
    op_a, op_b = await new_user("operator", "org-a"), await new_user("operator", "org-b")
    dev_a, dev_b = await new_user("device", "org-a"), await new_user("device", "org-b")
    viewer, centre = await new_user("viewer"), await new_user("centre")
    for op, aid in ((op_a, "TEN-A1"), (op_a, "TEN-A2"), (op_b, "TEN-B1")):
        assert await _register(server, op, aid) == 201
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=dev_a.headers) as tele_a, \
            connect(f"{server.ws_url}/ws/telemetry", additional_headers=dev_b.headers) as tele_b:

        async def conflict_alert() -> dict[str, Any] | None:
            await _send(tele_a, [_report("TEN-A1", *SPOT), _report("TEN-A2", SPOT[0] + 0.0001, SPOT[1])])
            await _send(tele_b, [_report("TEN-B1", *FAR)])
            shown = (await server.http.get("/alerts", headers=centre.headers)).json()
            return next((a for a in shown if a["kind"] == "conflict" and "TEN-A1" in a["aircraft"]), None)

        alert = await wait_for(conflict_alert, 20, "a conflict alert between TEN-A1 and TEN-A2", every=0.3)

        async def track_ids(user: User) -> set[str]:
            r = await server.http.get("/tracks", headers=user.headers)
            assert r.status_code == 200, r.text
            return {f["id"] for f in r.json()["features"]} & {"TEN-A1", "TEN-A2", "TEN-B1"}

        assert await track_ids(op_a) == {"TEN-A1", "TEN-A2"}
        assert await track_ids(op_b) == {"TEN-B1"}
        assert await track_ids(viewer) == {"TEN-A1", "TEN-A2", "TEN-B1"}

        async def alert_ids(user: User, log: bool = False) -> set[str]:
            r = await server.http.get("/alerts", headers=user.headers, params={"log": "true"} if log else {})
            assert r.status_code == 200, r.text
            return {a["id"] for a in r.json()}

        assert alert["id"] in await alert_ids(op_a)
        assert alert["id"] in await alert_ids(viewer)
        assert alert["id"] not in await alert_ids(op_b)
        for a in (await server.http.get("/alerts", headers=op_b.headers)).json():
            assert not {"TEN-A1", "TEN-A2"} & set(a["aircraft"])
        await wait_for(lambda: _has_log(server, centre, alert["aircraft"]), 20, "the alert in the log")
        for row in (await server.http.get("/alerts", headers=op_b.headers, params={"log": "true"})).json():
            assert not {"TEN-A1", "TEN-A2"} & set(row["aircraft"])
        assert await _has_log(server, op_a, alert["aircraft"])

        async def history(user: User, aid: str) -> httpx_response:
            return await server.http.get(f"/tracks/{aid}/history", headers=user.headers)

        await wait_for(lambda: _features(history(op_a, "TEN-A1")), 20, "TEN-A1's history in PostGIS")
        theirs, unknown = await history(op_b, "TEN-A1"), await history(op_b, "TEN-NOPE")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["error"]["message"].replace("TEN-A1", "X") == \
            unknown.json()["error"]["message"].replace("TEN-NOPE", "X")
        assert await _features(history(centre, "TEN-A1"))
        assert (await history(op_b, "TEN-B1")).status_code == 200
        assert (await server.http.get("/tracks/TEN-A1/history", headers=dev_a.headers)).status_code == 403


httpx_response = Any


async def _features(resp: Any) -> int:
    r = await resp
    return len(r.json()["features"]) if r.status_code == 200 else 0


async def _has_log(server: Server, user: User, aircraft: list[str]) -> bool:
    rows = (await server.http.get("/alerts", headers=user.headers, params={"log": "true"})).json()
    return any(sorted(r["aircraft"]) == sorted(aircraft) for r in rows)


async def test_device_binding_only_within_the_organisation_and_errors_reveal_nothing(
        server: Server, new_user: UserFactory) -> None:
    op_a = await new_user("operator", "org-a")
    own_device, other_device = await new_user("device", "org-a"), await new_user("device", "org-b")
    own_operator = await new_user("operator", "org-a")
    answers = {}
    for aid, device in (("BIND-1", other_device.name), ("BIND-2", "nobody-by-this-name"),
                        ("BIND-3", own_operator.name)):
        r = await server.http.post("/aircraft", headers=op_a.headers,
                                   json={"id": aid, "category": "small_uav", "device": device})
        assert r.status_code == 422, r.text
        answers[device] = r.json()["error"]["message"].replace(device, "NAME")
    assert len(set(answers.values())) == 1, answers  # the same answer whether the user exists or not
    assert "org-b" not in next(iter(answers.values()))
    assert await _register(server, op_a, "BIND-4", own_device.name) == 201
    op_b = await new_user("operator", "org-b")
    dup = await server.http.post("/aircraft", headers=op_b.headers, json={"id": "BIND-4", "category": "small_uav"})
    assert dup.status_code == 409 and "org-a" not in dup.text and own_device.name not in dup.text


async def _next_plan_event(ws: ClientConnection) -> dict[str, Any]:
    while (msg := orjson.loads(await asyncio.wait_for(ws.recv(), 15)))["type"] != "plan_state":
        pass
    return dict(msg)


async def test_plan_events_viewers_redacted_operators_only_their_own(server: Server, new_user: UserFactory) -> None:
    op_a, op_b = await new_user("operator", "org-a"), await new_user("operator", "org-b")
    viewer = await new_user("viewer")
    assert await _register(server, op_a, "PLAN-A1") == 201
    assert await _register(server, op_b, "PLAN-B1") == 201
    async with connect(f"{server.ws_url}/ws/plans", additional_headers=viewer.headers) as ws_v, \
            connect(f"{server.ws_url}/ws/plans", additional_headers=op_a.headers) as ws_a, \
            connect(f"{server.ws_url}/ws/plans", additional_headers=op_b.headers) as ws_b:
        for ws in (ws_v, ws_a, ws_b):
            assert orjson.loads(await ws.recv())["type"] == "subscribed"
        r = await server.http.post("/plans", headers=op_a.headers, json=plan_body("PLAN-A1"))
        assert r.status_code in (200, 201), r.text
        plan_a = r.json()["id"]
        seen_v, seen_a = await _next_plan_event(ws_v), await _next_plan_event(ws_a)
        assert seen_v["plan_id"] == seen_a["plan_id"] == plan_a
        assert set(seen_v) <= set(PLAN_EVENT_PUBLIC_KEYS) and "reason" not in seen_v and "details" not in seen_v
        assert "reason" in seen_a  # the operator sees its own plan's reasons
        r = await server.http.post("/plans", headers=op_b.headers, json=plan_body("PLAN-B1"))
        assert r.status_code in (200, 201), r.text
        first_b = await _next_plan_event(ws_b)  # A's event was never sent to B: B's own is the first
        assert first_b["plan_id"] == r.json()["id"] and first_b["organisation"] == "org-b"
        assert (await server.http.get(f"/plans/{plan_a}", headers=op_b.headers)).status_code == 404
        assert (await server.http.get("/plans", headers=viewer.headers)).status_code == 403


async def test_query_integers_are_bounded_422_naming_the_parameter(server: Server, new_user: UserFactory) -> None:
    op = await new_user("operator", "org-a")
    for value in ("9223372036854775808", "-1", "1e400"):
        r = await server.http.get(f"/plans?offset={value}", headers=op.headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["fields"][0]["field"] == "query.offset"


async def test_rejected_plan_never_reveals_another_organisations_plan_id(server: Server,
                                                                          new_user: UserFactory) -> None:
    op_a, op_b, centre = await new_user("operator", "org-a"), await new_user("operator", "org-b"), \
        await new_user("centre")
    assert await _register(server, op_a, "CLASH-A", category="light_uav") == 201
    assert await _register(server, op_b, "CLASH-B", category="light_uav") == 201
    start = datetime.now(UTC) + timedelta(minutes=20)
    first = await server.http.post("/plans", headers=op_a.headers, json=plan_body("CLASH-A", start=start))
    assert first.json()["state"] == "approved", first.text
    a_id = first.json()["id"]
    clash = await server.http.post("/plans", headers=op_b.headers,
                                   json=plan_body("CLASH-B", start=start + timedelta(minutes=10)))
    assert clash.json()["state"] == "rejected", clash.text
    b_id = clash.json()["id"]
    conflict = next(x for x in clash.json()["decision"]["reasons"] if x["code"] == "conflict")
    assert conflict["details"]["plans"] == [REDACTED_PLAN]
    for url in (f"/plans/{b_id}", "/plans"):
        r = await server.http.get(url, headers=op_b.headers)
        assert r.status_code == 200 and a_id not in r.text and b_id in r.text
    seen = await server.http.get(f"/plans/{b_id}", headers=centre.headers)  # the centre sees whose it is
    assert a_id in seen.text
