"""Prometheus metrics on ``prometheus-client``, one registry per app, exposed at ``/metrics``.

Each app builds its own :class:`Metrics` (its own ``CollectorRegistry``), so tests that run several
apps in one process never collide on the global registry. The call sites keep the small
``inc``/``set``/``observe`` vocabulary; the adapter maps a name to its collector (counter, gauge or
histogram, from :data:`METRICS`), created with the label names of its first use.

Histograms: HTTP latency per route template (:func:`instrument_http`), tick duration (every
``set("lowalt_tick_seconds", ...)`` is also observed), filing decision latency (``POST /plans``, by
the HTTP instrumentation) and history write latency; process and Python GC metrics come from
``prometheus-client``'s own collectors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Kind = Literal["counter", "gauge", "histogram"]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Latencies from 1 ms to 10 s (HTTP, decisions, ticks, history writes)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class MetricSpec:
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    """Label names; ``()`` takes them from the first use."""


METRICS: dict[str, MetricSpec] = {
    "lowalt_reports_accepted_total": MetricSpec("counter", "Position reports accepted into the track table"),
    "lowalt_reports_rejected_total": MetricSpec("counter", "Position reports rejected, by reason", ("reason",)),
    "lowalt_frames_total": MetricSpec("counter", "Telemetry websocket frames received"),
    "lowalt_tick_seconds": MetricSpec("gauge", "Duration of the last surveillance/conflict tick"),
    "lowalt_tick_total": MetricSpec("counter", "Ticks run"),
    "lowalt_tracks": MetricSpec("gauge", "Live tracks, by cooperative/non-cooperative", ("kind",)),
    "lowalt_alerts_active": MetricSpec("gauge", "Active alerts"),
    "lowalt_ws_connections": MetricSpec("gauge", "Open websocket connections, by endpoint", ("endpoint",)),
    "lowalt_live_skipped_total": MetricSpec(
        "counter", "Live-feed messages a slow subscriber missed (resynced by snapshot)"),
    "lowalt_live_dropped_total": MetricSpec("counter", "Live subscribers disconnected for being too slow"),
    "lowalt_history_written_total": MetricSpec("counter", "Track points written to PostGIS"),
    "lowalt_history_dropped_total": MetricSpec(
        "counter", "Track points dropped because the history buffer overflowed"),
    "lowalt_history_pending": MetricSpec("gauge", "Track points waiting to be written"),
    "lowalt_tracks_ended_total": MetricSpec(
        "counter", "Tracks ended: latest report older than the staleness limit"),
    "lowalt_tracks_coasting": MetricSpec(
        "gauge", "Tracks shown at a predicted position: no report for a few seconds"),
    "lowalt_reports_out_of_order_total": MetricSpec(
        "counter", "Reports older than their track's latest: history only"),
    "lowalt_history_rejected_total": MetricSpec("counter", "Track points PostGIS refused (bad data), set aside"),
    # device feeds (lowalt.feeds): MAVLink gateways, ADS-B receivers
    "lowalt_feed_packets_total": MetricSpec("counter", "Feed packets (MAVLink) or frames (ADS-B) received", ("feed",)),
    "lowalt_feed_refused_total": MetricSpec(
        "counter", "Feed packets refused: unsigned, bad_signature, unknown_system, malformed, unavailable",
        ("feed", "reason")),
    "lowalt_feed_reports_total": MetricSpec("counter", "Reports a feed handed to the report path", ("feed",)),
    "lowalt_feed_connected": MetricSpec("gauge", "ADS-B receivers connected (1/0)", ("feed",)),
    # scale-out (issue 16): monitor shards on the bus
    "lowalt_monitor_takeovers_total": MetricSpec(
        "counter", "Times this node took monitor leases (the one monitor, or shards: at start and on failover)"),
    "lowalt_monitor_shard_terms_differ": MetricSpec(
        "gauge", "1 while another node holds a monitor lease with other shard terms (count or cell size): this "
                 "node takes no shard"),
    # histograms
    "lowalt_http_request_duration_seconds": MetricSpec(
        "histogram", "HTTP request latency by method, route template and status class",
        ("method", "route", "status")),
    "lowalt_tick_duration_seconds": MetricSpec("histogram", "Duration of each surveillance/conflict tick"),
    "lowalt_tick_phase_seconds": MetricSpec("histogram", "Duration of each phase of a tick", ("phase",)),
    "lowalt_filing_decision_seconds": MetricSpec(
        "histogram", "Flight-plan filing latency, request to committed decision (POST /plans)", ("status",)),
    "lowalt_history_write_seconds": MetricSpec(
        "histogram", "Duration of one batched history write (track points and alert events) to PostGIS"),
}

# a gauge whose every value is also observed into a histogram
_ALSO_OBSERVED = {"lowalt_tick_seconds": "lowalt_tick_duration_seconds"}
# requests whose latency is also a filing decision's
DECISION_ROUTES = {("POST", "/plans"): "lowalt_filing_decision_seconds"}

_Collector = Counter | Gauge | Histogram


class Metrics:
    """The app's metrics: a private ``CollectorRegistry`` with every :data:`METRICS` entry."""

    def __init__(self, *, process: bool = True) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series next to counters
        self.registry = CollectorRegistry(auto_describe=True)
        self._collectors: dict[str, _Collector] = {}
        self._label_names: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        for name, spec in METRICS.items():
            if spec.labels or spec.kind == "histogram":
                self._collector(name, spec.labels)
            else:  # unlabelled counters and gauges show 0 from the start
                self._collector(name, ())
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)

    # -- the call sites' vocabulary ---------------------------------------------------------

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to a counter (or a gauge: connections opened and closed)."""
        collector = self._labelled(name, labels, default_kind="counter")
        if isinstance(collector, Histogram):
            raise TypeError(f"{name} is a histogram: use observe()")
        collector.inc(amount)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        collector = self._labelled(name, labels, default_kind="gauge")
        if not isinstance(collector, Gauge):
            raise TypeError(f"{name} is not a gauge")
        collector.set(value)
        also = _ALSO_OBSERVED.get(name)
        if also is not None:
            self.observe(also, value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one value (seconds) in a histogram."""
        collector = self._labelled(name, labels, default_kind="histogram")
        if not isinstance(collector, Histogram):
            raise TypeError(f"{name} is not a histogram")
        collector.observe(value)

    @contextmanager
    def time(self, name: str, **labels: str) -> Iterator[None]:
        """Observe the duration of the ``with`` block in histogram ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(name, time.perf_counter() - started, **labels)

    # -- reading back (tests, benches) ------------------------------------------------------

    def get(self, name: str, **labels: str) -> float:
        """Current value of one series (0 when it does not exist)."""
        wanted = {k: str(v) for k, v in labels.items()}
        for sample_name, sample_labels, value in self._samples(name):
            if sample_name == name and sample_labels == wanted:
                return value
        return 0.0

    def total(self, name: str) -> float:
        """Sum over every label combination of ``name``."""
        return sum(value for sample_name, _, value in self._samples(name) if sample_name == name)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for sample_name, sample_labels, value in self._samples(name):
            if sample_name == name:
                key = sample_labels.get(label, "")
                out[key] = out.get(key, 0.0) + value
        return out

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(self.registry).decode()

    # -- internals --------------------------------------------------------------------------

    def _samples(self, name: str) -> Iterator[tuple[str, dict[str, str], float]]:
        collector = self._collectors.get(name)
        if collector is None:
            return
        for family in collector.collect():
            for sample in family.samples:
                yield sample.name, dict(sample.labels), float(sample.value)

    def _collector(self, name: str, label_names: tuple[str, ...], default_kind: Kind = "gauge") -> _Collector:
        existing = self._collectors.get(name)
        if existing is not None:
            return existing
        with self._lock:
            existing = self._collectors.get(name)
            if existing is not None:
                return existing
            spec = METRICS.get(name, MetricSpec(default_kind, name.replace("_", " ")))
            names = spec.labels or label_names
            collector: _Collector
            if spec.kind == "counter":
                collector = Counter(name, spec.help, names, registry=self.registry)
            elif spec.kind == "gauge":
                collector = Gauge(name, spec.help, names, registry=self.registry)
            else:
                collector = Histogram(name, spec.help, names, registry=self.registry, buckets=LATENCY_BUCKETS)
            self._collectors[name] = collector
            self._label_names[name] = tuple(names)
            return collector

    def _labelled(self, name: str, labels: dict[str, str], default_kind: Kind) -> _Collector:
        collector = self._collector(name, tuple(sorted(labels)), default_kind)
        names = self._label_names[name]
        if not names:
            if labels:
                raise ValueError(f"{name} takes no labels, got {sorted(labels)}")
            return collector
        if set(labels) != set(names):
            raise ValueError(f"{name} takes the labels {list(names)}, got {sorted(labels)}")
        return collector.labels(**{k: str(labels[k]) for k in names})


class HttpMetrics:
    """ASGI middleware: each HTTP request's latency into ``lowalt_http_request_duration_seconds``,
    labelled by the matched route's template (``/plans/{plan_id}``, never the raw path, so the
    label set stays bounded; unmatched paths count as ``<unmatched>``), and ``POST /plans`` also into
    ``lowalt_filing_decision_seconds``. Websockets are not timed (their lifetime is not a latency)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = str(getattr(route, "path", "<unmatched>"))
            method = str(scope.get("method", ""))
            status_class = f"{status // 100}xx"
            self.metrics.observe("lowalt_http_request_duration_seconds", elapsed,
                                 method=method, route=template, status=status_class)
            decision = DECISION_ROUTES.get((method, template))
            if decision is not None:
                self.metrics.observe(decision, elapsed, status=status_class)
