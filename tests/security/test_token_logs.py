"""No token ever reaches a log: a real `lowalt serve` process, every line of its output captured and grepped."""

from __future__ import annotations

import logging

import httpx
import orjson
from websockets.asyncio.client import connect

from lowalt.logging_setup import RedactSecrets, redact
from tests.security.conftest import ServeProcess, UserFactory


async def test_no_token_substring_in_any_log_line(serve_process: ServeProcess, new_user: UserFactory) -> None:
    device = await new_user("device", "fleet-log")
    viewer = await new_user("viewer")
    operator = await new_user("operator", "fleet-log")
    srv = serve_process
    # websockets: token in the query (browsers of old), in a header, in a subprotocol
    async with connect(f"{srv.ws_url}/ws/telemetry?token={device.token}") as ws:
        await ws.send(orjson.dumps({"id": "NOPE", "t": 1.0}).decode())
        assert orjson.loads(await ws.recv())["type"] == "error"
    async with connect(f"{srv.ws_url}/ws/live", additional_headers=viewer.headers) as ws:
        assert orjson.loads(await ws.recv())["type"] == "snapshot"
    async with connect(f"{srv.ws_url}/ws/plans", subprotocols=[f"lowalt.token.{operator.token}"]) as ws:  # type: ignore[list-item]
        assert orjson.loads(await ws.recv())["type"] == "subscribed"
    async with connect(f"{srv.ws_url}/ws/live?token={device.token}") as ws:  # refused: wrong role
        assert orjson.loads(await ws.recv())["code"] == "forbidden"
    async with connect(f"{srv.ws_url}/ws/live?token=lwt_not-a-real-token-but-secret") as ws:
        assert orjson.loads(await ws.recv())["code"] == "unauthorized"
    # REST: header, and a token put where it does not belong (the query string of a URL)
    async with httpx.AsyncClient(base_url=srv.url) as http:
        assert (await http.get("/me", headers=operator.headers)).status_code == 200
        assert (await http.get(f"/me?token={operator.token}")).status_code == 401
        assert (await http.get(f"/healthz?access_token={viewer.token}")).status_code == 200
        assert (await http.get("/me", headers={"Authorization": f"Bearer {device.token}x"})).status_code == 401
    srv.proc.terminate()
    srv.proc.wait(30)
    logs = srv.logs()
    # the log did capture these requests (so the grep below means something)...
    assert "/ws/telemetry" in logs and "/ws/plans" in logs and '"GET /me' in logs, logs[-3000:]
    assert "[redacted]" in logs
    # ...and no token, nor its secret part, appears anywhere
    for user in (device, viewer, operator):
        assert user.token not in logs
        assert user.token[10:] not in logs
    assert "not-a-real-token-but-secret" not in logs


def test_redact_covers_query_header_subprotocol_and_bare_tokens() -> None:
    tok = "lwt_AbCdEf0123456789abcdefghijklmnopqrstuvwxyzAB"
    for line in (f'127.0.0.1:5 - "WebSocket /ws/telemetry?token={tok}" [accepted]',
                 f'"GET /me?x=1&token={tok}&y=2 HTTP/1.1" 401', f"Authorization: Bearer {tok}",
                 f"subprotocols ['lowalt.token.{tok}']", f"token {tok} failed"):
        out = redact(line)
        assert tok[10:] not in out and "[redacted]" in out, out
    assert redact("GET /airspace/volumes?at=2026-01-01") == "GET /airspace/volumes?at=2026-01-01"


def test_filter_scrubs_arguments_extras_and_tracebacks() -> None:
    tok = "lwt_ZyXwVu0123456789abcdefghijklmnopqrstuvwxyzAB"
    try:
        raise ValueError(f"bad token {tok}")
    except ValueError as exc:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, '%s - "WebSocket %s"',
                                   ("1.2.3.4", f"/ws/live?token={tok}"), (type(exc), exc, exc.__traceback__))
    record.detail = f"token={tok}"
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record) + str(record.detail)
    assert tok[10:] not in text
    assert "WebSocket /ws/live?token=[redacted]" in text
