"""The live picture tells the truth (issue: live truth), on a real server, PostGIS and websockets.

Late reports predicted to tick time; out-of-order reports never move a track; a landed aircraft is
never "lost" and an airborne one is; alert ids unique across a restart with the old log untouched;
acknowledgements kept; a non-reading map subscriber dropped and counted; an absurd value refused
while history keeps flowing; a row PostGIS refuses is isolated and /healthz says degraded.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect

from lowalt.aircraft_category import AircraftCategory
from lowalt.api.app import create_app
from lowalt.conflict.separation import SeparationMatrix
from lowalt.settings import Settings
from lowalt.store.db import Database
from tests.conftest import Server, auth, serving, wait_until
from tests.live.test_live_e2e import _lonlat, _register

TICK = 0.5


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state", log_json=False, tick_s=TICK, coast_after_s=1.0, lost_after_s=6.0)


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition") -> Any:
    return await wait_until(check, timeout, what)


def metric_value(text_: str, name: str) -> float:
    """Sum of a metric's samples in Prometheus text (any labels)."""
    total = 0.0
    for line in text_.splitlines():
        head, _, value = line.rpartition(" ")
        if head == name or head.startswith(name + "{"):
            total += float(value)
    return total


def rep(aid: str, dx: float, vx: float, t: float, alt: float = 150.0, **extra: Any) -> dict[str, Any]:
    lon, lat = _lonlat(dx, 0.0)
    return {"id": aid, "t": t, "lon": lon, "lat": lat, "alt": alt, "ref": "AMSL", "vx": vx, "vy": 0.0, **extra}


async def send(ws: ClientConnection, frame: Any) -> list[dict[str, Any]]:
    """Send one frame, return its answer (error frames, then the ack)."""
    await ws.send(orjson.dumps(frame).decode())
    out = []
    while True:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        out.append(msg)
        if msg["type"] == "ack":
            return out


