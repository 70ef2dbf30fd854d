from __future__ import annotations

import json

import numpy as np
import pytest

from lowalt.bench.cd import main
from lowalt.conflict import generate_traffic


def test_bench_json_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--n", "1500", "--repeat", "1", "--json", "--check"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("n", "pairs", "candidates", "seconds_median", "seconds_min", "peak_mb", "lookahead",
                "nxn_float64_mb"):
        assert key in out
    assert out["check"] == "identical pairs" and out["pairs"] > 0


def test_bench_category_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--n", "800", "--repeat", "1", "--json", "--check", "--category"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["check"] == "identical pairs" and out["pairs"] > 0
    # the same keys as the single-minimum row, and the production entry point is what is timed
    for key in ("n", "pairs", "candidates", "seconds_median", "seconds_min", "peak_mb", "lookahead"):
        assert key in out
    assert out["entry_point"] == "detect_conflicts_by_category" and out["h_sep"] == "category"


def test_bench_cell_scale_does_not_change_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = []
    for scale in (["1"], ["2", "8"], ["6", "30"]):
        assert main(["--n", "1200", "--repeat", "1", "--json", "--category", "--cell-scale", *scale]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["cell_scale"] == [float(x) for x in scale]
        pairs.append(out["pairs"])
    assert len(set(pairs)) == 1 and pairs[0] > 0


def test_traffic_seeded() -> None:
    a, b = generate_traffic(500, seed=4), generate_traffic(500, seed=4)
    assert np.array_equal(a.pos, b.pos) and np.array_equal(a.vel, b.vel)
    speed = np.hypot(a.vel[:, 0], a.vel[:, 1])
    assert speed.max() <= 70.0 and (a.pos[:, 2] >= 10.0).all()
