"""A real receiver program: Debian's dump1090-mutability takes Beast frames in (as from an SDR front end)
and serves its own SBS output; lowalt's ADS-B client reads that output like any station's port 30003."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from lowalt.feeds.modes_encode import beast, identification, position, velocity
from simulators.feeds import dump1090_argv, receiver_ports
from tests.conftest import auth, wait_until
from tests.feeds.test_adsb_e2e import _lonlat, _metres

DUMP1090 = shutil.which("dump1090-mutability")
pytestmark = pytest.mark.skipif(DUMP1090 is None, reason="dump1090-mutability not installed (scripts/bootstrap.sh)")
HEX = "7C1234"


@contextlib.contextmanager
def dump1090() -> Iterator[dict[str, int]]:
    ports = receiver_ports()
    proc = subprocess.Popen(dump1090_argv(ports, "--net-only"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield ports
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.asynccontextmanager
async def beast_in(port: int) -> AsyncIterator[asyncio.StreamWriter]:
    async def connected() -> asyncio.StreamWriter | None:
        with contextlib.suppress(OSError):
            return (await asyncio.open_connection("127.0.0.1", port))[1]
        return None

    writer = await wait_until(connected, 10, "dump1090's Beast input port")
    try:
        yield writer
    finally:
        writer.close()


async def test_dump1090_sbs_output_into_the_picture(feeds_server: Any, make_token: Any) -> None:
    lon, lat = _lonlat(300.0, -200.0)
    frames = b"".join(beast(m) for m in (identification(HEX, "B7090", tc=4, category=1), velocity(HEX, 0, 90, 0, 0),
                                        position(HEX, lat, lon, 1500, 0), position(HEX, lat, lon, 1500, 1)))
    with dump1090() as ports:
        doc = {"adsb": [{"receiver": "d1090", "connect": f"127.0.0.1:{ports['sbs']}", "format": "sbs",
                         "location": [29.35, 117.20]}]}
        async with feeds_server(doc) as server, beast_in(ports["bi"]) as rx:
            viewer = await make_token("viewer")

            async def seen() -> dict[str, Any] | None:
                rx.write(frames)  # an aircraft squitters again and again; dump1090 decodes the CPR pair
                await rx.drain()
                tracks = (await server.http.get("/tracks", headers=auth(viewer))).json()["features"]
                return next((t for t in tracks if t["id"] == f"ADSB-{HEX}"), None)

            track = await wait_until(seen, what="the aircraft dump1090 decoded, on lowalt's picture")
    x, y = _metres(*track["geometry"]["coordinates"][:2])
    assert np.hypot(x - 300.0, y + 200.0) < 50.0  # dump1090 prints 5 decimals: ~1 m
    assert abs(track["properties"]["alt_amsl_m"] - 1500 * 0.3048) < 0.01  # SBS: barometric, standard QNH
    assert abs(track["properties"]["vy"] - 90 * 1852 / 3600) < 0.3  # north at 90 kt
