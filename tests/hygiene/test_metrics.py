"""``/metrics`` is Prometheus text that Prometheus' own parser reads, with the latency histograms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lowalt.metrics import METRICS, Metrics
from tests.filing.conftest import plan_body, soon


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_metrics_parse_and_carry_the_histograms(client: httpx.AsyncClient, operator_factory: Any) -> None:
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    filed = await client.post("/plans", headers=op.headers, json=plan_body("FL-001", start=soon(30)))
    assert filed.status_code == 201, filed.text
    got = await client.get(f"/plans/{filed.json()['id']}", headers=op.headers)
    assert got.status_code == 200
    await client.get("/healthz")
    await client.get("/no/such/page")
    live = client.app.state.live  # type: ignore[attr-defined]
    await live.tick()  # one tick, observed by the tick histogram
    response = await client.get("/metrics")
    assert response.status_code == 200
    fams = _families(response.text)

    # every metric the call sites use keeps its name (counters are exposed with their _total suffix)
    for name, spec in METRICS.items():
        family = name.removesuffix("_total") if spec.kind == "counter" else name
        assert family in fams, name

    http = fams["lowalt_http_request_duration_seconds"]
    assert http.type == "histogram"
    routes = {s.labels["route"] for s in http.samples if s.name.endswith("_count")}
    assert {"/plans", "/plans/{plan_id}", "/healthz", "<unmatched>"} <= routes  # templates, not raw paths
    assert not any(filed.json()["id"] in r for r in routes)

    decision = fams["lowalt_filing_decision_seconds"]
    assert decision.type == "histogram"
    assert sum(s.value for s in decision.samples if s.name.endswith("_count")) == 1

    tick = fams["lowalt_tick_duration_seconds"]
    assert tick.type == "histogram"
    assert sum(s.value for s in tick.samples if s.name.endswith("_count")) >= 1
    buckets = [s for s in tick.samples if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"

    phases = {s.labels["phase"] for s in fams["lowalt_tick_phase_seconds"].samples if s.name.endswith("_count")}
    assert phases, "no tick phase observed"
    assert fams["lowalt_history_write_seconds"].type == "histogram"
    assert "process_cpu_seconds" in fams and "python_gc_objects_collected" in fams  # process metrics


def test_apps_have_their_own_registries() -> None:
    a, b = Metrics(), Metrics()
    a.inc("lowalt_reports_rejected_total", reason="malformed_json")
    a.inc("lowalt_reports_rejected_total", 2, reason="not_your_aircraft")
    a.inc("lowalt_ws_connections", 1, endpoint="telemetry")
    a.inc("lowalt_ws_connections", -1, endpoint="telemetry")  # gauges go down too
    a.set("lowalt_tracks", 7, kind="cooperative")
    assert a.get("lowalt_reports_rejected_total", reason="not_your_aircraft") == 2
    assert a.total("lowalt_reports_rejected_total") == 3
    assert a.by_label("lowalt_reports_rejected_total", "reason") == {"malformed_json": 1, "not_your_aircraft": 2}
    assert a.get("lowalt_ws_connections", endpoint="telemetry") == 0
    assert b.total("lowalt_reports_rejected_total") == 0  # no shared global registry
    text = a.render()
    assert 'lowalt_reports_rejected_total{reason="not_your_aircraft"} 2.0' in text
    assert 'lowalt_tracks{kind="cooperative"} 7.0' in text
    assert "_created" not in text


def test_wrong_labels_are_refused() -> None:
    m = Metrics(process=False)
    with pytest.raises(ValueError, match="reason"):
        m.inc("lowalt_reports_rejected_total", kind="x")
    with pytest.raises(TypeError):
        m.set("lowalt_frames_total", 3)
