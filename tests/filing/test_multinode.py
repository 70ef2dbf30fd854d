"""Filing on several nodes over one PostGIS: serialised per area by advisory locks, parallel elsewhere.

Two apps on the same database are two nodes (each its own FilingService, index and asyncio loop
state); a ``lowalt serve`` subprocess is a node that can be killed for real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from shapely.geometry import LineString
from sqlalchemy import text

from lowalt.airspace.geojson import load_airspace
from lowalt.filing.deconfliction import cell_keys
from lowalt.filing.model import footprint
from lowalt.launch import start_serve
from lowalt.settings import DEFAULT_AIRSPACE, Settings
from lowalt.store import aircraft_repo, filing_repo
from lowalt.store.db import Database, make_engine
from tests.conftest import Server, auth, serving, wait_until
from tests.filing.conftest import local_day, plan_body, soon

ORG = "多节点通航"
SPREAD = [  # open W airspace south-east of Jingdezhen, each route > 4 km from the others and clear of every
    # volume with a schedule (the Fuliang GA traffic zone is controlled 08:00-18:00 local only): a filing's pathway
    # must not depend on the hour the suite runs (it did, and CI run at 07:xx Beijing refused two of them)
    [[117.30 + 0.05 * i, 29.02 + 0.05 * j], [117.31 + 0.05 * i, 29.025 + 0.05 * j]] for i in range(5) for j in range(4)]


def test_the_spread_areas_touch_no_scheduled_volume() -> None:
    """Guard for the fixture above: every SPREAD route (plus its half-width) misses every scheduled volume."""
    scheduled = [v for v in load_airspace(DEFAULT_AIRSPACE).volumes if v.schedule is not None]
    assert scheduled, "the default airspace has scheduled volumes (else this guard checks nothing)"
    for coords in SPREAD:
        route = LineString(coords).buffer(0.001)  # ~100 m in degrees: wider than the 50 m half-width
        assert not [v.id for v in scheduled if v.polygon.intersects(route)], coords


async def _register(database: Database, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{k:03d}" for k in range(n)]
    async with database.unit_of_work() as uow:
        for a in ids:
            await aircraft_repo.add_aircraft(uow.conn, a, category="light_uav", organisation=ORG)
        await uow.commit()
    return ids


async def _two_nodes(stack: AsyncExitStack, database: Database, settings: Settings) -> list[Server]:
    """Two apps on one database, each with its own connection pool, as two processes would have (a
    shared pool made 200 concurrent requests wait on each other's connections on a loaded machine)."""
    from lowalt.api.app import create_app

    second = Database(engine=make_engine(database.url), url=database.url)
    stack.push_async_callback(second.close, stop_cluster=False)  # after both servers stopped
    return [await stack.enter_async_context(serving(create_app(replace(settings, tick_s=1.0), db=db)))
            for db in (database, second)]


async def _file_all(nodes: list[Server], headers: dict[str, str], bodies: list[dict[str, Any]]
                    ) -> list[httpx.Response]:
    async def one(k: int, body: dict[str, Any]) -> httpx.Response:
        return await nodes[k % len(nodes)].http.post("/plans", json=body, headers=headers, timeout=120)

    return list(await asyncio.gather(*(one(k, b) for k, b in enumerate(bodies))))


async def _states(database: Database) -> Counter[str]:
    async with database.unit_of_work() as uow:
        rows = (await uow.conn.execute(text("SELECT state, count(*) FROM plans GROUP BY state"))).all()
    return Counter({str(s): int(n) for s, n in rows})


async def test_200_conflicting_filings_over_two_nodes_approve_exactly_one(
        database: Database, settings: Settings, make_token: Any) -> None:
    token = await make_token("operator", organisation=ORG)
    aircraft = await _register(database, 200, "MN")
    start = soon(30)
    bodies = [plan_body(a, start=start) for a in aircraft]  # the same route, band and window: all conflict
    async with AsyncExitStack() as stack:
        nodes = await _two_nodes(stack, database, settings)
        responses = await _file_all(nodes, auth(token), bodies)
        assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201][:3]
        plans = [r.json() for r in responses]
        approved = [p for p in plans if p["state"] == "approved"]
        assert len(approved) == 1, Counter(p["state"] for p in plans)
        for p in plans:
            if p["state"] != "approved":  # rejected (or referred) for the conflict, with the reason
                codes = {r["code"] for r in p["decision"]["reasons"]}
                assert p["state"] in ("rejected", "referred") and codes & {"conflict", "conflict_active_flight"}, p
        assert (await _states(database))["approved"] == 1  # what PostGIS holds, not only what was answered
        winner = approved[0]["id"]
        # both nodes' pictures (live monitor, alternatives) hold the winner: the loser's by NOTIFY or catch-up
        for n in nodes:
            svc: Any = n.app.state.filing  # type: ignore[attr-defined]

            async def held(svc: Any = svc) -> bool:
                return winner in svc.held

            await wait_until(held, 30, "both nodes hold the approved plan")


