"""Fixtures and builders for airspace tests (pure: no database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import Polygon

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import (
    ALL_CATEGORIES,
    SUITABLE_AIRSPACE_CATEGORIES,
    AirspaceClass,
    AirspaceSet,
    Provenance,
    Volume,
    VolumeKind,
)
from lowalt.geo.altitude import agl, amsl

REPO = Path(__file__).resolve().parents[2]
FULIANG = REPO / "airspace_data" / "fuliang"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> Polygon:
    return Polygon([(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)])


def layers(bounds: tuple[float, float, float, float] = (116.9, 29.0, 117.5, 29.6)) -> tuple[Volume, Volume]:
    """A W layer (0-120 m AGL) and a G layer (120 m AGL - 3000 m AMSL) over ``bounds``."""
    area = box(*bounds)
    w = Volume("w", "W", "W", area, agl(0), agl(120), AirspaceClass.W, VolumeKind.OPEN,
               SUITABLE_AIRSPACE_CATEGORIES, None, Provenance.ILLUSTRATIVE, "test")
    g = Volume("g", "G", "G", area, agl(120), amsl(3000), AirspaceClass.G, VolumeKind.OPEN,
               ALL_CATEGORIES, None, Provenance.ILLUSTRATIVE, "test")
    return w, g


@pytest.fixture(scope="session")
def fuliang() -> AirspaceSet:
    return load_airspace(FULIANG)
