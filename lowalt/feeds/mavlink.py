"""MAVLink 2 telemetry from an operator's ground station or gateway -> lowalt report dicts (pure).

Wire layout (MAVLink 2, one or more packets per UDP datagram)::

    0xFD len incompat compat seq sysid compid msgid(3 LE) payload(len) crc(2) [signature(13)]
    signature = link_id(1) timestamp(6 LE, 10 us since 2015-01-01) sig(6)   (incompat & 0x01)

The datagram is split into packets here (lengths only); each packet is then parsed and its
signature checked by ``pymavlink`` with **the key of the aircraft the (gateway, sysid) maps to**
(one parser per vehicle). MAVLink 1 packets and MAVLink 2 packets without the signed flag are
refused as ``unsigned``; a signature that does not verify (wrong key, replayed or old timestamp) as
``bad_signature``; a packet from a sysid the gateway does not map as ``unknown_system``; anything
that does not frame or whose CRC fails as ``malformed``. Nothing raises.

pymavlink records a stream's timestamp *before* it compares the signature, so a forged packet with
a future timestamp would make the next genuine one look replayed. The parser's stream timestamps
are therefore saved before each packet and put back when the signature fails.

Messages used (``common`` dialect):

* ``GLOBAL_POSITION_INT``: lat/lon (1e-7 deg), ``alt`` (mm above mean sea level, the autopilot's
  fused MSL altitude) -> ``"alt"`` with ``"ref": "AMSL"``; ``relative_alt`` (mm above the *home*
  position, not above the terrain under the aircraft) is not used; vx/vy/vz (cm/s north/east/down)
  -> ``vx`` east, ``vy`` north, ``vs`` up (m/s).
* ``GPS_RAW_INT`` (only from a vehicle that sends no GLOBAL_POSITION_INT, and with a 3D fix):
  lat/lon, ``alt`` (mm MSL) -> AMSL, ``vel``/``cog`` -> ``gs``/``trk`` (vertical rate unknown: 0);
  ``time_usec`` is UNIX time when it looks like one, else time since boot.
* ``SYSTEM_TIME``: ``time_unix_usec`` with ``time_boot_ms`` gives the boot epoch, so a position's
  ``t`` is the time it was true (``time_boot_ms`` of GLOBAL_POSITION_INT); before one arrives (or
  when the autopilot has no GPS time) ``t`` is the arrival time.
* ``EXTENDED_SYS_STATE.landed_state`` (ON_GROUND -> ``landed``), else ``HEARTBEAT`` (disarmed ->
  on the ground). A change of the landed state re-sends the last position with the new state.
* ``SYS_STATUS.battery_remaining`` / ``BATTERY_STATUS.battery_remaining`` (percent; -1 = unknown).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("MAVLINK20", "1")
import msgspec  # noqa: E402
from pymavlink.dialects.v20 import common as mav  # noqa: E402 (MAVLINK20 must be set first)

from lowalt.surveillance.reports import RawReport  # noqa: E402

STX_V1, STX_V2 = 0xFE, 0xFD
SIGNED = 0x01
LANDED_ON_GROUND = mav.MAV_LANDED_STATE_ON_GROUND
LANDED_UNDEFINED = mav.MAV_LANDED_STATE_UNDEFINED
ARMED = mav.MAV_MODE_FLAG_SAFETY_ARMED
GPS_FIX_3D = mav.GPS_FIX_TYPE_3D_FIX
UINT16_UNKNOWN = 65535
MAX_BOOT_SKEW_S = 3600.0
"""A SYSTEM_TIME whose epoch disagrees with the arrival clock by more is ignored (no GPS time yet)."""

REFUSALS = ("unsigned", "bad_signature", "unknown_system", "malformed")


@dataclass
class _Vehicle:
    aircraft: str
    parser: mav.MAVLink
    boot_epoch: float | None = None
    landed: bool | None = None
    fused: bool = False
    """GLOBAL_POSITION_INT seen: GPS_RAW_INT (the raw fix) is then not used."""
    extended_state: bool = False
    """EXTENDED_SYS_STATE seen: its landed state wins over the HEARTBEAT's armed flag."""
    battery: float | None = None
    last: RawReport | None = None


@dataclass
class MavlinkResult:
    """What one datagram gave: typed reports for the live service and refused packets by reason."""

    reports: list[RawReport] = field(default_factory=list)
    packets: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def split_packets(data: bytes) -> tuple[list[bytes], int]:
    """Cut a datagram into MAVLink packets by their lengths; returns (packets, malformed count)."""
    out: list[bytes] = []
    bad, i, n = 0, 0, len(data)
    while i < n:
        stx = data[i]
        if stx == STX_V2 and i + 10 <= n:
            size = 10 + data[i + 1] + 2 + (13 if data[i + 2] & SIGNED else 0)
        elif stx == STX_V1 and i + 6 <= n:
            size = 6 + data[i + 1] + 2
        else:
            return out, bad + 1  # not a packet start, or a truncated header: the rest is garbage
        if i + size > n:
            return out, bad + 1
        out.append(data[i:i + size])
        i += size
    return out, bad


