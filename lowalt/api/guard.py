"""The guard: one pure ASGI middleware in front of every route, REST and websocket alike.

For each HTTP request, in this order, before any handler runs or any body byte is read:

1. find the route and its rule in :data:`lowalt.api.authz.RULES` (no rule: 403);
2. authenticate the bearer token (401 missing/invalid/revoked/expired, 403 suspended, 503 when the
   database is away and the token is not known) and check the role (403);
3. refuse a query parameter the route does not declare (422 naming ``query.<name>``); refuse a
   declared ``Content-Length`` over the limit (413); then read the body counting bytes and
   stop at the limit (413: a 300 MB upload costs at most one limit of memory);
4. refuse JSON nested deeper than the limit (422 naming ``body`` and the depth).

For each websocket: the same rule and token check at the handshake (refused: an error frame, then
close 4401/4403); then every incoming frame is checked (over the frame limit: an error frame and a
clean close 1009; nested too deep: an error frame, the socket stays open), and the token is watched:
revoked or expired closes the socket with 4401, a suspended user with 4403, within ~2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from lowalt.api import authz
from lowalt.api.auth import MESSAGES, Authenticator, bearer_token, websocket_credentials
from lowalt.api.errors import error_body
from lowalt.api.limits import Limits, json_depth, looks_like_json
from lowalt.identity.model import Principal, Refusal
from lowalt.logging_setup import log_limited
from lowalt.store.db import DatabaseUnavailable
from lowalt.store.db import _is_connection_error as is_connection_error

log = logging.getLogger(__name__)

ACK_PATHS = frozenset({"/ws/telemetry"})
"""Websockets whose protocol answers every frame with an ack (a refused frame gets one too)."""
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def app_routes(app: Any) -> list[Any]:
    """The app's routes, flattened through included routers, each with its full path template."""
    from fastapi.routing import iter_route_contexts

    return [rc.route for rc in iter_route_contexts(app.router.routes)]


def route_path(scope: Scope, routes: list[Any]) -> str | None:
    """The path template of the route this request is for (None: unknown path or method)."""
    route = matching_route(scope, routes)
    return None if route is None else str(route.path)


