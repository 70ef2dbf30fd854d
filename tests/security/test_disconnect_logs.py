"""Log hygiene for expected conditions on a real server: clients that vanish (a websocket dropped without
a close handshake, a REST upload cut off half-way) leave no traceback and no ERROR line, and repeats
are rate-limited to one line. (Unexpected errors: one ERROR with its traceback, and the database away:
one rate-limited WARNING per outage, are in ``test_error_logs.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest
from websockets.asyncio.client import connect

from lowalt.logging_setup import _LIMITED
from tests.conftest import Server, wait_until
from tests.security.conftest import UserFactory

DROPS = 5


async def _keep_reporting(ws: Any) -> None:
    """Report one aircraft moving, every 0.1 s, reading the acks (until cancelled)."""
    k = 0
    while True:
        k += 1
        await ws.send(orjson.dumps({"id": "DROP-1", "t": time.time(), "lon": 117.21 + k * 1e-5, "lat": 29.35,
                                    "alt": 120.0, "ref": "AMSL", "vx": 1.0, "vy": 0.0}).decode())
        while orjson.loads(await ws.recv())["type"] != "ack":
            pass
        await asyncio.sleep(0.1)


def _troubles(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records that would page someone: ERROR or above, or anything carrying a traceback."""
    return [f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info is not None or r.exc_text]


async def test_dropped_websockets_leave_no_traceback_and_one_line(server: Server, new_user: UserFactory,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    viewer, device, centre = await new_user("viewer"), await new_user("device", "org-d"), await new_user("centre")
    r = await server.http.post("/aircraft", headers=centre.headers,
                               json={"id": "DROP-1", "category": "light_uav", "organisation": "org-d"})
    assert r.status_code == 201, r.text
    caplog.set_level(logging.DEBUG)
    _LIMITED.pop("websocket_client_gone", None)
    live: Any = server.app.state.live  # type: ignore[attr-defined]
    before = len(live.hub.subscribers)
    async with connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers) as feeder:
        moving = asyncio.create_task(_keep_reporting(feeder))  # the map feed has diffs to send all along
        try:
            for _ in range(DROPS):
                ws = await connect(f"{server.ws_url}/ws/live", additional_headers=viewer.headers)
                assert orjson.loads(await ws.recv())["type"] == "snapshot"
                tele = await connect(f"{server.ws_url}/ws/telemetry", additional_headers=device.headers)
                await tele.send(b"{not json")
                assert orjson.loads(await tele.recv())["type"] == "error"
                for sock in (ws, tele):
                    sock.transport.abort()  # gone: no close frame, the TCP connection reset

            async def let_go() -> bool:
                return len(live.hub.subscribers) == before

            await wait_until(let_go, 20, "the server to let go of the dropped /ws/live subscribers")
        finally:
            moving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await moving
    assert not _troubles(caplog), _troubles(caplog)
    gone = [r for r in caplog.records if r.getMessage() == "websocket_client_gone"]
    assert len(gone) <= 1 and all(r.levelno == logging.INFO for r in gone)  # rate-limited, not a warning


async def test_rest_upload_cut_off_leaves_no_traceback(server: Server, new_user: UserFactory,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    centre = await new_user("centre")
    caplog.set_level(logging.DEBUG)
    url = urlparse(server.url)
    for _ in range(DROPS):
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(f"POST /aircraft HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {centre.token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n".encode() + b'{"id": "A' * 10)
        await writer.drain()
        writer.transport.abort()  # half the body, then gone
    # the server is still well and answers the next client
    assert (await server.http.get("/me", headers=centre.headers)).status_code == 200

    async def listed() -> bool:
        return (await server.http.get("/aircraft", headers=centre.headers)).status_code == 200

    await wait_until(listed, 10, "the server to answer after the cut-off uploads")
    assert not _troubles(caplog), _troubles(caplog)
