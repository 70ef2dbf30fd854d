"""Pure builders shared by the decision-table and property tests (no database, no clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import LineString, Point, shape

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import AirspaceSet
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.decision import Facts
from lowalt.filing.deconfliction import DeconflictionIndex
from lowalt.filing.model import FlightPlan, MissionType, footprint
from lowalt.filing.policy import Policy, load_policy
from lowalt.filing.rules import Booking, Registry, WeatherWarning
from lowalt.geo.altitude import Altitude, AltitudeReference, agl
from lowalt.geo.terrain import default_terrain
from lowalt.settings import DEFAULT_AIRSPACE

__all__ = ["Altitude", "AltitudeReference", "agl", "footprint", "replace"]  # re-exported for the tests

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
"""Wednesday 2026-11-25 09:00 Asia/Shanghai."""
OPEN_W = [(117.60, 29.30), (117.63, 29.32)]
WUYUAN_OUT = [(117.262, 29.2505), (117.398, 29.2445)]
YAOLI_ROUTE = [(117.5588598, 29.506311), (117.5785109, 29.5161506)]
"""Along the T-YAOLI sightseeing route (released to light/small UAVs 08:00-17:30, 30-120 m AGL)."""
PLAIN = [(116.5, 29.2), (116.53, 29.22)]
"""Open class W on the plain west of Jingdezhen: ~8 m of relief under the footprint (AMSL rows)."""
NO_FLY_602 = [(117.23, 29.272), (117.26, 29.272)]


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """``day`` days after NOW's local date, at the local wall-clock time."""
    d = NOW.astimezone(SH).date() + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=SH)


@cache
def policy() -> Policy:
    return load_policy(DEFAULT_AIRSPACE)


@cache
def airspace() -> AirspaceSet:
    return load_airspace(DEFAULT_AIRSPACE)


@cache
def view() -> AirspaceView:
    return AirspaceView(airspace(), default_terrain())


def facts(now: datetime = NOW, *, category: str = "light_uav", pol: Policy | None = None,
          bookings: list[Booking] | None = None, weather: list[WeatherWarning] | None = None,
          index: DeconflictionIndex | None = None) -> Facts:
    p = pol or policy()
    return Facts(now, p, view(), index or DeconflictionIndex(p.h_buffer_m, p.v_buffer_m, p.t_buffer_s),
                 Registry(category, "org", False, False), weather or [], lambda pid, t: 0, bookings or [])


def plan(coords: list[tuple[float, float]] | None = None, *, start: datetime | None = None, minutes: float = 30,
         **kw: Any) -> FlightPlan:
    line = LineString(coords or OPEN_W)
    start = start or NOW + timedelta(hours=1)
    d: dict[str, Any] = dict(
        id="p1", organisation="org", submitted_by="u", aircraft_id="a1", category="light_uav", pilot="x",
        licence_id=None, mission=MissionType.TOURISM, geometry=line, half_width_m=50.0, floor=agl(0),
        ceiling=agl(100), takeoff=Point(line.coords[0]), landing=Point(line.coords[-1]), start=start,
        end=start + timedelta(minutes=minutes))
    d.update(kw)
    from lowalt.airspace.model import AircraftCategory

    d["category"] = AircraftCategory(d["category"])
    d["mission"] = MissionType(d["mission"])
    return FlightPlan(**d)


def refile(p: FlightPlan, alt: dict[str, Any]) -> FlightPlan:
    """The plan filed again exactly as the alternative suggests."""
    out = p
    if "start" in alt:
        out = replace(out, start=datetime.fromisoformat(alt["start"]), end=datetime.fromisoformat(alt["end"]))
    if "floor" in alt:
        out = replace(out, floor=Altitude(alt["floor"]["value_m"], AltitudeReference(alt["floor"]["reference"])),
                      ceiling=Altitude(alt["ceiling"]["value_m"], AltitudeReference(alt["ceiling"]["reference"])))
    if "geometry" in alt:
        out = replace(out, geometry=shape(alt["geometry"]))
    if "takeoff" in alt:
        out = replace(out, takeoff=shape(alt["takeoff"]), landing=shape(alt["landing"]))
    return out
