"""GeoJSON load/dump and ED-269 round trips."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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


