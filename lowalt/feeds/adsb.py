"""ADS-B from a receiver's Beast (TCP 30005) or SBS/BaseStation (TCP 30003) output -> ``adsb`` reports (pure).

Beast binary (dump1090, readsb)::

    0x1a '3' mlat(6) signal(1) message(14)     long Mode S (DF17 extended squitter)
    0x1a '2' mlat(6) signal(1) message(7)      short Mode S;  '1' Mode A/C; every 0x1a in the body doubled

Framing is pyModeS's own Beast parser (``pyModeS.cli._source._parse_beast_buffer``: pinned to
pyModeS 3.x), decoding is :func:`pyModeS.decode` (CRC checked: a frame that fails it is dropped and
counted as malformed). The 48-bit Beast counter is receiver-relative, so ``t`` is the arrival time.

SBS lines (``MSG,3`` position, ``MSG,4`` velocity, ``MSG,1`` callsign; field 4 the ICAO address,
11 altitude ft, 12 ground speed kt, 13 track, 14/15 lat/lon, 16 vertical rate ft/min) are already
decoded by the receiver; their altitude is the barometric one.

**Positions**: airborne CPR (TC 9-18, 20-22) decoded *locally*, one message at a time, against the
aircraft's previous position when it is under 30 s old, else the receiver's location (valid within
180 NM of it, which covers any receiver's range of low-altitude traffic).

**Altitude** (reports carry ``"ref": "AMSL"``):

* TC 9-18 carries the *barometric pressure altitude* (ft, 1013.25 hPa datum). When a velocity
  message (TC 19) of the last 60 s gave the GNSS-minus-baro difference, the altitude is the
  geometric one: ``(baro_ft + diff_ft) * 0.3048 - N`` (GNSS height is above the WGS-84 ellipsoid;
  ``N`` the geoid undulation at the receiver, ``geoid_undulation_m``). Otherwise it is the pressure
  altitude corrected to the local QNH: ``baro_ft * 0.3048 + 8.23 m/hPa * (QNH - 1013.25)`` (ICAO
  standard atmosphere near sea level, ~27 ft per hPa).
* TC 20-22 carries the GNSS height directly: ``h_ft * 0.3048 - N``.

**Velocity** (TC 19 subtype 1/2, ground speed over ground): ground speed kt, track, vertical rate
ft/min -> ``vx``/``vy``/``vs`` m/s. **Category** (TC 1-4 identification): TC 4 category 7
(rotorcraft) -> ``helicopter``; anything else, or not yet heard -> ``crewed_ga``. Reports use the id
``ADSB-<ICAO hex>`` so crewed traffic never takes a registered drone's id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pyModeS
from pyModeS.cli._source import _parse_beast_buffer

from lowalt.surveillance.reports import RawReport

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0
HPA_M = 8.23
"""Metres of pressure altitude per hPa near sea level (ICAO standard atmosphere)."""
LOCAL_REF_S = 30.0
DIFF_VALID_S = 60.0
VELOCITY_VALID_S = 10.0
MAX_ALT_M = 10_000.0
"""Above this lowalt's envelope ends (airliners in cruise): such positions are ignored, not refused."""
MAX_BUFFER = 1 << 16
ROTORCRAFT = (4, 7)


@dataclass
class _Aircraft:
    callsign: str | None = None
    category: str = "crewed_ga"
    lat: float | None = None
    lon: float | None = None
    t_pos: float = -math.inf
    vx: float = 0.0
    vy: float = 0.0
    vs: float = 0.0
    t_vel: float = -math.inf
    geo_minus_baro_ft: float | None = None
    t_diff: float = -math.inf


@dataclass
class AdsbResult:
    reports: list[RawReport] = field(default_factory=list)
    """Typed reports, handed to the live service as they are (no JSON in between)."""
    frames: int = 0
    malformed: int = 0
    ignored: int = 0


