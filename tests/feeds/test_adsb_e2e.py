"""ADS-B Beast frames (DF17 built per DO-260B, checked by pyModeS) served by a TCP receiver stand-in;
lowalt's client connects, decodes, and a helicopter meets a signed-MAVLink drone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from websockets.asyncio.client import connect

from lowalt.feeds.modes_encode import beast, identification, position, velocity
from lowalt.geo.crs import to_local, to_wgs84
from tests.conftest import Server, auth, wait_until
from tests.feeds.conftest import KEY_A, ORG, mavlink_doc, register
from tests.feeds.test_mavlink_e2e import Vehicle

ORIGIN = (117.2300, 29.2600)
RECEIVER = (29.3500, 117.2000)  # lat, lon: ~10 km north-west of the helicopter
HELI = "780A3B"
KT = 1852.0 / 3600.0


def _lonlat(dx: float, dy: float) -> tuple[float, float]:
    x0, y0 = to_local(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]))
    lon, lat = to_wgs84(x0 + dx, y0 + dy)
    return float(lon[0]), float(lat[0])


def _metres(lon: float, lat: float) -> tuple[float, float]:
    x0, y0 = to_local(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]))
    x, y = to_local(np.array([lon]), np.array([lat]))
    return float(x[0] - x0[0]), float(y[0] - y0[0])


@contextlib.asynccontextmanager
async def beast_receiver(frames: list[bytes]) -> AsyncIterator[int]:
    """A receiver's Beast output (like dump1090's port 30005): sends ``frames`` to every client, again and
    again, each round after the client's previous one was written (paced by the socket, not a clock)."""

    async def serve(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                for f in frames:  # split mid-frame on purpose: the client must reassemble
                    w.write(f[:5])
                    await w.drain()
                    w.write(f[5:])
                await w.drain()
                await asyncio.sleep(0.1)  # a receiver sends each aircraft's squitters ~2 per second

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


async def test_helicopter_by_adsb_meets_mavlink_drone(feeds_server: Any, make_token: Any) -> None:
    heli_lon, heli_lat = _lonlat(0.0, 0.0)
    # helicopter heading east at 80 kt, 1000 ft pressure altitude, GNSS 100 ft above baro
    frames = [beast(identification(HELI, "B7423", tc=4, category=7)), beast(velocity(HELI, 80, 0, 0, 100)),
              beast(position(HELI, heli_lat, heli_lon, 1000, 0)), beast(position(HELI, heli_lat, heli_lon, 1000, 1))]
    async with beast_receiver(frames) as rx_port:
        doc = mavlink_doc() | {"adsb": [{"receiver": "zsjd", "connect": f"127.0.0.1:{rx_port}", "format": "beast",
                                          "location": list(RECEIVER)}]}
        async with feeds_server(doc) as server:
            await _scenario(server, make_token, heli_lon, heli_lat)


async def _scenario(server: Server, make_token: Any, heli_lon: float, heli_lat: float) -> None:
    await register(server, make_token, ORG, {"MAV-07": "small_uav"})
    centre = await make_token("centre")
    heli_id = f"ADSB-{HELI}"

    async with connect(f"{server.ws_url}/ws/live?token={centre}") as live:
        async def heard() -> dict[str, Any] | None:
            msg = orjson.loads(await asyncio.wait_for(live.recv(), 10))
            rows = msg.get("tracks") or {}
            if heli_id in rows.get("ids", []):
                k = rows["ids"].index(heli_id)
                return {c: rows[c][k] for c in ("lon", "lat", "alt", "src", "gs", "hdg")}
            return None

        seen = await wait_until(heard, what="the helicopter on the live feed")
    dx, dy = _metres(seen["lon"], seen["lat"])
    assert np.hypot(dx, dy) < 50.0, (dx, dy)  # CPR decoded against the receiver: within 50 m of the truth
    assert seen["src"] == "adsb"
    assert abs(seen["alt"] - 1100 * 0.3048) < 0.2  # geometric: baro 1000 ft + (GNSS - baro) 100 ft, N = 0
    assert abs(seen["gs"] - 80 * KT) < 0.5 and seen["hdg"] == 90

    # a small drone 1500 m east and 500 m north of it, flying west at 10 m/s at the same altitude: a CPA
    # of ~500 m is no conflict between drones (50 m) but is inside the crewed-drone minimum (1219 m)
    port = server.app.state.feeds.mavlink["gw1"][1]
    d_lon, d_lat = _lonlat(1500.0, 500.0)
    drone = Vehicle(port, 7, KEY_A, d_lon, d_lat)

    async def conflict() -> dict[str, Any] | None:
        drone.send_state()
        drone.conn.mav.global_position_int_send(drone.ms(), int(d_lat * 1e7), int(d_lon * 1e7), int(335.3 * 1000),
                                                100000, 0, -1000, 0, 27000)
        active = (await server.http.get("/alerts", headers=auth(centre))).json()
        for a in active:
            if a["kind"] == "conflict" and {heli_id, "MAV-07"} <= set(map(str, a["aircraft"])):
                return dict(a)
        return None

    alert = await wait_until(conflict, what="the crewed-drone conflict alert")
    d = alert["details"]
    assert sorted(d["categories"]) == ["helicopter", "small"], d
    assert 400 < d["d_cpa_m"] < 600, d
    assert d["t_in"] < 60
