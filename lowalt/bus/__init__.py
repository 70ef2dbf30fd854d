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

from lowalt.bus.codec import ReportRows
from lowalt.bus.port import Bus, FeedHandler, HistoryWriter, ReportHandler


def open_bus(nats_url: str | None, node_id: str) -> Bus:
    """The bus the settings ask for: NATS JetStream at ``nats_url``, else the in-process one."""
    if not nats_url:
        from lowalt.bus.inprocess import InProcessBus

        return InProcessBus()
    from lowalt.bus.natsbus import NatsBus

    return NatsBus(nats_url, node_id)


__all__ = ["Bus", "FeedHandler", "HistoryWriter", "ReportHandler", "ReportRows", "open_bus"]
