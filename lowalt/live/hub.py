"""Live-feed subscribers with bounded queues: a slow map never blocks the tick.

Each subscriber has a small queue. When it is full the subscriber has fallen behind:
its queue is emptied, it is marked for a fresh snapshot (diffs only make sense on
top of the state they follow), and the skip is counted. A subscriber that falls
behind ``max_strikes`` times in a row is disconnected and counted as dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from lowalt.metrics import Metrics

BBox = tuple[float, float, float, float]


@dataclass(eq=False)
class Subscriber:
    bbox: BBox | None = None
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(maxsize=16))
    needs_snapshot: bool = True
    strikes: int = 0
    closed: bool = False


class LiveHub:
    def __init__(self, metrics: Metrics, *, max_strikes: int = 5) -> None:
        self.metrics = metrics
        self.max_strikes = max_strikes
        self.subscribers: set[Subscriber] = set()

    def add(self, bbox: BBox | None = None, maxsize: int = 16) -> Subscriber:
        sub = Subscriber(bbox=bbox, queue=asyncio.Queue(maxsize=maxsize))
        self.subscribers.add(sub)
        self.metrics.set("lowalt_ws_connections", len(self.subscribers), endpoint="live")
        return sub

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.closed = True
        self.metrics.set("lowalt_ws_connections", len(self.subscribers), endpoint="live")

    def publish(self, build: Callable[[BBox | None, bool], bytes | None]) -> None:
        """Offer one message to every subscriber. ``build(bbox, snapshot)`` makes the payload;
        payloads are built once per distinct (bbox, snapshot) and shared."""
        cache: dict[tuple[BBox | None, bool], bytes | None] = {}
        for sub in list(self.subscribers):
            key = (sub.bbox, sub.needs_snapshot)
            if key not in cache:
                cache[key] = build(sub.bbox, sub.needs_snapshot)
            payload = cache[key]
            if payload is None:
                continue
            self._offer(sub, payload)

    def _offer(self, sub: Subscriber, payload: bytes) -> None:
        try:
            sub.queue.put_nowait(payload)
            sub.needs_snapshot = False
            sub.strikes = 0
        except asyncio.QueueFull:
            sub.strikes += 1
            skipped = sub.queue.qsize() + 1
            while not sub.queue.empty():
                sub.queue.get_nowait()
            self.metrics.inc("lowalt_live_skipped_total", skipped)
            sub.needs_snapshot = True
            if sub.strikes >= self.max_strikes:
                self.metrics.inc("lowalt_live_dropped_total")
                self.remove(sub)
                sub.queue.put_nowait(None)  # tells the sender to close the socket
