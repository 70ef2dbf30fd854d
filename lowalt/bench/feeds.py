"""``lowalt bench feeds``: sustained MAVLink packets/s and ADS-B messages/s on one core.

Each feed is timed the way its endpoint runs it, in one thread: MAVLink, one signed
GLOBAL_POSITION_INT per datagram (pymavlink packed them beforehand, out of the timing), split,
signature-checked and decoded for the vehicle's key, then handed to the live service's
``ingest_reports`` as the typed reports the decoder built (envelope, authorisation as the gateway's
organisation, track table, history buffer; ``--via-json`` instead encodes them to a JSON frame for
``ingest``, the path before the feeds handed structs over); ADS-B, a Beast byte stream (velocity + even + odd airborne position per aircraft
per round, DF17 built per DO-260B) cut into 1,460-byte TCP reads, framed and CRC-checked by
pyModeS, CPR-decoded against the receiver and ingested. ``decode_only`` rates leave out ``ingest``.

Example::

    OMP_NUM_THREADS=1 lowalt bench feeds --json
    OMP_NUM_THREADS=1 lowalt bench feeds --batch 50 --json

Rates are per CPU second of this process (one thread: per core; the ``wall`` ones include time the
machine gave to others). Prints ``mavlink_packets_per_s``, ``mavlink_wall_packets_per_s``,
``mavlink_decode_only_per_s``, ``adsb_messages_per_s``, ``adsb_wall_messages_per_s``,
``adsb_decode_only_per_s``, accepted/rejected report counts and the counts used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("MAVLINK20", "1")

ORG = "bench-fleet"
RX = (29.35, 117.20)
TCP_READ = 1460


def _live() -> Any:
    from lowalt.airspace.validate import SERVICE_AREA_BBOX
    from lowalt.geo.terrain import default_terrain
    from lowalt.live.monitor import ConflictMonitor, category_code
    from lowalt.live.service import LiveConfig, LiveService
    from lowalt.metrics import Metrics

    return LiveService(None, Metrics(), monitor=ConflictMonitor(), terrain=default_terrain(),  # type: ignore[arg-type]
                       config=LiveConfig(service_bbox=SERVICE_AREA_BBOX), category_code=category_code)


def mavlink_packets(vehicles: int, packets: int, t0: float) -> tuple[list[bytes], dict[int, tuple[str, bytes]]]:
    """Signed datagrams of ``vehicles`` autopilots at 10 Hz ending near ``t0``: a SYSTEM_TIME each, then positions."""
    from pymavlink.dialects.v20 import common as mav

    systems: dict[int, tuple[str, bytes]] = {}
    senders = []
    per = max(1, packets // vehicles)
    boot = t0 - per / 10.0 - 1.0
    for k in range(vehicles):
        sysid = k % 250 + 1
        key = bytes([k % 256]) * 32
        systems[sysid] = (f"BENCH-{sysid:03d}", key)
        tx = mav.MAVLink(None, srcSystem=sysid, srcComponent=1)
        tx.signing.secret_key, tx.signing.sign_outgoing, tx.signing.timestamp = key, True, 1
        senders.append(tx)
    out = [bytes(tx.system_time_encode(int(t0 * 1e6), int((t0 - boot) * 1000)).pack(tx)) for tx in senders]
    for i in range(per):
        for k, tx in enumerate(senders):
            lat = 29.2 + 0.001 * k + 1e-5 * i
            out.append(bytes(tx.global_position_int_encode(
                int(i * 100 + 100), int(lat * 1e7), int(117.2 * 1e7), 150_000, 100_000, 500, 0, 0, 0).pack(tx)))
    return out, systems


def adsb_stream(aircraft: int, rounds: int) -> tuple[bytes, int]:
    """A Beast byte stream: per round and aircraft, velocity + even + odd position (3 messages)."""
    from lowalt.feeds.modes_encode import beast, position, velocity

    chunks = []
    for r in range(rounds):
        for k in range(aircraft):
            icao = f"{0x780000 + k:06X}"
            lat, lon = 29.2 + 0.002 * k, 117.1 + 0.0005 * r
            chunks += [beast(velocity(icao, 80, 0, 0, 100)), beast(position(icao, lat, lon, 1000, 0)),
                       beast(position(icao, lat, lon, 1000, 1))]
    return b"".join(chunks), 3 * aircraft * rounds


class _Ingest:
    """Hands decoded reports to a live service as the endpoints do, counting what it accepts."""

    via_json = False
    """Encode the reports to a JSON frame and ``ingest`` it (the path before typed reports)."""

    def __init__(self, live: Any, principal: Any) -> None:
        self.live, self.principal, self.accepted, self.rejected = live, principal, 0, 0

    def __call__(self, reports: list[Any]) -> None:
        import msgspec

        from lowalt.feeds.endpoints import unique

        if reports:
            if self.via_json:
                a, errs = self.live.ingest(self.principal, msgspec.json.encode(unique(reports)))
            else:
                a, errs = self.live.ingest_reports(self.principal, unique(reports))
            self.accepted, self.rejected = self.accepted + a, self.rejected + len(errs)


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``run()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def bench_mavlink(vehicles: int, packets: int, batch: int) -> dict[str, float]:
    from lowalt.feeds.config import MavlinkGateway, MavlinkSystem
    from lowalt.feeds.endpoints import gateway_principal
    from lowalt.feeds.mavlink import MavlinkDecoder
    from lowalt.live.service import AircraftInfo

    datagrams, systems = mavlink_packets(vehicles, packets, time.time())
    live = _live()
    for aid, _ in systems.values():
        live.register_aircraft(AircraftInfo(aid, "small_uav", ORG, None), announce=False)
    gw = MavlinkGateway("bench", "127.0.0.1", 0, ORG, {s: MavlinkSystem(a, k) for s, (a, k) in systems.items()})
    ingest = _Ingest(live, gateway_principal(gw))

    def run(decode_only: bool) -> None:
        dec, pending = MavlinkDecoder(systems), []
        for k, d in enumerate(datagrams, 1):
            pending += dec.feed(d, time.time()).reports
            if not decode_only and (k % batch == 0 or k == len(datagrams)):  # once per event-loop pass
                ingest(pending)
                pending = []

    (cpu, wall), (decode, _) = _timed(lambda: run(False)), _timed(lambda: run(True))
    n = len(datagrams)
    return {"mavlink_packets": n, "mavlink_batch": batch, "mavlink_packets_per_s": round(n / cpu),
            "mavlink_wall_packets_per_s": round(n / wall), "mavlink_decode_only_per_s": round(n / decode),
            "mavlink_accepted": ingest.accepted, "mavlink_rejected": ingest.rejected}


def bench_adsb(aircraft: int, messages: int) -> dict[str, float]:
    from lowalt.feeds.adsb import AdsbDecoder
    from lowalt.feeds.endpoints import receiver_principal

    stream, n = adsb_stream(aircraft, max(1, messages // (3 * aircraft)))
    reads = [stream[i:i + TCP_READ] for i in range(0, len(stream), TCP_READ)]
    ingest = _Ingest(_live(), receiver_principal("adsb:bench"))

    def run(decode_only: bool) -> None:
        dec = AdsbDecoder(RX)
        for chunk in reads:  # one ingest per TCP read, as the client does
            reports = dec.feed(chunk, time.time()).reports
            if not decode_only:
                ingest(reports)

    (cpu, wall), (decode, _) = _timed(lambda: run(False)), _timed(lambda: run(True))
    return {"adsb_messages": n, "adsb_messages_per_s": round(n / cpu), "adsb_wall_messages_per_s": round(n / wall),
            "adsb_decode_only_per_s": round(n / decode), "adsb_accepted": ingest.accepted,
            "adsb_rejected": ingest.rejected}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lowalt bench feeds", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vehicles", type=int, default=100, help="MAVLink vehicles (distinct sysids and keys, <= 250)")
    p.add_argument("--packets", type=int, default=20_000, help="MAVLink datagrams to time")
    p.add_argument("--batch", type=int, default=1, help="MAVLink datagrams per ingest (the endpoint ingests what "
                   "one event-loop pass read: 1 at a trickle, tens under load)")
    p.add_argument("--aircraft", type=int, default=100, help="ADS-B aircraft")
    p.add_argument("--messages", type=int, default=30_000, help="ADS-B messages to time")
    p.add_argument("--via-json", action="store_true", help="hand reports over as a JSON frame (the old path) "
                   "instead of typed structs")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    _Ingest.via_json = args.via_json
    if not 1 <= args.vehicles <= 250:
        p.error("--vehicles: 1..250 (one gateway's sysids)")
    out: dict[str, Any] = {"cpu_count": os.cpu_count(), "via_json": args.via_json}
    out |= bench_mavlink(args.vehicles, args.packets, max(1, args.batch))
    out |= bench_adsb(args.aircraft, args.messages)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:28s} {v}")
    return 0 if math.isfinite(out["mavlink_packets_per_s"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
