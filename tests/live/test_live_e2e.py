"""End to end on a real server, real PostGIS and real websocket clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import orjson
from websockets.asyncio.client import ClientConnection, connect

from lowalt.geo.crs import to_local, to_wgs84
from tests.conftest import Server, auth, wait_until

ORIGIN = (117.2300, 29.2600)  # open countryside south-east of the city (illustrative)


async def _register(server: Server, make_token: Any, org: str, ids: list[str], category: str = "small_uav") -> str:
    op = await make_token("operator", organisation=org)
    for aid in ids:
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": category})
        assert r.status_code == 201, r.text
    return str(await make_token("device", organisation=org))


def _lonlat(dx: float, dy: float) -> tuple[float, float]:
    x0, y0 = to_local(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]))
    lon, lat = to_wgs84(x0 + dx, y0 + dy)
    return float(lon[0]), float(lat[0])


def _report(aid: str, dx: float, vx: float, t: float) -> dict[str, Any]:
    lon, lat = _lonlat(dx, 0.0)
    return {"id": aid, "t": t, "lon": lon, "lat": lat, "alt": 150.0, "ref": "AMSL", "vx": vx, "vy": 0.0}


async def _read_until(ws: ClientConnection, pred: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("expected message did not arrive")
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(msg):
            return dict(msg)


async def _drain_feed(live: ClientConnection, on_message: Any) -> None:
    """Wait for the next live-feed message (the feed sends every 0.2 s), then take all that are queued.

    Paces a simulated flight by the server's own feed instead of a fixed sleep."""
    on_message(orjson.loads(await asyncio.wait_for(live.recv(), 10)))
    try:
        while True:
            on_message(orjson.loads(await asyncio.wait_for(live.recv(), 0.01)))
    except TimeoutError:
        pass


