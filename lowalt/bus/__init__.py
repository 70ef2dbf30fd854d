"""The bus between lowalt nodes: a small typed interface and two adapters.

* :class:`~lowalt.bus.inprocess.InProcessBus` (the default: one process, ``LOWALT_NATS_URL`` unset):
  reports go straight to the handlers registered in this process; nothing to acknowledge, history
  is buffered and written by the live service itself, exactly as before the bus existed.
* :class:`~lowalt.bus.natsbus.NatsBus` (``LOWALT_NATS_URL`` set): NATS JetStream. Reports are
  published to ``lowalt.reports.<cell>`` (stream ``LOWALT_REPORTS``, file storage) and the publish
  returns only when JetStream stored them; every node reads them into its own track table; the
  history is written by a shared durable pull consumer that acknowledges a message only after the
  PostGIS COPY of its rows committed. Live-feed messages (the monitor's assessments) go over core
  NATS (``lowalt.feed.<kind>``): they are derived state, rebuilt every tick.

The live service (``lowalt.live.service``) sees only :class:`Bus`; the composition root
(``lowalt.api.app`` / ``lowalt.live.wiring``) picks the adapter from the settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from lowalt.bus.codec import ReportRows

ReportHandler = Callable[[ReportRows], None]
FeedHandler = Callable[[str, bytes], None]
HistoryWriter = Callable[[list[tuple[object, ...]]], Awaitable[int]]
"""Writes COPY records to PostGIS and returns when committed (raises when it could not)."""


class Bus(Protocol):
    @property
    def durable(self) -> bool:
        """True when a report publish is acknowledged by a durable store and the history comes from
        the bus (:meth:`run_history`); False: the caller buffers and writes the history itself."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def publish_reports(self, rows: ReportRows) -> asyncio.Future[None] | None:
        """Publish a validated batch. Returns a future that completes when the bus stored it
        durably (fails when it could not), or None when there is nothing to wait for."""
        ...

    async def subscribe_reports(self, handler: ReportHandler, *, since: float | None = None) -> None:
        """Call ``handler`` for every report batch published by any node (from ``since``, epoch s,
        when the bus keeps them)."""
        ...

    async def publish_feed(self, kind: str, payload: bytes) -> None: ...

    async def subscribe_feed(self, handler: FeedHandler) -> None: ...

    async def run_history(self, write: HistoryWriter, stop: asyncio.Event) -> None:
        """Write the reports' history with ``write`` until ``stop`` is set (durable buses only)."""
        ...


def open_bus(nats_url: str | None, node_id: str) -> Bus:
    """The bus the settings ask for: NATS JetStream at ``nats_url``, else the in-process one."""
    if not nats_url:
        from lowalt.bus.inprocess import InProcessBus

        return InProcessBus()
    from lowalt.bus.natsbus import NatsBus

    return NatsBus(nats_url, node_id)


__all__ = ["Bus", "FeedHandler", "HistoryWriter", "ReportHandler", "ReportRows", "open_bus"]
