"""``lowalt airspace check``: clean on the shipped data, precise on broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lowalt.airspace.validate import validate_airspace
from lowalt.cli import main as cli_main

from .conftest import FULIANG


def test_shipped_data_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["airspace", "check", str(FULIANG)]) == 0
    assert "OK" in capsys.readouterr().out


def _vol(fid: str, coords: list, **over: object) -> dict:  # type: ignore[type-arg]
    props = {"id": fid, "name_zh": "测", "name_en": "t", "class": "G", "kind": "controlled", "floor_m": 0,
             "floor_ref": "AGL", "ceiling_m": 300, "ceiling_ref": "AGL", "allowed_categories": ["micro_uav"],
             "schedule": None, "provenance": "illustrative", "source": "test"}
    props.update(over)
    props = {k: v for k, v in props.items() if v is not ...}
    return {"type": "Feature", "id": fid, "geometry": {"type": "Polygon", "coordinates": [coords]},
            "properties": props}


def _route(fid: str, coords: list, **over: object) -> dict:  # type: ignore[type-arg]
    props = {"id": fid, "name_zh": "线", "name_en": "r", "kind": "logistics", "direction": "two_way",
             "half_width_m": 300, "floor_m": 150, "floor_ref": "AGL", "ceiling_m": 250, "ceiling_ref": "AGL",
             "allowed_categories": ["small_uav"], "schedule": None, "from_id": None, "to_id": None,
             "crossings": [], "class": "G", "provenance": "illustrative", "source": "test"}
    props.update(over)
    return {"type": "Feature", "id": fid, "geometry": {"type": "LineString", "coordinates": coords},
            "properties": props}


SQ = [[117.20, 29.30], [117.22, 29.30], [117.22, 29.32], [117.20, 29.32], [117.20, 29.30]]


def _write(folder: Path, name: str, features: list) -> None:  # type: ignore[type-arg]
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def test_broken_files_name_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "broken"
    _write(d, "volumes.geojson", [
        _vol("ok", SQ),
        _vol("bowtie", [[117.20, 29.30], [117.22, 29.32], [117.22, 29.30], [117.20, 29.32], [117.20, 29.30]]),
        _vol("upside_down", SQ, floor_m=500, ceiling_m=100),
        _vol("mixed_upside", SQ, floor_m=400, floor_ref="AMSL", ceiling_m=100, ceiling_ref="AGL"),
        _vol("bad_class", SQ, **{"class": "X"}),
        _vol("bad_cat", SQ, allowed_categories=["jumbo_jet"]),
        _vol("swapped", [[y, x] for x, y in SQ]),
        _vol("no_kind", SQ, kind=...),
        _vol("ok", SQ),
        _vol("open_b", SQ, kind="open", **{"class": "B"}),
    ])
    _write(d, "points.geojson", [
        {"type": "Feature", "id": "p1", "geometry": {"type": "Point", "coordinates": [117.2, 29.3]},
         "properties": {"id": "p1", "name_zh": "点", "name_en": "p", "kind": "spaceport", "elevation_m": 30,
                        "capacity_per_15min": 2, "opening_hours": None, "allowed_categories": [],
                        "provenance": "illustrative", "source": "test"}},
    ])
    _write(d, "routes.geojson", [
        # crosses Wugujian (~1618 m in the default terrain) with an AMSL band at 800-1000 m
        _route("low_band", [[117.55, 29.40], [117.80, 29.52]], floor_m=800, floor_ref="AMSL", ceiling_m=1000,
               ceiling_ref="AMSL"),
        _route("cross_a", [[117.00, 29.10], [117.10, 29.10]]),
        _route("cross_b", [[117.05, 29.05], [117.05, 29.15]], floor_m=200, ceiling_m=280),
        _route("oneway_east", [[116.80, 29.00], [116.90, 29.00]], direction="one_way"),
        _route("oneway_west", [[116.90, 29.001], [116.80, 29.001]], direction="one_way"),
        _route("same_way", [[116.80, 29.002], [116.90, 29.002]], direction="one_way", to_id="nowhere"),
    ])
    problems = validate_airspace(d)
    got: dict[tuple[str, str | None], str] = {}
    for p in problems:
        got[(p.file, p.feature_id)] = got.get((p.file, p.feature_id), "") + " | " + p.message

    def has(file: str, fid: str | None, text: str) -> None:
        assert (file, fid) in got, f"no problem for {file}/{fid}: {problems}"
        assert text in got[(file, fid)], got[(file, fid)]

    has("volumes.geojson", "bowtie", "Self-intersection")
    has("volumes.geojson", "upside_down", "not below ceiling")
    has("volumes.geojson", "mixed_upside", "not below ceiling")
    has("volumes.geojson", "bad_class", "unknown value 'X'")
    has("volumes.geojson", "bad_cat", "unknown category 'jumbo_jet'")
    has("volumes.geojson", "swapped", "lon/lat swapped?")
    has("volumes.geojson", "no_kind", "missing required property 'kind'")
    has("volumes.geojson", "ok", "duplicate id")
    has("volumes.geojson", "open_b", "controlled but kind is 'open'")
    has("points.geojson", "p1", "unknown value 'spaceport'")
    has("routes.geojson", "low_band", "below terrain")
    has("routes.geojson", "cross_a", "cross_a and cross_b cross near (117.0500, 29.1000) without a designated")
    has("routes.geojson", "oneway_east", "opposite directions")
    has("routes.geojson", "same_way", "'nowhere' is not a point")
    assert not any("same_way" in p.message and "oneway_east" in p.message for p in problems)
    assert ("routes.geojson", "cross_a") in got

    assert cli_main(["airspace", "check", str(d)]) == 1
    out = capsys.readouterr().out
    assert "volumes.geojson: bowtie: invalid polygon" in out
    assert "routes.geojson: low_band: band floor 800 m AMSL is below terrain" in out


def test_designated_crossing_and_vertical_separation_are_not_conflicts(tmp_path: Path) -> None:
    d = tmp_path / "ok"
    _write(d, "volumes.geojson", [])
    _write(d, "points.geojson", [])
    _write(d, "routes.geojson", [
        _route("a", [[117.00, 29.10], [117.10, 29.10]], crossings=["b"]),
        _route("b", [[117.05, 29.05], [117.05, 29.15]]),
        _route("c", [[117.00, 29.20], [117.10, 29.20]]),
        _route("d", [[117.05, 29.15], [117.05, 29.25]], floor_m=260, ceiling_m=300),
    ])
    assert validate_airspace(d) == []


def test_missing_files(tmp_path: Path) -> None:
    problems = validate_airspace(tmp_path)
    assert {p.file for p in problems} == {"volumes.geojson", "points.geojson", "routes.geojson"}