def matching_route(scope: Scope, routes: list[Any]) -> Any:
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def query_names(route: Any) -> dict[str, bool] | None:
    """The query parameters a route declares, each with whether it may repeat (a list); None: not a
    FastAPI route (it takes what it likes)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names: dict[str, bool] = {}
    todo = [dependant]
    while todo:  # the route's own parameters and those of its dependencies
        d = todo.pop()
        names.update((p.alias, _repeats(p.field_info.annotation)) for p in d.query_params)
        todo.extend(d.dependencies)
    return names


def _repeats(annotation: Any) -> bool:
    import typing

    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_repeats(a) for a in typing.get_args(annotation)) if origin is not None else False


def unknown_query(query_string: bytes, declared: dict[str, bool]) -> tuple[str, str] | None:
    """The first query parameter a route does not declare, or one given twice that takes one value:
    (name, why), or None. A typo (``?stat=``) is refused rather than silently ignored, as unknown body
    members are; ``?a=1&a=2`` is not quietly read as 2."""
    from urllib.parse import parse_qsl

    seen: set[str] = set()
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in declared:
            return name, "unknown"
        if name in seen and not declared[name]:
            return name, "repeated"
        seen.add(name)
    return None


class Refused(Exception):
    def __init__(self, status: int, message: str, message_zh: str, *, code: str | None = None,
                 field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.message_zh = status, message, message_zh
        self.code, self.field, self.headers = code, field, headers or {}


async def _respond(send: Send, exc: Refused) -> None:
    body = error_body(exc.status, exc.message, code=exc.code,
                      fields=[{"field": exc.field, "message": exc.message}] if exc.field else None)
    body["error"]["message_zh"] = exc.message_zh  # type: ignore[index]
    raw = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def _authorise(rule: authz.Rule | None, method: str, path: str, result: Principal | Refusal | None) -> Principal:
    """The principal admitted by the rule, or Refused."""
    if rule is None:
        raise Refused(403, f"no authorisation rule for {method} {path}", "此接口没有授权规则")
    if result is None or isinstance(result, Refusal):
        refusal = result or Refusal.MISSING
        en, zh = MESSAGES[refusal]
        raise Refused(refusal.status, en, zh, code="aircraft_suspended" if refusal is Refusal.AIRCRAFT_SUSPENDED else None,
                      headers={"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None)
    if rule.access(result) is None:
        raise Refused(403, f"role {result.role.value!r} may not do this; needs one of: {authz.roles_admitted(rule)}",
                      f"角色 {result.role.value!r} 无权执行此操作")
    return result


async def _check(auth: Authenticator, token: str | None) -> Principal | Refusal:
    if not token:
        return Refusal.MISSING
    try:
        return await auth.check(token)
    except DatabaseUnavailable:
        raise Refused(503, "database unavailable; try again shortly", "数据库暂不可用，请稍后重试",
                      headers={"Retry-After": "5"}) from None


class Guard:
    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()
        self._routes: list[Any] | None = None

    def _route(self, scope: Scope) -> str | None:
        if self._routes is None:
            self._routes = app_routes(scope["app"])
        route = matching_route(scope, self._routes)
        if route is None:
            return None
        scope.setdefault("state", {})["route_query"] = query_names(route)
        return str(route.path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    # -- REST -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._route(scope)
        if path is None:  # unknown path (404) or wrong method (405): the app answers
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        try:
            rule = authz.rule_for(method, path)
            if rule is None or not rule.public:
                headers = dict((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
                token = bearer_token(headers.get("authorization"))
                result = await _check(scope["app"].state.auth, token)
                principal = _authorise(rule, method, path, result)
                state = scope.setdefault("state", {})
                state["principal"], state["access"] = principal, rule.access(principal)  # type: ignore[union-attr]
            if (where := _nul_in_url(scope)) is not None:
                raise _nul_refused(where)
            declared = scope["state"].get("route_query")
            if rule is not None and not rule.public and declared is not None and (
                    bad := unknown_query(scope.get("query_string", b""), declared)) is not None:
                name, why = bad
                takes = ", ".join(sorted(declared)) or "none"
                raise Refused(422, f"query.{name}: unknown parameter; this route takes: {takes}",
                              f"query.{name}：未知参数；此接口接受：{takes}", field=f"query.{name}") \
                    if why == "unknown" else Refused(422, f"query.{name}: given more than once; it takes one value",
                                                     f"query.{name}：只能给一次", field=f"query.{name}")
            if method in _WITH_BODY:
                receive = await self._read_body(scope, receive)
        except Refused as exc:
            await _respond(send, exc)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # logged once here; not re-raised (uvicorn would log it again)
            if isinstance(exc, DatabaseUnavailable) or is_connection_error(exc):
                log_limited(log, logging.WARNING, "database_unavailable", detail=str(exc)[:200])
                refused = Refused(503, "database unavailable; try again shortly", "数据库暂不可用，请稍后重试",
                                  headers={"Retry-After": "5"})
            else:
                log.error("unhandled_error", exc_info=exc, extra={"method": method, "route": path})
                refused = Refused(500, "internal server error", "服务器内部错误")
            if not started:
                await _respond(send, refused)

    async def _read_body(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.limits.max_body_bytes
        too_big = Refused(413, f"request body larger than {limit} bytes", f"请求体超过 {limit} 字节",
                          field="body")
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_big  # refused before reading a byte
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return _replay(b"", message, receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or b"\\u0000" in body:
            raise _nul_refused("body")
        if looks_like_json(body):
            depth = json_depth(body)
            if depth > self.limits.max_json_depth:
                raise Refused(422, f"JSON nested {depth} levels deep; at most {self.limits.max_json_depth}",
                              f"JSON 嵌套 {depth} 层，最多 {self.limits.max_json_depth} 层", code="too_deep",
                              field="body")
        return _replay(body, None, receive)

    # -- websockets ------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._route(scope)
        if path is None:
            await self.app(scope, receive, send)
            return
        headers = dict((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        query = _query_token(scope.get("query_string", b""))
        token, subprotocol = websocket_credentials(headers, scope.get("subprotocols") or [], query)
        auth: Authenticator = scope["app"].state.auth
        try:
            principal = _authorise(authz.rule_for("WS", path), "WS", path, await _check(auth, token))
        except Refused as exc:
            await _refuse_websocket(receive, send, subprotocol, exc)
            return
        state = scope.setdefault("state", {})
        state["principal"], state["subprotocol"] = principal, subprotocol
        state["access"] = authz.rule_for("WS", path).access(principal)  # type: ignore[union-attr]
        session = _Session(receive, send, self.limits, ack=path in ACK_PATHS)
        assert token is not None
        watch = auth.watch(token, principal, session.refuse)
        try:
            await self.app(scope, session.receive, session.send)
        except (WebSocketDisconnect, OSError) as exc:  # the client went away mid-send: expected, no traceback
            log_limited(log, logging.INFO, "websocket_client_gone", route=path, detail=type(exc).__name__)
        except Exception as exc:  # logged once here; not re-raised (uvicorn would log it again)
            log.error("unhandled_websocket_error", exc_info=exc, extra={"route": path})
            with contextlib.suppress(Exception):
                await session.send({"type": "websocket.close", "code": 1011})
        finally:
            auth.unwatch(watch)
            await session.finish()


def _nul_in_url(scope: Scope) -> str | None:
    """Where the URL carries a NUL character (PostgreSQL text cannot hold one): ``path``, ``query`` or None."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    return "query" if b"\x00" in query or b"%00" in query else None


