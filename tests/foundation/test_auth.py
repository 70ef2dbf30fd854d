"""Tokens and roles: 401 without a valid token, 403 for a wrong role, tokens never stored in clear."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from lowalt.store.db import Database
from lowalt.store.tables import api_tokens
from tests.conftest import auth


async def test_no_token_is_401_with_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/users")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


async def test_bad_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers=auth("lwt_not-a-real-token"))
    assert r.status_code == 401
    assert "invalid" in r.json()["error"]["message"]


async def test_wrong_role_is_403_right_role_200(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    viewer = await make_token("viewer")
    admin = await make_token("admin")
    r = await client.get("/admin/users", headers=auth(viewer))
    assert r.status_code == 403
    assert "admin" in r.json()["error"]["message"]
    r = await client.get("/admin/users", headers=auth(admin))
    assert r.status_code == 200
    assert {u["role"] for u in r.json()} == {"viewer", "admin"}
    me = await client.get("/me", headers=auth(viewer))
    assert me.status_code == 200 and me.json()["role"] == "viewer"


async def test_admin_creates_user_and_token_works(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    admin = await make_token("admin")
    r = await client.post("/admin/users", headers=auth(admin),
                          json={"name": "fuliang-tours", "role": "operator", "organisation": "浮梁文旅"})
    assert r.status_code == 201
    token = r.json()["token"]
    me = await client.get("/me", headers=auth(token))
    assert me.json() == {"name": "fuliang-tours", "role": "operator", "organisation": "浮梁文旅"}
    dup = await client.post("/admin/users", headers=auth(admin), json={"name": "fuliang-tours", "role": "viewer"})
    assert dup.status_code == 409


async def test_tokens_are_not_stored_in_clear(database: Database, make_token) -> None:  # type: ignore[no-untyped-def]
    token = await make_token("centre")
    async with database.unit_of_work() as uow:
        hashes = (await uow.conn.execute(select(api_tokens.c.token_hash))).scalars().all()
        dump = (await uow.conn.execute(text("SELECT string_agg(t::text, '|') FROM api_tokens t"))).scalar_one()
    assert len(hashes) == 1 and len(hashes[0]) == 32
    assert token not in dump
    assert token[4:].encode() not in hashes[0]


async def test_validation_error_names_the_field(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    admin = await make_token("admin")
    r = await client.post("/admin/users", headers=auth(admin), json={"name": "x", "role": "pilot"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "body.role"
    r = await client.post("/admin/users", headers={**auth(admin), "content-type": "application/json"},
                          content=b"{not json")
    assert r.status_code == 422
    assert "error" in r.json()


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
