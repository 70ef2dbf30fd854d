"""lowalt.client against a real server (uvicorn on a loopback port, fresh PostGIS database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lowalt.client import AsyncClient, LowaltError, plan_request, with_alternative
from tests.conftest import Server, wait_until

OPEN_W_ROUTE = {"type": "LineString", "coordinates": [[117.60, 29.30], [117.63, 29.32]]}
LUOJIA_ROUTE = {"type": "LineString", "coordinates": [[117.14, 29.36], [117.21, 29.33]]}


def soon(minutes: float = 20) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


@pytest.fixture
async def operator(server: Server, make_token: Any) -> Any:
    async with AsyncClient(server.url, await make_token("operator", organisation="浮梁文旅")) as lw:
        yield lw


async def test_register_file_approved_and_fly_the_lifecycle(operator: AsyncClient) -> None:
    reg = await operator.register_aircraft("FL-001", "light_uav", registration="UAS-JX-0001")
    assert reg["organisation"] == "浮梁文旅"
    assert [(a["id"], a["registration"]) for a in await operator.aircraft()] == [("FL-001", "UAS-JX-0001")]
    start = soon()
    req = plan_request("FL-001", "light_uav", OPEN_W_ROUTE, pilot="张伟", mission="inspection", start=start,
                       end=start + timedelta(minutes=30), ceiling_m=120, half_width_m=50)
    plan = await operator.file_plan(req, idempotency_key="fl001-1")
    assert plan["state"] == "approved" and plan["decision"]["pathway"] == "no_application"
    assert (await operator.file_plan(req, idempotency_key="fl001-1"))["id"] == plan["id"]  # replayed
    got = await operator.plan(plan["id"])
    assert [e["to_state"] for e in got["events"]] == ["submitted", "approved"]
    listed = await operator.plans(states=["approved"], start=start - timedelta(hours=1), bbox=(117.5, 29.2, 117.7, 29.4))
    assert [p["id"] for p in listed] == [plan["id"]]
    assert await operator.plans(states=["referred"]) == []
    assert (await operator.activate(plan["id"]))["state"] == "active"
    assert (await operator.complete(plan["id"]))["state"] == "completed"


async def test_refused_near_luojia_then_the_alternative_is_approved(operator: AsyncClient) -> None:
    await operator.register_aircraft("FL-002", "light_uav")
    start = soon()
    req = plan_request("FL-002", "light_uav", LUOJIA_ROUTE, pilot="张伟", mission="inspection", start=start,
                       end=start + timedelta(minutes=30), ceiling_m=100, half_width_m=50)
    refused = await operator.file_plan(req)
    assert refused["state"] == "rejected"
    assert any(r["code"] == "airspace_forbidden" for r in refused["decision"]["reasons"])
    alt = next(a for a in refused["decision"]["alternatives"] if a.get("expected") == "approved")
    again = with_alternative(req, alt)
    assert again["geometry"] == alt["geometry"] and req["geometry"] == LUOJIA_ROUTE  # the request is not changed
    assert (await operator.file_plan(again))["state"] == "approved"


async def test_errors_carry_status_code_and_both_languages(server: Server, make_token: Any,
                                                            operator: AsyncClient) -> None:
    await operator.register_aircraft("FL-003", "light_uav")
    with pytest.raises(LowaltError) as dup:
        await operator.register_aircraft("FL-003", "light_uav")
    assert dup.value.status == 409
    with pytest.raises(LowaltError) as missing:
        await operator.plan("no-such-plan")
    assert missing.value.status == 404
    bad = plan_request("FL-003", "light_uav", OPEN_W_ROUTE, pilot="张伟", mission="inspection", start=soon(),
                       end=soon(50))
    bad["altitude"]["ceiling"]["reference"] = "QNH"  # type: ignore[typeddict-item]
    with pytest.raises(LowaltError) as invalid:
        await operator.file_plan(bad)
    assert invalid.value.status == 422 and invalid.value.code == "invalid"
    assert any(f["field"].startswith("body.altitude.ceiling.reference") for f in invalid.value.fields)
    with pytest.raises(LowaltError) as forbidden:
        await operator.approve("anything")
    assert forbidden.value.status == 403 and forbidden.value.message_zh
    with pytest.raises(ValueError, match="naive"):
        plan_request("FL-003", "light_uav", OPEN_W_ROUTE, pilot="张伟", mission="inspection",
                     start=datetime(2030, 1, 1, 10), end=datetime(2030, 1, 1, 11))  # noqa: DTZ001
    async with AsyncClient(server.url, "lwt_not-a-token") as stranger:
        with pytest.raises(LowaltError) as unauth:
            await stranger.me()
    assert unauth.value.status == 401


async def test_referred_plan_events_follow_the_centres_decision(server: Server, make_token: Any,
                                                                operator: AsyncClient) -> None:
    await operator.register_aircraft("FL-004", "light_uav")
    d = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    start = datetime(d.year, d.month, d.day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    req = plan_request("FL-004", "light_uav", OPEN_W_ROUTE, pilot="张伟", mission="tourism", start=start,
                       end=start + timedelta(minutes=30), floor_m=150, ceiling_m=200, half_width_m=50)
    events: list[dict[str, Any]] = []

    async def follow() -> None:
        async for ev in operator.plan_events():
            events.append(ev)

    task = asyncio.create_task(follow())
    try:
        async def subscribed() -> bool:
            return any(e.get("type") == "subscribed" for e in events)

        await wait_until(subscribed, what="the /ws/plans subscription")
        plan = await operator.file_plan(req)
        assert plan["state"] == "referred" and plan["decision"]["pathway"] == "standard"
        async with AsyncClient(server.url, await make_token("centre", organisation="景德镇通航协调运行中心")) as centre:
            assert (await centre.approve(plan["id"], "可以飞"))["state"] == "approved"

        async def approved_seen() -> bool:
            return any(e.get("plan_id") == plan["id"] and e.get("to_state") == "approved" for e in events)

        await wait_until(approved_seen, what="the approval on /ws/plans")
    finally:
        task.cancel()
    assert (await operator.plan(plan["id"]))["state"] == "approved"



async def test_airspace_and_point_query(operator: AsyncClient) -> None:
    vols = await operator.airspace("volumes", bbox=(117.17, 29.33, 117.18, 29.34))
    assert "zsjd_core" in {f["properties"]["id"] for f in vols["features"]}
    answer = await operator.query(117.176, 29.339, 50, "light_uav")
    assert answer["verdict"] == "forbidden" and answer["volume"] == "zsjd_core"
    assert (await operator.query(117.615, 29.31, 100, "light_uav"))["verdict"] == "allowed"


async def test_device_binding_only_within_the_organisation(make_token: Any, operator: AsyncClient) -> None:
    await make_token("device", name="fuliang-gw", organisation="浮梁文旅")
    await make_token("device", name="other-gw", organisation="别家公司")
    bound = await operator.register_aircraft("FL-005", "small_uav", device="fuliang-gw")
    assert bound["device"] == "fuliang-gw"
    assert next(a for a in await operator.aircraft() if a["id"] == "FL-005")["device_user_id"]
    with pytest.raises(LowaltError) as other:
        await operator.register_aircraft("FL-006", "small_uav", device="other-gw")
    assert other.value.status == 422 and "device" in other.value.message
