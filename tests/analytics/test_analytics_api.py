"""``/analytics/*`` on the app with a real PostGIS: who sees what, CSV equal to JSON, every bad input a 422
naming its field, window limits on both sides."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.analytics import history as hist
from tests.analytics.history import T0
from tests.conftest import auth

WIDE = {"from": (T0 - timedelta(hours=4)).isoformat(), "to": (T0 + timedelta(hours=8)).isoformat()}
AIRSPACE = ("takeoff-points", "corridors", "cells", "demand")
RATINGS = ("filing", "operators")


@pytest.fixture
async def seeded(client: httpx.AsyncClient, make_token: Any) -> dict[str, dict[str, str]]:
    h = hist.build()
    async with client.app.state.db.unit_of_work() as uow:  # type: ignore[attr-defined]
        await hist.store(uow.conn, h)
        await uow.commit()
    await hist.roll_all(client.app.state.db)  # type: ignore[attr-defined]  # the separation is read from roll-ups
    return {"centre": auth(await make_token("centre")), "viewer": auth(await make_token("viewer")),
            "org-a": auth(await make_token("operator", organisation="org-a")),
            "org-b": auth(await make_token("operator", organisation="org-b")),
            "no-org": auth(await make_token("operator")), "device": auth(await make_token("device"))}


def _params(measure: str) -> dict[str, str]:
    return {"from": WIDE["from"], "hours": "24"} if measure == "demand" else dict(WIDE)


async def test_roles_against_every_measure(client: httpx.AsyncClient, seeded: dict[str, dict[str, str]]) -> None:
    for measure in AIRSPACE + RATINGS:
        url = f"/analytics/{measure}"
        assert (await client.get(url, params=_params(measure))).status_code == 401
        assert (await client.get(url, params=_params(measure), headers=seeded["device"])).status_code == 403
        for who in ("centre", "org-a"):
            r = await client.get(url, params=_params(measure), headers=seeded[who])
            assert r.status_code == 200, (measure, who, r.text)
        viewer = await client.get(url, params=_params(measure), headers=seeded["viewer"])
        assert viewer.status_code == (200 if measure in AIRSPACE else 403), measure
        r = await client.get(url, params=_params(measure), headers=seeded["no-org"])
        assert r.status_code == 403 and "organisation" in r.json()["error"]["message"]


async def test_operators_see_their_own_measures_only(client: httpx.AsyncClient,
                                                     seeded: dict[str, dict[str, str]]) -> None:
    h = hist.build()
    start, end = T0 - timedelta(hours=4), T0 + timedelta(hours=8)
    every = (await client.get("/analytics/operators", params=WIDE, headers=seeded["centre"])).json()
    assert {o["organisation"] for o in every["operators"]} == {"org-a", "org-b"}
    for org in ("org-a", "org-b"):
        mine = (await client.get("/analytics/operators", params=WIDE, headers=seeded[org])).json()["operators"]
        assert [o["organisation"] for o in mine] == [org]
        flights, hours, alerts, deviations, _conforming = hist.expected_operators(h, start, end, org)[org]
        assert (mine[0]["flights"], mine[0]["alerts"], mine[0]["deviations"]) == (flights, alerts, deviations)
        assert mine[0]["flight_hours"] == pytest.approx(hours)
        cells = (await client.get("/analytics/cells", params=WIDE, headers=seeded[org])).json()["cells"]
        exp = hist.expected_cells(h, start, end, org)
        assert {(c["cx"], c["cy"]) for c in cells} == set(exp)
        hours_ = (await client.get("/analytics/corridors", params=WIDE, headers=seeded[org])).json()["hours"]
        sep = hist.expected_separation(h, start, end, org)
        assert {h_["hour"]: (h_["separation_samples"], h_["p95_separation_m"], h_["loss_of_separation_s"])
                for h_ in hours_ if h_["separation_samples"]} == {
            k.isoformat().replace("+00:00", "Z"): (n, p95, lost) for k, (n, _mean, p95, lost) in sep.items()}
        filing = (await client.get("/analytics/filing", params=WIDE, headers=seeded[org])).json()
        assert {a["kind"]: (a["offered"], a["accepted"]) for a in filing["alternatives"]} == (
            hist.expected_alternatives(h, start, end, org))
        counts, _times, _reasons = hist.expected_filing(h, start, end, org)
        assert sum(d["decisions"] for d in filing["decisions"]) == sum(counts.values())
    all_cells = (await client.get("/analytics/cells", params=WIDE, headers=seeded["centre"])).json()["cells"]
    assert {(c["cx"], c["cy"]) for c in all_cells} == set(hist.expected_cells(h, start, end, None))


async def test_csv_is_the_json_rows(client: httpx.AsyncClient, seeded: dict[str, dict[str, str]]) -> None:
    keys = {"takeoff-points": "slots", "corridors": "hours", "cells": "cells", "operators": "operators",
            "demand": "slots"}
    for measure, key in keys.items():
        js = (await client.get(f"/analytics/{measure}", params=_params(measure), headers=seeded["centre"])).json()
        r = await client.get(f"/analytics/{measure}", params={**_params(measure), "format": "csv"},
                             headers=seeded["centre"])
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == len(js[key]) > 0, measure
        assert list(rows[0]) == list(js[key][0]), measure
        assert str(rows[0][list(rows[0])[0]]) == str(js[key][0][list(rows[0])[0]])
    for table in ("decisions", "times", "referrals", "alternatives"):
        js = (await client.get("/analytics/filing", params=WIDE, headers=seeded["centre"])).json()
        r = await client.get("/analytics/filing", params={**WIDE, "format": "csv", "table": table},
                             headers=seeded["centre"])
        assert len(list(csv.DictReader(io.StringIO(r.text)))) == len(js[table]) > 0


async def _field_of(client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str]) -> str:
    r = await client.get(url, params=params, headers=headers)
    assert r.status_code == 422, r.text
    return str(r.json()["error"]["fields"][0]["field"])


async def test_bad_inputs_name_their_field_and_limits_hold_on_both_sides(
        client: httpx.AsyncClient, seeded: dict[str, dict[str, str]]) -> None:
    c = seeded["centre"]
    url = "/analytics/cells"
    start = T0
    week, over = start + timedelta(days=7), start + timedelta(days=7, seconds=1)
    assert (await client.get(url, params={"from": start.isoformat(), "to": week.isoformat()}, headers=c)
            ).status_code == 200
    assert await _field_of(client, url, {"from": start.isoformat(), "to": over.isoformat()}, c) == "to"
    assert await _field_of(client, url, {"from": start.isoformat(), "to": start.isoformat()}, c) == "to"
    assert await _field_of(client, url, {"from": "2026-11-24T10:00:00", "to": week.isoformat()}, c) == "query.from"
    assert await _field_of(client, url, {"from": "yesterday", "to": week.isoformat()}, c) == "query.from"
    assert await _field_of(client, url, {"to": week.isoformat()}, c) == "query.from"
    assert await _field_of(client, url, {**WIDE, "format": "xlsx"}, c) == "query.format"
    assert await _field_of(client, "/analytics/filing", {**WIDE, "table": "x"}, c) == "query.table"
    for year, ok in (("1999-12-31T23:59:59Z", False), ("2000-01-01T00:00:00Z", True)):
        r = await client.get(url, params={"from": year, "to": "2000-01-02T00:00:00Z"}, headers=c)
        assert (r.status_code == 200) is ok and (ok or r.json()["error"]["fields"][0]["field"] == "from")
    for year, ok in (("2100-12-31T00:00:00Z", True), ("9999-12-31T23:00:00Z", False)):
        r = await client.get("/analytics/demand", params={"from": year}, headers=c)
        assert (r.status_code == 200) is ok, (year, r.text)
    assert await _field_of(client, url, {"from": "2100-12-31T00:00:00Z", "to": "2101-01-01T00:00:00Z"}, c) == "to"
    for hours, ok in (("0", False), ("1", True), ("24", True), ("25", False)):
        r = await client.get("/analytics/demand", params={"hours": hours}, headers=c)
        assert (r.status_code == 200) is ok, (hours, r.text)
        if not ok:
            assert r.json()["error"]["fields"][0]["field"] == "query.hours"


async def test_peaks_and_demand_shapes(client: httpx.AsyncClient, seeded: dict[str, dict[str, str]]) -> None:
    h = hist.build()
    tp = (await client.get("/analytics/takeoff-points", params=WIDE, headers=seeded["centre"])).json()
    assert {p["point_id"] for p in tp["peaks"]} == {s["point_id"] for s in tp["slots"]}
    for p in tp["peaks"]:
        per_hour: dict[str, int] = {}
        for s in tp["slots"]:
            if s["point_id"] == p["point_id"]:
                hour = s["slot"][:13]
                per_hour[hour] = per_hour.get(hour, 0) + s["booked"]
        assert p["booked"] == max(per_hour.values())
        assert p["hour"][:13] == min(k for k, v in per_hour.items() if v == p["booked"])
    now = T0 + timedelta(minutes=15)
    d = (await client.get("/analytics/demand", params={"from": now.isoformat()}, headers=seeded["viewer"])).json()
    exp = hist.expected_demand(h, now, now + timedelta(hours=24))
    assert sum(s["booked"] for s in d["slots"] if s["point_id"] in hist.PORTS) == sum(exp.values())
    assert any(s["saturated"] and s["next_free_slot"] for s in d["slots"])