def _nul_refused(where: str) -> Refused:
    return Refused(422, f"{where}: contains a NUL character (\\u0000), which no field may hold",
                   f"{where}：包含 NUL 字符（\\u0000），任何字段都不允许", field=where)


def access_of(scope: Scope) -> authz.Access:
    """What the guard decided the caller may see on this route (OWN, the narrowest, if it decided nothing)."""
    access = (scope.get("state") or {}).get("access")
    return access if isinstance(access, authz.Access) else authz.Access.OWN


def _replay(body: bytes, then: Message | None, receive: Receive) -> Receive:
    """A receive that yields the already-read body once (or the disconnect seen), then the real one."""
    first: list[Message] = [then or {"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return first.pop() if first else await receive()

    return replay


def _query_token(query_string: bytes) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query_string.decode("latin-1")).get("token")
    return values[0] if values else None


async def _refuse_websocket(receive: Receive, send: Send, subprotocol: str | None, exc: Refused) -> None:
    """Accept only to say why (browsers cannot read an HTTP refusal), then close 4401/4403/4503."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    code = {401: 4401, 403: 4403}.get(exc.status, 4000 + exc.status)
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    await send({"type": "websocket.send", "text": orjson.dumps(
        {"type": "error", "code": "unauthorized" if exc.status == 401 else "forbidden" if exc.status == 403
         else "unavailable", "message": exc.message, "message_zh": exc.message_zh}).decode()})
    await send({"type": "websocket.close", "code": code, "reason": exc.message[:120]})


class _Session:
    """Wraps one websocket's receive/send: frame limits, and closing it when its token stops holding."""

    def __init__(self, receive: Receive, send: Send, limits: Limits, *, ack: bool) -> None:
        self._receive, self._send, self.limits, self.ack = receive, send, limits, ack
        self.accepted = False
        self.closed = False
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[Message] | None = None
        self._killed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._closer: asyncio.Task[None] | None = None

    async def send(self, message: Message) -> None:
        if self.closed:
            return  # closed by the guard: the app learns it from its next receive
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
        elif kind == "websocket.close":
            self.closed = True
        async with self._lock:
            await self._send(message)

    async def _close(self, frame: dict[str, Any], code: int, reason: str) -> None:
        async with self._lock:
            if self.closed:
                return
            self.closed = True
            if self.accepted:
                with contextlib.suppress(Exception):  # the client may be gone already
                    await self._send({"type": "websocket.send", "text": orjson.dumps(frame).decode()})
                    await self._send({"type": "websocket.close", "code": code, "reason": reason})
        if not self._killed.done():
            self._killed.set_result(code)

    def refuse(self, refusal: Refusal) -> None:
        """Called by the authenticator when the token no longer holds."""
        en, zh = MESSAGES[refusal]
        frame = {"type": "error", "code": "unauthorized" if refusal.status == 401 else "forbidden",
                 "message": en, "message_zh": zh}
        self._closer = asyncio.ensure_future(self._close(frame, refusal.ws_close_code, en))

    async def receive(self) -> Message:
        while True:
            if self._killed.done():
                return {"type": "websocket.disconnect", "code": self._killed.result()}
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._receive())
            waiting: set[asyncio.Future[Any]] = {self._pending, self._killed}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not self._pending.done():
                continue
            message = self._pending.result()
            self._pending = None
            if message["type"] != "websocket.receive":
                return message
            text, raw = message.get("text"), message.get("bytes")
            data: str | bytes = text if isinstance(text, str) else raw if isinstance(raw, bytes) else b""
            if len(data) > self.limits.max_ws_frame_bytes:
                limit = self.limits.max_ws_frame_bytes
                await self._close({"type": "error", "code": "too_large", "field": "frame",
                                   "message": f"frame of {len(data)} bytes is over the limit of {limit} bytes; "
                                              "send smaller batches",
                                   "message_zh": f"消息帧超过 {limit} 字节上限，请分批发送"}, 1009, "frame too large")
                continue
            if looks_like_json(data):
                depth = json_depth(data)
                if depth > self.limits.max_json_depth:
                    await self._reject_frame(depth)
                    continue
            return message

    async def _reject_frame(self, depth: int) -> None:
        limit = self.limits.max_json_depth
        frames: list[dict[str, Any]] = [{"type": "error", "code": "too_deep", "field": "frame",
                                         "message": f"JSON nested {depth} levels deep; at most {limit}",
                                         "message_zh": f"JSON 嵌套 {depth} 层，最多 {limit} 层"}]
        if self.ack:
            frames.append({"type": "ack", "accepted": 0, "rejected": 1})
        for frame in frames:
            await self.send({"type": "websocket.send", "text": orjson.dumps(frame).decode()})

    async def finish(self) -> None:
        for fut in (self._pending, self._closer):
            if fut is not None and not fut.done():
                fut.cancel()
                with contextlib.suppress(BaseException):
                    await fut
