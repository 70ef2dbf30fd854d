"""Limits before work: authentication before the body, a body-size limit on every route, JSON depth on REST
and websockets, oversized websocket frames answered and closed cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any
from urllib.parse import urlparse

import orjson
import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from lowalt.api.limits import Limits, json_depth
from tests.conftest import Server
from tests.security.conftest import UserFactory

MB = 1 << 20
LIMITS = Limits()


async def _stream_post(server: Server, path: str, total: int, headers: dict[str, str],
                       chunked: bool = True) -> tuple[int, bytes]:
    """POST ``total`` bytes of JSON-ish filler on a raw connection, sending until the server answers.
    Returns (status, response head + body start)."""
    u = urlparse(server.url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {u.netloc}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b"[" + b"0," * (MB // 2 - 1) + b"0"  # ~1 MB, reused: the client holds no more than this

    async def pump() -> None:
        sent = 0
        while sent < total:
            piece = chunk[: total - sent]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    sender = asyncio.ensure_future(pump())
    try:
        response = await asyncio.wait_for(reader.read(4096), 60)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await sender
        writer.close()
    status = int(response.split(b" ", 2)[1])
    return status, response


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


@pytest.mark.parametrize("path", ["/aircraft", "/airspace/restrictions", "/admin/users", "/plans"])
async def test_unauthenticated_300mb_stream_is_401_without_reading_it(server: Server, path: str) -> None:
    before = _rss()
    status, response = await _stream_post(server, path, 300 * MB, {})
    growth = _rss() - before
    assert status == 401, response
    assert b'"unauthorized"' in response
    assert growth < 20 * MB, f"server memory grew {growth / MB:.1f} MB"


async def test_authenticated_big_bodies_are_413_streamed_or_declared(server: Server, new_user: UserFactory) -> None:
    admin = await new_user("admin")
    before = _rss()
    status, response = await _stream_post(server, "/admin/users", 300 * MB, admin.headers)
    assert status == 413 and b'"too_large"' in response, response
    status, response = await _stream_post(server, "/aircraft", 300 * MB, admin.headers, chunked=False)
    assert status == 413, response
    assert _rss() - before < 20 * MB
    # just under the limit is read and validated as usual (422 naming the field, not 413)
    body = orjson.dumps({"name": "x" * (LIMITS.max_body_bytes - 100), "role": "viewer"})
    r = await server.http.post("/admin/users", headers={**admin.headers, "content-type": "application/json"},
                               content=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.name", r.text[:300]


async def test_wrong_role_is_403_before_the_body_is_parsed(server: Server, new_user: UserFactory) -> None:
    viewer = await new_user("viewer")
    r = await server.http.post("/admin/users", headers=viewer.headers, content=b"{not json at all")
    assert r.status_code == 403


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_rest_json_depth_1000_is_422_naming_depth(server: Server, new_user: UserFactory) -> None:
    admin = await new_user("admin")
    for path in ("/admin/users", "/aircraft", "/plans", "/airspace/restrictions"):
        r = await server.http.post(path, headers={**admin.headers, "content-type": "application/json"},
                                   content=_nested(1000))
        assert r.status_code == 422, (path, r.text)
        err = r.json()["error"]
        assert err["code"] == "too_deep" and err["fields"][0]["field"] == "body"
        assert "1000" in err["message"] and str(LIMITS.max_json_depth) in err["message"]
    ok = {"name": "deep-ok", "role": "viewer", "organisation": None}
    assert (await server.http.post("/admin/users", headers=admin.headers, json=ok)).status_code == 201


async def _recv(ws: Any) -> dict[str, Any]:
    return dict(orjson.loads(await asyncio.wait_for(ws.recv(), 10)))


async def test_ws_depth_1000_gets_error_frame_and_socket_stays_open(server: Server, new_user: UserFactory) -> None:
    device = await new_user("device", "fleet-d")
    viewer = await new_user("viewer")
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers) as tele:
        for deep in (_nested(1000), '{"reports": ' + _nested(1000) + "}", _nested(100_000)):
            await tele.send(deep)
            err = await _recv(tele)
            assert err["type"] == "error" and err["code"] == "too_deep" and err["field"] == "frame"
            assert await _recv(tele) == {"type": "ack", "accepted": 0, "rejected": 1}
        await tele.send(orjson.dumps({"id": "NOPE", "t": time.time(), "lon": 117.2, "lat": 29.3, "alt": 100,
                                      "ref": "AMSL"}).decode())
        assert (await _recv(tele))["type"] == "error"  # still open and answering: unknown aircraft
    async with connect(f"{server.ws_url}/ws/live", additional_headers=viewer.headers) as live:
        assert (await _recv(live))["type"] == "snapshot"
        await live.send(_nested(1000))
        while (msg := await _recv(live))["type"] != "error":
            pass
        assert msg["code"] == "too_deep"
        await live.send(orjson.dumps({"type": "ping", "t": 1}).decode())
        while (msg := await _recv(live))["type"] != "pong":
            pass


async def test_ws_frame_over_limit_gets_error_frame_then_clean_close(server: Server, new_user: UserFactory) -> None:
    device = await new_user("device", "fleet-d")
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers, max_size=None) as tele:
        await tele.send("[" + "0," * (LIMITS.max_ws_frame_bytes // 2 + 10) + "0]")
        err = await _recv(tele)
        assert err["type"] == "error" and err["code"] == "too_large" and err["field"] == "frame"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(tele.recv(), 10)
        assert tele.close_code == 1009
    r = await server.http.get("/healthz")  # the server lives on
    assert r.status_code in (200, 503)


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth('{"a": "[[[[[[", "b": [1, {"c": "]]]]"}]}') == 3
    assert json_depth('["\\"[[[", ["\\\\"]]') == 2
    assert json_depth("42") == 0
    assert json_depth(_nested(1000)) == 1000


async def test_nul_characters_are_422_naming_where_not_a_database_error(server: Server,
                                                                       new_user: UserFactory) -> None:
    centre = await new_user("centre")
    for url in ("/alerts?log=true&state=a%00b", "/plans/abc%00def", "/tracks/A%00/history"):
        r = await server.http.get(url, headers=centre.headers)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["fields"][0]["field"] in ("query", "path")
    r = await server.http.post("/aircraft", headers=centre.headers, json={"id": "NUL-1", "category": "small_uav",
                                                                          "registration": "B-\u0000"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body"


async def test_unknown_query_parameter_is_422_naming_it_after_authentication(server: Server,
                                                                            new_user: UserFactory) -> None:
    viewer = await new_user("viewer")
    assert (await server.http.get("/alerts?log=false", headers=viewer.headers)).status_code == 200  # declared
    r = await server.http.get("/alerts?lgo=true", headers=viewer.headers)  # a typo is not silently ignored
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["fields"][0]["field"] == "query.lgo" and "log" in err["message"] and "未知参数" in err["message_zh"]
    assert (await server.http.get("/alerts?lgo=true")).status_code == 401  # authentication comes first
    assert (await server.http.get("/me?x=1", headers=viewer.headers)).status_code == 422  # a route taking none
    assert (await server.http.get("/healthz?x=1")).status_code == 200  # public routes are left alone
    r = await server.http.get("/alerts?log=false&log=true", headers=viewer.headers)  # one value, given twice
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "query.log"
