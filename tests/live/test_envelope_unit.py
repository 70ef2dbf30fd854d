"""The physical envelope of a report: every numeric field, both sides of every limit (inclusive)."""

from __future__ import annotations

import orjson
import pytest

from lowalt.surveillance.reports import decode_frame

BBOX = (115.0, 28.0, 119.5, 31.0)
NOW = 1_790_000_000.0


def _one(**over: object) -> tuple[list[str], list[tuple[str, str | None]]]:
    r: dict[str, object] = {"id": "UAV-1", "t": NOW, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AMSL",
                            "vx": 0.0, "vy": 0.0}
    r.update(over)
    r = {k: v for k, v in r.items() if v is not None}
    b = decode_frame(orjson.dumps(r), now=NOW, service_bbox=BBOX)
    return b.ids, [(e.code, e.field) for e in b.errors]


# (field overrides at the limit: accepted, just past the limit: refused, field named)
EDGES = [
    ({"alt": 10_000}, {"alt": 10_000.01}, "alt"),
    ({"alt": -500}, {"alt": -500.01}, "alt"),
    ({"vs": 50}, {"vs": 50.01}, "vs"),
    ({"vs": -50}, {"vs": -50.01}, "vs"),
    ({"vs": 1e300}, None, "vs"),
    ({"bat": 100}, {"bat": 100.01}, "bat"),
    ({"bat": 0}, {"bat": -0.01}, "bat"),
    ({"vx": None, "vy": None, "gs": 150, "trk": 0}, {"vx": None, "vy": None, "gs": 150.01, "trk": 0}, "gs"),
    ({"vx": None, "vy": None, "gs": 0, "trk": 0}, {"vx": None, "vy": None, "gs": -0.01, "trk": 0}, "gs"),
    ({"vx": None, "vy": None, "gs": 10, "trk": 360}, {"vx": None, "vy": None, "gs": 10, "trk": 360.01}, "trk"),
    ({"vx": None, "vy": None, "gs": 10, "trk": 0}, {"vx": None, "vy": None, "gs": 10, "trk": -0.01}, "trk"),
    ({"vx": 150}, {"vx": 150.01}, "vx"),
    ({"vy": -150}, {"vy": -150.01}, "vy"),
    ({"t": NOW + 5}, {"t": NOW + 5.01}, "t"),
    ({"t": NOW - 300}, {"t": NOW - 300.01}, "t"),
    ({"lat": 31.0}, {"lat": 31.0001}, "lon"),  # service area edge (the area check names lon/lat)
]


@pytest.mark.parametrize(("inside", "outside", "field"), EDGES)
def test_each_limit_is_inclusive_and_the_next_value_is_refused_naming_the_field(
        inside: dict[str, object], outside: dict[str, object] | None, field: str) -> None:
    if outside is None:  # the absurd value itself is the "outside" case
        ids, errors = _one(**inside)
        assert ids == [] and errors and errors[0][1] == field
        return
    ids, errors = _one(**inside)
    assert ids == ["UAV-1"], errors
    ids, errors = _one(**outside)
    assert ids == [] and len(errors) == 1 and errors[0][1] == field, errors


def test_landed_flag_decoded() -> None:
    b = decode_frame(orjson.dumps({"id": "a", "t": NOW, "lon": 117.2, "lat": 29.3, "alt": 0, "ref": "AGL",
                                   "gs": 0, "trk": 0, "landed": True}), now=NOW, service_bbox=BBOX)
    assert b.landed.tolist() == [True]
    ids, errors = _one(landed="yes")
    assert ids == [] and errors[0][1] == "landed"
