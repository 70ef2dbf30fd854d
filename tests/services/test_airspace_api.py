"""Airspace in PostGIS and over REST: round trip, restrictions taking effect at once, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import Restriction, RestrictionReason
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.services.airspace import AirspaceService
from lowalt.settings import DEFAULT_AIRSPACE
from lowalt.store.db import Database
from tests.conftest import auth

YAOLI_FIELDS = (117.5630, 29.4800)  # open W airspace south of Yaoli (see tests/airspace)
ZSJD = (117.1760, 29.3386)
DAY = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai


def _square(lon: float, lat: float, d: float = 0.01) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


async def test_round_trip_through_postgis_gives_same_answers(database: Database) -> None:
    from_files = AirspaceIndex(load_airspace(DEFAULT_AIRSPACE))
    svc = await AirspaceService.open(database, DEFAULT_AIRSPACE, from_files.terrain)
    assert svc.index.airspace.volumes == from_files.airspace.volumes
    assert svc.index.airspace.routes == from_files.airspace.routes
    assert svc.index.airspace.vertiports == from_files.airspace.vertiports
    rng = np.random.default_rng(3)
    n = 3000
    lon, lat = rng.uniform(116.9, 117.9, n), rng.uniform(29.0, 29.6, n)
    alt = rng.uniform(0, 800, n)
    for cat in ("light_uav", "evtol", "helicopter"):
        for t in (DAY, DAY + timedelta(hours=13)):
            a = from_files.classify(lon, lat, alt, AltitudeReference.AGL, cat, t)
            b = svc.index.classify(lon, lat, alt, AltitudeReference.AGL, cat, t)
            assert np.array_equal(a.verdict, b.verdict) and np.array_equal(a.reason, b.reason)
            assert a.responsible_ids() == b.responsible_ids()


async def test_restriction_persists_across_restart(database: Database) -> None:
    svc = await AirspaceService.open(database, DEFAULT_AIRSPACE, AirspaceIndex(load_airspace(DEFAULT_AIRSPACE)).terrain)
    from shapely.geometry import shape

    now = datetime.now(UTC)
    r = Restriction(id="TR-test", reason=RestrictionReason.POLICE, polygon=shape(_square(*YAOLI_FIELDS)),
                    floor=Altitude(0, AltitudeReference.AGL), ceiling=Altitude(500, AltitudeReference.AGL),
                    start=now, end=now + timedelta(hours=1), created_by="test")
    await svc.add_restriction(r)
    again = await AirspaceService.open(database, DEFAULT_AIRSPACE, svc.index.terrain)
    assert [x.id for x in again.index.restrictions] == ["TR-test"]
    assert again.index.restrictions[0] == r


async def test_collections_and_filters(client: httpx.AsyncClient, make_token: Any) -> None:
    viewer = await make_token("viewer")
    r = await client.get("/airspace/volumes", headers=auth(viewer))
    assert r.status_code == 200
    fc = r.json()
    ids = {f["id"] for f in fc["features"]}
    assert {"zsjd_core", "fl_w_layer", "chrdi_602"} <= ids
    assert all("active" in f["properties"] for f in fc["features"])
    small = await client.get("/airspace/volumes", params={"bbox": "117.55,29.45,117.60,29.52"}, headers=auth(viewer))
    assert "zsjd_core" not in {f["id"] for f in small.json()["features"]}
    routes = await client.get("/airspace/routes", params={"geometry": "corridor"}, headers=auth(viewer))
    assert routes.json()["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    pts = await client.get("/airspace/points", headers=auth(viewer))
    assert any(f["id"] == "fuliang_ga" for f in pts.json()["features"])
    bad = await client.get("/airspace/volumes", params={"at": "yesterday"}, headers=auth(viewer))
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("at:")
    assert (await client.get("/airspace/volumes")).status_code == 401


async def _query(client: httpx.AsyncClient, token: str, lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    params = {"lon": lon, "lat": lat, "alt": 60, "ref": "AGL", "category": "light_uav", **kw}
    r = await client.get("/airspace/query", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_restriction_takes_effect_at_once_and_lifts(client: httpx.AsyncClient, make_token: Any) -> None:
    centre, viewer = await make_token("centre"), await make_token("viewer")
    before = await _query(client, viewer, *YAOLI_FIELDS, at="2026-06-15T10:00:00+08:00")
    assert before["verdict"] == "allowed"
    zsjd = await _query(client, viewer, *ZSJD)
    assert zsjd["verdict"] == "forbidden"
    end = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    body = {"reason": "police", "geometry": _square(*YAOLI_FIELDS), "floor": {"value_m": 0, "ref": "AGL"},
            "ceiling": {"value_m": 300, "ref": "AGL"}, "end": end, "name_zh": "警务活动"}
    assert (await client.post("/airspace/restrictions", json=body, headers=auth(viewer))).status_code == 403
    r = await client.post("/airspace/restrictions", json=body, headers=auth(centre))
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    now_q = await _query(client, viewer, *YAOLI_FIELDS)
    assert (now_q["verdict"], now_q["reason"], now_q["volume"]) == ("forbidden", "temporary_restriction", rid)
    listed = await client.get("/airspace/restrictions", headers=auth(viewer))
    assert [f["id"] for f in listed.json()["features"]] == [rid]
    live = client.app.state.live  # type: ignore[attr-defined]
    assert live.intrusion_cache.version >= 1  # the monitor sees it on its next tick
    assert (await client.delete(f"/airspace/restrictions/{rid}", headers=auth(centre))).status_code == 200
    after = await _query(client, viewer, *YAOLI_FIELDS)
    assert after["reason"] != "temporary_restriction"
    assert (await client.delete(f"/airspace/restrictions/{rid}", headers=auth(centre))).status_code == 404


async def test_bad_restrictions_are_422_naming_the_field(client: httpx.AsyncClient, make_token: Any) -> None:
    centre = await make_token("centre")
    end = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    good = {"reason": "event", "geometry": _square(117.2, 29.3), "floor": {"value_m": 0, "ref": "AGL"},
            "ceiling": {"value_m": 300, "ref": "AGL"}, "end": end}
    bowtie = {"type": "Polygon", "coordinates": [[[117.2, 29.3], [117.3, 29.4], [117.3, 29.3], [117.2, 29.4],
                                                  [117.2, 29.3]]]}
    cases = [
        ({**good, "geometry": bowtie}, "geometry"),
        ({**good, "geometry": _square(29.3, 117.2)}, "geometry"),
        ({**good, "geometry": {"type": "Point", "coordinates": [117.2, 29.3]}}, "geometry"),
        ({**good, "end": "2020-01-01T00:00:00Z"}, "end"),
        ({**good, "floor": {"value_m": 400, "ref": "AGL"}}, "floor"),
        ({**good, "reason": "party"}, "reason"),
        ({**good, "floor": {"value_m": 0, "ref": "QNH"}}, "floor"),
    ]
    for body, fld in cases:
        r = await client.post("/airspace/restrictions", json=body, headers=auth(centre))
        assert r.status_code == 422, (fld, r.text)
        err = r.json()["error"]
        named = err["message"].startswith(fld) or any(fld in f["field"] for f in err.get("fields", []))
        assert named, (fld, err)
    bad_q = await client.get("/airspace/query", params={"lon": 117.2, "lat": 29.3, "alt": 50, "category": "ufo"},
                             headers=auth(centre))
    assert bad_q.status_code == 422 and "category" in bad_q.json()["error"]["fields"][0]["field"]
