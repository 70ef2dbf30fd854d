"""Live-feed subscribers with bounded queues: a slow map never blocks the tick.

Each subscriber has a small queue. When it is full the subscriber has fallen behind:
its queue is emptied, it is marked for a fresh snapshot (diffs only make sense on
top of the state they follow), and the skip is counted. A subscriber that falls
behind ``max_strikes`` times within ``strike_window_s`` seconds is disconnected
(the websocket closes with 1008, policy violation) and counted as dropped. One
that catches up keeps its strikes until they age out of the window, so a reader
that drains a little between floods is still recognised as too slow.

Each subscriber also has a scope (``lowalt.coordination.feed_scope``): which alerts its party may
receive. A payload is built once per distinct (bbox, snapshot, scope) and shared; a message that does
not depend on the scope (a track diff) is built once per (bbox, snapshot) with ``shared_diffs``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from lowalt.coordination.feed_scope import FULL, FeedScope, alert_visible, visible_alerts
from lowalt.metrics import Metrics

BBox = tuple[float, float, float, float]
Build = Callable[[BBox | None, bool, FeedScope], bytes | None]
"""``build(bbox, snapshot, scope)``: the payload for subscribers of that bbox and scope (None: nothing)."""


@dataclass(eq=False)
class Subscriber:
    bbox: BBox | None = None
    scope: FeedScope = FULL
    """Which alerts this subscriber's party may receive (the snapshot's and the diffs')."""
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(maxsize=16))
    needs_snapshot: bool = True
    strikes: deque[float] = field(default_factory=deque)
    """Times (monotonic s) this subscriber fell behind, within the hub's window."""
    closed: bool = False


SLOW_CLOSE_CODE = 1008
"""Websocket close code for a subscriber dropped for being too slow (policy violation)."""


class LiveHub:
    def __init__(self, metrics: Metrics, *, max_strikes: int = 5, strike_window_s: float = 60.0,
                 queue_size: int = 16, clock: Callable[[], float] = time.monotonic) -> None:
        self.metrics = metrics
        self.queue_size = queue_size
        self.max_strikes = max_strikes
        self.strike_window_s = strike_window_s
        self.clock = clock
        self.subscribers: set[Subscriber] = set()
        self._alerts: dict[str, Mapping[str, Any]] = {}
        """The alerts this hub has sent and not yet cleared, by id: whom a cleared id may be told to."""

    def add(self, bbox: BBox | None = None, maxsize: int | None = None, scope: FeedScope = FULL) -> Subscriber:
        sub = Subscriber(bbox=bbox, scope=scope, queue=asyncio.Queue(maxsize=maxsize or self.queue_size))
        self.subscribers.add(sub)
        self.metrics.set("lowalt_ws_connections", len(self.subscribers), endpoint="live")
        return sub

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.closed = True
        if not self.subscribers:  # no diffs are built without subscribers: what was sent is moot
            self._alerts.clear()
        self.metrics.set("lowalt_ws_connections", len(self.subscribers), endpoint="live")

    def publish(self, build: Build, *, shared_diffs: bool = False) -> None:
        """Offer one message to every subscriber. ``build(bbox, snapshot, scope)`` makes the payload;
        payloads are built once per distinct (bbox, snapshot, scope) and shared. ``shared_diffs``: the
        diff does not depend on the scope (tracks), so it is built once per bbox with :data:`FULL`; a
        snapshot always carries the subscriber's own alerts."""
        cache: dict[tuple[BBox | None, bool, FeedScope], bytes | None] = {}
        for sub in list(self.subscribers):
            scope = FULL if shared_diffs and not sub.needs_snapshot else sub.scope
            key = (sub.bbox, sub.needs_snapshot, scope)
            if key not in cache:
                cache[key] = build(sub.bbox, sub.needs_snapshot, scope)
            payload = cache[key]
            if payload is None:
                continue
            self._offer(sub, payload)

    def alert_diff(self, new: list[dict[str, Any]], updated: list[dict[str, Any]], cleared: list[str], t: float
                   ) -> Callable[[FeedScope], bytes | None]:
        """The ``alerts`` message for each scope, built on first use and shared: the new and updated alerts
        the scope may receive, and the cleared ids of those it may have received (an id this hub never sent,
        e.g. an alert raised before its first subscriber came, goes to every scope: a client drops an id
        it does not hold). None when nothing is left for the scope."""
        for a in (*new, *updated):
            self._alerts[str(a["id"])] = a
        gone = [(i, self._alerts.pop(i, None)) for i in cleared]
        built: dict[FeedScope, bytes | None] = {}

        def payload(scope: FeedScope) -> bytes | None:
            if scope not in built:
                n, u = visible_alerts(scope, new), visible_alerts(scope, updated)
                c = [i for i, a in gone if a is None or alert_visible(scope, a)]
                built[scope] = (orjson.dumps({"type": "alerts", "t": t, "new": n, "updated": u, "cleared": c},
                                             option=orjson.OPT_SERIALIZE_NUMPY)
                                if n or u or c else None)
            return built[scope]

        return payload

    def _offer(self, sub: Subscriber, payload: bytes) -> None:
        try:
            sub.queue.put_nowait(payload)
            sub.needs_snapshot = False
        except asyncio.QueueFull:
            now = self.clock()
            sub.strikes.append(now)
            while sub.strikes and sub.strikes[0] < now - self.strike_window_s:
                sub.strikes.popleft()
            skipped = sub.queue.qsize() + 1
            while not sub.queue.empty():
                sub.queue.get_nowait()
            self.metrics.inc("lowalt_live_skipped_total", skipped)
            sub.needs_snapshot = True
            if len(sub.strikes) >= self.max_strikes:
                self.metrics.inc("lowalt_live_dropped_total")
                self.remove(sub)
                sub.queue.put_nowait(None)  # tells the sender to close the socket
