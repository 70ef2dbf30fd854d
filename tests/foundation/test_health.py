"""/healthz reports the database honestly."""

from __future__ import annotations

import httpx

from lowalt.api.app import create_app
from lowalt.settings import Settings
from lowalt.store.db import Database, make_engine


async def test_healthz_up(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["database"] == "up"


async def test_healthz_down_is_503(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"postgresql+asyncpg://lowalt@/lowalt?host={tmp_path}&port=5432"  # no server there
    db = Database(engine=make_engine(url), url=url)
    app = create_app(Settings(), db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["database"] == "down"
        # an authenticated endpoint answers 503 (not 500) while the database is away
        r = await c.get("/me", headers={"Authorization": "Bearer lwt_x"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "unavailable"
    await db.close()


async def test_openapi_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert "/healthz" in r.json()["paths"]
    assert (await client.get("/docs")).status_code == 200
