"""The feeds file (``LOWALT_FEEDS_FILE``, YAML): which gateways and receivers this node listens to.

Example (docs/feeds.md explains every field)::

    geoid_undulation_m: 0.0           # N of the area (EGM2008), m: ellipsoid heights <-> AMSL
    mavlink:
      - gateway: fleet-a              # a name for logs and metrics
        listen: 0.0.0.0:14550         # UDP address the ground station / router sends to
        organisation: 浮梁文旅          # reports are authorised as this organisation's fleet gateway
        systems:                      # MAVLink sysid -> registered aircraft and its signing key
          7: {aircraft: FL-DR07, key_hex: "00112233...(64 hex digits)"}
          8: {aircraft: FL-DR08, key_file: /etc/lowalt/keys/FL-DR08.key}
    adsb:
      - receiver: zsjd-roof
        connect: 127.0.0.1:30005      # dump1090 / readsb Beast output (30005) or SBS (30003)
        format: beast                 # beast | sbs
        location: [29.339, 117.176]   # receiver latitude, longitude (CPR reference)
        qnh_hpa: 1013.25              # barometric altitude -> AMSL when no GNSS height is known
        geoid_undulation_m: 0.0       # N at the receiver (default: the top-level one)
    rid:
      - provider: uss-a               # a network Remote ID service provider (ASTM F3411-22a)
        flights_url: https://uss-a.example/rid/v2/uss/flights
        view: [29.20, 117.10, 29.23, 117.13]   # lat1, lng1, lat2, lng2 polled (diagonal <= 7 km)
        every_s: 1.0
        token_file: /etc/lowalt/uss-a.token    # optional bearer token (the DSS-issued access token)
        category: small_uav           # lowalt category of its flights (F3411 does not class UAs)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


@dataclass(frozen=True)
class MavlinkSystem:
    aircraft: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class MavlinkGateway:
    gateway: str
    host: str
    port: int
    organisation: str
    systems: dict[int, MavlinkSystem]


@dataclass(frozen=True)
class AdsbReceiver:
    receiver: str
    host: str
    port: int
    format: Literal["beast", "sbs"]
    location: tuple[float, float]
    """Receiver latitude, longitude (degrees)."""
    qnh_hpa: float = 1013.25
    geoid_undulation_m: float = 0.0


@dataclass(frozen=True)
class RidProvider:
    provider: str
    flights_url: str
    view: tuple[float, float, float, float]
    every_s: float = 1.0
    token: str | None = field(default=None, repr=False)
    category: str = "small_uav"
    geoid_undulation_m: float = 0.0


@dataclass(frozen=True)
class FeedsConfig:
    mavlink: list[MavlinkGateway] = field(default_factory=list)
    adsb: list[AdsbReceiver] = field(default_factory=list)
    rid: list[RidProvider] = field(default_factory=list)
    geoid_undulation_m: float = 0.0
    """N of the service area (EGM2008 geoid above the WGS-84 ellipsoid, m): the default of every
    receiver and provider, and what ``/rid/flights`` adds to AMSL to give F3411's ellipsoid heights."""


class FeedsConfigError(ValueError):
    pass


def _address(text: object, where: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise FeedsConfigError(f"{where}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def _key(spec: dict[str, Any], where: str, base: Path) -> bytes:
    if "key_hex" in spec:
        try:
            key = bytes.fromhex(str(spec["key_hex"]))
        except ValueError as exc:
            raise FeedsConfigError(f"{where}.key_hex: not hexadecimal") from exc
    elif "key_file" in spec:
        path = base / str(spec["key_file"])
        raw = path.read_bytes()
        key = raw if len(raw) == 32 else bytes.fromhex(raw.decode().strip())
    else:
        raise FeedsConfigError(f"{where}: needs key_hex or key_file (MAVLink 2 signing is required)")
    if len(key) != 32:
        raise FeedsConfigError(f"{where}: a signing key is 32 bytes, got {len(key)}")
    return key


def _gateway(g: dict[str, Any], where: str, base: Path) -> MavlinkGateway:
    host, port = _address(g.get("listen"), f"{where}.listen")
    systems = {int(sysid): MavlinkSystem(str(s["aircraft"]), _key(s, f"{where}.systems.{sysid}", base))
               for sysid, s in (g.get("systems") or {}).items()}
    if not systems or not all(1 <= s <= 255 for s in systems):
        raise FeedsConfigError(f"{where}.systems: at least one sysid in 1..255")
    if not g.get("organisation"):
        raise FeedsConfigError(f"{where}.organisation: required (whose fleet this gateway reports)")
    return MavlinkGateway(str(g.get("gateway") or where), host, port, str(g["organisation"]), systems)


def _receiver(r: dict[str, Any], where: str, geoid: float) -> AdsbReceiver:
    host, port = _address(r.get("connect"), f"{where}.connect")
    fmt = str(r.get("format", "beast"))
    if fmt not in ("beast", "sbs"):
        raise FeedsConfigError(f"{where}.format: beast or sbs, got {fmt!r}")
    loc = r.get("location")
    if not isinstance(loc, list | tuple) or len(loc) != 2:
        raise FeedsConfigError(f"{where}.location: [latitude, longitude] of the receiver")
    return AdsbReceiver(str(r.get("receiver") or where), host, port, fmt,  # type: ignore[arg-type]
                        (float(loc[0]), float(loc[1])), float(r.get("qnh_hpa", 1013.25)),
                        float(r.get("geoid_undulation_m", geoid)))


def _provider(p: dict[str, Any], where: str, base: Path, geoid: float) -> RidProvider:
    view = p.get("view")
    if not isinstance(view, list | tuple) or len(view) != 4:
        raise FeedsConfigError(f"{where}.view: [lat1, lng1, lat2, lng2]")
    if not str(p.get("flights_url", "")).startswith(("http://", "https://")):
        raise FeedsConfigError(f"{where}.flights_url: the provider's F3411 /uss/flights URL")
    token = (base / str(p["token_file"])).read_text().strip() if p.get("token_file") else None
    return RidProvider(str(p.get("provider") or where), str(p["flights_url"]),
                       (float(view[0]), float(view[1]), float(view[2]), float(view[3])),
                       float(p.get("every_s", 1.0)), token, str(p.get("category", "small_uav")),
                       float(p.get("geoid_undulation_m", geoid)))


def parse_feeds(doc: dict[str, Any], base: Path = Path(".")) -> FeedsConfig:
    """Validate a feeds document; every problem names where it is (``mavlink[0].systems.7: ...``)."""
    geoid = float(doc.get("geoid_undulation_m", 0.0))
    parsers: dict[str, Any] = {"mavlink": lambda e, w: _gateway(e, w, base), "adsb": lambda e, w: _receiver(e, w, geoid),
                               "rid": lambda e, w: _provider(e, w, base, geoid)}
    out: dict[str, list[Any]] = {}
    for section, parse in parsers.items():
        out[section] = []
        for i, entry in enumerate(doc.get(section) or []):
            where = f"{section}[{i}]"
            try:
                out[section].append(parse(entry, where))
            except FeedsConfigError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
                raise FeedsConfigError(f"{where}: {type(exc).__name__}: {exc}") from exc
    return FeedsConfig(out["mavlink"], out["adsb"], out["rid"], geoid)


def load_feeds(path: Path) -> FeedsConfig:
    return parse_feeds(yaml.safe_load(path.read_text()) or {}, path.parent)