class MavlinkDecoder:
    """One gateway's MAVLink stream: sysid -> aircraft id and the aircraft's 32-byte signing key."""

    def __init__(self, systems: Mapping[int, tuple[str, bytes]]) -> None:
        self.vehicles: dict[int, _Vehicle] = {}
        for sysid, (aircraft, key) in systems.items():
            if len(key) != 32:
                raise ValueError(f"sysid {sysid}: a MAVLink 2 signing key is 32 bytes, got {len(key)}")
            parser = mav.MAVLink(None)
            parser.robust_parsing = True
            parser.signing.secret_key = key
            self.vehicles[sysid] = _Vehicle(aircraft, parser)

    def feed(self, data: bytes, now: float) -> MavlinkResult:
        """Decode one datagram received at ``now`` (epoch s)."""
        res = MavlinkResult()
        packets, bad = split_packets(data)
        res.packets = len(packets) + bad
        for _ in range(bad):
            res.refuse("malformed")
        for pkt in packets:
            if pkt[0] == STX_V1 or not pkt[2] & SIGNED:
                res.refuse("unsigned")
                continue
            vehicle = self.vehicles.get(pkt[5])
            if vehicle is None:
                res.refuse("unknown_system")
                continue
            msg = self._parse(vehicle, pkt, res)
            if msg is not None:
                self._apply(vehicle, msg, now, res)
        return res

    @staticmethod
    def _parse(vehicle: _Vehicle, pkt: bytes, res: MavlinkResult) -> Any:
        signing = vehicle.parser.signing
        saved = dict(signing.stream_timestamps), signing.timestamp
        try:
            msgs = vehicle.parser.parse_buffer(pkt) or []
        except Exception:  # pymavlink raises on some payloads it cannot unpack
            msgs = []
        vehicle.parser.buf, vehicle.parser.buf_index = bytearray(), 0  # never carry bytes to the next packet
        if len(msgs) != 1:
            res.refuse("malformed")
            return None
        msg = msgs[0]
        if msg.get_type() == "BAD_DATA":
            if "signature" in str(getattr(msg, "reason", "")):
                signing.stream_timestamps, signing.timestamp = saved  # a forgery must not move the clock
                res.refuse("bad_signature")
            else:
                res.refuse("malformed")
            return None
        return msg

    def _apply(self, v: _Vehicle, msg: Any, now: float, res: MavlinkResult) -> None:
        kind = msg.get_type()
        if kind == "GLOBAL_POSITION_INT":
            v.fused = True
            t = now if v.boot_epoch is None else v.boot_epoch + msg.time_boot_ms / 1000.0
            self._report(v, res, {"t": t, "lon": msg.lon / 1e7, "lat": msg.lat / 1e7, "alt": msg.alt / 1000.0,
                                  "vx": msg.vy / 100.0, "vy": msg.vx / 100.0, "vs": -msg.vz / 100.0})
        elif kind == "GPS_RAW_INT":
            if v.fused or msg.fix_type < GPS_FIX_3D:  # the fused estimate wins; no 3D fix: no position
                return
            t = now
            if msg.time_usec > 1e15:  # UNIX time (us); otherwise time since boot
                t = msg.time_usec / 1e6
            elif v.boot_epoch is not None:
                t = v.boot_epoch + msg.time_usec / 1e6
            fields: dict[str, Any] = {"t": t, "lon": msg.lon / 1e7, "lat": msg.lat / 1e7, "alt": msg.alt / 1000.0}
            if msg.vel != UINT16_UNKNOWN and msg.cog != UINT16_UNKNOWN:
                fields |= {"gs": msg.vel / 100.0, "trk": msg.cog / 100.0 % 360.0}
            else:
                fields |= {"vx": 0.0, "vy": 0.0}
            self._report(v, res, fields)
        elif kind == "SYSTEM_TIME":
            if msg.time_unix_usec:
                epoch = msg.time_unix_usec / 1e6 - msg.time_boot_ms / 1000.0
                if abs(msg.time_unix_usec / 1e6 - now) <= MAX_BOOT_SKEW_S:
                    v.boot_epoch = epoch
        elif kind == "EXTENDED_SYS_STATE":
            if msg.landed_state != LANDED_UNDEFINED:
                v.extended_state = True
                self._landed(v, msg.landed_state == LANDED_ON_GROUND, now, res)
        elif kind == "HEARTBEAT":
            if msg.autopilot != mav.MAV_AUTOPILOT_INVALID and not v.extended_state:
                self._landed(v, not msg.base_mode & ARMED, now, res)
        elif kind in ("SYS_STATUS", "BATTERY_STATUS") and 0 <= msg.battery_remaining <= 100:
            v.battery = float(msg.battery_remaining)

    @staticmethod
    def _report(v: _Vehicle, res: MavlinkResult, fields: dict[str, Any]) -> None:
        rep = RawReport(id=v.aircraft, ref="AMSL", src="telemetry", bat=v.battery, landed=v.landed, **fields)
        v.last = rep
        res.reports.append(rep)

    @staticmethod
    def _landed(v: _Vehicle, landed: bool, now: float, res: MavlinkResult) -> None:
        changed = v.landed is not None and v.landed != landed
        v.landed = landed
        if changed and v.last is not None:  # tell the picture now, not at the next position
            rep = msgspec.structs.replace(v.last, t=max(now, float(v.last.t) + 0.001), landed=landed)
            if landed:
                rep = msgspec.structs.replace(rep, gs=None, trk=None, vx=0.0, vy=0.0, vs=0.0)
            v.last = rep
            res.reports.append(rep)
