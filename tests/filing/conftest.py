"""Helpers for filing tests: operators with registered aircraft, plan payloads over Fuliang."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import auth

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_W_ROUTE = [[117.60, 29.30], [117.63, 29.32]]
"""East of Jingdezhen, open class W, away from airports, routes and pads."""
LUOJIA_ROUTE = [[117.14, 29.36], [117.21, 29.33]]
"""Crosses the Luojia (ZSJD) runway core and approach areas."""
WUYUAN_OUT = [[117.262, 29.2505], [117.398, 29.2445]]
"""Inside the L-WUYUAN-OUT logistics corridor (released daily 06:00-22:00)."""


@dataclass
class Operator:
    token: str
    organisation: str
    headers: dict[str, str]


@pytest.fixture
async def operator_factory(client: httpx.AsyncClient, make_token: Any):  # type: ignore[no-untyped-def]
    async def _make(org: str, aircraft: dict[str, str] | None = None) -> Operator:
        token = await make_token("operator", organisation=org)
        for aid, cat in (aircraft or {}).items():
            r = await client.post("/aircraft", headers=auth(token), json={"id": aid, "category": cat})
            assert r.status_code == 201, r.text
        return Operator(token, org, auth(token))

    return _make


def soon(minutes: float = 10) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def local_day(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    d = datetime.now(SHANGHAI).date() + timedelta(days=days_ahead)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI)


def plan_body(aircraft_id: str, category: str = "light_uav", *, coords: list[list[float]] | None = None,
              start: datetime | None = None, minutes: float = 30, floor: float = 0, ceiling: float = 100,
              ref: str = "AGL", mission: str = "tourism", **extra: Any) -> dict[str, Any]:
    start = start or soon()
    body: dict[str, Any] = {
        "aircraft_id": aircraft_id, "category": category, "pilot": "张伟", "mission": mission,
        "geometry": {"type": "LineString", "coordinates": coords or OPEN_W_ROUTE}, "half_width_m": 50,
        "altitude": {"floor": {"value_m": floor, "reference": ref}, "ceiling": {"value_m": ceiling, "reference": ref}},
        "start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat(),
    }
    body.update(extra)
    return body
