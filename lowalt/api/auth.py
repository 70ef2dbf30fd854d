"""Bearer-token authentication: where tokens come from, what they resolve to, and how long that holds.

Tokens are looked up by their SHA-256 digest. A lookup is cached for ``CACHE_TTL_S`` (2 s), so a
revoked, expired or suspended token stops working on REST within 2 s. Open websockets are *watched*:
one query every ``RECHECK_S`` (1 s) re-checks the tokens of all open sockets at once, and a socket
whose token no longer holds is closed (4401 revoked/expired, 4403 suspended) by
:class:`lowalt.api.guard.Guard`. While PostGIS is away, known tokens keep working from the cache
(live tracking goes on) and unknown ones get 503.

Where a token may come from:

* REST: ``Authorization: Bearer <token>`` only.
* Websockets: ``Authorization: Bearer`` header, or the subprotocol ``lowalt.token.<token>`` (browsers
  can set subprotocols but not headers; offer ``["lowalt", "lowalt.token.<token>"]`` and the server
  selects ``lowalt``; offered alone, the token subprotocol is echoed), or ``?token=`` (kept for old
  clients; every log line is scrubbed of it, see :mod:`lowalt.logging_setup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lowalt.identity.model import Principal, Refusal, Role
from lowalt.identity.tokens import hash_token
from lowalt.store import identity_repo
from lowalt.store.db import Database, DatabaseUnavailable

CACHE_TTL_S = 2.0
RECHECK_S = 1.0
SUBPROTOCOL_PREFIX = "lowalt.token."

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="API token issued by `lowalt tokens issue`")

MESSAGES: dict[Refusal, tuple[str, str]] = {
    Refusal.MISSING: ("missing bearer token (Authorization: Bearer <token>)", "缺少访问令牌（Authorization: Bearer <令牌>）"),
    Refusal.UNKNOWN: ("invalid, expired or revoked token", "访问令牌无效、已过期或已吊销"),
    Refusal.REVOKED: ("invalid, expired or revoked token", "访问令牌无效、已过期或已吊销"),
    Refusal.EXPIRED: ("invalid, expired or revoked token", "访问令牌无效、已过期或已吊销"),
    Refusal.SUSPENDED: ("this account is suspended", "该账户已被暂停"),
    Refusal.AIRCRAFT_SUSPENDED: ("the aircraft bound to this device token are suspended by the coordination centre",
                                 "该设备绑定的航空器已被管制中心暂停使用"),
}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def websocket_credentials(headers: Mapping[str, str], subprotocols: Sequence[str],
                          query_token: str | None) -> tuple[str | None, str | None]:
    """(token, subprotocol to select) from a websocket handshake: header, then subprotocol, then query."""
    token = bearer_token(headers.get("authorization"))
    offered_tokens = [p for p in subprotocols if p.startswith(SUBPROTOCOL_PREFIX)]
    others = [p for p in subprotocols if not p.startswith(SUBPROTOCOL_PREFIX)]
    if token is None and offered_tokens:
        token = offered_tokens[0][len(SUBPROTOCOL_PREFIX):] or None
    if token is None and query_token:
        token = query_token
    chosen = others[0] if others else (offered_tokens[0] if offered_tokens else None)
    return token, chosen


@dataclass(eq=False)
class Watch:
    """An open websocket's token, re-checked every ``RECHECK_S``; ``on_refused`` is called once."""

    key: bytes
    principal: Principal
    on_refused: Callable[[Refusal], None]
    refusal: Refusal | None = field(default=None)


