"""The in-process bus: the default for one node (``lowalt serve``, ``make demo``, the tests)."""

from __future__ import annotations

import asyncio

from lowalt.bus.codec import ReportRows
from lowalt.bus.port import FeedHandler, HistoryWriter, ReportHandler, RequestHandler


class InProcessBus:
    """Hands reports and feed messages to the handlers registered in this process, synchronously.

    Not durable: a publish has nothing to wait for, and the live service keeps writing the history
    from its own buffer. Several live services may share one (tests of the multi-node paths)."""

    durable = False

    def __init__(self) -> None:
        self.report_handlers: list[ReportHandler] = []
        self.feed_handlers: list[FeedHandler] = []
        self.request_handlers: dict[str, list[RequestHandler]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.report_handlers.clear()
        self.feed_handlers.clear()

    def publish_reports(self, rows: ReportRows) -> asyncio.Future[None] | None:
        for handler in list(self.report_handlers):
            handler(rows)
        return None

    async def subscribe_reports(self, handler: ReportHandler, *, since: float | None = None) -> None:
        self.report_handlers.append(handler)

    async def publish_feed(self, kind: str, payload: bytes) -> None:
        for handler in list(self.feed_handlers):
            handler(kind, payload)

    async def subscribe_feed(self, handler: FeedHandler) -> None:
        self.feed_handlers.append(handler)

    async def run_history(self, write: HistoryWriter, stop: asyncio.Event) -> None:
        return None

    async def hold_lease(self, name: str, holder: str) -> bool:
        return True  # one process: nobody to share with

    async def release_lease(self, name: str) -> None:
        return None

    async def read_lease(self, name: str) -> str | None:
        return None  # one process: no other holder

    async def serve(self, kind: str, handler: RequestHandler) -> None:
        self.request_handlers.setdefault(kind, []).append(handler)

    async def request(self, kind: str, payload: bytes, timeout: float = 2.0) -> bytes | None:
        for handler in list(self.request_handlers.get(kind, [])):
            reply = await handler(payload)
            if reply is not None:
                return reply
        return None
