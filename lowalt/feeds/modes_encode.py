"""DF17 extended squitters for tests and ``lowalt bench feeds`` (pyModeS decodes but cannot build messages).

Layouts per DO-260B / ICAO Doc 9871: identification (TC 1-4), airborne position with barometric
altitude (TC 9-18, CPR even/odd), airborne velocity subtype 1 (ground speed). The parity is
pyModeS's own CRC (``pyModeS.util.crc`` of the message with a zero parity field)."""

from __future__ import annotations

import math

from pyModeS.util import cprNL, crc

CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def df17(icao: str, me: int) -> str:
    body = (17 << 3 | 5) << 80 | int(icao, 16) << 56 | me
    msg = f"{body << 24:028X}"
    return f"{body << 24 | crc(msg):028X}"


def identification(icao: str, callsign: str, tc: int = 4, category: int = 7) -> str:
    me = tc << 3 | category
    for ch in callsign.ljust(8)[:8]:
        me = me << 6 | CHARS.index(ch)
    return df17(icao, me)


def cpr(lat: float, lon: float, odd: int) -> tuple[int, int]:
    dlat = 360.0 / (60 - odd)
    yz = math.floor(2**17 * (lat % dlat) / dlat + 0.5)
    rlat = dlat * (yz / 2**17 + math.floor(lat / dlat))
    dlon = 360.0 / max(cprNL(rlat) - odd, 1)
    xz = math.floor(2**17 * (lon % dlon) / dlon + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


def position(icao: str, lat: float, lon: float, alt_ft: float, odd: int, tc: int = 11) -> str:
    n = round((alt_ft + 1000) / 25)
    alt = (n >> 4) << 5 | 1 << 4 | (n & 0xF)  # Q bit set: 25 ft steps
    yz, xz = cpr(lat, lon, odd)
    me = tc << 51 | alt << 36 | odd << 34 | yz << 17 | xz
    return df17(icao, me)


def velocity(icao: str, vx_kt: float, vy_kt: float, vr_fpm: float, geo_minus_baro_ft: float) -> str:
    ew, ns = round(abs(vx_kt)) + 1, round(abs(vy_kt)) + 1
    vr = round(abs(vr_fpm) / 64) + 1
    dalt = round(abs(geo_minus_baro_ft) / 25) + 1
    me = 19 << 51 | 1 << 48 | (vx_kt < 0) << 42 | ew << 32 | (vy_kt < 0) << 31 | ns << 21
    me |= 1 << 20 | (vr_fpm < 0) << 19 | vr << 10 | (geo_minus_baro_ft < 0) << 7 | dalt
    return df17(icao, me)


def beast(hexmsg: str, ticks: int = 0, signal: int = 200) -> bytes:
    body = ticks.to_bytes(6, "big") + bytes([signal]) + bytes.fromhex(hexmsg)
    return b"\x1a3" + body.replace(b"\x1a", b"\x1a\x1a")
