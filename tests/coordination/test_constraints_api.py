"""Party constraints through the API: every bad input a 4xx naming its field, who may issue and revise,
what each party sees, cancellation (a version too) lifting the airspace restriction. Real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import auth

AREA = {"type": "Polygon", "coordinates": [[[117.58, 29.28], [117.66, 29.28], [117.66, 29.38], [117.58, 29.38],
                                           [117.58, 29.28]]]}


def _body(**kw: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"title": "演练", "purpose": "secret drill", "geometry": AREA, "floor": {"value_m": 0, "ref": "AGL"},
            "ceiling": {"value_m": 300, "ref": "AGL"}, "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=3)).isoformat()}
    body.update(kw)
    return body


def _field(r: httpx.Response) -> str:
    return str(r.json()["error"]["fields"][0]["field"])


async def test_bad_inputs_name_their_field(client: httpx.AsyncClient, make_token: Any) -> None:
    mil = auth(await make_token("military"))
    now = datetime.now(UTC)
    cases = [
        (_body(start=now.isoformat(), end=(now + timedelta(hours=1)).isoformat()), "start"),  # no notice
        (_body(start=(now + timedelta(minutes=29)).isoformat()), "start"),
        (_body(geometry={"type": "Point", "coordinates": [117.6, 29.3]}), "geometry"),
        (_body(geometry={"type": "Polygon", "coordinates": [[[29.28, 117.58], [29.28, 117.66], [29.38, 117.66],
                                                              [29.28, 117.58]]]}), "geometry"),  # lat/lon swapped
        (_body(floor={"value_m": 300, "ref": "AGL"}), "floor"),
        (_body(end=(now + timedelta(minutes=30)).isoformat()), "end"),  # before start
        (_body(end=(now + timedelta(hours=1) + timedelta(hours=72, seconds=1)).isoformat()), "end"),
        (_body(start="2026-12-01T10:00:00"), "start"),  # no UTC offset
        (_body(coordinated_categories=["rocket"]), "body.coordinated_categories.0"),
        (_body(colour="red"), "body.colour"),
        (_body(title=""), "body.title"),
    ]
    for body, field in cases:
        r = await client.post("/coordination/constraints", headers=mil, json=body)
        assert r.status_code == 422, (field, r.text)
        assert _field(r) == field, (field, r.text)
    # the other side of the notice boundary, and short notice at once
    ok = await client.post("/coordination/constraints", headers=mil, json=_body(
        start=(now + timedelta(minutes=31)).isoformat()))
    assert ok.status_code == 201, ok.text
    ok = await client.post("/coordination/constraints", headers=mil, json=_body(
        start=now.isoformat(), short_notice=True))
    assert ok.status_code == 201 and ok.json()["short_notice"] is True


async def test_who_issues_and_what_kind(client: httpx.AsyncClient, make_token: Any) -> None:
    for role in ("operator", "viewer", "device", "police"):
        r = await client.post("/coordination/constraints", headers=auth(await make_token(role)), json=_body())
        assert r.status_code == 403, role
    kinds = {}
    for role in ("military", "atc", "centre", "admin"):
        r = await client.post("/coordination/constraints", headers=auth(await make_token(role)), json=_body())
        assert r.status_code == 201, r.text
        kinds[role] = (r.json()["authority"], r.json()["kind"], r.json()["constraint_id"][:3])
    assert kinds == {"military": ("military", "military_activation", "MIL"), "atc": ("atc", "atc_notice", "ATC"),
                     "centre": ("local", "local_restriction", "LOC"), "admin": ("local", "local_restriction", "LOC")}
    r = await client.post("/coordination/constraints", headers=auth(await make_token("atc")),
                          json=_body(authority="military"))
    assert r.status_code == 403 and _field(r) == "authority"  # nobody speaks for another authority
    r = await client.post("/coordination/constraints", headers=auth(await make_token("admin")),
                          json=_body(authority="military"))
    assert r.status_code == 201 and r.json()["kind"] == "military_activation"


async def test_visibility_versions_and_cancellation(client: httpx.AsyncClient, make_token: Any) -> None:
    mil, atc, cen, op = [auth(await make_token(r)) for r in ("military", "atc", "centre", "operator")]
    m = (await client.post("/coordination/constraints", headers=mil, json=_body())).json()
    n = (await client.post("/coordination/constraints", headers=atc, json=_body(
        title="RWY 04 ops", purpose="runway 04 in use"))).json()
    for who in (atc, cen, op):
        seen = {c["constraint_id"]: c for c in (await client.get("/coordination/constraints", headers=who)).json()}
        assert seen[m["constraint_id"]]["purpose"] == "" and "演练" not in seen[m["constraint_id"]]["title"]
        assert seen[n["constraint_id"]]["purpose"] == "runway 04 in use"  # a notice is meant to be read
        h = (await client.get(f"/coordination/constraints/{m['constraint_id']}/history", headers=who))
        if who is op:
            assert h.status_code == 403
        else:
            assert "secret drill" not in h.text and "演练" not in h.text
    assert (await client.get("/coordination/constraints", headers=mil)).json()[0]["purpose"] in (
        "secret drill", "runway 04 in use")
    url = f"/coordination/constraints/{m['constraint_id']}/versions"
    assert (await client.post(url, headers=atc, json={"cancel": True})).status_code == 403
    r = await client.post(url, headers=mil, json={"floor": {"value_m": 10, "ref": "AGL"}})
    assert r.status_code == 422 and _field(r) == "ceiling"  # floor and ceiling change together
    r = await client.post(url, headers=mil, json={"cancel": True})
    assert r.status_code == 201 and r.json()["status"] == "cancelled" and r.json()["version"] == 2
    assert (await client.post(url, headers=mil, json={"cancel": True})).status_code == 409
    r = await client.post("/coordination/constraints/MIL-20260101-000000/versions", headers=mil, json={})
    assert r.status_code == 404
    r = await client.post("/coordination/constraints/not-an-id/versions", headers=mil, json={})
    assert r.status_code == 422
    layer = (await client.get("/airspace/restrictions?all=true", headers=op)).json()
    assert [f["id"] for f in layer["features"]] == [f"{n['constraint_id']}.v1"]  # the cancelled one is lifted
    every = (await client.get("/coordination/constraints?all=true", headers=cen)).json()
    assert {(c["constraint_id"], c["status"]) for c in every} == {
        (m["constraint_id"], "cancelled"), (n["constraint_id"], "active")}
    assert [c["constraint_id"] for c in (await client.get("/coordination/constraints", headers=cen)).json()] == [
        n["constraint_id"]]
