"""Scenario files: the library loads, bad expectations are refused clearly, runs are judged precisely."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from simulators import missions as ms
from simulators.airspace import Airspace
from simulators.models import ENVELOPES
from simulators.scenario import LIBRARY, ScenarioError, judge, library, load, parse

BASE: dict[str, Any] = yaml.safe_load((LIBRARY / "crossing-smoke.yaml").read_text())


def test_library_has_the_promised_scenarios_and_all_load() -> None:
    names = library()
    for want in ("demo", "vertiport-rush", "rogue-near-luojia", "weather-closure", "load-10k", "crossing-smoke"):
        assert want in names
    for n in names:
        sc = load(n)
        assert sc.description and sc.seed is not None


def _bad(mutate: Any) -> str:
    d = copy.deepcopy(BASE)
    mutate(d)
    with pytest.raises(ScenarioError) as exc:
        parse(d, "t.yaml")
    return str(exc.value)


def test_expectation_naming_an_unknown_aircraft_is_refused() -> None:
    msg = _bad(lambda d: d["expected_alerts"].append({"kind": "conflict", "aircraft": ["cross-a", "ghost"]}))
    assert "expected_alerts[5]" in msg and "'ghost' is not an actor" in msg


def test_unauthorised_expected_for_an_aircraft_that_files_is_refused() -> None:
    msg = _bad(lambda d: d["expected_alerts"].append({"kind": "unauthorised", "aircraft": ["cross-a"]}))
    assert "unauthorised expected for 'cross-a'" in msg and "no_plan" in msg


def test_conflict_between_two_well_behaved_aircraft_is_refused() -> None:
    def m(d: dict[str, Any]) -> None:
        d["actors"][1].pop("misbehaviour")
        d["actors"][1].pop("plan")
        d["expected_alerts"] = [{"kind": "conflict", "aircraft": ["cross-a", "cross-b"]}]
    assert "strategically deconflicted" in _bad(m)


def test_other_malformed_entries() -> None:
    assert "unknown alert kind" in _bad(lambda d: d["expected_alerts"].append({"kind": "boom", "aircraft": ["cross-a"]}))
    assert "exactly 2 aircraft" in _bad(lambda d: d["expected_alerts"].append({"kind": "conflict", "aircraft": ["nc-1"]}))
    assert "non-cooperative" in _bad(lambda d: d["actors"][3].update(misbehaviour=["noncoop", "no_plan"]) or
                                     d["expected_alerts"].append({"kind": "unauthorised", "aircraft": ["nc-1"]}))
    assert "lost_link" in _bad(lambda d: d["actors"][4].pop("lost_link"))
    assert "unknown model" in _bad(lambda d: d["actors"][0].update(model="jumbo"))
    assert "description" in _bad(lambda d: d.update(description="x"))


def test_judge_counts_missing_unexpected_and_incidental() -> None:
    sc = parse(copy.deepcopy({**BASE, "strict": False}), "t")
    local = {f"T-{a}": a for a in ("cross-a", "cross-b", "rogue-1", "nc-1", "link-1")}
    local["T-g0"] = "inspect/0"
    local["T-g1"] = "inspect/1"
    well = {"cross-a", "inspect/0", "inspect/1"}
    alerts = {
        "a1": {"kind": "conflict", "aircraft": ["T-cross-b", "T-cross-a"]},
        "a2": {"kind": "conflict", "aircraft": ["T-g0", "T-g1"]},          # well-behaved only: unexpected
        "a3": {"kind": "conflict", "aircraft": ["T-rogue-1", "T-g0"]},     # a rogue is involved: incidental
        "a4": {"kind": "intrusion", "aircraft": ["T-cross-a"], "details": {"volume": "zsjd_core"}},
    }
    v = judge(sc, alerts, local, well, kinds=("conflict", "intrusion"))
    assert v.missing == ["conflict(rogue-1+nc-1)"]
    assert sorted(a["id"] for a in v.unexpected) == ["a2", "a4"]
    assert [a["id"] for a in v.incidental] == ["a3"]
    assert set(v.not_wired) == {"nonconformance(cross-b)", "unauthorised(rogue-1)", "lost_contact(link-1)"}
    assert not v.ok
    strict = judge(parse(copy.deepcopy(BASE), "t"), alerts, local, well, kinds=("conflict", "intrusion"))
    assert {a["id"] for a in strict.unexpected} == {"a2", "a3", "a4"}


def test_scaling_keeps_actors_and_hits_the_total() -> None:
    sc = load("demo").scaled(120)
    assert sum(g.count for g in sc.groups) + len(sc.actors) == 120


def test_missions_file_valid_geojson_inside_their_band() -> None:
    air = Airspace.from_files()  # offline: the committed data set
    rng = np.random.default_rng(1)
    for kind, model in (("survey", "multirotor"), ("orbit", "multirotor"), ("spray", "agri_sprayer"),
                        ("delivery", "multirotor"), ("tourism_loop", "evtol"), ("corridor", "fixed_wing"),
                        ("hospital_run", "multirotor")):
        env = ENVELOPES[model]
        m = ms.build(kind, env, air, rng, {"routes": ["T-CIDU"] if kind == "tourism_loop" else [],
                                           "from": ["hub_jdz"], "to_any": ["hosp1_pad"]})
        assert (m.waypoints[:, 2] <= m.ceiling_m).all() and (m.waypoints[:, 2] >= 0).all()
        from datetime import UTC, datetime

        body = m.plan_body("X-1", env.category, env, datetime.now(UTC), pilot="p")
        g = body["geometry"]
        pts = g["coordinates"] if g["type"] == "LineString" else g["coordinates"][0]
        assert all(115 < p[0] < 119 and 28 < p[1] < 30.5 for p in pts)  # lon, lat order
        assert body["altitude"]["floor"]["value_m"] < body["altitude"]["ceiling"]["value_m"]
        assert m.duration_s(env) > 0


def test_sim_policy_copy_is_a_valid_policy_with_same_day_cutoffs(tmp_path: Any) -> None:
    import json
    from datetime import UTC, datetime

    from lowalt.filing.policy import load_policy
    from simulators.server import sim_policy_dir

    folder = sim_policy_dir(tmp_path)
    pol = load_policy(folder / "policy.yaml")
    now = datetime.now(UTC)
    for cut in (pol.corridor, pol.crewed, pol.standard):
        assert cut.deadline(now, pol.tz) >= now  # a flight starting now may still be filed
    pts = json.loads((folder / "points.geojson").read_text())
    assert all(f["properties"]["opening_hours"] is None for f in pts["features"])
    assert (folder / "volumes.geojson").read_text() == (LIBRARY.parent.parent / "airspace_data" / "fuliang" /
                                                        "volumes.geojson").read_text()


def test_live_watcher_measures_fresh_rows_only_and_collects_alerts() -> None:
    from simulators.client import LiveWatcher

    w = LiveWatcher("ws://unused", "t", "R-")
    w.measuring = True

    def rows(ids: list[str], tr: list[float]) -> dict[str, Any]:
        return {"type": "tracks", "tracks": {"ids": ids, "tr": tr}}

    w.handle(rows(["R-a", "X-other", "R-b"], [100.0, 100.0, 100.1]), 100.2)
    w.handle(rows(["R-a"], [100.0]), 103.0)  # status change only: same report, not a new sample
    w.handle(rows(["R-a"], [101.0]), 101.15)
    lat = np.concatenate(w.latencies)
    assert np.allclose(sorted(lat), [100.0, 150.0, 200.0])
    assert w.tracks_seen == {"R-a", "R-b"}
    w.handle({"type": "alerts", "new": [{"id": "c1", "kind": "conflict"}], "updated": [], "cleared": []}, 102)
    w.handle({"type": "snapshot", "tracks": {"ids": [], "tr": []}, "alerts": [{"id": "c2", "kind": "intrusion"}]}, 103)
    assert set(w.alerts) == {"c1", "c2"}
