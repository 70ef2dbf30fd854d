"""GeoJSON load/dump and ED-269 round trips."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from lowalt.airspace.ed269 import from_ed269, to_ed269
from lowalt.airspace.geojson import dump_airspace, load_airspace, to_geojson
from lowalt.airspace.model import AirspaceSet, Restriction, RestrictionReason, VolumeKind
from lowalt.geo.altitude import agl, amsl

from .conftest import box, local_time


def _restriction() -> Restriction:
    t = local_time(2026, 6, 15, 10)
    return Restriction("TR-7", RestrictionReason.EMERGENCY, box(117.19, 29.29, 117.21, 29.31), agl(0), amsl(900),
                       t, t + timedelta(hours=3), "duty-officer", "火灾", "fire", source="order 7")


def test_fuliang_contents(fuliang: AirspaceSet) -> None:
    assert len(fuliang.volumes) >= 10 and len(fuliang.vertiports) >= 10 and len(fuliang.routes) >= 10
    assert fuliang.vertiport("zsjd").point.coords[0] == (117.176, 29.3386)  # lon/lat order
    kinds = {v.kind for v in fuliang.volumes}
    assert {VolumeKind.OPEN, VolumeKind.CONTROLLED, VolumeKind.RESTRICTED, VolumeKind.NO_FLY} <= kinds
    for name, meta in fuliang.metadata.items():
        assert meta["illustrative_feature_ids"], name
    assert fuliang.route("L-HS-2").floor.reference.value == "AMSL"


def test_geojson_round_trip(fuliang: AirspaceSet, tmp_path: Path) -> None:
    aset = AirspaceSet(fuliang.area, fuliang.volumes, fuliang.vertiports, fuliang.routes, (_restriction(),),
                       fuliang.metadata)
    dump_airspace(aset, tmp_path / "fuliang")
    again = load_airspace(tmp_path / "fuliang")
    assert again == aset
    assert again.metadata["volumes.geojson"] == fuliang.metadata["volumes.geojson"]
    fc = to_geojson(aset.restrictions)
    f = fc["features"][0]
    assert fc["type"] == "FeatureCollection" and f["id"] == "TR-7" and f["properties"]["start"].endswith("+08:00")


def test_ed269_round_trip(fuliang: AirspaceSet) -> None:
    volumes = fuliang.all_volumes()  # incl. route corridors with schedules
    doc = json.loads(json.dumps(to_ed269(volumes, [_restriction()])))
    f = {z["identifier"]: z for z in doc["features"]}
    assert f["chrdi_602"]["restriction"] == "PROHIBITED" and f["chrdi_602"]["country"] == "CHN"
    assert f["TR-7"]["type"] == "CUSTOMIZED" and f["TR-7"]["reason"] == ["EMERGENCY"]
    g = f["zsjd_protection"]["geometry"][0]
    assert (g["uomDimensions"], g["lowerVerticalReference"], g["upperVerticalReference"]) == ("M", "AGL", "AMSL")
    assert f["L-HS-2"]["applicability"][0]["schedule"][0]["startTime"] == "06:00:00"
    zones = from_ed269(doc)
    assert zones.volumes == volumes
    assert zones.restrictions == (_restriction(),)


def test_ed269_import_without_extensions() -> None:
    doc = {"title": "other", "features": [{
        "identifier": "X1", "country": "CHN", "name": "stadium", "type": "COMMON", "restriction": "PROHIBITED",
        "reason": ["POPULATION"], "applicability": [{"permanent": "NO", "schedule": [
            {"day": ["SAT", "SUN"], "startTime": "18:00:00", "endTime": "23:00:00"}]}],
        "geometry": [{"uomDimensions": "M", "lowerLimit": 0, "lowerVerticalReference": "AGL", "upperLimit": 150,
                      "upperVerticalReference": "AGL",
                      "horizontalProjection": box(117.2, 29.3, 117.21, 29.31).__geo_interface__}]}]}
    (v,) = from_ed269(doc).volumes
    assert v.kind is VolumeKind.NO_FLY and v.ceiling == agl(150)
    assert v.schedule is not None and v.schedule.is_active(local_time(2026, 6, 20, 19))
    assert not v.schedule.is_active(local_time(2026, 6, 19, 19))
