"""Bad input gets a 4xx naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.filing.conftest import plan_body, soon


def _self_intersecting(b: dict[str, Any]) -> None:
    b["geometry"] = {"type": "Polygon", "coordinates": [[[117.6, 29.3], [117.62, 29.32], [117.62, 29.3],
                                                         [117.6, 29.32], [117.6, 29.3]]]}


def _zero_length(b: dict[str, Any]) -> None:
    b["geometry"] = {"type": "LineString", "coordinates": [[117.6, 29.3], [117.6, 29.3]]}


def _end_before_start(b: dict[str, Any]) -> None:
    b["start"], b["end"] = soon(60).isoformat(), soon(30).isoformat()


def _floor_above_ceiling(b: dict[str, Any]) -> None:
    b["altitude"]["floor"]["value_m"] = 150


def _swapped(b: dict[str, Any]) -> None:
    b["geometry"]["coordinates"] = [[lat, lon] for lon, lat in b["geometry"]["coordinates"]]


def _unknown_category(b: dict[str, Any]) -> None:
    b["category"] = "jumbo_jet"


def _naive_time(b: dict[str, Any]) -> None:
    b["start"] = "2030-01-01T10:00:00"


def _unclosed_ring(b: dict[str, Any]) -> None:
    b["geometry"] = {"type": "Polygon", "coordinates": [[[117.6, 29.3], [117.62, 29.32], [117.62, 29.3],
                                                         [117.61, 29.29]]]}


def _point_geometry(b: dict[str, Any]) -> None:
    b["geometry"] = {"type": "Point", "coordinates": [117.6, 29.3]}


CASES = [
    (_self_intersecting, "body.geometry", "Self-intersection"),
    (_zero_length, "body.geometry", "zero length"),
    (_end_before_start, "body.end", "after start"),
    (_floor_above_ceiling, "body.altitude.ceiling", "above floor"),
    (_swapped, "body.geometry", "[longitude, latitude]"),
    (_unknown_category, "body.category", ""),
    (_naive_time, "body.start", "timezone"),
    (_unclosed_ring, "body.geometry", "closed"),
    (_point_geometry, "body.geometry", ""),
]


@pytest.mark.parametrize(("mutate", "field", "text"), CASES, ids=[c[0].__name__.strip("_") for c in CASES])
async def test_bad_plan_is_422_naming_the_field(client: httpx.AsyncClient, operator_factory: Any,
                                                mutate: Any, field: str, text: str) -> None:
    op = await operator_factory("浮梁文旅")
    body = plan_body("FL-001")
    mutate(body)
    r = await client.post("/plans", headers=op.headers, json=body)
    assert r.status_code == 422, r.text
    fields = r.json()["error"]["fields"]
    hit = [f for f in fields if f["field"].startswith(field)]
    assert hit, fields
    assert text in " ".join(f["message"] for f in hit)


async def test_ten_megabyte_payload_is_413(client: httpx.AsyncClient, operator_factory: Any) -> None:
    """The app's request guard (lowalt/api/guard.py) refuses it before the plan router reads it."""
    op = await operator_factory("浮梁文旅")
    body = plan_body("FL-001")
    body["geometry"]["coordinates"] = [[117.6 + i * 1e-7, 29.3] for i in range(400_000)]
    r = await client.post("/plans", headers=op.headers, json=body)
    assert r.status_code == 413
    assert "larger than" in r.json()["error"]["message"]


async def test_not_json_and_empty_body_are_422(client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅")
    r = await client.post("/plans", headers={**op.headers, "content-type": "application/json"}, content=b"{nope")
    assert r.status_code == 422
    r = await client.post("/plans", headers=op.headers, json={})
    assert r.status_code == 422
    assert {"body.aircraft_id", "body.geometry", "body.start"} <= {f["field"] for f in r.json()["error"]["fields"]}


async def test_bad_list_filters_are_422(client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅")
    assert (await client.get("/plans", headers=op.headers, params={"state": "flying"})).status_code == 422
    assert (await client.get("/plans", headers=op.headers, params={"bbox": "1,2,3"})).status_code == 422
    assert (await client.get("/plans/nope", headers=op.headers)).status_code == 404
