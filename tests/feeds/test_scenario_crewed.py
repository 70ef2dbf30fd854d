"""The crewed-meets-drone scenario file, run by the simulator against a real server whose feeds file it
wrote: the drone over signed MAVLink (UDP gateway), the helicopter over ADS-B through a real
dump1090-mutability; the monitor raises the crewed-drone conflict as an alarm."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import replace
from typing import Any

import pytest

from simulators.feeds import FeedSetup
from simulators.runner import Runner, RunOptions
from simulators.scenario import ScenarioError, load, parse
from tests.conftest import auth
from tests.simulators.test_run_e2e import wired_kinds


def test_adsb_actor_files_nothing_and_feeds_need_a_known_transport() -> None:
    base = {"name": "x", "description": "a crewed aircraft and a drone on the real device feeds", "actors": []}
    heli = {"id": "h", "model": "helicopter", "transport": "adsb", "path": [[0, 0, 100], [1, 1, 100]]}
    with pytest.raises(ScenarioError, match=r"actors\[0\]: an adsb \(crewed\) aircraft files nothing"):
        parse(base | {"actors": [heli | {"plan": {"path": [[0, 0, 80], [1, 1, 80]]}}]})
    with pytest.raises(ScenarioError, match=r"actors\[0\]: transport must be one of"):
        parse(base | {"actors": [heli | {"transport": "carrier_pigeon"}]})
    sc = parse(base | {"actors": [heli]})
    assert sc.actors[0].plan == "none" and not sc.actors[0].well_behaved
    with pytest.raises(ScenarioError, match=r"expected_alerts\[0\]: severity must be one of"):
        parse(base | {"actors": [heli], "expected_alerts": [{"kind": "conflict", "aircraft": ["h", "h"],
                                                              "severity": "dire"}]})
    with pytest.raises(ScenarioError, match=r"x: adsb_input must be one of beast, iq, got 'sdr'"):
        parse(base | {"adsb_input": "sdr"}, "x")
    assert parse(base).adsb_input == "beast" and load("crewed-meets-drone").adsb_input == "iq"


def test_feeds_file_names_the_runs_gateway_keys_and_receiver() -> None:
    sc = load("crewed-meets-drone")
    f = FeedSetup(sc, "cmd-t1")
    doc = f.doc()
    (gw,) = doc["mavlink"]
    assert gw["organisation"] == "cmd-t1-sim-mav" and gw["listen"] == f"127.0.0.1:{f.gateway_port['sim-mav']}"
    assert gw["systems"] == {1: {"aircraft": "cmd-t1-drone-1", "key_hex": f.keys["cmd-t1-drone-1"].hex()}}
    (rx,) = doc["adsb"]
    assert rx["format"] == "beast" and rx["location"] == [29.22, 117.45]
    assert f.server_id("heli-1") == f"ADSB-{f.icao['heli-1']}" and len(f.icao["heli-1"]) == 6


@pytest.mark.skipif(shutil.which("dump1090-mutability") is None, reason="dump1090-mutability not installed")
# The scenario file's input, ``iq``: dump1090 demodulates the helicopter's samples and lowalt reads its
# Beast output. ``beast`` (frames on dump1090's Beast input) is a simulator transport only; it ran here
# too (42 s more) and is left to `lowalt simulate` to keep the suite under 10 minutes on 2 cores.
@pytest.mark.parametrize("adsb_input", ["iq"])
async def test_crewed_meets_drone_scenario_raises_the_crewed_drone_alarm(feeds_server: Any, make_token: Any,
                                                                         adsb_input: str) -> None:
    sc = replace(load("crewed-meets-drone"), adsb_input=adsb_input)
    feeds = FeedSetup(sc, f"cmd{uuid.uuid4().hex[:6]}")
    feeds.start_receiver()
    try:
        async with feeds_server(feeds.doc()) as server:
            admin = await make_token("admin")
            # 25 s of the file's 40: the alarm comes at about 17 s and lasts past 50 s (suite time)
            out = await Runner(sc, RunOptions(server.url, server.ws_url, admin, progress=False, duration_s=25.0,
                                              kinds=wired_kinds(server), feeds=feeds)).run()
            centre = await make_token("centre")
            log = (await server.http.get("/alerts", params={"log": "true"}, headers=auth(centre))).json()
    finally:
        feeds.stop_receiver()
    drone, heli = f"{feeds.tag}-drone-1", feeds.server_id("heli-1")
    assert out["alerts_expected_missing"] == [], out["alerts_expected"]
    assert out["alerts_unexpected"] == [], out["alerts_unexpected"]
    assert out["ok"], out
    conflicts = [a for a in log if a["kind"] == "conflict" and {drone, heli} <= set(map(str, a["aircraft"]))]
    assert conflicts, log
    assert {a["severity"] for a in conflicts} >= {"alarm"}, conflicts
    d = conflicts[-1]["details"]
    assert sorted(d["categories"]) == ["helicopter", "small"], d
    assert d["d_cpa_m"] > 500, d  # far outside any drone-drone minimum: only the crewed minimum applies
    # the feeds' counters: every signed MAVLink packet arrived and none was refused; dump1090 passed
    # the squitters on and the ADS-B client turned them into reports
    srv = out["feeds"]["server"]
    gw_feed, rx_feed = f'feed="mavlink:{feeds.tag}-sim-mav"', f'feed="adsb:{feeds.tag}-dump1090"'
    assert srv["packets"][gw_feed] == out["feeds"]["sent"]["mavlink"] > 0, out["feeds"]
    assert srv["reports"][gw_feed] > 0 and srv["reports"][rx_feed] > 0, out["feeds"]
    assert 0 < srv["packets"][rx_feed] <= out["feeds"]["sent"]["adsb"], out["feeds"]
    assert srv["refused"] == {}, out["feeds"]
