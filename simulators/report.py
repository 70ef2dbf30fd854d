"""The ``--report`` folder of a run (JSON + PNG) from its figures (:func:`simulators.runner.figures`).

Only writes; it knows nothing of the runner (which would make the two import each other)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


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
