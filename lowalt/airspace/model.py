"""The airspace model: plain frozen dataclasses and StrEnums (no I/O, no database).

Geometries are shapely objects in WGS84 lon/lat (EPSG:4326 = CGCS2000 at this accuracy).
Altitudes always carry their own reference (:class:`~lowalt.geo.altitude.Altitude`).
Every record carries ``provenance`` and ``source`` so illustrative data never passes
for official data. Field names map one-to-one to the GeoJSON properties documented in
``airspace_data/README.md`` (and are meant to map to table columns the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from lowalt.aircraft_category import AircraftCategory as AircraftCategory
from lowalt.airspace.schedule import Schedule, is_active
from lowalt.geo.altitude import Altitude
from lowalt.geo.crs import geometry_to_local, geometry_to_wgs84


class AirspaceClass(StrEnum):
    """National airspace basic classification (国家空域基础分类方法, regulations_cn.md A1-A7).

    A-E are controlled (管制空域); G and W are uncontrolled (非管制空域).
    """

    A = "A"
    """Standard pressure altitude 6000-20000 m, IFR, clearance required."""
    B = "B"
    """Over civil transport airports (stepped rings from the runway surface)."""
    C = "C"
    """Over GA airports with a control tower."""
    D = "D"
    """Above standard pressure altitude 20000 m."""
    E = "E"
    """Other controlled airspace chosen where needed outside A, B, C and G."""
    G = "G"
    """Normally below 300 m true height outside B and C, excluding W."""
    W = "W"
    """Part of G below 120 m true height for UAVs (适飞空域 of micro/light/small UAVs)."""

    @property
    def controlled(self) -> bool:
        """True for A-E (管制空域)."""
        return self not in (AirspaceClass.G, AirspaceClass.W)


class VolumeKind(StrEnum):
    """What a volume does to traffic (see the rule table in :mod:`lowalt.airspace.rules`)."""

    OPEN = "open"
    """A background layer (W/G); rules follow its class."""
    CONTROLLED = "controlled"
    """Controlled airspace overlay (airport zones, dense city): entry needs approval."""
    RESTRICTED = "restricted"
    """Restricted area (限制区): forbidden except for the listed categories, which need approval."""
    NO_FLY = "no_fly"
    """Prohibited area (禁区/禁飞区): forbidden for everyone."""
    CORRIDOR = "corridor"
    """A released route corridor; allowed for its categories while released."""


ALL_CATEGORIES: frozenset[AircraftCategory] = frozenset(AircraftCategory)
SUITABLE_AIRSPACE_CATEGORIES: frozenset[AircraftCategory] = frozenset(
    {AircraftCategory.MICRO_UAV, AircraftCategory.LIGHT_UAV, AircraftCategory.SMALL_UAV}
)
"""Categories that may fly in 适飞空域 (W below 120 m true height) without application (C2, D5)."""


class Provenance(StrEnum):
    """How much a record can be trusted."""

    OFFICIAL = "official"
    """Copied from an official publication (AIP/NAIP, a published map)."""
    DERIVED = "derived"
    """Computed from sourced facts by a documented rule (e.g. runway ±10 km / +20 km)."""
    ILLUSTRATIVE = "illustrative"
    """Placed plausibly without a sourced coordinate; replace with surveyed data."""


class VertiportKind(StrEnum):
    """Kind of take-off/landing point (起降点)."""

    AIRPORT = "airport"
    HELIPAD = "helipad"
    VERTIPORT = "vertiport"
    TEMPORARY_PAD = "temporary_pad"


class RouteDirection(StrEnum):
    """Whether a route may be flown both ways."""

    ONE_WAY = "one_way"
    """Only from the first to the last centreline vertex."""
    TWO_WAY = "two_way"
    """Both ways."""


class RouteKind(StrEnum):
    """Purpose of a route."""

    TOURISM = "tourism"
    LOGISTICS = "logistics"
    EMERGENCY = "emergency"


class RestrictionReason(StrEnum):
    """Why the centre created a temporary restriction (临时管制空域, C4)."""

    EVENT = "event"
    EMERGENCY = "emergency"
    POLICE = "police"
    WEATHER = "weather"
    OTHER = "other"


Area: TypeAlias = Polygon | MultiPolygon  # noqa: UP040 - keep a runtime alias usable in isinstance


@dataclass(frozen=True)
class Volume:
    """A 3-D airspace volume: polygon (WGS84) x [floor, ceiling], with class, kind and schedule."""

    id: str
    """Unique id within the airspace set (also the GeoJSON Feature id)."""
    name_zh: str
    """Chinese name."""
    name_en: str
    """English name."""
    polygon: Area
    """Horizontal extent, WGS84 lon/lat."""
    floor: Altitude
    """Lower limit with its own reference (inclusive)."""
    ceiling: Altitude
    """Upper limit with its own reference (inclusive)."""
    airspace_class: AirspaceClass
    """National airspace class (A-E, G, W)."""
    kind: VolumeKind
    """Effect on traffic (open/controlled/restricted/no_fly/corridor)."""
    allowed_categories: frozenset[AircraftCategory] = frozenset()
    """Categories the volume admits (meaning depends on kind; see rules)."""
    schedule: Schedule | None = None
    """When the volume is active; None = always."""
    provenance: Provenance = Provenance.ILLUSTRATIVE
    """official / derived / illustrative."""
    source: str = ""
    """Citation or derivation text."""
    notes: str = ""
    """Free text for operators."""

    def is_active(self, t: datetime) -> bool:
        return is_active(self.schedule, t)


@dataclass(frozen=True)
class Vertiport:
    """A take-off/landing point (起降点) with capacity."""

    id: str
    """Unique id."""
    name_zh: str
    """Chinese name."""
    name_en: str
    """English name."""
    kind: VertiportKind
    """airport / helipad / vertiport / temporary_pad."""
    point: Point
    """Location, WGS84 lon/lat."""
    elevation_m: float
    """Pad/aerodrome elevation, metres AMSL."""
    capacity_per_15min: int
    """Movements (take-offs + landings) per 15-minute slot."""
    opening_hours: Schedule | None = None
    """When it is open; None = always."""
    allowed_categories: frozenset[AircraftCategory] = frozenset()
    """Categories that may use it."""
    provenance: Provenance = Provenance.ILLUSTRATIVE
    """official / derived / illustrative."""
    source: str = ""
    """Citation or derivation text."""

    def is_open(self, t: datetime) -> bool:
        return is_active(self.opening_hours, t)


@dataclass(frozen=True)
class Route:
    """A fixed route (航路/航线): centreline, half-width and altitude band, released on a schedule."""

    id: str
    """Unique id."""
    name_zh: str
    """Chinese name."""
    name_en: str
    """English name."""
    kind: RouteKind
    """tourism / logistics / emergency."""
    centreline: LineString
    """Nominal track, WGS84 lon/lat, in the direction of flight for one-way routes."""
    half_width_m: float
    """Corridor half-width in metres either side of the centreline."""
    floor: Altitude
    """Lower limit of the band (inclusive)."""
    ceiling: Altitude
    """Upper limit of the band (inclusive)."""
    direction: RouteDirection = RouteDirection.TWO_WAY
    """one_way (first -> last vertex) or two_way."""
    allowed_categories: frozenset[AircraftCategory] = frozenset()
    """Categories the route is released for."""
    schedule: Schedule | None = None
    """Release hours; None = always released."""
    from_id: str | None = None
    """Vertiport id at the start of the centreline, if any."""
    to_id: str | None = None
    """Vertiport id at the end of the centreline, if any."""
    crossings: frozenset[str] = frozenset()
    """Ids of routes this one crosses at a designated (procedurally coordinated) crossing."""
    airspace_class: AirspaceClass = AirspaceClass.G
    """Class the corridor is published as (the class of the airspace it is released in)."""
    provenance: Provenance = Provenance.ILLUSTRATIVE
    """official / derived / illustrative."""
    source: str = ""
    """Citation or derivation text."""

    def corridor_local(self) -> Polygon:
        """The corridor polygon in local metres (EPSG:4548): centreline buffered by the half-width
        with flat caps (the corridor ends at the first/last vertex)."""
        return geometry_to_local(self.centreline).buffer(self.half_width_m, cap_style="flat", join_style="round")

    def corridor(self) -> Polygon:
        """The corridor polygon in WGS84 lon/lat."""
        return geometry_to_wgs84(self.corridor_local())

    def as_volume(self) -> Volume:
        """This route as a ``corridor`` volume (same id), for containment queries and export."""
        return Volume(
            id=self.id,
            name_zh=self.name_zh,
            name_en=self.name_en,
            polygon=self.corridor(),
            floor=self.floor,
            ceiling=self.ceiling,
            airspace_class=self.airspace_class,
            kind=VolumeKind.CORRIDOR,
            allowed_categories=self.allowed_categories,
            schedule=self.schedule,
            provenance=self.provenance,
            source=self.source,
        )


@dataclass(frozen=True)
class Restriction:
    """A temporary restriction created by the centre; effective at once, active on ``[start, end)``."""

    id: str
    """Unique id."""
    reason: RestrictionReason
    """event / emergency / police / weather / other."""
    polygon: Area
    """Horizontal extent, WGS84 lon/lat."""
    floor: Altitude
    """Lower limit (inclusive)."""
    ceiling: Altitude
    """Upper limit (inclusive)."""
    start: datetime
    """Start, timezone-aware (inclusive)."""
    end: datetime
    """End, timezone-aware (exclusive)."""
    created_by: str
    """User or unit that created it."""
    name_zh: str = ""
    """Chinese name/description."""
    name_en: str = ""
    """English name/description."""
    exempt_categories: frozenset[AircraftCategory] = frozenset()
    """Categories that may still enter with approval (e.g. rescue helicopters)."""
    source: str = ""
    """Order/NOTAM reference."""

    def __post_init__(self) -> None:
        for label, t in (("start", self.start), ("end", self.end)):
            if t.tzinfo is None or t.utcoffset() is None:
                raise ValueError(f"restriction {self.id}: {label} must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"restriction {self.id}: end is not after start")

    def is_active(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def as_volume(self) -> Volume:
        """This restriction as a ``restricted`` volume with a one-off activation schedule."""
        from lowalt.airspace.schedule import TimeInterval

        return Volume(
            id=self.id,
            name_zh=self.name_zh,
            name_en=self.name_en,
            polygon=self.polygon,
            floor=self.floor,
            ceiling=self.ceiling,
            airspace_class=AirspaceClass.G,
            kind=VolumeKind.RESTRICTED,
            allowed_categories=self.exempt_categories,
            schedule=Schedule(activations=(TimeInterval(self.start, self.end),)),
            provenance=Provenance.OFFICIAL,
            source=self.source or f"temporary restriction ({self.reason.value}) by {self.created_by}",
        )


@dataclass(frozen=True)
class AirspaceSet:
    """Everything known about one area's airspace."""

    area: str
    """Area name (the folder under airspace_data/, e.g. "fuliang")."""
    volumes: tuple[Volume, ...] = ()
    """Layers and overlays (volumes.geojson)."""
    vertiports: tuple[Vertiport, ...] = ()
    """Take-off/landing points (points.geojson)."""
    routes: tuple[Route, ...] = ()
    """Routes (routes.geojson)."""
    restrictions: tuple[Restriction, ...] = ()
    """Temporary restrictions (restrictions.geojson, optional)."""
    metadata: dict[str, dict[str, object]] = field(default_factory=dict, compare=False, hash=False)
    """Per-file FeatureCollection ``metadata`` members, keyed by file name."""

    def volume(self, vid: str) -> Volume:
        for v in self.volumes:
            if v.id == vid:
                return v
        raise KeyError(vid)

    def route(self, rid: str) -> Route:
        for r in self.routes:
            if r.id == rid:
                return r
        raise KeyError(rid)

    def vertiport(self, pid: str) -> Vertiport:
        for p in self.vertiports:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def all_volumes(self, *, include_routes: bool = True) -> tuple[Volume, ...]:
        """Volumes plus route corridors (as ``corridor`` volumes)."""
        if not include_routes:
            return self.volumes
        return self.volumes + tuple(r.as_volume() for r in self.routes)
