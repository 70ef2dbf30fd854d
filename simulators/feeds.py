"""Scenario aircraft that reach the server through its real device feeds instead of ``/ws/telemetry``.

* ``transport: mavlink`` - a registered drone whose autopilot streams **signed MAVLink 2** over UDP to the
  server's MAVLink gateway (pymavlink, one connection and one 32-byte signing key per vehicle):
  ``HEARTBEAT``, ``SYSTEM_TIME``, ``SYS_STATUS``, ``EXTENDED_SYS_STATE`` and ``GLOBAL_POSITION_INT``
  (altitude above mean sea level, as an autopilot sends it).
* ``transport: adsb`` - a crewed aircraft that files nothing with lowalt and is heard only by its ADS-B
  squitters: DF17 identification, velocity and CPR even/odd positions (``lowalt.feeds.modes_encode``)
  handed to a real **dump1090-mutability**, either as Beast frames on its Beast input (scenario
  ``adsb_input: beast``) or as the radio's I/Q samples on its stdin (``adsb_input: iq``: PPM at
  2.4 MS/s, ``lowalt.feeds.modes_iq``; dump1090 demodulates them, the whole chain after the antenna);
  the server's ADS-B client reads dump1090's Beast output, exactly as it reads a station's port 30005.

Both need a feeds file the server reads at start-up (gateway, organisation, sysid -> aircraft and key;
receiver address and location), so such scenarios run only on a server the simulator (or a test)
starts with :meth:`FeedSetup.doc`. The scenario's simulated altitudes are heights above the ground;
the feeds send AMSL, so each feed aircraft's terrain height is asked of the server once
(``GET /airspace/query``) at the start of its path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lowalt.feeds import modes_encode as me
from lowalt.feeds.modes_iq import DUMP1090_BUFFER, uc8
from lowalt.launch import free_port
from simulators.client import metric
from simulators.scenario import FEED_TRANSPORTS, Scenario

os.environ.setdefault("MAVLINK20", "1")  # before pymavlink is imported (mavutil reads it once)

FT, KT, FPM = 0.3048, 1852.0 / 3600.0, 0.3048 / 60.0
DUMP1090 = "dump1090-mutability"
ROTORCRAFT_MODELS = {"helicopter"}


class FeedSetupError(RuntimeError):
    """A feed scenario cannot run here (no dump1090, a server not started by the simulator)."""


def dump1090_argv(ports: dict[str, int], *source: str) -> list[str]:
    """dump1090-mutability on loopback with the network ports ``ports`` (``bi``, ``bo``, ``sbs``, ``ri``,
    ``ro``: none left at the 300xx defaults another receiver may hold); ``source`` is ``--net-only``
    (frames arrive on the Beast input) or ``--ifile - --iformat UC8 --net`` (samples on stdin)."""
    exe = shutil.which(DUMP1090)
    if exe is None:
        raise FeedSetupError(f"{DUMP1090} is not installed (scripts/bootstrap.sh installs it)")
    return [exe, *source, "--net-bind-address", "127.0.0.1", "--net-heartbeat", "0", "--quiet",
            *[a for name, p in ports.items() for a in (f"--net-{name}-port", str(p))]]


def receiver_ports() -> dict[str, int]:
    return {name: free_port() for name in ("bi", "bo", "sbs", "ri", "ro")}


def icao_of(tag: str, actor_id: str) -> str:
    """A stable 24-bit ICAO address per run and actor (a fresh one per run: a shared server keeps
    an old run's ``ADSB-...`` track for a while)."""
    h = int.from_bytes(hashlib.sha256(f"{tag}/{actor_id}".encode()).digest()[:3], "big")
    return f"{max(h, 1):06X}"


@dataclass
class FeedSetup:
    """The feed side of one run: who sends over which feed, the feeds file, and a dump1090 receiver."""

    sc: Scenario
    tag: str
    gateway_port: dict[str, int] = field(default_factory=dict)
    """Organisation -> the UDP port of its MAVLink gateway (one gateway per organisation)."""
    sysid: dict[str, int] = field(default_factory=dict)
    """Server aircraft id -> MAVLink system id (MAVLink actors)."""
    keys: dict[str, bytes] = field(default_factory=dict)
    icao: dict[str, str] = field(default_factory=dict)
    """Actor id -> ICAO address (ADS-B actors; their server id is ``ADSB-<icao>``)."""
    terrain_m: dict[str, float] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    """Packets (MAVLink) and Mode S frames (ADS-B) written, by feed."""
    _proc: subprocess.Popen[bytes] | None = None
    _stdin_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _chunks: int = 0

    def __post_init__(self) -> None:
        for k, a in enumerate(a for a in self.sc.actors if a.transport == "mavlink"):
            sid = f"{self.tag}-{a.id}"
            self.sysid[sid], self.keys[sid] = k + 1, secrets.token_bytes(32)
            if a.org not in self.gateway_port:
                self.gateway_port[a.org] = free_port(socket.SOCK_DGRAM)
        for a in self.sc.actors:
            if a.transport == "adsb":
                self.icao[a.id] = icao_of(self.tag, a.id)
        if self.icao:
            self.ports = receiver_ports()

    @staticmethod
    def needed(sc: Scenario) -> bool:
        return any(a.transport in FEED_TRANSPORTS for a in sc.actors)

    def server_id(self, actor_id: str) -> str:
        return f"ADSB-{self.icao[actor_id]}" if actor_id in self.icao else f"{self.tag}-{actor_id}"

    def doc(self) -> dict[str, Any]:
        """The server's feeds file (``LOWALT_FEEDS_FILE``) for this run."""
        orgs: dict[str, dict[int, dict[str, str]]] = {}
        for a in self.sc.actors:
            if a.transport == "mavlink":
                sid = self.server_id(a.id)
                orgs.setdefault(a.org, {})[self.sysid[sid]] = {"aircraft": sid, "key_hex": self.keys[sid].hex()}
        out: dict[str, Any] = {"mavlink": [
            {"gateway": f"{self.tag}-{org}", "listen": f"127.0.0.1:{self.gateway_port[org]}",
             "organisation": f"{self.tag}-{org}", "systems": systems} for org, systems in sorted(orgs.items())]}
        if self.icao:
            lon, lat = self.sc.centre
            out["adsb"] = [{"receiver": f"{self.tag}-dump1090", "connect": f"127.0.0.1:{self.ports['bo']}",
                            "format": "beast", "location": [lat, lon]}]
        return out

    # -- the receiver ----------------------------------------------------------------------

    @property
    def iq(self) -> bool:
        return self.sc.adsb_input == "iq"

    def start_receiver(self) -> None:
        """Start dump1090-mutability when an actor flies on ADS-B: network only (Beast frames in), or
        reading I/Q samples from its stdin."""
        if not self.icao:
            return
        source = ("--ifile", "-", "--iformat", "UC8", "--net") if self.iq else ("--net-only",)
        self._proc = subprocess.Popen(dump1090_argv(self.ports, *source), stdin=subprocess.PIPE if self.iq else None,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def write_iq(self, hexmsgs: list[str]) -> None:
        """The squitters as one dump1090 buffer of samples (it demodulates only full buffers), written to
        its stdin one chunk at a time (several aircraft share the radio)."""
        assert self._proc is not None and self._proc.stdin is not None
        stdin = self._proc.stdin
        async with self._stdin_lock:
            self._chunks += 1
            chunk = uc8(hexmsgs, pad_to=DUMP1090_BUFFER, seed=self._chunks)
            await asyncio.to_thread(stdin.write, chunk)
            await asyncio.to_thread(stdin.flush)

    def stop_receiver(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    # -- links the runner sends through ----------------------------------------------------

    def link(self, key: str, model: str) -> MavlinkLink | AdsbLink:
        """``mavlink:<server id>`` or ``adsb:<server id>`` (see ``Runner._key``)."""
        kind, sid = key.split(":", 1)
        if kind == "mavlink":
            return MavlinkLink(self, sid)
        icao = sid.removeprefix("ADSB-")
        return AdsbLink(self, icao, rotorcraft=model in ROTORCRAFT_MODELS)

    def amsl(self, sid: str, r: dict[str, Any]) -> float:
        return float(r["alt"]) + (self.terrain_m.get(sid, 0.0) if r.get("ref") == "AGL" else 0.0)

    def figures(self, metrics_text: str) -> dict[str, Any]:
        """What the feeds were sent and what the server counted for this run's feeds."""
        mine = f'feed="mavlink:{self.tag}-', f'feed="adsb:{self.tag}-'
        server = {name.removeprefix("lowalt_feed_").removesuffix("_total"):
                  {k: v for k, v in metric(metrics_text, name).items() if k.startswith(mine)}
                  for name in ("lowalt_feed_packets_total", "lowalt_feed_reports_total", "lowalt_feed_refused_total")}
        return {"sent": dict(self.sent), "server": server}


class MavlinkLink:
    """One vehicle's autopilot: pymavlink over UDP, every packet signed with the vehicle's key."""

    def __init__(self, setup: FeedSetup, sid: str) -> None:
        from pymavlink import mavutil

        self.setup, self.sid = setup, sid
        org = next(a.org for a in setup.sc.actors if setup.server_id(a.id) == sid)
        self.conn: Any = mavutil.mavlink_connection(f"udpout:127.0.0.1:{setup.gateway_port[org]}",
                                                    source_system=setup.sysid[sid], source_component=1)
        self.conn.setup_signing(setup.keys[sid], sign_outgoing=True)
        self.boot = time.time()

    async def open(self) -> None:
        return None

    async def send(self, reports: list[dict[str, Any]]) -> None:
        from pymavlink.dialects.v20 import common as mav

        m = self.conn.mav
        for r in reports:
            landed = bool(r.get("landed"))
            ms = int((float(r["t"]) - self.boot) * 1000)
            armed = 0 if landed else mav.MAV_MODE_FLAG_SAFETY_ARMED
            m.heartbeat_send(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, armed, 0, mav.MAV_STATE_ACTIVE)
            m.system_time_send(int(self.boot * 1e6) + ms * 1000, ms)
            m.sys_status_send(0, 0, 0, 500, 15000, 1000, int(r.get("bat", -1)), 0, 0, 0, 0, 0, 0)
            m.extended_sys_state_send(mav.MAV_VTOL_STATE_MC, mav.MAV_LANDED_STATE_ON_GROUND if landed
                                      else mav.MAV_LANDED_STATE_IN_AIR)
            vx, vy, vs = float(r["vx"]), float(r["vy"]), float(r["vs"])
            m.global_position_int_send(ms, round(float(r["lat"]) * 1e7), round(float(r["lon"]) * 1e7),
                                       round(self.setup.amsl(self.sid, r) * 1000), round(float(r["alt"]) * 1000),
                                       round(vy * 100), round(vx * 100), round(-vs * 100), 65535)
            self.setup.sent["mavlink"] += 5

    async def close(self) -> None:
        self.conn.close()


class AdsbLink:
    """A crewed aircraft's transponder, as dump1090 hears it: Beast frames into its Beast input."""

    def __init__(self, setup: FeedSetup, icao: str, *, rotorcraft: bool) -> None:
        self.setup, self.icao, self.rotorcraft = setup, icao, rotorcraft
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self.setup.iq:
            return
        deadline = time.monotonic() + 10.0
        while True:  # dump1090 may still be starting
            try:
                self.writer = (await asyncio.open_connection("127.0.0.1", self.setup.ports["bi"]))[1]
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def frames(self, r: dict[str, Any]) -> list[str]:
        """Identification, velocity and both CPR formats of one position (barometric altitude, standard
        pressure: the server's receiver converts it with QNH 1013.25 hPa)."""
        sid = f"ADSB-{self.icao}"
        callsign = "".join(ch if ch.isalnum() else " " for ch in self.icao.upper())
        alt_ft = self.setup.amsl(sid, r) / FT
        lat, lon = float(r["lat"]), float(r["lon"])
        return [me.identification(self.icao, callsign, tc=4, category=7 if self.rotorcraft else 1),
                me.velocity(self.icao, float(r["vx"]) / KT, float(r["vy"]) / KT, float(r["vs"]) / FPM, 0.0),
                me.position(self.icao, lat, lon, alt_ft, 0), me.position(self.icao, lat, lon, alt_ft, 1)]

    async def send(self, reports: list[dict[str, Any]]) -> None:
        msgs = [m for r in reports if not r.get("landed") for m in self.frames(r)]
        if self.setup.iq:
            await self.setup.write_iq(msgs)
        else:
            if self.writer is None:
                await self.open()
            assert self.writer is not None
            self.writer.write(b"".join(me.beast(m) for m in msgs))
            await self.writer.drain()
        self.setup.sent["adsb"] += len(msgs)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
