"""The "must show" scenarios, end to end through the API on PostGIS and the real Fuliang data."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import auth, wait_until
from tests.filing.conftest import LUOJIA_ROUTE, WUYUAN_OUT, local_day, plan_body, soon


async def test_light_drone_in_open_w_airspace_is_approved_at_once(client: httpx.AsyncClient,
                                                                  operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    start = local_day(1, 10)  # 10:00 Asia/Shanghai tomorrow, filed at 09:50 (the service's clock)
    client.app.state.filing.clock = lambda: start - timedelta(minutes=10)  # type: ignore[attr-defined]
    r = await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=start))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["state"] == "approved"
    assert plan["decision"]["decided_at"] == (start - timedelta(minutes=10)).astimezone(UTC).isoformat()
    assert plan["decision"]["pathway"] == "no_application"
    assert plan["decision"]["reasons"] == []
    # committed: visible on a fresh read, with the audit trail submitted -> approved
    got = (await client.get(f"/plans/{plan['id']}", headers=op.headers)).json()
    assert got["state"] == "approved"
    assert [(e["from_state"], e["to_state"]) for e in got["events"]] == [(None, "submitted"),
                                                                        ("submitted", "approved")]


async def test_same_flight_through_luojia_is_rejected_with_reason_and_alternative(
        client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    r = await client.post("/plans", headers=op.headers, json=plan_body("FL-001", coords=LUOJIA_ROUTE))
    assert r.status_code == 201, r.text
    d = r.json()["decision"]
    assert r.json()["state"] == "rejected"
    forbidden = next(x for x in d["reasons"] if x["code"] == "airspace_forbidden")
    assert "zsjd_core" in {v["volume"] for v in forbidden["details"]["volumes"]}
    assert "ZSJD" in forbidden["message_en"] and "罗家机场" in forbidden["message_zh"]
    # a detour around the core stays in the protection area (an application): the nearest position
    # outside every closed and approval-only volume is offered instead, and it is approved as filed
    moved = next(a for a in d["alternatives"] if a["kind"] in ("route", "location"))
    assert moved["geometry"]["type"] == "LineString"
    assert "zsjd_core" in moved["avoids"] and moved["expected"] == "approved"
    again = plan_body("FL-001", coords=moved["geometry"]["coordinates"])
    if moved["kind"] == "location":
        again |= {"takeoff": moved["takeoff"], "landing": moved["landing"]}
    assert (await client.post("/plans", headers=op.headers, json=again)).json()["state"] == "approved"


async def test_overlap_in_space_only_is_approved_in_both_is_rejected(client: httpx.AsyncClient,
                                                                     operator_factory: Any) -> None:
    a = await operator_factory("运营商A", {"A-1": "light_uav"})
    b = await operator_factory("运营商B", {"B-1": "light_uav", "B-2": "light_uav"})
    start = soon(20)
    first = await client.post("/plans", headers=a.headers, json=plan_body("A-1", start=start, minutes=30))
    assert first.json()["state"] == "approved"
    later = await client.post("/plans", headers=b.headers, json=plan_body("B-1", start=start + timedelta(hours=2)))
    assert later.json()["state"] == "approved"
    clash = await client.post("/plans", headers=b.headers,
                              json=plan_body("B-2", start=start + timedelta(minutes=10), floor=50, ceiling=110))
    body = clash.json()
    assert body["state"] == "rejected"
    conflict = next(x for x in body["decision"]["reasons"] if x["code"] == "conflict")
    assert conflict["details"]["plans"] == ["another-organisation"]  # never whose plan (docs/security.md)
    kinds = {alt["kind"] for alt in body["decision"]["alternatives"]}
    assert "time" in kinds
    slot = next(alt for alt in body["decision"]["alternatives"] if alt["kind"] == "time")
    # the suggested slot really is free: filing it is approved
    retry = plan_body("B-2", start=start, floor=50, ceiling=110)
    retry["start"], retry["end"] = slot["start"], slot["end"]
    assert (await client.post("/plans", headers=b.headers, json=retry)).json()["state"] == "approved"


async def test_emergency_flight_displaces_commercial_and_operator_is_notified(
        client: httpx.AsyncClient, operator_factory: Any) -> None:
    tours = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    rescue = await operator_factory("景德镇急救中心", {"MED-1": "small_uav"})
    svc = client.app.state.filing  # type: ignore[attr-defined]
    start = soon(15)
    commercial = (await client.post("/plans", headers=tours.headers, json=plan_body("FL-001", start=start))).json()
    assert commercial["state"] == "approved"
    async with svc.notifier.subscribe() as queue:
        r = await client.post("/plans", headers=rescue.headers,
                              json=plan_body("MED-1", "small_uav", start=start, mission="medical", urgent=True,
                                             licence_id="CAAC-UAS-0001"))
        emergency = r.json()
        assert emergency["state"] == "approved", emergency["decision"]
        assert emergency["decision"]["preempts"] == ["another-organisation"]  # not whose (docs/security.md)
        events = [queue.get_nowait() for _ in range(queue.qsize())]
    to_tours = [e for e in events if e.organisation == "浮梁文旅"]
    assert [(e.kind, e.plan_id, e.to_state) for e in to_tours] == [
        ("plan_state", commercial["id"], "withdrawn"), ("plan_preempted", commercial["id"], "withdrawn")]  # #19
    assert to_tours[0].details["preempted_by"] == emergency["id"]
    got = (await client.get(f"/plans/{commercial['id']}", headers=tours.headers)).json()
    assert got["state"] == "withdrawn"
    assert got["events"][-1]["to_state"] == "withdrawn" and "preempted" in got["events"][-1]["reason"]
    alts = got["decision"]["withdrawn"]["alternatives"]
    assert alts and alts[0]["kind"] == "time"


async def test_corridor_outside_release_hours_is_refused_with_the_hours(client: httpx.AsyncClient,
                                                                       operator_factory: Any) -> None:
    op = await operator_factory("景德镇物流", {"LOG-7": "medium_uav"})
    night = plan_body("LOG-7", "medium_uav", coords=WUYUAN_OUT, start=local_day(2, 23), floor=160, ceiling=190,
                      mission="logistics", licence_id="CAAC-UAS-0007", half_width_m=100)
    r = (await client.post("/plans", headers=op.headers, json=night)).json()
    # outside its release hours the route gives no privilege: the best lawful pathway is an ordinary
    # application (filed two days ahead: referred), and the decision says why the route was not used
    assert r["state"] == "referred" and r["decision"]["pathway"] == "standard"
    route = next(x for x in r["decision"]["pathways"] if x["pathway"] == "long_term_corridor")
    assert route["applied"] is False and route["verdict"] == "rejected"
    closed = next(x for x in route["reasons"] if x["code"] == "corridor_closed")
    assert "06:00-22:00" in closed["message_en"] and "06:00-22:00" in closed["message_zh"]
    assert "06:00-22:00" in route["message_zh"]
    assert any(a["kind"] == "time" and a["expected"] == "approved" for a in r["decision"]["alternatives"])
    day = {**night, "start": local_day(2, 10).isoformat(), "end": local_day(2, 10, 30).isoformat()}
    ok = (await client.post("/plans", headers=op.headers, json=day)).json()
    assert ok["state"] == "approved", ok["decision"]
    assert ok["decision"]["pathway"] == "long_term_corridor"


async def test_referred_plan_waits_for_the_centre(client: httpx.AsyncClient, operator_factory: Any,
                                                  make_token: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    centre = await make_token("centre", organisation="景德镇通航协调运行中心")
    high = plan_body("FL-001", start=local_day(2, 10), floor=150, ceiling=200)
    r = (await client.post("/plans", headers=op.headers, json=high)).json()
    assert r["state"] == "referred"
    assert {"airspace_needs_approval", "above_suitable_airspace"} <= {x["code"] for x in r["decision"]["reasons"]}
    denied = await client.post(f"/plans/{r['id']}/approve", headers=op.headers, json={"comment": "me"})
    assert denied.status_code == 403
    ok = await client.post(f"/plans/{r['id']}/approve", headers=auth(centre), json={"comment": "协调完毕"})
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    again = await client.post(f"/plans/{r['id']}/approve", headers=auth(centre), json={"comment": "x"})
    assert again.status_code == 409
    trail = (await client.get(f"/plans/{r['id']}", headers=auth(centre))).json()["events"]
    assert trail[-1]["from_state"] == "referred" and trail[-1]["to_state"] == "approved"
    assert trail[-1]["reason"] == "协调完毕" and trail[-1]["by"].startswith("centre")


async def test_operators_see_and_cancel_only_their_own(client: httpx.AsyncClient, operator_factory: Any,
                                                       make_token: Any) -> None:
    a = await operator_factory("运营商A", {"A-1": "light_uav"})
    b = await operator_factory("运营商B", {"B-1": "light_uav"})
    centre = await make_token("centre")
    pa = (await client.post("/plans", headers=a.headers, json=plan_body("A-1"))).json()
    pb = (await client.post("/plans", headers=b.headers, json=plan_body("B-1", start=soon(200)))).json()
    assert (await client.get(f"/plans/{pa['id']}", headers=b.headers)).status_code == 404
    assert (await client.post(f"/plans/{pa['id']}/cancel", headers=b.headers, json={})).status_code == 404
    assert [p["id"] for p in (await client.get("/plans", headers=b.headers)).json()] == [pb["id"]]
    everyone = (await client.get("/plans", headers=auth(centre))).json()
    assert {p["id"] for p in everyone} == {pa["id"], pb["id"]}
    filtered = (await client.get("/plans", headers=auth(centre),
                                 params={"state": "approved", "bbox": "117.5,29.2,117.7,29.4"})).json()
    assert len(filtered) == 2
    window = (await client.get("/plans", headers=auth(centre),
                               params={"start": pb["start"], "end": pb["end"]})).json()
    assert [p["id"] for p in window] == [pb["id"]]
    viewer = await make_token("viewer")
    assert (await client.post("/plans", headers=auth(viewer), json=plan_body("A-1"))).status_code == 403
    cancelled = await client.post(f"/plans/{pa['id']}/cancel", headers=a.headers, json={"reason": "rain"})
    assert cancelled.json()["state"] == "cancelled"
    # the airspace is free again: B can now take A's slot
    again = await client.post("/plans", headers=b.headers,
                              json={**plan_body("B-1"), "start": pa["start"], "end": pa["end"]})
    assert again.json()["state"] == "approved"


async def test_idempotency_key_returns_the_first_decision(client: httpx.AsyncClient,
                                                          operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    body = plan_body("FL-001")
    h = {**op.headers, "Idempotency-Key": "abc-123"}
    first = await client.post("/plans", headers=h, json=body)
    second = await client.post("/plans", headers=h, json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.headers["idempotent-replayed"] == "true"
    assert len((await client.get("/plans", headers=op.headers)).json()) == 1


async def test_thunderstorm_warning_rejects_with_a_later_slot(client: httpx.AsyncClient, operator_factory: Any,
                                                              make_token: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    centre = await make_token("centre")
    start = soon(30)
    w = await client.post("/weather/warnings", headers=auth(centre), json={
        "kind": "thunderstorm", "start": soon(0).isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
        "text": "雷暴黄色预警"})
    assert w.status_code == 201, w.text
    r = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=start))).json()
    assert r["state"] == "rejected"
    assert "weather_thunderstorm" in {x["code"] for x in r["decision"]["reasons"]}
    alt = next(a for a in r["decision"]["alternatives"] if a["kind"] == "time")
    assert alt["start"] >= (start + timedelta(hours=1)).isoformat()[:16] or alt["shift_min"] < 0


async def test_a_catch_up_that_read_before_a_new_warning_keeps_it(client: httpx.AsyncClient, make_token: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # the periodic catch-up reads the warnings; one added on this node after that read (its commit after the
    # read's snapshot) must survive the catch-up, or plans are approved through a thunderstorm until the next
    svc = client.app.state.filing  # type: ignore[attr-defined]
    read = svc.repo.weather_warnings_after
    was_read, release = asyncio.Event(), asyncio.Event()

    async def read_then_wait(conn: Any, now: Any) -> Any:
        rows = await read(conn, now)
        was_read.set()
        await release.wait()
        return rows

    monkeypatch.setattr(svc.repo, "weather_warnings_after", read_then_wait)
    catch_up = asyncio.create_task(svc.sync_all())
    await asyncio.wait_for(was_read.wait(), 10)
    w = await client.post("/weather/warnings", headers=auth(await make_token("centre")), json={
        "kind": "thunderstorm", "start": soon(0).isoformat(), "end": soon(60).isoformat(), "text": "雷暴黄色预警"})
    assert w.status_code == 201, w.text
    release.set()
    await asyncio.wait_for(catch_up, 10)
    assert w.json()["id"] in {x.id for x in svc.weather}


async def test_unregistered_or_suspended_aircraft_is_rejected(client: httpx.AsyncClient, operator_factory: Any,
                                                              database: Any) -> None:
    from lowalt.store import filing_repo

    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    r = (await client.post("/plans", headers=op.headers, json=plan_body("NOPE-9"))).json()
    assert "aircraft_unregistered" in {x["code"] for x in r["decision"]["reasons"]}
    async with database.unit_of_work() as uow:
        await filing_repo.set_suspended(uow.conn, aircraft_id="FL-001")
        await uow.commit()
    refused = await client.post("/plans", headers=op.headers, json=plan_body("FL-001"))  # refused unfiled (#15)
    assert refused.status_code == 409 and refused.json()["error"]["fields"][0]["field"] == "aircraft_id"
    r = {"submitted_by": (await client.get("/me", headers=op.headers)).json()["name"]}
    async with database.unit_of_work() as uow:
        await filing_repo.set_suspended(uow.conn, aircraft_id="FL-001", suspended=False)
        await filing_repo.set_suspended(uow.conn, user_name=r["submitted_by"])
        await uow.commit()
    r = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001"))).json()
    assert [x["code"] for x in r["decision"]["reasons"]] == ["operator_suspended"]


async def test_database_down_answers_503_and_approves_nothing(client: httpx.AsyncClient,
                                                              operator_factory: Any) -> None:
    from lowalt.store.db import Database, make_engine

    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    svc = client.app.state.filing  # type: ignore[attr-defined]
    real = svc.db
    dead = "postgresql+asyncpg://nobody:x@127.0.0.1:1/none"
    svc.db = Database(engine=make_engine(dead), url=dead)
    try:
        r = await client.post("/plans", headers=op.headers, json=plan_body("FL-001"))
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
        assert len(svc.index) == 0
    finally:
        await svc.db.close()
        svc.db = real
    assert (await client.get("/plans", headers=op.headers)).json() == []


async def test_restart_rebuilds_the_index_from_postgis(client: httpx.AsyncClient, operator_factory: Any,
                                                       database: Any, settings: Any) -> None:
    from lowalt.services.filing import build_filing_service

    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    p = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001"))).json()
    fresh = await build_filing_service(settings, database)
    assert p["id"] in fresh.index


async def test_new_restriction_withdraws_approved_plan_and_offers_alternative(
        client: httpx.AsyncClient, operator_factory: Any) -> None:
    from datetime import UTC, datetime

    from shapely.geometry import box

    from lowalt.airspace.model import Restriction, RestrictionReason
    from lowalt.filing.service import Filer
    from lowalt.geo.altitude import agl

    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    p = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=soon(30)))).json()
    assert p["state"] == "approved"
    r = Restriction(id="TR-test-1", reason=RestrictionReason.EVENT, polygon=box(117.612, 29.30, 117.618, 29.33),
                    floor=agl(0), ceiling=agl(500), start=datetime.now(UTC), end=soon(120), created_by="centre-1")
    app = client.app  # type: ignore[attr-defined]
    airspace = getattr(app.state, "airspace", None)
    if airspace is not None and hasattr(airspace, "add_restriction"):
        await airspace.add_restriction(r)  # the airspace part's service notifies filing
    else:
        await app.state.filing.apply_restriction(r, Filer("centre-1", None, True))

    async def withdrawn() -> dict[str, Any] | None:
        got: dict[str, Any] = (await client.get(f"/plans/{p['id']}", headers=op.headers)).json()
        return got if got["state"] == "withdrawn" else None

    got = await wait_until(withdrawn, timeout=10, what="the plan to be withdrawn")
    assert got["decision"]["withdrawn"]["restriction"] == "TR-test-1"
    assert got["decision"]["withdrawn"]["alternatives"]
    again = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=soon(30)))).json()
    assert again["state"] == "rejected"
    assert "airspace_forbidden" in {x["code"] for x in again["decision"]["reasons"]}


async def test_readiness_activation_and_completion(client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav", "FL-002": "light_uav"})
    p = (await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=soon(10)))).json()
    early = (await client.post("/plans", headers=op.headers,
                               json=plan_body("FL-002", start=local_day(3, 10)))).json()
    refused = await client.post(f"/plans/{early['id']}/activate", headers=op.headers)
    assert refused.status_code == 409 and "Art. 30" in refused.json()["error"]["message"]
    assert (await client.post(f"/plans/{p['id']}/activate", headers=op.headers)).json()["state"] == "active"
    assert (await client.post(f"/plans/{p['id']}/cancel", headers=op.headers, json={})).status_code == 409
    assert (await client.post(f"/plans/{p['id']}/complete", headers=op.headers)).json()["state"] == "completed"
    trail = (await client.get(f"/plans/{p['id']}", headers=op.headers)).json()["events"]
    assert [e["to_state"] for e in trail] == ["submitted", "approved", "active", "completed"]
    assert all(e["by"] and e["at"] for e in trail)


async def test_concurrent_filings_for_the_same_airspace_approve_exactly_one(
        client: httpx.AsyncClient, operator_factory: Any) -> None:
    import asyncio

    ops = [await operator_factory(f"运营商{k}", {f"C-{k}": "light_uav"}) for k in range(5)]
    start = soon(40)
    results = await asyncio.gather(*[client.post("/plans", headers=op.headers,
                                                 json=plan_body(f"C-{k}", start=start))
                                     for k, op in enumerate(ops)])
    states = sorted(r.json()["state"] for r in results)
    assert states == ["approved", "rejected", "rejected", "rejected", "rejected"]
