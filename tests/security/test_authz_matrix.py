"""The authorisation matrix, generated from the app's routes x roles: every route has a rule, and the
running server does exactly what the rule says for every role and for no token at all."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from lowalt.api import authz
from lowalt.api.app import create_app
from lowalt.api.guard import app_routes
from lowalt.identity.model import Role
from lowalt.settings import Settings
from tests.conftest import Server
from tests.security.conftest import REPO, User, UserFactory

ROLES = [r.value for r in Role]


def _endpoints() -> list[tuple[str, str]]:
    """(METHOD or WS, path template) of every route the app serves."""
    out: list[tuple[str, str]] = []
    for route in app_routes(create_app(Settings())):
        methods = getattr(route, "methods", None)
        if methods is None:
            out.append(("WS", route.path))
        else:
            out += [(m, route.path) for m in sorted(methods) if m != "HEAD"]
    return out


def test_every_route_has_exactly_one_rule_and_no_rule_is_stale() -> None:
    endpoints = _endpoints()
    missing = [f"{m} {p}" for m, p in endpoints if authz.rule_for(m, p) is None]
    assert not missing, f"routes without an authorisation rule in lowalt/api/authz.py: {missing}"
    stale = [f"{m} {p}" for m, p in authz.RULES if (m, p) not in set(endpoints)]
    assert not stale, f"rules for routes that do not exist: {stale}"


def test_docs_table_lists_every_rule() -> None:
    doc = (REPO / "docs" / "security.md").read_text()
    for (method, path), rule in authz.RULES.items():
        row = re.search(rf"^\| `{re.escape(method)} {re.escape(path)}` \|(.*)$", doc, re.M)
        assert row, f"docs/security.md has no row for {method} {path}"
        cells = [c.strip() for c in row.group(1).split("|")[:5]]
        expected = []
        for role in (Role.OPERATOR, Role.DEVICE, Role.CENTRE, Role.VIEWER):
            access = rule.roles.get(role)
            expected.append("public" if rule.public else (access.value if access else "-"))
        expected.append("public" if rule.public else "all")
        assert cells == expected, f"{method} {path}: docs say {cells}, the rule says {expected}"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-thing", path)


async def _http_status(server: Server, method: str, path: str, user: User | None) -> int:
    headers = user.headers if user else {}
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    r = await server.http.request(method, _fill(path), headers=headers, **body)
    return r.status_code


async def _ws_outcome(server: Server, path: str, user: User | None) -> int | None:
    """None when the socket was accepted and stays open; otherwise the close code."""
    url = f"{server.ws_url}{path}" + (f"?token={user.token}" if user else "")
    async with connect(url) as ws:
        with contextlib.suppress(ConnectionClosed):  # a refused socket may be closed already
            await ws.send('{"type": "ping"}')  # every endpoint answers something (telemetry: an error, an ack)
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if first.get("type") == "error" and first.get("code") in ("unauthorized", "forbidden"):
            await asyncio.wait_for(ws.wait_closed(), 10)
            return ws.close_code
        return None


async def test_matrix_routes_x_roles_on_a_running_server(server: Server, new_user: UserFactory) -> None:
    users = {role: await new_user(role, "org-matrix" if role in ("operator", "device") else None) for role in ROLES}
    problems: list[str] = []
    for method, path in _endpoints():
        rule = authz.rule_for(method, path)
        assert rule is not None
        for role in [None, *ROLES]:
            user = users[role] if role else None
            if rule.public:
                allowed = True
            elif user is None:
                allowed = False
            else:
                allowed = role == "admin" or Role(role) in rule.roles
            if method == "WS":
                outcome = await _ws_outcome(server, path, user)
                expected = None if allowed else (4401 if user is None else 4403)
                if outcome != expected:
                    problems.append(f"WS {path} as {role}: close {outcome}, expected {expected}")
                continue
            status = await _http_status(server, method, path, user)
            if allowed and status in (401, 403):
                problems.append(f"{method} {path} as {role}: {status}, expected to be let through")
            if not allowed and status != (401 if user is None else 403):
                problems.append(f"{method} {path} as {role}: {status}, expected {401 if user is None else 403}")
            if status >= 500:
                problems.append(f"{method} {path} as {role}: server error {status}")
    assert not problems, "\n".join(problems)
