"""A short scenario against a real server: every expected alert is raised, and nothing else."""

from __future__ import annotations

from typing import Any

from simulators.runner import Runner, RunOptions
from simulators.scenario import load
from tests.conftest import Server

CONFORMANCE_KINDS = ("nonconformance", "unauthorised", "lost_contact")


def wired_kinds(server: Server) -> tuple[str, ...]:
    """Alert kinds this server can raise: conformance kinds only once the monitor gets plans."""
    monitor = server.app.state.live.monitor  # type: ignore[attr-defined]
    kinds: tuple[str, ...] = ("conflict",)
    if getattr(monitor, "intrusion_source", None) is not None:
        kinds += ("intrusion",)
    if getattr(monitor, "plan_source", None) is not None:
        kinds += CONFORMANCE_KINDS
    return kinds


async def test_crossing_smoke_raises_exactly_the_expected_alerts(server: Server, make_token: Any) -> None:
    admin = await make_token("admin")
    sc = load("crossing-smoke")
    kinds = wired_kinds(server)
    out = await Runner(sc, RunOptions(server.url, server.ws_url, admin, duration_s=24, progress=False,
                                      kinds=kinds)).run()
    assert out["plans"].get("approved") == 5, out["plans"]  # all but the rogue and the sensor track
    assert out["alerts_expected_missing"] == [], out["alerts_expected"]
    assert out["alerts_unexpected"] == [], out["alerts_unexpected"]
    assert {e["alert"] for e in out["alerts_expected"]} >= {"conflict(cross-a+cross-b)", "conflict(rogue-1+nc-1)"}
    assert set(out["alerts_not_checked"]) == {e.label() for e in sc.expected if e.kind not in kinds}
    assert out["reports_sent"] == out["reports_accepted"] > 0
    assert out["drops"]["send_failed"] == 0 and out["drops"]["unanswered"] == 0
    assert out["latency_ms"]["samples"] > 0
    assert out["ok"]
