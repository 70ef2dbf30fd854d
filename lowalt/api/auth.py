"""Bearer-token authentication and role checks as typed FastAPI dependencies.

Principals are cached for a short while so that authentication costs no
database round trip per request, and so that live tracking goes on for known
tokens while PostGIS is away (a revoked token stops working within the TTL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lowalt.identity.model import Principal, Role
from lowalt.identity.tokens import hash_token
from lowalt.store import identity_repo
from lowalt.store.db import Database, DatabaseUnavailable

CACHE_TTL_S = 30.0

bearer = HTTPBearer(auto_error=False, description="API token issued by `lowalt tokens issue`")


class Authenticator:
    """Resolves tokens to principals, with a TTL cache that also serves while the database is down."""

    def __init__(self, db: Database, ttl_s: float = CACHE_TTL_S) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def resolve(self, token: str) -> Principal | None:
        key = hash_token(token)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            async with self.db.unit_of_work() as uow:
                principal = await identity_repo.authenticate(uow.conn, token, datetime.now(UTC))
        except DatabaseUnavailable:
            if hit is not None:  # stale but known: keep live operations going
                return hit[1]
            raise
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = (now, principal)
        return principal

    def forget(self) -> None:
        self._cache.clear()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if creds is None or not creds.credentials:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    auth: Authenticator = request.app.state.auth
    principal = await auth.resolve(creds.credentials)
    if principal is None:
        raise _unauthorized("invalid, expired or revoked token")
    return principal


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency admitting the given roles (and admin)."""
    names = ", ".join(r.value for r in roles)

    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(*roles):
            raise HTTPException(403, f"role {principal.role.value!r} may not do this; needs one of: {names}")
        return principal

    return _check


async def accept_websocket(ws: WebSocket, *roles: Role) -> Principal | None:
    """Accept a websocket and authenticate it from ``?token=`` (browsers cannot set headers on
    websockets) or an ``Authorization: Bearer`` header. A refused connection gets an error frame,
    then close code 4401 (no or invalid token) or 4403 (wrong role), and None is returned."""
    await ws.accept()
    token = ws.query_params.get("token")
    header = ws.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    principal = await ws.app.state.auth.resolve(token) if token else None
    if principal is None:
        await ws.send_json({"type": "error", "code": "unauthorized", "message": "missing or invalid token"})
        await ws.close(code=4401)
        return None
    if not principal.has_role(*roles):
        await ws.send_json({"type": "error", "code": "forbidden",
                            "message": f"role {principal.role.value!r} may not use this endpoint"})
        await ws.close(code=4403)
        return None
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
