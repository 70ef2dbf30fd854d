"""Revocation and suspension take effect on REST and on open websockets; `lowalt tokens revoke` by prefix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import orjson
from websockets.asyncio.client import connect

from lowalt.store import identity_repo
from lowalt.store.db import Database
from tests.conftest import Server
from tests.security.conftest import REPO, User, UserFactory, read_until_closed, wait_for


async def _revoke(database: Database, user: User) -> None:
    async with database.unit_of_work() as uow:
        assert await identity_repo.revoke_tokens(uow.conn, user.token[:10], user.name)
        await uow.commit()


async def test_revoked_token_closes_every_open_socket_4401_and_rest_401(
        server: Server, database: Database, new_user: UserFactory) -> None:
    device = await new_user("device", "fleet-r")
    viewer = await new_user("viewer")
    operator = await new_user("operator", "fleet-r")
    tele = await connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers)
    live = await connect(f"{server.ws_url}/ws/live", subprotocols=["lowalt", f"lowalt.token.{viewer.token}"])  # type: ignore[list-item]
    plans = await connect(f"{server.ws_url}/ws/plans?token={operator.token}")
    assert live.subprotocol == "lowalt"
    assert orjson.loads(await live.recv())["type"] == "snapshot"
    assert orjson.loads(await plans.recv())["type"] == "subscribed"
    await tele.send(orjson.dumps({"id": "NOPE", "t": 1.0}).decode())  # the socket works before revocation
    assert orjson.loads(await tele.recv())["type"] == "error"
    for user in (device, viewer, operator):
        await _revoke(database, user)
    for ws in (tele, live, plans):
        code, frames = await read_until_closed(ws)
        assert code == 4401
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == "unauthorized"

    async def refused() -> bool:
        return (await server.http.get("/me", headers=operator.headers)).status_code == 401

    await wait_for(refused, 10, "REST to refuse the revoked token")


async def test_suspended_user_gets_4403_on_open_socket_and_403_on_rest_and_reinstated_works(
        server: Server, new_user: UserFactory) -> None:
    admin = await new_user("admin")
    viewer = await new_user("viewer")
    live = await connect(f"{server.ws_url}/ws/live?token={viewer.token}")
    assert orjson.loads(await live.recv())["type"] == "snapshot"
    r = await server.http.post(f"/admin/users/{viewer.name}/suspend", headers=admin.headers)
    assert r.status_code == 200 and r.json() == {"name": viewer.name, "suspended": True}
    code, frames = await read_until_closed(live)
    assert code == 4403 and frames[-1]["code"] == "forbidden"

    async def status() -> int:
        return (await server.http.get("/me", headers=viewer.headers)).status_code

    await wait_for(lambda: _eq(status(), 403), 10, "REST to refuse the suspended user")
    r = await server.http.get("/me", headers=viewer.headers)
    assert r.json()["error"]["message"] == "this account is suspended" and r.json()["error"]["message_zh"]
    async with connect(f"{server.ws_url}/ws/live?token={viewer.token}") as ws:  # suspended at authentication
        code, frames = await read_until_closed(ws)
        assert code == 4403 and frames[0]["code"] == "forbidden"
    assert (await server.http.post(f"/admin/users/{viewer.name}/reinstate", headers=admin.headers)).status_code == 200
    await wait_for(lambda: _eq(status(), 200), 10, "REST to accept the reinstated user")
    unknown = await server.http.post("/admin/users/nobody-here/suspend", headers=admin.headers)
    assert unknown.status_code == 404


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_subprotocol_alone_is_echoed_and_bad_subprotocol_token_refused(server: Server,
                                                                           new_user: UserFactory) -> None:
    viewer = await new_user("viewer")
    proto = f"lowalt.token.{viewer.token}"
    async with connect(f"{server.ws_url}/ws/live", subprotocols=[proto]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == proto
        assert orjson.loads(await ws.recv())["type"] == "snapshot"
    async with connect(f"{server.ws_url}/ws/live", subprotocols=["lowalt", "lowalt.token.lwt_wrong"]) as ws:  # type: ignore[list-item]
        code, frames = await read_until_closed(ws)
        assert code == 4401 and frames[0]["code"] == "unauthorized"


def _cli(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOWALT_DATABASE_URL": database.url}
    return subprocess.run([sys.executable, "-m", "lowalt.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


async def test_cli_revoke_by_shown_prefix_scoped_to_user_says_what_it_revoked(
        server: Server, database: Database, new_user: UserFactory) -> None:
    alice = await new_user("operator", "org-a")
    bob = await new_user("operator", "org-b")
    listed = await asyncio.to_thread(_cli, database, "users", "list")
    assert listed.returncode == 0, listed.stderr
    users = {u["name"]: u for u in orjson.loads(listed.stdout)}
    shown = users[alice.name]["tokens"][0]["prefix"]
    assert alice.token.startswith(shown) and len(shown) == 10
    # scoped to the wrong user: nothing revoked, and a hint
    miss = await asyncio.to_thread(_cli, database, "tokens", "revoke", shown, "--user", bob.name)
    assert miss.returncode == 1 and "revoked 0" in miss.stderr and "users list" in miss.stderr
    short = await asyncio.to_thread(_cli, database, "tokens", "revoke", shown[:6])
    assert short.returncode == 1 and "10 characters" in short.stderr
    assert (await server.http.get("/me", headers=alice.headers)).status_code == 200
    hit = await asyncio.to_thread(_cli, database, "tokens", "revoke", shown, "--user", alice.name)
    assert hit.returncode == 0, hit.stderr
    assert f"revoked {shown} of user {alice.name}" in hit.stdout
    assert alice.token[10:] not in hit.stdout + hit.stderr

    async def refused() -> bool:
        return (await server.http.get("/me", headers=alice.headers)).status_code == 401

    await wait_for(refused, 10, "REST to refuse the revoked token")
    assert (await server.http.get("/me", headers=bob.headers)).status_code == 200
