"""The live alert feed scoped per party (issue #19) on a real server, real PostGIS and real websockets:
centre, police, ATC and the military subscribe to the same ``/ws/live`` while two unauthorised aircraft
hover close together in an ATC notice and a non-cooperative target hovers in a military activation.
Each party receives its own alerts (diffs, a late subscriber's snapshot, ``GET /alerts`` and its log),
the centre all of them, an operator (REST only) its aircraft's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import Server, auth, wait_until

T_LON, T_LAT = 117.2300, 29.2600  # open countryside south-east of the city (illustrative)
M_LON, M_LAT = 117.2600, 29.2600  # 3 km east of it


def _square(lon: float, lat: float, d: float = 0.004) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


def _constraint(lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"title": "演练", "purpose": "drill", "geometry": _square(lon, lat),
            "floor": {"value_m": 0, "ref": "AGL"}, "ceiling": {"value_m": 1000, "ref": "AMSL"},
            "start": (now - timedelta(minutes=1)).isoformat(), "end": (now + timedelta(hours=1)).isoformat(), **kw}


Key = tuple[str, tuple[str, ...], str]


def _key(a: dict[str, Any]) -> Key:
    vol = (a.get("details") or {}).get("volume") or ""
    return (a["kind"], tuple(sorted(a["aircraft"])), vol.split("-")[0])


class Feed:
    """One subscriber's view of the active alerts, kept from its snapshot and diffs."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.alerts: dict[str, Key] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = orjson.loads(raw)
            if msg["type"] == "snapshot":
                self.alerts = {a["id"]: _key(a) for a in msg["alerts"]}
            elif msg["type"] == "alerts":
                self.alerts.update({a["id"]: _key(a) for a in msg["new"] + msg["updated"]})
                for gone in msg["cleared"]:
                    self.alerts.pop(gone, None)

    def keys(self) -> set[Key]:
        return set(self.alerts.values())


async def _fly(server: Server, device: str) -> None:
    """Keep the three targets reporting (hovering) until cancelled."""
    async with connect(f"{server.ws_url}/ws/telemetry?token={device}") as tele:
        while True:
            t = time.time()
            frame = [{"id": "FS-A", "t": t, "lon": T_LON, "lat": T_LAT, "alt": 300.0, "ref": "AMSL", "vx": 0, "vy": 0},
                     {"id": "FS-B", "t": t, "lon": T_LON + 0.0002, "lat": T_LAT, "alt": 300.0, "ref": "AMSL",
                      "vx": 0, "vy": 0},
                     {"id": "7", "t": t, "lon": M_LON, "lat": M_LAT, "alt": 300.0, "ref": "AMSL", "vx": 0, "vy": 0,
                      "src": "noncoop"}]
            await tele.send(orjson.dumps(frame).decode())
            ack = orjson.loads(await tele.recv())
            assert ack["rejected"] == 0, ack
            await asyncio.sleep(0.3)  # a report rate, not a wait for a condition


async def test_each_party_receives_its_alerts_on_the_same_feed(server: Server, make_token: Any) -> None:
    op = await make_token("operator", organisation="fs-fleet")
    for aid in ("FS-A", "FS-B"):
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": "small_uav"})
        assert r.status_code == 201, r.text
    device = await make_token("device", name="radar-fs", organisation="fs-fleet")
    tokens = {role: await make_token(role) for role in ("centre", "police", "atc", "military", "viewer")}
    r = await server.http.post("/coordination/constraints", headers=auth(tokens["atc"]),
                               json=_constraint(T_LON, T_LAT))
    assert r.status_code == 201, r.text
    r = await server.http.post("/coordination/constraints", headers=auth(tokens["military"]),
                               json=_constraint(M_LON, M_LAT, short_notice=True))
    assert r.status_code == 201, r.text

    nc = "nc:radar-fs:7"
    conflict: Key = ("conflict", ("FS-A", "FS-B"), "")
    unauthorised: set[Key] = {("unauthorised", ("FS-A",), ""), ("unauthorised", ("FS-B",), "")}
    in_atc: set[Key] = {("intrusion", ("FS-A",), "ATC"), ("intrusion", ("FS-B",), "ATC")}
    in_mil: set[Key] = {("intrusion", (nc,), "MIL")}
    everything = {conflict, *unauthorised, *in_atc, *in_mil}
    expected: dict[str, set[Key]] = {"centre": everything, "viewer": everything,
                                     "police": {*unauthorised, *in_atc, *in_mil}, "atc": in_atc, "military": in_mil}

    async with contextlib.AsyncExitStack() as stack:
        feeds = {role: Feed(await stack.enter_async_context(connect(f"{server.ws_url}/ws/live?token={tok}")))
                 for role, tok in tokens.items()}
        flying = asyncio.create_task(_fly(server, device))
        try:
            for role, want in expected.items():
                async def has_all(feed: Feed = feeds[role], want: set[Key] = want) -> bool:
                    return want <= feed.keys()
                await wait_until(has_all, 30, f"{role}'s alerts")
            for role, want in expected.items():
                assert feeds[role].keys() == want, role
            # GET /alerts answers the same per party, and operators their aircraft's (all but the target's)
            tokens["operator"] = op
            expected_rest = {**expected, "operator": everything - in_mil}
            for role, want in expected_rest.items():
                r = await server.http.get("/alerts", headers=auth(tokens[role]))
                assert r.status_code == 200, r.text
                assert {_key(a) for a in r.json()} == want, role

            async def police_log() -> set[Key]:
                r = await server.http.get("/alerts?log=true", headers=auth(tokens["police"]))
                got = {_key(a) for a in r.json()}
                return got if got >= expected["police"] else set()

            assert await wait_until(police_log, 20, "the police's alert log") == expected["police"]
            # a subscriber arriving now gets its party's active alerts in its snapshot
            async with connect(f"{server.ws_url}/ws/live?token={tokens['police']}") as late:
                snap = orjson.loads(await asyncio.wait_for(late.recv(), 10))
                assert snap["type"] == "snapshot"
                assert {_key(a) for a in snap["alerts"]} == expected["police"]
            async with connect(f"{server.ws_url}/ws/live?token={tokens['atc']}") as late:
                snap = orjson.loads(await asyncio.wait_for(late.recv(), 10))
                assert {_key(a) for a in snap["alerts"]} == expected["atc"]
                assert nc in snap["tracks"]["ids"]  # the tracks are the viewer's picture
            # operators are not admitted to the live feed (their view: GET /tracks, GET /alerts, /ws/plans)
            async with connect(f"{server.ws_url}/ws/live?token={op}") as refused:
                err = orjson.loads(await asyncio.wait_for(refused.recv(), 10))
                assert err["code"] == "forbidden"
        finally:
            flying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flying
            for feed in feeds.values():
                feed.task.cancel()
