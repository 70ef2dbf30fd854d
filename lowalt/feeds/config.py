"""The feeds file (``LOWALT_FEEDS_FILE``, YAML): which gateways and receivers this node listens to.

Example (docs/feeds.md explains every field)::

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
        geoid_undulation_m: 0.0       # WGS-84 ellipsoid height -> AMSL (N at the receiver)
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
class FeedsConfig:
    mavlink: list[MavlinkGateway] = field(default_factory=list)
    adsb: list[AdsbReceiver] = field(default_factory=list)


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


def parse_feeds(doc: dict[str, Any], base: Path = Path(".")) -> FeedsConfig:
    """Validate a feeds document; every problem names where it is."""
    gateways = []
    for i, g in enumerate(doc.get("mavlink") or []):
        where = f"mavlink[{i}]"
        host, port = _address(g.get("listen"), f"{where}.listen")
        systems = {int(sysid): MavlinkSystem(str(s["aircraft"]), _key(s, f"{where}.systems.{sysid}", base))
                   for sysid, s in (g.get("systems") or {}).items()}
        if not systems or not all(1 <= s <= 255 for s in systems):
            raise FeedsConfigError(f"{where}.systems: at least one sysid in 1..255")
        if not g.get("organisation"):
            raise FeedsConfigError(f"{where}.organisation: required (whose fleet this gateway reports)")
        gateways.append(MavlinkGateway(str(g.get("gateway") or f"gw{i}"), host, port, str(g["organisation"]),
                                       systems))
    receivers = []
    for i, r in enumerate(doc.get("adsb") or []):
        where = f"adsb[{i}]"
        host, port = _address(r.get("connect"), f"{where}.connect")
        fmt = str(r.get("format", "beast"))
        if fmt not in ("beast", "sbs"):
            raise FeedsConfigError(f"{where}.format: beast or sbs, got {fmt!r}")
        loc = r.get("location")
        if not isinstance(loc, list | tuple) or len(loc) != 2:
            raise FeedsConfigError(f"{where}.location: [latitude, longitude] of the receiver")
        receivers.append(AdsbReceiver(str(r.get("receiver") or f"rx{i}"), host, port, fmt,  # type: ignore[arg-type]
                                      (float(loc[0]), float(loc[1])), float(r.get("qnh_hpa", 1013.25)),
                                      float(r.get("geoid_undulation_m", 0.0))))
    return FeedsConfig(gateways, receivers)


def load_feeds(path: Path) -> FeedsConfig:
    return parse_feeds(yaml.safe_load(path.read_text()) or {}, path.parent)
