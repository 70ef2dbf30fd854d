"""lowalt.airspace: the airspace model, its data files and fast vectorized queries.

Modules: ``model`` (dataclasses/enums), ``schedule``, ``geojson`` (load/dump RFC 7946),
``rules`` (verdict rule table), ``index`` (AirspaceIndex.classify / intrusion_volumes),
``validate`` + ``check`` (``lowalt airspace check``), ``ed269`` (ED-269 JSON), ``bench``.
Importing does no work beyond importing shapely/pyproj/numpy.
"""

from lowalt.airspace.geojson import AirspaceDataError, dump_airspace, load_airspace, to_geojson
from lowalt.airspace.index import AirspaceIndex, Classification
from lowalt.airspace.model import (
    AircraftCategory,
    AirspaceClass,
    AirspaceSet,
    Provenance,
    Restriction,
    RestrictionReason,
    Route,
    RouteDirection,
    RouteKind,
    Vertiport,
    VertiportKind,
    Volume,
    VolumeKind,
)
from lowalt.airspace.rules import Reason, Verdict
from lowalt.airspace.schedule import Schedule, TimeInterval, WeeklyWindow
from lowalt.airspace.validate import Problem, validate_airspace
from lowalt.conflict.intrusion import IntrusionVolumes  # re-exported (built by AirspaceIndex)

__all__ = [
    "AircraftCategory", "AirspaceClass", "AirspaceDataError", "AirspaceIndex", "AirspaceSet", "Classification",
    "IntrusionVolumes", "Problem", "Provenance", "Reason", "Restriction", "RestrictionReason", "Route",
    "RouteDirection", "RouteKind", "Schedule", "TimeInterval", "Verdict", "Vertiport", "VertiportKind", "Volume",
    "VolumeKind", "WeeklyWindow", "dump_airspace", "load_airspace", "to_geojson", "validate_airspace",
]
