"""QGIS-friendly PostGIS: GDAL/OGR (what QGIS reads PostGIS with) sees one geometry type per view,
an integer key and flat columns; every table has a primary key."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import Restriction, RestrictionReason
from lowalt.geo.altitude import agl
from lowalt.settings import DEFAULT_AIRSPACE
from lowalt.store import airspace_repo
from lowalt.store.db import Database
from tests.airspace.conftest import box, local_time

LAYERS = {  # view -> geometry type as ogrinfo names it
    "gis_airspace_volumes": "Multi Polygon",
    "gis_airspace_routes": "Multi Line String",
    "gis_airspace_points": "Point",
    "gis_restrictions": "Multi Polygon",
    "gis_plan_areas": "Multi Polygon",
    "gis_plan_routes": "Multi Line String",
}
FLAT = {"fid", "id", "name_zh", "name_en", "schedule_text"}
LIMITS = {"floor_m", "floor_ref", "ceiling_m", "ceiling_ref", "floor_text", "ceiling_text"}  # not on points


def _ogr_source(db: Database) -> str:
    url = make_url(db.url)
    host = url.query.get("host") or url.host or "localhost"
    return f"PG:host={host} port={url.port or 5432} dbname={url.database} user={url.username}"


def _ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
async def seeded(database: Database) -> Database:
    start = local_time(2026, 6, 15, 10)
    async with database.unit_of_work() as uow:
        await airspace_repo.replace_airspace(uow.conn, load_airspace(DEFAULT_AIRSPACE))
        await airspace_repo.insert_restriction(uow.conn, Restriction(
            "TR-gis-1", RestrictionReason.EVENT, box(117.19, 29.29, 117.21, 29.31), agl(0), agl(300), start,
            start + timedelta(hours=2), "centre-1", "瓷博会", "porcelain fair"))
        await uow.commit()
    return database


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed (scripts/bootstrap.sh does)")
async def test_ogrinfo_reads_one_geometry_type_per_view_with_flat_columns(seeded: Database) -> None:
    source = _ogr_source(seeded)
    listing = await asyncio.to_thread(_ogrinfo, "-so", f"{source} tables={','.join(LAYERS)}")
    for view, geometry in LAYERS.items():
        assert re.search(rf"^\d+: {view} \({geometry}\)$", listing, re.M), listing
    for view in LAYERS:
        summary = await asyncio.to_thread(_ogrinfo, "-so", source, view)
        fields = set(re.findall(r"^(\w+): (?:Integer64|Integer|Real|String|DateTime)", summary, re.M))
        expected = FLAT | (set() if view == "gis_airspace_points" else LIMITS)
        if view.startswith("gis_plan"):
            expected -= {"name_zh", "name_en"}  # plans have an id, an aircraft and a mission instead
        assert expected <= fields, (view, expected - fields)
        assert "EPSG\",4326" in summary
    volumes = await asyncio.to_thread(_ogrinfo, "-so", source, "gis_airspace_volumes")
    assert int(re.search(r"Feature Count: (\d+)", volumes).group(1)) >= 10  # type: ignore[union-attr]
    one = await asyncio.to_thread(_ogrinfo, "-q", "-where", "id = 'changhe_plant'", source, "gis_airspace_volumes")
    assert "name_zh (String) = 昌河飞机工业厂区限制区" in one and "floor_text (String) = 0.0 m AGL" in one
    assert "schedule_text (String) = always" in one and "MULTIPOLYGON" in one
    fair = await asyncio.to_thread(_ogrinfo, "-q", source, "gis_restrictions")
    assert "name_zh (String) = 瓷博会" in fair and "schedule_text (String) = on 2026-06-15T02:00Z to" in fair
    pad = await asyncio.to_thread(_ogrinfo, "-q", "-where", "id = 'fuliang_ga'", source, "gis_airspace_points")
    assert "schedule_text (String) = MON,TUE,WED,THU,FRI,SAT,SUN 08:00-18:00 (Asia/Shanghai)" in pad


async def test_every_table_has_a_primary_key_and_view_keys_are_unique(seeded: Database) -> None:
    async with seeded.unit_of_work() as uow:
        keyless = (await uow.conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')"))).scalars().all()
        assert keyless == []
        for view in LAYERS:
            total, distinct = (await uow.conn.execute(text(
                f"SELECT count(*), count(DISTINCT fid) FROM {view}"))).one()
            assert total == distinct, view


async def test_geojson_endpoints_answer_geo_json(client: Any, make_token: Any) -> None:
    viewer = {"Authorization": f"Bearer {await make_token('viewer')}"}
    for path in ("/airspace/volumes", "/airspace/points", "/airspace/routes", "/airspace/restrictions", "/tracks",
                 "/tracks/NOBODY/history"):
        r = await client.get(path, headers=viewer)
        assert r.headers["content-type"] == "application/geo+json", (path, r.status_code, r.headers)
        if r.status_code == 200:
            assert r.json()["type"] == "FeatureCollection"
    assert (await client.get("/airspace/ed269", headers=viewer)).headers["content-type"] == "application/json"