class AdsbDecoder:
    """One receiver's stream. ``location`` is the receiver's (latitude, longitude)."""

    def __init__(self, location: tuple[float, float], *, fmt: Literal["beast", "sbs"] = "beast",
                 qnh_hpa: float = 1013.25, geoid_undulation_m: float = 0.0) -> None:
        self.location, self.fmt = location, fmt
        self.qnh_hpa, self.geoid_m = qnh_hpa, geoid_undulation_m
        self.aircraft: dict[str, _Aircraft] = {}
        self._buf = b""

    def new_connection(self) -> None:
        """Forget a partial frame of a connection that ended (aircraft state is kept)."""
        self._buf = b""

    def feed(self, chunk: bytes, now: float) -> AdsbResult:
        """Decode the bytes received at ``now`` (epoch s); an incomplete tail waits for the next chunk."""
        res = AdsbResult()
        buf = self._buf + chunk
        if self.fmt == "beast":
            frames, rest = _parse_beast_buffer(buf)
            for _, hexmsg in frames:
                res.frames += 1
                self.mode_s(hexmsg, now, res)
        else:
            *lines, rest = buf.split(b"\n")
            for line in lines:
                if line.strip():
                    res.frames += 1
                    self.sbs(line.decode("ascii", "replace").strip(), now, res)
        if len(rest) > MAX_BUFFER:  # no frame boundary in 64 KiB: not this format
            res.malformed += 1
            rest = b""
        self._buf = bytes(rest)
        return res

    # -- Beast: raw Mode S --------------------------------------------------------------------

    def mode_s(self, hexmsg: str, now: float, res: AdsbResult) -> None:
        if len(hexmsg) != 28:  # short Mode S (surveillance replies): no position or identity for us
            res.ignored += 1
            return
        try:
            head = pyModeS.decode(hexmsg)
        except Exception:
            res.malformed += 1
            return
        if not head.get("crc_valid") or head.get("df") not in (17, 18):
            res.malformed += not head.get("crc_valid")
            res.ignored += bool(head.get("crc_valid"))
            return
        icao, tc = str(head["icao"]), int(head.get("typecode") or 0)
        ac = self.aircraft.setdefault(icao, _Aircraft())
        if 1 <= tc <= 4:
            ac.callsign = str(head.get("callsign") or "").strip("_ ") or ac.callsign
            ac.category = "helicopter" if (tc, head.get("category")) == ROTORCRAFT else "crewed_ga"
        elif tc == 19 and head.get("groundspeed") is not None and head.get("track") is not None:
            self._velocity(ac, float(head["groundspeed"]), float(head["track"]),
                           head.get("vertical_rate"), now)
            if head.get("geo_minus_baro") is not None:
                ac.geo_minus_baro_ft, ac.t_diff = float(head["geo_minus_baro"]), now
        elif 9 <= tc <= 18 or 20 <= tc <= 22:
            ref = self.location
            if ac.lat is not None and ac.lon is not None and now - ac.t_pos <= LOCAL_REF_S:
                ref = (ac.lat, ac.lon)
            pos = pyModeS.decode(hexmsg, reference=ref)
            lat, lon, alt_ft = pos.get("latitude"), pos.get("longitude"), pos.get("altitude")
            if lat is None or lon is None or alt_ft is None:
                res.ignored += 1
                return
            alt = self._amsl(ac, float(alt_ft), geometric=tc >= 20, now=now)
            self._position(icao, ac, float(lat), float(lon), alt, now, res)
        else:
            res.ignored += 1

    # -- SBS / BaseStation ------------------------------------------------------------------

    def sbs(self, line: str, now: float, res: AdsbResult) -> None:
        f = line.split(",")
        if len(f) < 17 or f[0] != "MSG" or not f[4]:
            res.malformed += 1
            return
        icao = f[4].strip().upper()
        ac = self.aircraft.setdefault(icao, _Aircraft())
        try:
            if f[10].strip():
                ac.callsign = f[10].strip()
            if f[12] and f[13]:
                self._velocity(ac, float(f[12]), float(f[13]), float(f[16]) if f[16] else None, now)
            if f[14] and f[15] and f[11]:
                alt = self._amsl(ac, float(f[11]), geometric=False, now=now)
                self._position(icao, ac, float(f[14]), float(f[15]), alt, now, res)
        except ValueError:
            res.malformed += 1

    # -- shared ------------------------------------------------------------------------------

    @staticmethod
    def _velocity(ac: _Aircraft, gs_kt: float, track: float, vr_fpm: Any, now: float) -> None:
        gs = gs_kt * KT
        ac.vx, ac.vy = gs * math.sin(math.radians(track)), gs * math.cos(math.radians(track))
        ac.vs = float(vr_fpm) * FPM if vr_fpm is not None else 0.0
        ac.t_vel = now

    def _amsl(self, ac: _Aircraft, alt_ft: float, *, geometric: bool, now: float) -> float:
        if geometric:
            return alt_ft * FT - self.geoid_m
        if ac.geo_minus_baro_ft is not None and now - ac.t_diff <= DIFF_VALID_S:
            return (alt_ft + ac.geo_minus_baro_ft) * FT - self.geoid_m
        return alt_ft * FT + HPA_M * (self.qnh_hpa - 1013.25)

    @staticmethod
    def _position(icao: str, ac: _Aircraft, lat: float, lon: float, alt: float, now: float,
                  res: AdsbResult) -> None:
        ac.lat, ac.lon, ac.t_pos = lat, lon, now
        if alt > MAX_ALT_M:
            res.ignored += 1
            return
        fresh = now - ac.t_vel <= VELOCITY_VALID_S
        res.reports.append(RawReport(
            id=f"ADSB-{icao}", t=now, lon=lon, lat=lat, alt=alt, ref="AMSL",
            vx=ac.vx if fresh else 0.0, vy=ac.vy if fresh else 0.0, vs=ac.vs if fresh else 0.0,
            src="adsb", cat=ac.category,
        ))
