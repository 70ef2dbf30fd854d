"""pymavlink ground stations send signed MAVLink 2 over UDP to a real server's gateway endpoint."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import common as mav

from tests.conftest import Server, auth, wait_until
from tests.feeds.conftest import KEY_A, KEY_B, ORG, mavlink_doc, register

LON, LAT = 117.2300, 29.2600  # open countryside south-east of Jingdezhen (illustrative)


class Vehicle:
    """A simulated autopilot: pymavlink's own UDP client, signing with its key."""

    def __init__(self, port: int, sysid: int, key: bytes | None, lon: float, lat: float) -> None:
        self.conn: Any = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=sysid,
                                                    source_component=1)
        if key is not None:
            self.conn.setup_signing(key, sign_outgoing=True)
        self.boot = time.time() - 100.0
        self.lon, self.lat = lon, lat
        self.landed = False

    def ms(self) -> int:
        return int((time.time() - self.boot) * 1000)

    def send_state(self) -> None:
        m = self.conn.mav
        armed = 0 if self.landed else mav.MAV_MODE_FLAG_SAFETY_ARMED
        m.heartbeat_send(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, armed, 0, mav.MAV_STATE_ACTIVE)
        m.system_time_send(int(time.time() * 1e6), self.ms())
        m.sys_status_send(0, 0, 0, 500, 15000, 1000, 77, 0, 0, 0, 0, 0, 0)
        landed = mav.MAV_LANDED_STATE_ON_GROUND if self.landed else mav.MAV_LANDED_STATE_IN_AIR
        m.extended_sys_state_send(mav.MAV_VTOL_STATE_MC, landed)

    def send_position(self, amsl_m: float = 150.0, rel_m: float = 100.0) -> None:
        # vx north 1 m/s, vy east 2 m/s, vz down -0.5 m/s (climbing)
        self.conn.mav.global_position_int_send(self.ms(), int(self.lat * 1e7), int(self.lon * 1e7),
                                               int(amsl_m * 1000), int(rel_m * 1000), 100, 200, -50, 9000)


async def _tracks(server: Server, token: str) -> dict[str, dict[str, Any]]:
    r = await server.http.get("/tracks", headers=auth(token))
    return {f["id"]: f for f in r.json()["features"]}


async def _metric(server: Server, token: str, reason: str) -> float:
    text = (await server.http.get("/metrics", headers=auth(token))).text
    m = re.search(rf'lowalt_feed_refused_total\{{feed="mavlink:gw1",reason="{reason}"\}} ([0-9.e+]+)', text)
    return float(m.group(1)) if m else 0.0


async def test_signed_mavlink_tracks_refusals_and_landing(feeds_server: Any, make_token: Any) -> None:
    async with feeds_server(mavlink_doc()) as server:
        await register(server, make_token, ORG, {"MAV-07": "small_uav", "MAV-08": "small_uav"})
        centre = await make_token("centre")
        port = server.app.state.feeds.mavlink["gw1"][1]
        v7 = Vehicle(port, 7, KEY_A, LON, LAT)
        v8 = Vehicle(port, 8, KEY_B, LON + 0.01, LAT)

        async def both_tracked() -> dict[str, dict[str, Any]] | None:
            for v in (v7, v8):
                v.send_state()
                v.send_position()
            tracks = await _tracks(server, centre)
            return tracks if {"MAV-07", "MAV-08"} <= tracks.keys() else None

        tracks = await wait_until(both_tracked, what="both MAVLink vehicles on the picture")
        t7 = tracks["MAV-07"]
        lon, lat, alt = t7["geometry"]["coordinates"]
        assert abs(lon - LON) < 1e-6 and abs(lat - LAT) < 1e-6
        assert alt == 150.0  # GLOBAL_POSITION_INT.alt is AMSL: relative_alt (100 m above home) is not used
        p = t7["properties"]
        assert (round(p["vx"], 2), round(p["vy"], 2), round(p["vz"], 2)) == (2.0, 1.0, 0.5)  # NED cm/s -> ENU m/s
        assert abs(p["t"] - time.time()) < 5  # aligned by SYSTEM_TIME: boot + time_boot_ms

        # a forger with the wrong key (and a future signing timestamp) for sysid 7 at another place
        forger = Vehicle(port, 7, bytes(32), LON + 0.05, LAT + 0.05)
        forger.conn.mav.signing.timestamp += 10**9  # pymavlink would keep this stream time ...
        forger.conn.mav.signing.link_id = v7.conn.mav.signing.link_id  # ... for v7's stream
        unsigned = Vehicle(port, 7, None, LON + 0.05, LAT + 0.05)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"\xfd\x09garbage", ("127.0.0.1", port))
        forger.send_position()
        unsigned.send_position()

        async def refusals_counted() -> bool:
            return (await _metric(server, centre, "bad_signature") >= 1 and await _metric(server, centre, "unsigned") >= 1
                    and await _metric(server, centre, "malformed") >= 1)

        await wait_until(refusals_counted, what="bad signature, unsigned and malformed packets counted")

        # the genuine vehicle is still heard after the forgery (its stream clock was not moved on)
        v7.lon += 0.001

        async def genuine_moved() -> bool:
            v7.send_position()
            t = (await _tracks(server, centre)).get("MAV-07")
            return t is not None and abs(t["geometry"]["coordinates"][0] - v7.lon) < 1e-6

        await wait_until(genuine_moved, what="the genuine vehicle's next position after a forgery")
        assert abs((await _tracks(server, centre))["MAV-07"]["geometry"]["coordinates"][1] - LAT) < 1e-6

        # MAV-08 lands and falls silent; MAV-07 falls silent in the air: only MAV-07 is lost contact
        v8.landed = True
        v8.send_state()
        v8.send_position()

        async def both_ended() -> bool:
            return not {"MAV-07", "MAV-08"} & (await _tracks(server, centre)).keys()

        await wait_until(both_ended, what="both tracks ended")

        async def lost_contacts() -> set[str]:
            log = (await server.http.get("/alerts", params={"log": "true"}, headers=auth(centre))).json()
            return {str(a["aircraft"]) for a in log if a["kind"] == "lost_contact"}

        lost = await wait_until(lost_contacts, what="a lost-contact alert for the vehicle that vanished airborne")
        assert any("MAV-07" in a for a in lost)
        assert not any("MAV-08" in a for a in lost)
