"""ED-269 export: valid against the InterUSS ``uas-standards`` ED-269 model, and a lossless round trip."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from shapely.geometry import MultiPolygon
from uas_standards.eurocae_ed269 import ED269Schema

from lowalt.airspace.ed269 import ed269_identifier, from_ed269, identifier_map, to_ed269
from lowalt.airspace.model import AircraftCategory, AirspaceSet, Restriction, RestrictionReason, VolumeKind
from lowalt.airspace.schedule import Schedule, WeeklyWindow
from lowalt.geo.altitude import agl, amsl

from .conftest import box, layers, local_time


def _restrictions() -> tuple[Restriction, ...]:
    t = local_time(2026, 6, 15, 10)
    return (
        Restriction("TR-7", RestrictionReason.EMERGENCY, box(117.19, 29.29, 117.21, 29.31), agl(0), amsl(900.5),
                    t, t + timedelta(hours=3), "duty-officer", "火灾", "fire", source="order 7"),
        Restriction("TR-20260615-weather-front-north", RestrictionReason.WEATHER,
                    box(117.1, 29.2, 117.15, 29.25), agl(12.3), agl(300.7), t, t + timedelta(hours=1), "centre-1",
                    "雷雨", "thunderstorm " * 30, exempt_categories=frozenset({AircraftCategory.MICRO_UAV}),
                    source="weather service bulletin " * 20),
    )


def _export(fuliang: AirspaceSet) -> dict[str, Any]:
    return json.loads(json.dumps(to_ed269(fuliang.all_volumes(), _restrictions()), ensure_ascii=False))


def _validate(doc: dict[str, Any]) -> ED269Schema:
    """Parse with the uas-standards model. Its ``extendedProperties: Any | None`` cannot be parsed by
    implicitdict 5 ("Any cannot be instantiated"), so that free-form member is checked here and left out."""
    bare = json.loads(json.dumps(doc))
    for f in bare["features"]:
        assert isinstance(f.pop("extendedProperties"), dict)
    return ED269Schema.from_dict(bare)


def test_export_validates_against_the_uas_standards_model(fuliang: AirspaceSet) -> None:
    doc = _export(fuliang)
    parsed = _validate(doc)  # raises on a type the model refuses
    assert len(parsed.features) == len(fuliang.all_volumes()) + 2
    for zone in parsed.features:
        # lengths and types the model only documents (implicitdict does not enforce them)
        assert 1 <= len(zone.identifier) <= 7, zone.identifier
        assert len(zone.country) == 3
        assert zone.name is None or len(zone.name) <= 200
        assert zone.message is None or len(zone.message) <= 200
        assert zone.otherReasonInfo is None or len(zone.otherReasonInfo) <= 30
        assert zone.reason is not None and 1 <= len(zone.reason) <= 9
        for g in zone.geometry:
            assert isinstance(g.lowerLimit, int) and isinstance(g.upperLimit, int)
            assert g.horizontalProjection.type == "Polygon" and len(g.horizontalProjection.coordinates[0]) >= 4
        for period in zone.applicability:
            for daily in period.schedule or []:
                for t in (daily.startTime, daily.endTime):
                    assert t.time.tzinfo is not None, t  # times carry their zone
                    assert t.time.utcoffset() == timedelta(hours=8)  # Asia/Shanghai, not UTC
    for f in doc["features"]:  # (the model reads a list of conditions as one string: check the document)
        conditions = f.get("restrictionConditions", [])
        assert all(not c.rstrip().endswith(":") for c in conditions), conditions  # nothing dangling


def test_limits_round_outwards_and_texts_are_clipped(fuliang: AirspaceSet) -> None:
    doc = _export(fuliang)
    by_id = {identifier_map(doc)[f["identifier"]]: f for f in doc["features"]}
    weather = by_id["TR-20260615-weather-front-north"]
    g = weather["geometry"][0]
    assert (g["lowerLimit"], g["upperLimit"]) == (12, 301)  # the zone covers the restriction
    assert len(weather["name"]) == 200 and weather["name"].endswith("…")
    assert weather["reason"] == ["OTHER"] and weather["otherReasonInfo"] == "weather"
    assert weather["restrictionConditions"] == ["exempt categories: micro_uav"]
    fire = by_id["TR-7"]
    assert fire["identifier"] == "TR-7" and "restrictionConditions" not in fire  # no exemptions: no condition
    assert fire["geometry"][0]["upperLimit"] == 901


def test_identifiers_are_compliant_stable_and_mapped(fuliang: AirspaceSet) -> None:
    doc = _export(fuliang)
    mapping = identifier_map(doc)
    ids = [v.id for v in fuliang.all_volumes()] + [r.id for r in _restrictions()]
    assert sorted(mapping.values()) == sorted(ids)
    assert len(mapping) == len(ids)  # no two ids share an identifier
    assert ed269_identifier("chrdi_602") == ed269_identifier("chrdi_602") != ed269_identifier("chrdi_603")
    assert ed269_identifier("L-HS-2") == "L-HS-2"  # short ids stay readable


def test_round_trip_is_lossless(fuliang: AirspaceSet) -> None:
    volumes = fuliang.all_volumes()  # incl. route corridors with schedules
    doc = _export(fuliang)
    zones = from_ed269(doc)
    assert zones.volumes == volumes
    assert zones.restrictions == _restrictions()
    by_id = {identifier_map(doc)[f["identifier"]]: f for f in doc["features"]}
    assert by_id["chrdi_602"]["restriction"] == "PROHIBITED" and by_id["chrdi_602"]["country"] == "CHN"
    assert by_id["TR-7"]["type"] == "CUSTOMIZED" and by_id["TR-7"]["reason"] == ["EMERGENCY"]
    g = by_id["zsjd_protection"]["geometry"][0]
    assert (g["uomDimensions"], g["lowerVerticalReference"], g["upperVerticalReference"]) == ("M", "AGL", "AMSL")
    assert by_id["L-HS-2"]["applicability"][0]["schedule"][0]["startTime"] == "06:00:00.00+0800"


def test_a_multipolygon_volume_exports_one_item_per_part() -> None:
    city, _ = layers()
    two = MultiPolygon([box(117.0, 29.0, 117.1, 29.1), box(117.2, 29.2, 117.3, 29.3)])
    from dataclasses import replace

    v = replace(city, polygon=two, schedule=Schedule(weekly=(WeeklyWindow(frozenset({1, 2}),
                                                                          local_time(2026, 1, 5, 7).time(),
                                                                          local_time(2026, 1, 5, 19).time()),)))
    doc = json.loads(json.dumps(to_ed269([v])))
    _validate(doc)
    assert len(doc["features"][0]["geometry"]) == 2
    assert from_ed269(doc).volumes == (v,)


def test_import_without_extensions_reads_the_standard_fields() -> None:
    doc = {"title": "other", "features": [{
        "identifier": "X1", "country": "CHN", "name": "stadium", "type": "COMMON", "restriction": "PROHIBITED",
        "reason": ["POPULATION"], "applicability": [{"permanent": "NO", "schedule": [
            {"day": ["SAT", "SUN"], "startTime": "18:00:00.00+0800", "endTime": "23:00:00.00+0800"}]}],
        "geometry": [{"uomDimensions": "M", "lowerLimit": 0, "lowerVerticalReference": "AGL", "upperLimit": 150,
                      "upperVerticalReference": "AGL",
                      "horizontalProjection": box(117.2, 29.3, 117.21, 29.31).__geo_interface__}]}]}
    (v,) = from_ed269(doc).volumes
    assert v.kind is VolumeKind.NO_FLY and v.ceiling == agl(150)
    assert v.schedule is not None and v.schedule.is_active(local_time(2026, 6, 20, 19))
    assert not v.schedule.is_active(local_time(2026, 6, 19, 19))
    # the same window written in UTC (10:00-15:00Z) is the same local window
    utc = json.loads(json.dumps(doc))
    utc["features"][0]["applicability"][0]["schedule"][0].update(startTime="10:00:00.00Z", endTime="15:00:00.00Z")
    (u,) = from_ed269(utc).volumes
    assert u.schedule is not None and u.schedule.timezone == "UTC"
    assert u.schedule.is_active(local_time(2026, 6, 20, 19)) and not u.schedule.is_active(local_time(2026, 6, 20, 17))
    # times without a zone are read as Asia/Shanghai (the older export)
    old = json.loads(json.dumps(doc))
    old["features"][0]["applicability"][0]["schedule"][0].update(startTime="18:00:00", endTime="23:00:00")
    assert from_ed269(old).volumes[0].schedule == v.schedule


def test_a_bad_time_is_refused() -> None:
    doc = {"features": [{"identifier": "X1", "applicability": [{"permanent": "NO", "schedule": [
        {"day": ["MON"], "startTime": "noon", "endTime": "13:00Z"}]}],
        "geometry": [{"uomDimensions": "M", "lowerLimit": 0, "lowerVerticalReference": "AGL", "upperLimit": 150,
                      "upperVerticalReference": "AGL",
                      "horizontalProjection": box(117.2, 29.3, 117.21, 29.31).__geo_interface__}]}]}
    with pytest.raises(ValueError, match="noon"):
        from_ed269(doc)
