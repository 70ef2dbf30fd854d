"""In-process counters and gauges, exposed in the Prometheus text format at ``/metrics``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

LabelKey = tuple[tuple[str, str], ...]

_HELP = {
    "lowalt_reports_accepted_total": ("counter", "Position reports accepted into the track table"),
    "lowalt_reports_rejected_total": ("counter", "Position reports rejected, by reason"),
    "lowalt_frames_total": ("counter", "Telemetry websocket frames received"),
    "lowalt_tick_seconds": ("gauge", "Duration of the last surveillance/conflict tick"),
    "lowalt_tick_total": ("counter", "Ticks run"),
    "lowalt_tracks": ("gauge", "Live tracks, by cooperative/non-cooperative"),
    "lowalt_alerts_active": ("gauge", "Active alerts"),
    "lowalt_ws_connections": ("gauge", "Open websocket connections, by endpoint"),
    "lowalt_live_skipped_total": ("counter", "Live-feed messages a slow subscriber missed (resynced by snapshot)"),
    "lowalt_live_dropped_total": ("counter", "Live subscribers disconnected for being too slow"),
    "lowalt_history_written_total": ("counter", "Track points written to PostGIS"),
    "lowalt_history_dropped_total": ("counter", "Track points dropped because the history buffer overflowed"),
    "lowalt_history_pending": ("gauge", "Track points waiting to be written"),
    "lowalt_tracks_ended_total": ("counter", "Tracks ended: latest report older than the staleness limit"),
    "lowalt_tracks_coasting": ("gauge", "Tracks shown at a predicted position: no report for a few seconds"),
    "lowalt_reports_out_of_order_total": ("counter", "Reports older than their track's latest: history only"),
    "lowalt_history_rejected_total": ("counter", "Track points PostGIS refused (bad data), set aside"),
}


@dataclass
class Metrics:
    values: dict[str, dict[LabelKey, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] += amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels: str) -> float:
        return self.values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def total(self, name: str) -> float:
        return sum(self.values.get(name, {}).values())

    def by_label(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, v in self.values.get(name, {}).items():
            out[dict(key).get(label, "")] = out.get(dict(key).get(label, ""), 0.0) + v
        return out

    def render(self) -> str:
        lines: list[str] = []
        for name in sorted(set(_HELP) | set(self.values)):
            kind, text = _HELP.get(name, ("untyped", name))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            series = self.values.get(name) or {(): 0.0}
            for key, v in sorted(series.items()):
                label = ",".join(f'{k}="{val}"' for k, val in key)
                lines.append(f"{name}{{{label}}} {v:g}" if label else f"{name} {v:g}")
        return "\n".join(lines) + "\n"
