"""PATCH /aircraft/{id} on PostGIS: category, registration number, device binding (own organisation's
device users only), tenancy, every bad input named, and no category change under a holding plan."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import auth
from tests.filing.conftest import local_day, plan_body


def named(r: httpx.Response) -> str:
    err = r.json()["error"]
    return " ".join([err["message"], *(f["field"] for f in err.get("fields") or [])])


async def test_edit_category_registration_and_binding(client: httpx.AsyncClient, operator_factory: Any,
                                                      make_token: Any) -> None:
    a = await operator_factory("浮梁文旅", {"FL-1": "light_uav"})
    await make_token("device", name="fl-gateway", organisation="浮梁文旅")
    r = await client.patch("/aircraft/FL-1", headers=a.headers,
                           json={"category": "small_uav", "registration": "UAS-JX-0001", "device": "fl-gateway"})
    assert r.status_code == 200, r.text
    assert r.json() | {"created_at": None} == {"id": "FL-1", "category": "small_uav", "registration": "UAS-JX-0001",
                                               "organisation": "浮梁文旅", "device": "fl-gateway", "created_at": None}
    listed = (await client.get("/aircraft", headers=a.headers)).json()[0]
    assert listed["category"] == "small_uav" and listed["device_user_id"] is not None
    assert client.app.state.live.aircraft["FL-1"].category == "small_uav"  # type: ignore[attr-defined]
    # a field left out stays; null clears the registration and unbinds the device
    r = await client.patch("/aircraft/FL-1", headers=a.headers, json={"registration": None, "device": None})
    assert r.status_code == 200 and r.json()["registration"] is None and r.json()["device"] is None
    assert r.json()["category"] == "small_uav"
    assert client.app.state.live.aircraft["FL-1"].device_user_id is None  # type: ignore[attr-defined]
    # the centre edits any organisation's aircraft
    centre = auth(await make_token("centre"))
    r = await client.patch("/aircraft/FL-1", headers=centre, json={"registration": "UAS-JX-0002"})
    assert r.status_code == 200 and r.json()["registration"] == "UAS-JX-0002"


async def test_tenancy_and_every_bad_input(client: httpx.AsyncClient, operator_factory: Any,
                                           make_token: Any) -> None:
    a = await operator_factory("浮梁文旅", {"FL-1": "light_uav"})
    b = await operator_factory("景德镇物流", {"JL-1": "light_uav"})
    await make_token("device", name="jl-gateway", organisation="景德镇物流")
    await make_token("operator", name="fl-person", organisation="浮梁文旅")
    # another organisation's aircraft: not found (as an unknown one)
    for aid in ("JL-1", "NO-SUCH"):
        r = await client.patch(f"/aircraft/{aid}", headers=a.headers, json={"registration": "X-1"})
        assert r.status_code == 404 and "aircraft_id" in named(r)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "body"),
        ({"category": None}, 422, "category"),
        ({"category": "jumbo_jet"}, 422, "category"),
        ({"registration": "has space"}, 422, "registration"),
        ({"registration": ""}, 422, "registration"),
        ({"device": "jl-gateway"}, 422, "device"),  # another organisation's device user
        ({"device": "fl-person"}, 422, "device"),  # not a device user
        ({"device": "nobody"}, 422, "device"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        r = await client.patch("/aircraft/FL-1", headers=a.headers, json=body)
        assert r.status_code == status and field in named(r), (body, r.status_code, r.text)
    assert (await client.get("/aircraft", headers=b.headers)).json()[0]["registration"] is None  # untouched


async def test_category_stays_while_a_plan_holds_the_aircraft(client: httpx.AsyncClient,
                                                              operator_factory: Any) -> None:
    a = await operator_factory("浮梁文旅", {"FL-1": "light_uav"})
    plan = (await client.post("/plans", headers=a.headers, json=plan_body("FL-1", start=local_day(1, 10)))).json()
    assert plan["state"] == "approved"
    r = await client.patch("/aircraft/FL-1", headers=a.headers, json={"category": "small_uav"})
    assert r.status_code == 409 and "category" in named(r)
    same = await client.patch("/aircraft/FL-1", headers=a.headers, json={"category": "light_uav"})
    assert same.status_code == 200  # not a change
    assert (await client.post(f"/plans/{plan['id']}/cancel", headers=a.headers, json={})).status_code == 200
    r = await client.patch("/aircraft/FL-1", headers=a.headers, json={"category": "small_uav"})
    assert r.status_code == 200 and r.json()["category"] == "small_uav"