@pytest.mark.skip(reason="a demonstration, not a gate: whether unlocked filings interleave depends on the machine's load")
async def test_without_the_locks_two_nodes_approve_the_same_airspace_twice(
        database: Database, settings: Settings, make_token: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: with the advisory locks taken away, conflicting filings both win."""
    async def no_lock(conn: Any, keys: Any) -> None:
        return None

    read = filing_repo.lock_and_read

    async def read_only(conn: Any, keys: Any, *args: Any) -> Any:
        return await read(conn, [], *args)

    monkeypatch.setattr(filing_repo, "lock_keys", no_lock)
    monkeypatch.setattr(filing_repo, "lock_and_read", read_only)
    token = await make_token("operator", organisation=ORG)
    aircraft = await _register(database, 40, "NL")
    start = soon(30)
    async with AsyncExitStack() as stack:
        nodes = await _two_nodes(stack, database, settings)
        responses = await _file_all(nodes, auth(token), [plan_body(a, start=start) for a in aircraft])
    assert sum(r.json()["state"] == "approved" for r in responses) > 1


async def test_filings_over_different_areas_proceed_in_parallel_and_are_all_approved(
        database: Database, settings: Settings, make_token: Any) -> None:
    token = await make_token("operator", organisation=ORG)
    aircraft = await _register(database, len(SPREAD), "PA")
    start = soon(30)
    bodies = [plan_body(a, start=start, coords=c) for a, c in zip(aircraft, SPREAD, strict=True)]
    async with AsyncExitStack() as stack:
        nodes = await _two_nodes(stack, database, settings)
        svc: Any = nodes[0].app.state.filing  # type: ignore[attr-defined]
        # different areas lock disjoint cells: nothing serialises them
        cells = [set(cell_keys(footprint(_plan(svc, b), svc.view.terrain).area, svc.policy.h_buffer_m))
                 for b in bodies]
        assert all(not (cells[i] & cells[j]) for i in range(len(cells)) for j in range(i))
        responses = await _file_all(nodes, auth(token), bodies)
    states = [r.json()["state"] for r in responses]
    assert states == ["approved"] * len(bodies), [(r.json()["state"], r.json()["decision"]["reasons"][:1])
                                                  for r in responses if r.json()["state"] != "approved"]


async def test_one_aircraft_filed_over_two_areas_on_two_nodes_is_booked_once(
        database: Database, settings: Settings, make_token: Any) -> None:
    """Bookings are read under the aircraft's lock: no two plans for one aircraft at one time, on any node."""
    token = await make_token("operator", organisation=ORG)
    (aid,) = await _register(database, 1, "BK")
    start = soon(30)
    bodies = [plan_body(aid, start=start, coords=c) for c in SPREAD[:12]]  # disjoint areas, one aircraft
    async with AsyncExitStack() as stack:
        nodes = await _two_nodes(stack, database, settings)
        plans = [r.json() for r in await _file_all(nodes, auth(token), bodies)]
    assert sum(p["state"] == "approved" for p in plans) == 1
    assert all({r["code"] for r in p["decision"]["reasons"]} & {"aircraft_busy"} for p in plans
               if p["state"] != "approved")


async def test_centre_approvals_on_two_nodes_take_the_airspace_once(
        database: Database, settings: Settings, make_token: Any) -> None:
    """Referred plans hold nothing; approving ten conflicting ones at once over two nodes approves one."""
    token = await make_token("operator", organisation=ORG)
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    aircraft = await _register(database, 10, "CA")
    start = soon(24 * 60 * 2)
    bodies = [plan_body(a, start=start, floor=150, ceiling=200) for a in aircraft]  # above W: referred
    async with AsyncExitStack() as stack:
        nodes = await _two_nodes(stack, database, settings)
        plans = [r.json() for r in await _file_all(nodes, auth(token), bodies)]
        assert {p["state"] for p in plans} == {"referred"}
        answers = await asyncio.gather(*(nodes[k % 2].http.post(f"/plans/{p['id']}/approve", headers=auth(centre),
                                                                json={"comment": "ok"}, timeout=120)
                                         for k, p in enumerate(plans)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9
    refused = [a.json()["error"] for a in answers if a.status_code == 409]
    assert all(e["code"] == "approval_refused" and {r["code"] for r in e["reasons"]} & {"conflict"}
               for e in refused), refused[:1]
    assert (await _states(database))["approved"] == 1


@pytest.mark.parametrize("listen", [True, False], ids=["notify", "version-check"])
async def test_other_nodes_picture_catches_up_by_notify_or_by_the_version_check(
        database: Database, make_token: Any, listen: bool) -> None:
    """Node B's in-memory picture (live monitor, alternatives) learns node A's approval and cancellation:
    by LISTEN/NOTIFY at once, or, with notifications lost, by the periodic version check."""
    from lowalt.airspace.geojson import load_airspace
    from lowalt.filing.policy import load_policy
    from lowalt.filing.service import Filer
    from lowalt.services.filing import filing_service
    from lowalt.settings import DEFAULT_AIRSPACE

    await make_token("operator", name="op-a", organisation=ORG)
    (aid,) = await _register(database, 1, "CU")
    aset, policy = load_airspace(DEFAULT_AIRSPACE), load_policy(DEFAULT_AIRSPACE / "policy.yaml")
    a, b = filing_service(database, aset, policy), filing_service(database, aset, policy)
    a.due_every_s = b.due_every_s = 0
    a.sync_every_s, b.sync_every_s = 3600, (3600 if listen else 0.2)  # each mechanism alone
    b.listen = listen
    await a.start()
    await b.start()
    try:
        body = plan_body(aid, start=soon(30))
        plan, _ = await a.submit(replace(_plan(a, body), id=uuid4().hex), Filer("op-a", ORG))
        assert plan.state.value == "approved"

        async def b_holds() -> bool:
            return plan.id in b.held

        await wait_until(b_holds, 30, "node B holds A's approval")
        await a.cancel(plan.id, Filer("op-a", ORG), "not flying")

        async def b_released() -> bool:
            return plan.id not in b.held and plan.id not in b.index

        await wait_until(b_released, 30, "node B released A's cancelled plan")
    finally:
        await a.stop()
        await b.stop()


def _plan(svc: Any, body: dict[str, Any]) -> Any:
    from datetime import datetime

    from shapely.geometry import LineString, Point

    from lowalt.airspace.model import AircraftCategory
    from lowalt.filing.model import FlightPlan, MissionType
    from lowalt.geo.altitude import agl

    line = LineString(body["geometry"]["coordinates"])
    return FlightPlan(id="x", organisation=ORG, submitted_by="t", aircraft_id=body["aircraft_id"],
                      category=AircraftCategory.LIGHT_UAV, pilot="p", licence_id=None, mission=MissionType.TOURISM,
                      geometry=line, half_width_m=50.0, floor=agl(0), ceiling=agl(100),
                      takeoff=Point(line.coords[0]), landing=Point(line.coords[-1]),
                      start=datetime.fromisoformat(body["start"]), end=datetime.fromisoformat(body["end"]))


async def test_node_killed_under_filing_load_loses_no_acknowledged_plan(
        database: Database, settings: Settings, make_token: Any, tmp_path: Path) -> None:
    token = await make_token("operator", organisation=ORG)
    aircraft = await _register(database, 400, "KL")
    node = start_serve({"LOWALT_DATABASE_URL": database.url, "LOWALT_DATA_DIR": str(tmp_path / "state"),
                        "LOWALT_LOG_JSON": "0"})
    acked: dict[str, str] = {}
    try:
        async with httpx.AsyncClient(base_url=node.url) as killed, AsyncExitStack() as stack:
            await node.wait_ready(timeout=90)
            other = (await _two_nodes(stack, database, settings))[0]
            start = soon(30)
            # 20 filings over each of 20 areas, spread over both nodes: conflicts across nodes too
            bodies = [plan_body(a, start=start, coords=SPREAD[k % len(SPREAD)]) for k, a in enumerate(aircraft)]
            queue = list(enumerate(bodies))

            async def filer() -> None:
                while queue:
                    k, body = queue.pop()
                    c = killed if k % 2 else other.http
                    try:
                        r = await c.post("/plans", json=body, headers=auth(token), timeout=60)
                    except httpx.HTTPError:
                        continue  # the killed node: never acknowledged
                    if r.status_code == 201:
                        acked[r.json()["id"]] = r.json()["state"]

            tasks = [asyncio.create_task(filer()) for _ in range(24)]

            async def some_acked() -> bool:
                return len(acked) >= 40

            await wait_until(some_acked, 120, "filings acknowledged on both nodes")
            node.kill()
            await asyncio.gather(*tasks)
            # the dead node's locks went with its connections: the surviving node still files everywhere
            fresh = await _register(database, len(SPREAD), "LT")
            # the day after tomorrow (Beijing), in open airspace: each is approved
            late = await _file_all([other], auth(token), [plan_body(a, start=local_day(2, 10), coords=c)
                                                          for a, c in zip(fresh, SPREAD, strict=True)])
            assert all(r.status_code == 201 and r.json()["state"] == "approved" for r in late), \
                [r.text[:300] for r in late]
    finally:
        if node.proc.poll() is None:
            node.kill()
    async with database.unit_of_work() as uow:
        rows: dict[str, str] = dict((await uow.conn.execute(text("SELECT id, state FROM plans WHERE id = ANY(:ids)"),
                                            {"ids": list(acked)})).all())
    assert len(acked) >= 40
    assert {k: rows.get(k) for k in acked} == acked  # every acknowledged plan, in the state acknowledged
