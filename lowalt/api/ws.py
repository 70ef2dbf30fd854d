"""Websocket entrypoints: ``/ws/telemetry`` (devices, gateways) and ``/ws/live`` (the map).

Both authenticate with ``?token=`` (browsers cannot set headers on websockets) or an
``Authorization: Bearer`` header. A refused connection gets an error frame, then close
code 4401 (no/invalid token) or 4403 (wrong role). Bad frames never close a connection:
each problem is answered with ``{"type": "error", "code", "message", "field"?, "index"?, "id"?}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lowalt.api.auth import accept_websocket
from lowalt.coordination.feed_scope import scope_of
from lowalt.identity.model import Role
from lowalt.live.hub import SLOW_CLOSE_CODE, BBox
from lowalt.live.service import LiveService

router = APIRouter()
MAX_ERROR_FRAMES = 100


@router.websocket("/ws/telemetry")
async def telemetry(ws: WebSocket) -> None:
    principal = await accept_websocket(ws, Role.DEVICE)
    if principal is None:
        return
    live: LiveService = ws.app.state.live
    live.metrics.inc("lowalt_ws_connections", 1, endpoint="telemetry")
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            data = msg.get("bytes") if msg.get("bytes") is not None else msg.get("text", "")
            accepted, errors = live.ingest(principal, data or b"")
            out = [e.to_wire() for e in errors[:MAX_ERROR_FRAMES]]
            if len(errors) > MAX_ERROR_FRAMES:
                out.append({"type": "error", "code": "more_errors",
                            "message": f"{len(errors) - MAX_ERROR_FRAMES} more errors in this frame not shown"})
            for frame in out:
                await ws.send_text(orjson.dumps(frame).decode())
            await ws.send_text(orjson.dumps({"type": "ack", "accepted": accepted, "rejected": len(errors)}).decode())
    except WebSocketDisconnect:
        pass
    finally:
        live.metrics.inc("lowalt_ws_connections", -1, endpoint="telemetry")


def parse_bbox(value: object) -> BBox:
    """``[w, s, e, n]`` or ``"w,s,e,n"`` in degrees; raises ValueError with what is wrong."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise ValueError("bbox must be four numbers: west,south,east,north")
    try:
        w, s, e, n = (float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ValueError("bbox must be four numbers: west,south,east,north") from exc
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError("bbox needs -180 <= west < east <= 180 and -90 <= south < north <= 90")
    return (w, s, e, n)


@router.websocket("/ws/live")
async def live_feed(ws: WebSocket) -> None:
    # the parties (#19) get the tracks a viewer gets and the alerts that concern them (feed_scope)
    principal = await accept_websocket(ws, Role.VIEWER, Role.CENTRE, Role.POLICE, Role.MILITARY, Role.ATC)
    if principal is None:
        return
    live: LiveService = ws.app.state.live
    bbox: BBox | None = None
    if ws.query_params.get("bbox"):
        try:
            bbox = parse_bbox(ws.query_params["bbox"])
        except ValueError as exc:
            await ws.send_json({"type": "error", "code": "invalid", "field": "bbox", "message": str(exc)})
    sub = live.hub.add(bbox, scope=scope_of(principal.role, principal.organisation))
    live.publish_snapshot_to(sub)

    async def sender() -> None:
        while True:
            payload = await sub.queue.get()
            if payload is None:
                # a reader this slow may never take the close frame: do not wait on it for long
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(code=SLOW_CLOSE_CODE, reason="too slow: dropped"), 5.0)
                return
            await ws.send_text(payload.decode())

    async def receiver() -> None:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            try:
                req = orjson.loads(msg.get("text") or msg.get("bytes") or b"")
                if not isinstance(req, dict):
                    raise ValueError("a request is a JSON object")
                kind = req.get("type")
                if kind == "subscribe":
                    sub.bbox = parse_bbox(req["bbox"]) if req.get("bbox") is not None else None
                    sub.needs_snapshot = True
                    live.publish_snapshot_to(sub)
                elif kind == "ping":
                    await ws.send_json({"type": "pong", "t": req.get("t")})
                else:
                    raise ValueError(f"unknown request type {kind!r}; use subscribe or ping")
            except (ValueError, KeyError, orjson.JSONDecodeError) as exc:
                await ws.send_json({"type": "error", "code": "invalid", "message": str(exc)})

    tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, Exception):
                await t
        live.hub.remove(sub)