async def test_head_on_pair_alert_is_predicted_then_clears(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-a", ["HEAD-A", "HEAD-B"])
    viewer = await make_token("viewer")
    async with connect(f"{server.ws_url}/ws/live?token={viewer}") as live, \
            connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        snap = orjson.loads(await live.recv())
        assert snap["type"] == "snapshot"
        start = time.time()
        alert: dict[str, Any] | None = None
        cleared = False

        def on_message(msg: dict[str, Any]) -> None:
            nonlocal alert, cleared
            if msg["type"] != "alerts":
                return
            for a in msg["new"]:
                if a["kind"] == "conflict" and alert is None:
                    alert = a
            if alert and alert["id"] in msg["cleared"]:
                cleared = True

        # A from 100 m west flying east, B from 100 m east flying west, 20 m/s each, same altitude:
        # 50 m small-drone separation is lost at t = 3.75 s and regained at t = 6.25 s. The flight is
        # simulated in real time; the bound below only stops a broken run.
        while not cleared and time.time() - start < 60:
            el = time.time() - start
            frame = [_report("HEAD-A", -100 + 20 * el, 20, time.time()), _report("HEAD-B", 100 - 20 * el, -20, time.time())]
            if el > 8:  # past each other: keep them apart and flying away
                frame = [_report("HEAD-A", 60 + 20 * (el - 8), 20, time.time()),
                         _report("HEAD-B", -60 - 20 * (el - 8), -20, time.time())]
            await tele.send(orjson.dumps(frame).decode())
            ack = orjson.loads(await tele.recv())
            assert ack == {"type": "ack", "accepted": 2, "rejected": 0}
            await _drain_feed(live, on_message)
    assert alert is not None, "no conflict alert"
    assert sorted(alert["aircraft"]) == ["HEAD-A", "HEAD-B"]
    # predicted, not detected: raised with the loss of separation still ahead (t_in ~3.75 s at first sight)
    assert 0 < alert["details"]["t_in"] <= 4.0
    assert cleared, "alert never cleared after the aircraft passed"

    async def history_of(aid: str) -> list[dict[str, Any]] | None:
        r = await server.http.get(f"/tracks/{aid}/history", headers=auth(viewer))
        assert r.status_code == 200
        feats: list[dict[str, Any]] = r.json()["features"]
        return feats if len(feats) > 10 else None

    for aid in ("HEAD-A", "HEAD-B"):  # the history writer flushes in batches: wait for it
        feats = await wait_until(lambda aid=aid: history_of(aid), timeout=20, what=f"{aid}'s history")
        assert feats[0]["geometry"]["type"] == "LineString"
    alert_id = alert["id"]

    async def cleared_in_log() -> bool:
        log = await server.http.get("/alerts?log=true", headers=auth(viewer))
        return any(a["id"] == alert_id and a["state"] == "cleared" for a in log.json())

    await wait_until(cleared_in_log, timeout=20, what="the cleared alert in the alert log")


def _malformed(k: int, now: float) -> str | bytes:
    good = {"id": "BAD-1", "t": now, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AGL", "gs": 5, "trk": 10}
    kinds = [
        lambda: "{not json",
        lambda: "",
        lambda: "42",
        lambda: orjson.dumps({"id": "BAD-1"}).decode(),
        lambda: orjson.dumps({**good, "lat": "north"}).decode(),
        lambda: orjson.dumps({**good, "lon": 29.3, "lat": 117.2}).decode(),
        lambda: orjson.dumps({**good, "lat": 95.0}).decode(),
        lambda: orjson.dumps({**good, "t": now + 86400}).decode(),
        lambda: orjson.dumps({**good, "t": now - 86400}).decode(),
        lambda: orjson.dumps({**good, "ref": "FL"}).decode(),
        lambda: orjson.dumps(good).decode().replace('"alt":100', '"alt":1e999'),
        lambda: orjson.dumps({**good, "id": "UNREGISTERED"}).decode(),
        lambda: orjson.dumps({**good, "src": "telepathy"}).decode(),
        lambda: orjson.dumps([good, {**good, "id": ""}])[:-3].decode(),
        lambda: orjson.dumps({**good, "gs": 1e6}).decode(),
        lambda: b"\xff\xfe\x00binary",
    ]
    if k % 250 == 0:
        return "[" + ",".join([orjson.dumps(good).decode()] * 20000) + "]"  # > 1 MiB
    return kinds[k % len(kinds)]()


async def test_thousand_malformed_frames_then_a_valid_one(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-b", ["BAD-1"])
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}", max_size=None) as tele:
        for k in range(1000):
            await tele.send(_malformed(k, time.time()))
            errors = 0
            while True:
                msg = orjson.loads(await asyncio.wait_for(tele.recv(), 5))
                if msg["type"] == "ack":
                    break
                assert msg["type"] == "error" and msg["message"]
                errors += 1
            assert errors >= 1, f"frame {k} got no error frame"
            assert msg["accepted"] == 0
        good = {"id": "BAD-1", "t": time.time(), "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AGL", "gs": 5, "trk": 10}
        await tele.send(orjson.dumps(good).decode())
        assert orjson.loads(await tele.recv()) == {"type": "ack", "accepted": 1, "rejected": 0}
    health = await server.http.get("/healthz")
    assert health.status_code == 200
    metrics = (await server.http.get("/metrics")).text
    assert 'lowalt_reports_rejected_total{reason="malformed_json"}' in metrics


async def test_device_cannot_move_another_operators_aircraft(server: Server, make_token: Any) -> None:
    await _register(server, make_token, "fleet-c", ["THEIRS-1"])
    mine = await _register(server, make_token, "fleet-d", ["MINE-1"])
    async with connect(f"{server.ws_url}/ws/telemetry?token={mine}") as tele:
        now = time.time()
        await tele.send(orjson.dumps([
            {"id": "THEIRS-1", "t": now, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AGL", "gs": 5, "trk": 0},
            {"id": "MINE-1", "t": now, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AGL", "gs": 5, "trk": 0},
        ]).decode())
        err = orjson.loads(await tele.recv())
        assert err["type"] == "error" and err["code"] == "not_your_aircraft" and err["id"] == "THEIRS-1"
        assert orjson.loads(await tele.recv()) == {"type": "ack", "accepted": 1, "rejected": 1}
    live = server.app.state.live  # type: ignore[attr-defined]
    assert "THEIRS-1" not in live.coop.slot and "MINE-1" in live.coop.slot
    metrics = (await server.http.get("/metrics")).text
    assert 'lowalt_reports_rejected_total{reason="not_your_aircraft"} 1' in metrics


async def test_websocket_auth(server: Server, make_token: Any) -> None:
    viewer = await make_token("viewer")
    async with connect(f"{server.ws_url}/ws/telemetry?token={viewer}") as ws:
        msg = orjson.loads(await ws.recv())
        assert msg["code"] == "forbidden"
        await ws.wait_closed()
        assert ws.close_code == 4403
    async with connect(f"{server.ws_url}/ws/live") as ws:
        assert orjson.loads(await ws.recv())["code"] == "unauthorized"
        await ws.wait_closed()
        assert ws.close_code == 4401
