"""Figures of a run (the JSON object ``--json`` prints) and the ``--report`` folder (JSON + PNG)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from simulators.client import LiveWatcher, metric
from simulators.scenario import judge

if TYPE_CHECKING:
    from simulators.runner import Runner

F64 = npt.NDArray[np.float64]


def figures(run: Runner, w: LiveWatcher, elapsed: float, t0: float, text: str) -> dict[str, Any]:
    """Everything a run achieved, judged against its scenario; ``text`` is the server's /metrics."""
    lat = np.concatenate(w.latencies) if w.latencies else np.array([np.nan])
    local_of = {c.server_id: (c.actor.id if c.actor else c.local) for c in run.crafts if not c.background}
    for c in run.crafts:
        if c.background:
            local_of.pop(c.server_id, None)
    background = {c.server_id for c in run.crafts if c.background}
    mine = f"{run.tag}-"  # other traffic on a shared server (--url) is none of this run's business
    alerts = {k: a for k, a in w.alerts.items()
              if any(str(x).startswith(mine) for x in a.get("aircraft", []))
              and not (set(a.get("aircraft", [])) & background)}
    well = {c.local if c.actor is None else c.actor.id for c in run.crafts if c.well_behaved and c.cooperative}
    verdict = judge(run.sc, alerts, local_of, well, run.opt.kinds)
    server: dict[str, Any] = {}
    if text:
        for name, key in (("lowalt_live_skipped_total", "live_feed_skipped"),
                          ("lowalt_live_dropped_total", "live_subscriber_dropped"),
                          ("lowalt_history_dropped_total", "history_dropped")):
            v = sum(metric(text, name).values())
            if v:
                server[key] = int(v)
        server["last_tick_ms"] = round(metric(text, "lowalt_tick_seconds").get("", math.nan) * 1000, 1)
    s = run.stats
    unanswered = s.sent - s.accepted - s.rejected
    by_kind = Counter(str(a.get("kind")) for a in w.alerts.values()
                      if any(str(x).startswith(mine) for x in a.get("aircraft", [])))
    fin = np.isfinite(lat)
    return {
        "scenario": run.sc.name, "seed": run.sc.seed, "run_tag": run.tag,
        "aircraft": len(run.crafts), "duration_s": round(elapsed, 1), "tick_s": run.sc.tick_s,
        "reports_sent": s.sent, "reports_accepted": s.accepted, "reports_rejected": s.rejected,
        "report_rate_per_s": round(s.accepted / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "p99": _pct(lat, 99),
                       "max": round(float(np.nanmax(lat)), 1) if fin.any() else None,
                       "samples": int(fin.sum())},
        "drops": {"rejected_by_reason": dict(s.errors), "send_failed": s.send_failed,
                  "unanswered": int(unanswered), "simulated_dropouts": run.fig.sim_dropped, **server},
        "plans": dict(run.fig.plans), "plan_reasons": dict(run.fig.reasons),
        "plan_reason_examples": run.fig.reason_examples,
        "flights_started": run.fig.flights_started, "flights_completed": run.fig.flights_completed,
        "tracks_on_feed": len(w.tracks_seen), "feed_closed": w.closed_by_server,
        "alerts_seen": dict(by_kind), "alerts_expected": verdict.expected,
        "alerts_expected_missing": verdict.missing, "alerts_unexpected": verdict.unexpected,
        "alerts_incidental": verdict.incidental, "alerts_not_checked": verdict.not_wired,
        "api_errors": dict(run.fig.api_errors), "ok": verdict.ok,
        "_series": {"latency": [(round(a - t0, 2), b, c, d) for a, b, c, d in w.series],
                    "active": [(round(a - t0, 2), n) for a, n in run.fig.active_series]},
    }


def _pct(a: F64, q: float) -> float | None:
    return round(float(np.nanpercentile(a, q)), 1) if np.isfinite(a).any() else None


def write_report(folder: str | Path, out: dict[str, Any]) -> None:
    """``figures.json`` and ``figures.png`` (latency over time, tracks over time) in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    (d / "figures.json").write_text(json.dumps({k: v for k, v in out.items() if k != "_series"}, indent=2,
                                               ensure_ascii=False))
    (d / "series.json").write_text(json.dumps(out["_series"]))
    lat = out["_series"]["latency"]
    act = out["_series"]["active"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    if lat:
        t = np.array([r[0] for r in lat])
        ax1.plot(t, [r[2] for r in lat], lw=0.6, label="p99 per feed message")
        ax1.plot(t, [r[1] for r in lat], lw=0.6, label="p50 per feed message")
    ax1.axhline(300, color="r", ls="--", lw=0.8, label="target p99 300 ms")
    ax1.set_ylabel("report-to-feed latency (ms)")
    ax1.legend(loc="upper right", fontsize=8)
    lm = out["latency_ms"]
    ax1.set_title(f"{out['scenario']}: {out['aircraft']} aircraft, {out['report_rate_per_s']} reports/s accepted; "
                  f"p50 {lm['p50']} / p95 {lm['p95']} / p99 {lm['p99']} ms", fontsize=9)
    if act:
        ax2.plot([r[0] for r in act], [r[1] for r in act], lw=0.8, label="aircraft flying (simulator)")
    if lat:
        # rows per feed message summed per second ~ tracks updated per second on the feed
        t = np.array([r[0] for r in lat])
        rows = np.array([r[3] for r in lat])
        if len(t):
            bins = np.arange(0, math.ceil(t.max()) + 1)
            per_s, _ = np.histogram(t, bins=bins, weights=rows)
            ax2.plot(bins[:-1], per_s, lw=0.6, label="track rows on the feed per second (after the warm-up)")
    ax2.set_xlabel("seconds since the clock started")
    ax2.set_ylabel("tracks")
    ax2.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(d / "figures.png", dpi=110)
    plt.close(fig)
