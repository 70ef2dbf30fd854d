"""Aircraft suspension on a real server: the centre suspends and reinstates (audited); a suspended
aircraft's device token is refused on REST (403) and its open socket closes 4403 within 5 s; a gateway
that reports several aircraft gets an error frame naming the suspended one; filing for it is refused
(409 naming ``aircraft_id``, zh/en). Every path in both states."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from lowalt.identity.model import Principal, Role
from lowalt.store import identity_repo
from lowalt.store.db import Database
from tests.conftest import Server
from tests.filing.conftest import plan_body
from tests.security.conftest import User, UserFactory, read_until_closed, wait_for

SUSPENSION_TIMEOUT_S = 5.0
"""What docs/security.md promises for a suspension to reach REST and open sockets."""


async def _register(server: Server, centre: User, aircraft_id: str, org: str, device: str | None) -> None:
    r = await server.http.post("/aircraft", headers=centre.headers, json={
        "id": aircraft_id, "category": "light_uav", "organisation": org, "device": device})
    assert r.status_code == 201, r.text


async def _set(server: Server, who: User, aircraft_id: str, action: str, reason: str = "证照过期 licence lapsed"
               ) -> Any:
    return await server.http.post(f"/aircraft/{aircraft_id}/{action}", headers=who.headers, json={"reason": reason})


def _report(aircraft_id: str) -> str:
    """One current report (reports must be current and in time order)."""
    return orjson.dumps({"id": aircraft_id, "t": time.time(), "lon": 117.21, "lat": 29.35, "alt": 120.0, "ref": "AMSL",
                         "vx": 1.0, "vy": 0.0}).decode()


async def _frames_until_ack(ws: ClientConnection) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "ack":
            return errors, frame
        errors.append(frame)


async def test_centre_suspends_and_reinstates_with_an_audit_trail_and_only_the_centre_may(
        server: Server, new_user: UserFactory) -> None:
    centre, operator, viewer = await new_user("centre"), await new_user("operator", "org-s"), await new_user("viewer")
    await _register(server, centre, "SUS-1", "org-s", None)
    for who in (operator, viewer):
        assert (await _set(server, who, "SUS-1", "suspend")).status_code == 403
    r = await _set(server, centre, "SUS-1", "suspend", "事故调查 accident investigation")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "SUS-1" and body["suspended"] is True
    assert body["audit"]["action"] == "suspend" and body["audit"]["by_user"] == centre.name
    listed = (await server.http.get("/aircraft", headers=centre.headers)).json()
    assert next(a for a in listed if a["id"] == "SUS-1")["suspended"] is True
    r = await _set(server, centre, "SUS-1", "reinstate", "调查结束 cleared")
    assert r.status_code == 200 and r.json()["suspended"] is False
    listed = (await server.http.get("/aircraft", headers=operator.headers)).json()
    assert [a["suspended"] for a in listed if a["id"] == "SUS-1"] == [False]
    trail = (await server.http.get("/aircraft/SUS-1/audit", headers=centre.headers)).json()
    assert [(e["action"], e["reason"], e["by_user"]) for e in trail] == [
        ("suspend", "事故调查 accident investigation", centre.name), ("reinstate", "调查结束 cleared", centre.name)]
    assert (await server.http.get("/aircraft/SUS-1/audit", headers=operator.headers)).status_code == 403


async def test_bad_suspension_requests_name_the_field(server: Server, new_user: UserFactory) -> None:
    centre = await new_user("centre")
    await _register(server, centre, "SUS-2", "org-s", None)
    r = await _set(server, centre, "NO-SUCH", "suspend")
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "aircraft_id"
    assert "message_zh" in r.json()["error"]
    assert (await server.http.get("/aircraft/NO-SUCH/audit", headers=centre.headers)).status_code == 404
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}):
        r = await server.http.post("/aircraft/SUS-2/suspend", headers=centre.headers, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["fields"][0]["field"].startswith("body"), r.text
    assert (await _set(server, centre, "SUS-2", "suspend", "x" * 500)).status_code == 200  # 500 is allowed
    assert (await _set(server, centre, "SUS-2", "reinstate", "x")).status_code == 200  # and so is 1
    r = await server.http.post("/aircraft/SUS-2/suspend", headers=centre.headers, json={"reason": "a\u0000b"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body"  # NUL: the guard's answer
    r = await server.http.post("/aircraft/bad id!/suspend", headers=centre.headers, json={"reason": "ok"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "path.aircraft_id"
    assert (await server.http.post("/aircraft/SUS-2/suspend", headers=centre.headers,
                                   content=b"{}" + b" " * 2_000_000)).status_code == 413


async def test_suspended_aircraft_device_token_refused_on_rest_and_open_socket_closed_4403(
        server: Server, new_user: UserFactory) -> None:
    centre, device = await new_user("centre"), await new_user("device", "org-s")
    await _register(server, centre, "SUS-3", "org-s", device.name)
    assert (await server.http.get("/me", headers=device.headers)).status_code == 200
    tele = await connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers)
    await tele.send(_report("SUS-3"))
    errors, ack = await _frames_until_ack(tele)
    assert ack["accepted"] == 1 and not errors  # reporting works before the suspension

    assert (await _set(server, centre, "SUS-3", "suspend")).status_code == 200
    code, frames = await read_until_closed(tele, SUSPENSION_TIMEOUT_S)
    assert code == 4403
    assert frames[-1]["code"] == "forbidden" and "suspended" in frames[-1]["message"]
    assert "暂停" in frames[-1]["message_zh"]

    async def rest_status() -> int:
        return (await server.http.get("/me", headers=device.headers)).status_code

    await wait_for(lambda: _is(rest_status, 403), SUSPENSION_TIMEOUT_S, "REST to refuse the device token")
    r = await server.http.get("/me", headers=device.headers)
    assert r.json()["error"]["code"] == "aircraft_suspended" and "暂停" in r.json()["error"]["message_zh"]
    again = await connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers)
    code, frames = await read_until_closed(again, SUSPENSION_TIMEOUT_S)
    assert code == 4403 and frames[-1]["code"] == "forbidden"

    assert (await _set(server, centre, "SUS-3", "reinstate")).status_code == 200
    await wait_for(lambda: _is(rest_status, 200), SUSPENSION_TIMEOUT_S, "REST to accept the reinstated device")
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers) as ws:
        await ws.send(_report("SUS-3"))
        errors, ack = await _frames_until_ack(ws)
        assert ack["accepted"] == 1 and not errors


async def _is(status: Any, expected: int) -> bool:
    return bool(await status() == expected)


async def test_gateway_frames_for_a_suspended_aircraft_get_an_error_frame_naming_it(
        server: Server, new_user: UserFactory, database: Database) -> None:
    """A device bound to two aircraft keeps its token while one is in service; the suspended one's
    reports are refused one by one, naming it, and accepted again once it is reinstated."""
    centre, gateway = await new_user("centre"), await new_user("device", "org-g")
    for aid in ("GW-A", "GW-B"):
        await _register(server, centre, aid, "org-g", gateway.name)
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=gateway.headers) as ws:
        assert (await _set(server, centre, "GW-A", "suspend")).status_code == 200
        await ws.send(orjson.dumps([orjson.loads(_report("GW-A")), orjson.loads(_report("GW-B"))]).decode())
        errors, ack = await _frames_until_ack(ws)
        assert ack == {"type": "ack", "accepted": 1, "rejected": 1}
        assert [(e["code"], e["id"], e["index"]) for e in errors] == [("aircraft_suspended", "GW-A", 0)]
        assert "GW-A" in errors[0]["message"]
        assert (await _set(server, centre, "GW-A", "reinstate")).status_code == 200
        await ws.send(orjson.dumps([orjson.loads(_report("GW-A")), orjson.loads(_report("GW-B"))]).decode())
        errors, ack = await _frames_until_ack(ws)
        assert ack["accepted"] == 2 and not errors
    async with database.unit_of_work() as uow:  # the token held throughout: one aircraft stayed in service
        assert isinstance(await identity_repo.check_token(uow.conn, gateway.token, datetime.now(UTC)), Principal)


async def test_filing_for_a_suspended_aircraft_is_refused_409_naming_aircraft_id(
        server: Server, new_user: UserFactory) -> None:
    centre, operator = await new_user("centre"), await new_user("operator", "org-f")
    other = await new_user("operator", "org-other")
    await _register(server, centre, "SUS-F", "org-f", None)
    assert (await _set(server, centre, "SUS-F", "suspend")).status_code == 200
    r = await server.http.post("/plans", headers=operator.headers, json=plan_body("SUS-F"))
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "aircraft_suspended" and err["fields"][0]["field"] == "aircraft_id"
    assert "SUS-F" in err["message"] and "暂停" in err["message_zh"]
    plans = (await server.http.get("/plans", headers=operator.headers)).json()
    assert not [p for p in plans if p["aircraft_id"] == "SUS-F"]  # nothing was filed
    # another organisation learns nothing of the suspension: not its aircraft, as for any unknown id
    r = await server.http.post("/plans", headers=other.headers, json=plan_body("SUS-F"))
    assert r.status_code == 201 and "aircraft_unregistered" in {x["code"] for x in r.json()["decision"]["reasons"]}
    assert (await _set(server, centre, "SUS-F", "reinstate")).status_code == 200
    r = await server.http.post("/plans", headers=operator.headers, json=plan_body("SUS-F"))
    assert r.status_code == 201, r.text
    assert "aircraft_suspended" not in {x["code"] for x in r.json()["decision"].get("reasons", [])}


def test_another_nodes_suspension_reaches_this_nodes_live_service_both_ways() -> None:
    """In a cluster the suspending node announces the aircraft on the bus; a node applying that feed
    refuses its reports, and accepts them again when the reinstatement arrives (a message of a node
    without the field means 'not suspended')."""
    from lowalt.live.service import LiveService
    from lowalt.metrics import Metrics

    class NoMonitor:
        def assess(self, *_: Any) -> Any:
            raise AssertionError("not used")

    svc = LiveService(None, Metrics(), monitor=NoMonitor())  # type: ignore[arg-type]
    device = Principal(7, "dev", Role.DEVICE, "org-n", 1)
    announce = {"node": "another-node", "id": "NODE-1", "category": "light_uav", "organisation": "org-n",
                "device_user_id": 7}
    for suspended, accepted in ((True, 0), (False, 1), (None, 1), (True, 0)):
        message = announce if suspended is None else {**announce, "suspended": suspended}
        svc.apply_remote_feed("aircraft", orjson.dumps(message))
        n, errors = svc.ingest(device, _report("NODE-1"))
        assert n == accepted, (suspended, errors)
        assert [e.code for e in errors] == ([] if accepted else ["aircraft_suspended"])
