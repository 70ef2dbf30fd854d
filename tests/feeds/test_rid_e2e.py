"""Network Remote ID: lowalt polls a service provider's F3411-22a ``/uss/flights`` (built with the
``uas-standards`` models) and answers a display client's ``/rid/flights`` query for an area."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from implicitdict import ImplicitDict, StringBasedDateTime
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uas_standards.astm.f3411.v22a import api

from tests.conftest import Server, auth, serving, wait_until

N = -10.0  # geoid undulation configured for the provider: AMSL = ellipsoid height - N
NEAR = (29.2600, 117.2300)  # lat, lng
FAR = (29.3000, 117.3000)  # ~8 km away: inside the provider's poll view, outside the display query


def _flight(fid: str, lat: float, lng: float, hae: float, *, state: bool = True) -> api.RIDFlight:
    now = StringBasedDateTime(datetime.now(UTC))
    f = api.RIDFlight(id=fid, aircraft_type=api.UAType.Helicopter, simulated=False)
    if state:
        f.current_state = api.RIDAircraftState(
            timestamp=api.Time(value=now), timestamp_accuracy=0.1,
            operational_status=api.RIDOperationalStatus.Airborne,
            position=api.RIDAircraftPosition(lat=lat, lng=lng, alt=hae, accuracy_h=api.HorizontalAccuracy.HA3m,
                                             accuracy_v=api.VerticalAccuracy.VA3m, extrapolated=False,
                                             pressure_altitude=-1000),
            track=90.0, speed=8.0, speed_accuracy=api.SpeedAccuracy.SA1mps, vertical_speed=1.0)
    else:
        f.operating_area = {"aircraft_count": 1, "volumes": []}
    return f


def provider() -> Starlette:
    async def flights(request: Request) -> Response:
        assert request.query_params["view"]  # F3411: the area of interest is required
        body = api.GetFlightsResponse(timestamp=api.Time(value=StringBasedDateTime(datetime.now(UTC))), flights=[
            _flight("uss-a-1", *NEAR, 150.0), _flight("uss-a-2", *FAR, 200.0), _flight("uss-a-3", 0, 0, 0, state=False)])
        return Response(json.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/rid/v2/uss/flights", flights)])


async def test_rid_flights_ingested_and_served_for_an_area(feeds_server: Any, make_token: Any) -> None:
    async with serving(provider()) as sp:
        doc = {"geoid_undulation_m": N, "rid": [{"provider": "uss-a", "flights_url": f"{sp.url}/rid/v2/uss/flights",
                                                 "every_s": 0.3, "view": [29.24, 117.20, 29.28, 117.25]}]}
        async with feeds_server(doc) as server:
            await _query(server, await make_token("viewer"))


async def _query(server: Server, viewer: str) -> None:
    view = {"view": f"{NEAR[0] - 0.01},{NEAR[1] - 0.01},{NEAR[0] + 0.01},{NEAR[1] + 0.01}"}

    async def flights() -> list[Any] | None:
        r = await server.http.get("/rid/flights", params=view, headers=auth(viewer))
        assert r.status_code == 200, r.text
        return r.json()["flights"] or None

    found = await wait_until(flights, what="the provider's flight served for the area")
    response = ImplicitDict.parse({"timestamp": {"value": "2026-01-01T00:00:00Z"}, "flights": found},
                                  api.GetFlightsResponse)  # the answer reads as the standard's model
    assert [f.id for f in response.flights] == ["RID-uss-a-1"]  # not the far one, not the one without state
    pos = response.flights[0].current_state.position
    assert (pos.lat, pos.lng) == NEAR and abs(pos.alt - 150.0) < 0.05  # ellipsoid height in, and out again
    state = response.flights[0].current_state
    assert abs(state.speed - 8.0) < 0.01 and abs(state.track - 90.0) < 0.1 and state.operational_status == "Airborne"
    tracks = (await server.http.get("/tracks", headers=auth(viewer))).json()["features"]
    [t] = [f for f in tracks if f["id"] == "RID-uss-a-1"]
    assert abs(t["properties"]["alt_amsl_m"] - (150.0 - N)) < 0.05  # stored AMSL: ellipsoid height minus N
    too_big = await server.http.get("/rid/flights", params={"view": "29.0,117.0,29.5,117.5"}, headers=auth(viewer))
    assert too_big.status_code == 413  # F3411: a display area over the 7 km diagonal is refused
