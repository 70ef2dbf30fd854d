"""``lowalt bench tick`` keeps its keys and runs the production configuration (not timed here)."""

from __future__ import annotations

import json

from lowalt.bench.tick import main, run


def test_tick_bench_reports_every_phase_of_the_production_configuration(capsys: object) -> None:
    out = run(400, 1)
    assert {"n", "ticks", "seconds_median", "seconds_p90", "alerts_active", "phases_ms"} <= out.keys()
    assert set(out["phases_ms"]) == {"predict", "conflicts", "intrusions", "conformance", "lost_contact",
                                     "lifecycle", "wire"}
    assert out["alerts_active"] > 0  # no plans on file: every aircraft is at least unauthorised
    assert main(["--n", "200", "--ticks", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert printed["n"] == 200