class Authenticator:
    """Resolves tokens to principals (cached ``ttl_s``) and watches the tokens of open websockets."""

    def __init__(self, db: Database, ttl_s: float = CACHE_TTL_S, recheck_s: float = RECHECK_S) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.recheck_s = recheck_s
        self._cache: dict[bytes, tuple[float, Principal | Refusal]] = {}
        self._watches: dict[bytes, set[Watch]] = {}
        self._task: asyncio.Task[None] | None = None

    async def check(self, token: str) -> Principal | Refusal:
        """The principal behind a token, or why there is none. Raises DatabaseUnavailable only for a
        token not seen before while the database is away."""
        key = hash_token(token)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            async with self.db.unit_of_work() as uow:
                result = (await identity_repo.check_tokens(uow.conn, [key], datetime.now(UTC)))[key]
        except DatabaseUnavailable:
            if hit is not None:  # stale but known: keep live operations going
                return hit[1]
            raise
        self._remember(key, result, now)
        return result

    async def resolve(self, token: str) -> Principal | None:
        result = await self.check(token)
        return result if isinstance(result, Principal) else None

    def _remember(self, key: bytes, result: Principal | Refusal, now: float) -> None:
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = (now, result)

    def forget(self) -> None:
        self._cache.clear()

    # -- open websockets -------------------------------------------------------------------

    def watch(self, token: str, principal: Principal, on_refused: Callable[[Refusal], None]) -> Watch:
        w = Watch(hash_token(token), principal, on_refused)
        self._watches.setdefault(w.key, set()).add(w)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._recheck_loop(), name="token-recheck")
        return w

    def unwatch(self, w: Watch) -> None:
        group = self._watches.get(w.key)
        if group is not None:
            group.discard(w)
            if not group:
                del self._watches[w.key]

    async def recheck(self) -> None:
        """Re-check every watched token in one query; refuse the sockets whose token no longer holds."""
        keys = list(self._watches)
        if not keys:
            return
        async with self.db.unit_of_work() as uow:
            results = await identity_repo.check_tokens(uow.conn, keys, datetime.now(UTC))
        now = time.monotonic()
        for key, result in results.items():
            self._remember(key, result, now)
            for w in list(self._watches.get(key, ())):
                refusal = result if isinstance(result, Refusal) else (
                    Refusal.SUSPENDED if result.role is not w.principal.role else None)
                if refusal is not None and w.refusal is None:
                    w.refusal = refusal
                    self.unwatch(w)
                    w.on_refused(refusal)

    async def _recheck_loop(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                await self.recheck()
                failures = 0
            except DatabaseUnavailable:
                failures += 1  # open sockets keep their last known principal while PostGIS is away
                if failures == 1:
                    log.warning("token_recheck_paused", extra={"reason": "database unavailable"})
            except Exception:  # never let one bad pass stop revocation
                log.exception("token_recheck_failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The principal the guard authenticated (before the body was read); resolved here only for an
    app without the guard."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    if creds is None or not creds.credentials:
        raise _unauthorized(MESSAGES[Refusal.MISSING][0])
    auth: Authenticator = request.app.state.auth
    result = await auth.check(creds.credentials)
    if isinstance(result, Refusal):
        if result.status == 403:
            raise HTTPException(403, MESSAGES[result][0])
        raise _unauthorized(MESSAGES[result][0])
    return result


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency admitting the given roles (and admin)."""
    names = ", ".join(r.value for r in roles)

    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(*roles):
            raise HTTPException(403, f"role {principal.role.value!r} may not do this; needs one of: {names}")
        return principal

    return _check


async def accept_websocket(ws: WebSocket, *roles: Role) -> Principal | None:
    """Accept a websocket the guard has authenticated (selecting the subprotocol it chose). Without the
    guard, authenticate here. A refused connection gets an error frame, then close code 4401 (no or
    invalid token) or 4403 (suspended, or wrong role), and None is returned."""
    state = ws.scope.get("state") or {}
    principal = state.get("principal")
    if isinstance(principal, Principal):
        await ws.accept(subprotocol=state.get("subprotocol"))
    else:
        token, chosen = websocket_credentials(ws.headers, ws.scope.get("subprotocols") or [],
                                              ws.query_params.get("token"))
        await ws.accept(subprotocol=chosen)
        result = await ws.app.state.auth.check(token) if token else Refusal.MISSING
        if isinstance(result, Refusal):
            await ws.send_json({"type": "error", "code": "unauthorized" if result.status == 401 else "forbidden",
                                "message": MESSAGES[result][0], "message_zh": MESSAGES[result][1]})
            await ws.close(code=result.ws_close_code)
            return None
        principal = result
    if not principal.has_role(*roles):
        await ws.send_json({"type": "error", "code": "forbidden",
                            "message": f"role {principal.role.value!r} may not use this endpoint"})
        await ws.close(code=4403)
        return None
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