async def alerts(server: Server, token: str, log: bool = False) -> list[dict[str, Any]]:
    r = await server.http.get("/alerts" + ("?log=true" if log else ""), headers=auth(token))
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_late_reports_are_predicted_to_tick_time(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-late", ["LATE-A", "LATE-B"])
    centre = await make_token("centre")
    t_rep = time.time() - 4.0  # a gateway delivering 4 s late
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        ack = await send(tele, [rep("LATE-A", 0, 20, t_rep), rep("LATE-B", 2000, -20, t_rep)])
        assert ack[-1]["accepted"] == 2
        found = await until(lambda: _conflict(server, centre), what="conflict alert")
    h_sep = SeparationMatrix().minima(AircraftCategory.SMALL_UAV, AircraftCategory.SMALL_UAV)[0]
    # where they are at the tick that raised it, not where they were reported
    gap = 2000 - 40 * (found["first_seen"] - t_rep)
    assert found["details"]["t_in"] == pytest.approx((gap - h_sep) / 40, abs=0.3)


async def _conflict(server: Server, token: str) -> dict[str, Any] | None:
    return next((a for a in await alerts(server, token) if a["kind"] == "conflict"), None)


async def test_out_of_order_reports_never_move_a_track_back_but_reach_history(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-ooo", ["OOO-1"])
    centre = await make_token("centre")
    now = time.time()
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        assert (await send(tele, rep("OOO-1", 500, 5, now)))[-1] == {"type": "ack", "accepted": 1, "rejected": 0}
        # a replayed buffer: older positions arrive after the newest one
        answer = await send(tele, [rep("OOO-1", 0, 5, now - 2), rep("OOO-1", 100, 5, now - 1)])
        assert answer[-1] == {"type": "ack", "accepted": 2, "rejected": 0}
        dup = await send(tele, rep("OOO-1", 999, 5, now))
        assert dup[0]["code"] == "duplicate" and dup[0]["field"] == "t" and dup[-1]["rejected"] == 1

    async def track() -> dict[str, Any] | None:
        r = await server.http.get("/tracks", headers=auth(centre))
        return next((f for f in r.json()["features"] if f["properties"]["id"] == "OOO-1"), None)

    f = await until(track, what="track")
    assert f["geometry"]["coordinates"][0] == pytest.approx(_lonlat(500, 0)[0], abs=1e-6)

    async def history() -> list[Any]:
        r = await server.http.get("/tracks/OOO-1/history", headers=auth(centre))
        feats = r.json()["features"] if r.status_code == 200 else []
        return feats if feats and len(feats[0]["geometry"]["coordinates"]) >= 3 else []

    line = (await until(history, what="three history points"))[0]["geometry"]["coordinates"]
    assert [round(c[0], 6) for c in line] == [round(_lonlat(dx, 0)[0], 6) for dx in (0, 100, 500)]


async def test_a_landed_aircraft_is_never_lost_and_an_airborne_one_is(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-life", ["LAND-1", "GONE-1"])
    centre = await make_token("centre")
    now = time.time()
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        await send(tele, [rep("LAND-1", 0, 0, now, alt=0.0, landed=True), rep("GONE-1", 3000, 15, now, alt=400.0)])

    async def lost() -> list[dict[str, Any]]:
        return [a for a in await alerts(server, centre) if a["kind"] == "lost_contact"]

    raised = await until(lost, what="lost contact for the airborne aircraft")
    assert [a["aircraft"] for a in raised] == [["GONE-1"]]
    # both tracks have ended by now (same report time); let two more ticks pass
    ticks = server.app.state.live.tick_count  # type: ignore[attr-defined]
    await until(lambda: _at_least(server, ticks + 2), what="two ticks")
    assert [a["aircraft"] for a in await lost()] == [["GONE-1"]]
    r = await server.http.get("/tracks", headers=auth(centre))
    assert {f["properties"]["id"] for f in r.json()["features"]} == set()


async def _at_least(server: Server, ticks: int) -> bool:
    return bool(server.app.state.live.tick_count >= ticks)  # type: ignore[attr-defined]


async def test_coasting_is_flagged_on_the_feed(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-coast", ["COAST-1"])
    viewer = await make_token("viewer")
    async with connect(f"{server.ws_url}/ws/live?token={viewer}") as live, \
            connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        await send(tele, rep("COAST-1", 0, 10, time.time()))
        seen: list[int] = []
        deadline = time.monotonic() + 15
        while 1 not in seen and time.monotonic() < deadline:
            msg = orjson.loads(await asyncio.wait_for(live.recv(), 15))
            if msg["type"] in ("tracks", "snapshot"):
                tr = msg["tracks"]
                seen += [c for i, c in zip(tr["ids"], tr["co"], strict=True) if i == "COAST-1"]
        assert seen[0] == 0 and 1 in seen


async def test_alert_ids_unique_across_a_restart_and_the_old_log_unchanged(
        database: Database, settings: Settings, make_token: Any) -> None:
    # with the monitor in a process of its own, as ``lowalt serve`` runs it (the rest of the suite runs it
    # in a worker thread): the acknowledgement, the log and the restart go through its pipe
    settings = replace(settings, monitor_process=True)
    centre = await make_token("centre")

    async def conflict_then_clear(server: Server, device: str) -> str:
        now = time.time()
        async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
            await send(tele, [rep("RST-A", 0, 20, now), rep("RST-B", 1500, -20, now)])
            found = await until(lambda: _conflict(server, centre), what="conflict")
            ack = await server.http.post(f"/alerts/{found['id']}/ack", headers=auth(centre))
            assert ack.status_code == 200 and ack.json()["acknowledged_by"]

            async def cleared() -> bool:  # the pair flies apart; keep reporting so the tracks stay live
                t = time.time()
                await send(tele, [rep("RST-A", -5000, -20, t), rep("RST-B", 5000, 20, t)])
                log = {a["id"]: a for a in await alerts(server, centre, log=True)}
                return found["id"] in log and log[found["id"]]["state"] == "cleared"

            await until(cleared, what="alert cleared and logged")
        return str(found["id"])

    async def events(alert_id: str) -> list[dict[str, Any]]:
        async with database.unit_of_work() as uow:
            rows = await uow.conn.execute(text("SELECT * FROM alert_events WHERE alert_id = :a ORDER BY event_id"),
                                          {"a": alert_id})
            return [dict(r._mapping) for r in rows]

    async with serving(create_app(settings, db=database)) as first:
        device = await _register(first, make_token, "fleet-rst", ["RST-A", "RST-B"])
        old_id = await conflict_then_clear(first, device)
    before = await events(old_id)
    assert [e["event"] for e in before][0] == "raised" and {"acknowledged", "cleared"} <= {e["event"] for e in before}
    async with serving(create_app(settings, db=database)) as second:
        new_id = await conflict_then_clear(second, device)
    assert new_id != old_id
    assert await events(old_id) == before  # last run's log is untouched
    async with database.unit_of_work() as uow:  # and cannot be touched
        with pytest.raises(Exception, match="insert-only"):
            await uow.conn.execute(text("UPDATE alert_events SET severity = 'caution'"))


async def test_an_open_alert_continues_under_its_id_after_a_restart(
        database: Database, settings: Settings, make_token: Any) -> None:
    centre = await make_token("centre")
    slow = replace(settings, lost_after_s=30.0)
    async with serving(create_app(slow, db=database)) as first:
        device = await _register(first, make_token, "fleet-open", ["OPN-A", "OPN-B"])
        async with connect(f"{first.ws_url}/ws/telemetry?token={device}") as tele:
            now = time.time()
            await send(tele, [rep("OPN-A", 0, 1, now), rep("OPN-B", 30, -1, now)])  # already too close
            found = await until(lambda: _conflict(first, centre), what="conflict")
            await until(lambda: _logged(first, centre, found["id"]), what="alert logged")
    async with serving(create_app(slow, db=database)) as second, \
            connect(f"{second.ws_url}/ws/telemetry?token={device}") as tele:
        now = time.time()
        await send(tele, [rep("OPN-A", 2, 1, now), rep("OPN-B", 28, -1, now)])
        again = await until(lambda: _conflict(second, centre), what="conflict after restart")
    assert again["id"] == found["id"]


async def _logged(server: Server, token: str, alert_id: str) -> bool:
    return any(a["id"] == alert_id for a in await alerts(server, token, log=True))


async def test_absurd_value_refused_and_history_keeps_flowing(server: Server, make_token: Any) -> None:
    device = await _register(server, make_token, "fleet-abs", ["ABS-1", "ABS-2"])
    centre = await make_token("centre")
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        answer = await send(tele, [rep("ABS-1", 0, 5, time.time(), vs=1e300), rep("ABS-2", 0, 5, time.time())])
        assert answer[0]["type"] == "error" and answer[0]["field"] == "vs" and answer[0]["id"] == "ABS-1"
        assert answer[-1] == {"type": "ack", "accepted": 1, "rejected": 1}
        for k in range(1, 4):
            await send(tele, rep("ABS-2", 5 * k, 5, time.time()))

    async def history() -> int:
        r = await server.http.get("/tracks/ABS-2/history", headers=auth(centre))
        feats = r.json()["features"] if r.status_code == 200 else []
        return len(feats[0]["geometry"]["coordinates"]) if feats else 0

    assert await until(lambda: _ge(history, 4), what="history of the good aircraft")
    health = await server.http.get("/healthz")
    assert health.json()["status"] == "ok"


async def _ge(f: Callable[[], Awaitable[int]], n: int) -> bool:
    return await f() >= n


async def test_a_row_postgis_refuses_is_isolated_counted_and_healthz_degraded(server: Server, make_token: Any) -> None:
    centre = await make_token("centre")
    live = server.app.state.live  # type: ignore[attr-defined]
    now = time.time()
    lon, lat = _lonlat(0, 0)
    good = [(f"ISO-{k}", now + k * 0.01, lon, lat, 100.0, 0.0, 0.0, 0.0, 0) for k in range(7)]
    bad = ("ISO-BAD", now, lon, lat, 1e300, 0.0, 0.0, 0.0, 0)  # past validation only by a bug: float4 overflow
    live._history.append([*good[:3], bad, *good[3:]])
    live._history_pending += 8
    written = await live.flush_history()
    assert written == 7 and live.history_rejected == 1
    health = (await server.http.get("/healthz")).json()
    assert health["status"] == "degraded" and health["live"]["history_rows_rejected"] == 1
    for k in range(7):  # every good row went in
        r = await server.http.get(f"/tracks/ISO-{k}/history", headers=auth(centre))
        assert r.status_code == 200 and len(r.json()["features"]) == 1
    metrics = (await server.http.get("/metrics", headers=auth(centre))).text
    assert metric_value(metrics, "lowalt_history_rejected_total") == 1


async def test_a_map_subscriber_that_does_not_read_is_disconnected_and_counted(
        server: Server, make_token: Any) -> None:
    live = server.app.state.live  # type: ignore[attr-defined]
    live.hub.queue_size, live.hub.max_strikes = 2, 3
    sensor = await make_token("device")  # a sensor: 2,000 non-cooperative targets, no registration needed
    viewer = await make_token("viewer")
    rng = random.Random(7)
    host, port = server.url.split("//")[1].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader with a small window...
    sock.connect((host, int(port)))
    async with connect(f"{server.ws_url}/ws/live?token={viewer}", sock=sock, max_queue=1, compression=None) as slow, \
            connect(f"{server.ws_url}/ws/telemetry?token={sensor}") as tele:

        async def dropped() -> bool:  # ...that never reads, while the picture keeps changing
            t = time.time()
            frame = [{**rep(f"T{k}", rng.uniform(-20_000, 20_000), rng.uniform(-30, 30), t), "src": "noncoop"}
                     for k in range(2000)]
            assert (await send(tele, frame))[-1]["accepted"] == 2000
            m = (await server.http.get("/metrics", headers=auth(viewer))).text
            return metric_value(m, "lowalt_live_dropped_total") == 1

        await until(dropped, timeout=90, what="the slow subscriber dropped")

        async def gone() -> bool:  # the server let go of it: no longer fed, its handler finished
            return not live.hub.subscribers

        await until(gone, timeout=30, what="the slow subscriber removed from the hub")
        assert slow.close_code in (None, 1008, 1006)  # the close frame may sit behind its unread backlog
        slow.transport.abort()  # the reader goes away without reading its backlog (as a dead map tab would)
