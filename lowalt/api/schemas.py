"""Response models shared by the routers: what every endpoint answers, declared in OpenAPI.

Two ways a router uses them:

* ``response_model=`` (the answer is validated and filtered on the way out) for small answers;
* :func:`documented` for answers that are large or built as plain dicts on a hot path (GeoJSON with
  thousands of features, the live picture): the schema is declared in OpenAPI and checked by the
  bounded schemathesis run (``tests/security/test_schemathesis.py``, ``response_schema_conformance``)
  instead of being re-validated on every request.

Models of rows that other modules extend (aircraft, plans, alerts) allow extra members, so a new
column never turns into a 500; the members they declare are what clients may rely on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """A documented object that may carry more members than it declares."""

    model_config = ConfigDict(extra="allow")


def documented(model: Any, status: int = 200, description: str = "Successful Response"
               ) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that returns a plain dict (with ``response_model=None``): the schema in
    OpenAPI, under the route's media type, without validating each answer."""
    return {status: {"model": model, "description": description}}


# ------------------------------------------------------------------ GeoJSON (RFC 7946)

GeometryType = Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                       "GeometryCollection"]


class Geometry(_Open):
    type: GeometryType
    coordinates: list[Any] | None = Field(None, description="Nested positions [lon, lat(, alt)]; absent for a "
                                                            "GeometryCollection")


class Feature(_Open):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: Geometry | None
    properties: dict[str, Any] | None


class FeatureCollection(_Open):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    metadata: dict[str, Any] | None = None


# ------------------------------------------------------------------ health

class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["up", "down"]
    version: str
    live: dict[str, Any] | None = Field(None, description="Problems of the live path (degraded), if any")


# ------------------------------------------------------------------ aircraft, alerts

class AircraftOut(_Open):
    id: str
    category: str
    organisation: str | None
    registration: str | None = None
    device_user_id: int | None = None
    suspended: bool = False
    created_at: str | None = None


class RegisteredAircraft(BaseModel):
    id: str
    category: str
    organisation: str | None
    device: str | None


class Alert(_Open):
    """An alert, live (times in epoch seconds) or from the log (ISO 8601 times, ``alert_id``)."""

    id: str | None = None
    alert_id: str | None = None
    kind: str
    severity: str
    state: str
    aircraft: list[str]
    first_seen: float | str
    last_seen: float | str
    acknowledged_by: str | None = None
    details: dict[str, Any] | None = None


# ------------------------------------------------------------------ airspace

class Deleted(BaseModel):
    id: str
    deleted: Literal[True]


class AirspaceVerdict(BaseModel):
    verdict: str
    reason: str
    volume: str | None
    containing_active: list[str]
    containing: list[str]
    altitude_amsl_m: float
    terrain_m: float | None
    at: str
    category: str


class ED269(_Open):
    """EUROCAE ED-269 ``UASZoneList``-style document: title, description and ``features`` (zones)."""

    title: str | None = None
    description: str | None = None
    features: list[dict[str, Any]]


class MapConfig(_Open):
    """What the map page reads at start (basemap, initial view, terrain grid, version)."""

    version: str


# ------------------------------------------------------------------ plans, warnings

class AltitudeOut(BaseModel):
    value_m: float
    reference: Literal["AGL", "AMSL"]


class Band(BaseModel):
    floor: AltitudeOut
    ceiling: AltitudeOut


class PlanOut(_Open):
    id: str
    state: str
    organisation: str
    submitted_by: str
    aircraft_id: str
    category: str
    mission: str
    priority: int
    geometry: Geometry
    altitude: Band
    start: datetime
    end: datetime
    decision: dict[str, Any] = Field(description="Outcome, reasons (codes with zh/en messages and articles), "
                                                 "alternatives")
    events: list[dict[str, Any]] | None = Field(None, description="The audit trail (GET /plans/{id})")


class WarningOut(_Open):
    id: str
    kind: str
    start: datetime
    end: datetime
    value: float | None
    area: Geometry | None
    text: str | None
    affected_plans: list[str] | None = None


# ------------------------------------------------------------------ network Remote ID (F3411-22a)

class RIDTime(BaseModel):
    value: str
    format: Literal["RFC3339"]


class RIDFlight(_Open):
    id: str
    aircraft_type: str
    simulated: bool
    current_state: dict[str, Any]


class RIDFlights(_Open):
    timestamp: RIDTime
    flights: list[RIDFlight]
    no_isas_present: bool
