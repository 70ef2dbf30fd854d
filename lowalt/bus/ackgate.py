"""Acknowledge telemetry to a device only after the bus stored it durably.

``/ws/telemetry`` validates a frame, stores it locally and sends ``ack`` at once (``lowalt.api.ws``).
With a durable bus (NATS JetStream) the live service also starts a publish per frame and records its
future with :func:`hold`; this ASGI middleware, wrapped around the app for the telemetry websocket,
holds every outgoing frame until the publishes started before it completed. The frames wait in a
per-connection queue (at most ``MAX_QUEUED``; past that the handler waits too), so the handler reads
the device's next frame while JetStream stores the previous one and the answers keep their order.
When a publish failed, the frame's ``ack`` is answered as ``{"type": "error", "code": "unavailable",
...}`` followed by ``{"type": "ack", "accepted": 0, ...}``: the device keeps the reports and sends them
again.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PENDING: contextvars.ContextVar[list[asyncio.Future[None]] | None] = contextvars.ContextVar(
    "lowalt_bus_pending", default=None)
TELEMETRY_PATH = "/ws/telemetry"
MAX_QUEUED = 256
"""Outgoing frames a connection may have waiting for the bus before its handler waits too."""
FLUSH_TIMEOUT_S = 10.0


def hold(future: asyncio.Future[None]) -> None:
    """Make the current telemetry connection's next frame wait for ``future`` (no-op elsewhere)."""
    pending = _PENDING.get()
    if pending is not None:
        pending.append(future)


class _Outbox:
    """One connection's outgoing frames, each sent after the publishes it waits for, in order."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.queue: asyncio.Queue[tuple[list[asyncio.Future[None]], Message] | None] = asyncio.Queue(MAX_QUEUED)
        self.failed = 0
        self.task = asyncio.create_task(self._run(), name="telemetry-acks")

    async def _run(self) -> None:
        while (item := await self.queue.get()) is not None:
            waiting, message = item
            if waiting:
                results = await asyncio.gather(*waiting, return_exceptions=True)
                errors = [r for r in results if isinstance(r, BaseException)]
                if errors:
                    self.failed += len(errors)
                    log.warning("bus_publish_failed", extra={"error": str(errors[0])[:200]})
            await self._send(message)

    async def _send(self, message: Message) -> None:
        if self.failed and message.get("type") == "websocket.send" and message.get("text"):
            frame = orjson.loads(message["text"])
            if isinstance(frame, dict) and frame.get("type") == "ack":
                self.failed = 0
                await self.send({"type": "websocket.send", "text": orjson.dumps({
                    "type": "error", "code": "unavailable",
                    "message": "the reports could not be stored durably; send them again"}).decode()})
                total = int(frame.get("accepted", 0)) + int(frame.get("rejected", 0))
                message = {"type": "websocket.send",
                           "text": orjson.dumps({"type": "ack", "accepted": 0, "rejected": total}).decode()}
        await self.send(message)

    async def close(self) -> None:
        await self.queue.put(None)
        try:
            await asyncio.wait_for(asyncio.shield(self.task), FLUSH_TIMEOUT_S)
        except (TimeoutError, Exception):
            self.task.cancel()


class DurableAckGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope.get("path") != TELEMETRY_PATH:
            await self.app(scope, receive, send)
            return
        pending: list[asyncio.Future[None]] = []
        outbox = _Outbox(send)
        token = _PENDING.set(pending)

        async def gated_send(message: Message) -> None:
            if outbox.task.done():  # the connection is gone: fail as the send itself failed
                exc = None if outbox.task.cancelled() else outbox.task.exception()
                raise exc or RuntimeError("telemetry connection closed")
            waiting = list(pending)
            pending.clear()
            await outbox.queue.put((waiting, message))

        try:
            await self.app(scope, receive, gated_send)
        finally:
            _PENDING.reset(token)
            await outbox.close()
