"""Network Remote ID, ASTM F3411-22a display-provider style (pure).

**In**: lowalt polls each configured Remote ID service provider's ``GET /uss/flights?view=lat1,lng1,lat2,lng2``
(F3411-22a ``GetFlightsResponse``) and turns each flight's ``current_state`` into an ``rid`` report:

=============================================  ==========================================================
F3411 ``RIDAircraftState``                      lowalt report
=============================================  ==========================================================
``RIDFlight.id``                                ``id`` = ``RID-<id>`` (never a registered aircraft's id)
``timestamp.value`` (RFC 3339, Z)               ``t`` (the time the state was valid)
``position.lat`` / ``lng``                      ``lat`` / ``lon``
``position.alt`` (WGS-84 ellipsoid height, m)   ``alt`` = ``alt - N`` with ``"ref": "AMSL"`` (N: geoid undulation)
``speed`` (m/s; 255 unknown), ``track`` (361)   ``gs``, ``trk`` (unknown: 0)
``vertical_speed`` (m/s; 63 unknown)            ``vs``
``operational_status`` ``Ground``               ``landed: true``
=============================================  ==========================================================

A flight without a ``current_state``, or with an unknown position (-1000 m, no lat/lng), gives no
report; the physical envelope still applies to the others in the report path.

**Out**: :func:`flights_response` answers a display client's ``GET /rid/flights?view=...`` with the
F3411-22a ``GetFlightsResponse`` of the drone tracks (telemetry and rid sources) inside the view.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec

from lowalt.surveillance.reports import RawReport

MAX_DIAGONAL_M = 7000.0
"""F3411 NetMaxDisplayAreaDiagonal (km 7): a larger view is refused (413)."""
UNKNOWN_ALT, UNKNOWN_SPEED, UNKNOWN_TRACK, UNKNOWN_VS = -1000.0, 255.0, 361.0, 63.0


class _Time(msgspec.Struct):
    value: str


class _Position(msgspec.Struct):
    lat: float | None = None
    lng: float | None = None
    alt: float | None = UNKNOWN_ALT


class _State(msgspec.Struct):
    timestamp: _Time
    position: _Position
    operational_status: str | None = None
    track: float | None = UNKNOWN_TRACK
    speed: float | None = UNKNOWN_SPEED
    vertical_speed: float | None = UNKNOWN_VS


class _Flight(msgspec.Struct):
    id: str
    current_state: _State | None = None


class _Flights(msgspec.Struct):
    flights: list[_Flight] | None = None


_decode = msgspec.json.Decoder(_Flights)


def flights_to_reports(body: bytes, *, geoid_undulation_m: float = 0.0, category: str = "small_uav"
                       ) -> tuple[list[RawReport], int]:
    """A ``GetFlightsResponse`` body -> (typed rid reports, flights skipped). Raises ``msgspec.DecodeError``
    when the body is not one."""
    reports: list[RawReport] = []
    skipped = 0
    for f in _decode.decode(body).flights or []:
        s = f.current_state
        if s is None or s.position.lat is None or s.position.lng is None or s.position.alt in (None, UNKNOWN_ALT):
            skipped += 1
            continue
        try:
            t = datetime.fromisoformat(s.timestamp.value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            skipped += 1
            continue
        speed = s.speed if s.speed is not None and s.speed < UNKNOWN_SPEED else 0.0
        track = s.track if s.track is not None and s.track < 360.0 else 0.0
        vs = s.vertical_speed if s.vertical_speed is not None and abs(s.vertical_speed) < UNKNOWN_VS else 0.0
        reports.append(RawReport(
            id=f"RID-{f.id}"[:64], t=t, lon=s.position.lng, lat=s.position.lat,
            alt=float(s.position.alt) - geoid_undulation_m,
            ref="AMSL", gs=speed, trk=track, vs=vs, src="rid", cat=category,
            landed=s.operational_status == "Ground",
        ))
    return reports, skipped


def parse_view(view: str) -> tuple[float, float, float, float]:
    """``lat1,lng1,lat2,lng2`` (F3411 view) -> (west, south, east, north); ValueError when malformed or
    larger than :data:`MAX_DIAGONAL_M`."""
    parts = [float(p) for p in view.split(",")]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise ValueError("view is lat1,lng1,lat2,lng2")
    lat1, lng1, lat2, lng2 = parts
    if not (-90 <= lat1 <= 90 and -90 <= lat2 <= 90 and -180 <= lng1 <= 180 and -180 <= lng2 <= 180):
        raise ValueError("view is outside the globe")
    mid = math.radians((lat1 + lat2) / 2)
    diagonal = 6_371_000.0 * math.hypot(math.radians(lat2 - lat1), math.radians(lng2 - lng1) * math.cos(mid))
    if diagonal > MAX_DIAGONAL_M:
        raise ValueError(f"view diagonal {diagonal / 1000:.1f} km is over the {MAX_DIAGONAL_M / 1000:.0f} km limit")
    return min(lng1, lng2), min(lat1, lat2), max(lng1, lng2), max(lat1, lat2)


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flights_response(rows: list[dict[str, Any]], now: float, *, geoid_undulation_m: float = 0.0
                     ) -> dict[str, Any]:
    """``GetFlightsResponse`` for track rows (``id, t, lon, lat, alt`` AMSL, ``vx, vy, vz``, ``landed``)."""
    flights = []
    for r in rows:
        speed = math.hypot(r["vx"], r["vy"])
        flights.append({
            "id": r["id"], "aircraft_type": "NotDeclared", "simulated": False,
            "current_state": {
                "timestamp": {"value": _rfc3339(r["t"]), "format": "RFC3339"}, "timestamp_accuracy": 0.0,
                "operational_status": "Ground" if r["landed"] else "Airborne",
                "position": {"lat": round(r["lat"], 7), "lng": round(r["lon"], 7),
                             "alt": round(r["alt"] + geoid_undulation_m, 1), "accuracy_h": "HAUnknown",
                             "accuracy_v": "VAUnknown", "extrapolated": False, "pressure_altitude": UNKNOWN_ALT},
                "track": round(math.degrees(math.atan2(r["vx"], r["vy"])) % 360.0, 1) if speed > 0.1 else UNKNOWN_TRACK,
                "speed": round(min(speed, 254.25), 2), "speed_accuracy": "SAUnknown",
                "vertical_speed": round(max(-62.0, min(62.0, r["vz"])), 2),
            },
        })
    return {"timestamp": {"value": _rfc3339(now), "format": "RFC3339"}, "flights": flights, "no_isas_present": False}
