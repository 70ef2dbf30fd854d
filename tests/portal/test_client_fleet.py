"""lowalt.client's fleet and pilot-register calls against a real server (uvicorn, fresh PostGIS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lowalt.client import AsyncClient, LowaltError, plan_request
from tests.conftest import Server
from tests.portal.conftest import id_number

OPEN_W_ROUTE = {"type": "LineString", "coordinates": [[117.60, 29.30], [117.63, 29.32]]}


async def test_pilots_and_aircraft_edits_through_the_client(server: Server, make_token: Any) -> None:
    async with AsyncClient(server.url, await make_token("operator", organisation="浮梁文旅")) as lw:
        await lw.register_aircraft("FL-1", "light_uav")
        edited = await lw.edit_aircraft("FL-1", category="small_uav", registration="UAS-1")
        assert (edited["category"], edited["registration"]) == ("small_uav", "UAS-1")
        assert (await lw.edit_aircraft("FL-1", registration=None))["registration"] is None
        with pytest.raises(LowaltError) as bad:
            await lw.edit_aircraft("FL-1", device="nobody")
        assert bad.value.status == 422 and "device" in bad.value.message

        expiry = (datetime.now(UTC) + timedelta(days=3)).date()
        p = await lw.add_pilot("张伟", id_number(21), licence_number="L-21", licence_class="uas_small",
                               licence_expiry=expiry)
        assert p["licence_expiry"] == expiry.isoformat() and "*" in p["id_number_masked"]
        assert [x["name"] for x in await lw.pilots()] == ["张伟"]
        start = datetime.now(UTC) + timedelta(minutes=20)
        req = plan_request("FL-1", "small_uav", OPEN_W_ROUTE, pilot="张伟", mission="inspection", start=start,
                           end=start + timedelta(minutes=30), ceiling_m=100, half_width_m=50, licence_id="L-21")
        assert (await lw.file_plan(req))["state"] == "approved"
        renewed = await lw.edit_pilot(p["id"], licence_number="L-21", licence_class="uas_medium",
                                      licence_expiry=expiry + timedelta(days=365))
        assert "medium_uav" in renewed["covers"]
        await lw.remove_pilot(p["id"])
        assert await lw.pilots() == []
