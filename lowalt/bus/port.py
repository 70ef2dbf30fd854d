"""The bus interface (a port): what the live service needs from whatever carries reports between nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from lowalt.bus.codec import ReportRows

ReportHandler = Callable[[ReportRows], None]
FeedHandler = Callable[[str, bytes], None]
RequestHandler = Callable[[bytes], Awaitable[bytes | None]]
"""Answers a request, or returns None to leave it to another node."""
HistoryWriter = Callable[[list[tuple[object, ...]]], Awaitable[int]]
"""Writes COPY records to PostGIS and returns when committed (raises when it could not)."""


def lease_record(holder: str, **attributes: Any) -> str:
    """A lease's value (:meth:`Bus.hold_lease`): its holder and what the holder says about itself, as JSON
    (a monitor lease carries the holder's shard terms: ``lowalt.live.shards.lease_value``)."""
    return orjson.dumps({"node": holder, **attributes}).decode()


def read_lease_record(value: str) -> tuple[str, dict[str, Any] | None]:
    """(holder, attributes) of a lease value from :func:`lease_record`; a value that is not one (a node of an
    earlier version wrote its id alone) is its own holder, without attributes (None)."""
    try:
        record = orjson.loads(value)
        return str(record["node"]), record
    except (ValueError, TypeError, KeyError):
        return value, None


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

    async def hold_lease(self, name: str, holder: str) -> bool:
        """Take or renew the lease ``name`` for ``holder`` (what the lease holds: the node's
        :func:`lease_record`): True while it holds it. A holder that stops renewing loses it after the bus's
        lease time (NATS KV), so another node takes over."""
        ...

    async def release_lease(self, name: str) -> None:
        """Give up the lease ``name`` now if this node holds it (another node may take it at once)."""
        ...

    async def read_lease(self, name: str) -> str | None:
        """The value of the lease ``name`` (what its holder wrote), or None when nobody holds it or the bus
        cannot say (a node checks the cluster's monitor shard terms with it)."""
        ...

    async def serve(self, kind: str, handler: RequestHandler) -> None:
        """Answer requests of ``kind`` with ``handler`` (every node may serve; one that returns None
        does not answer)."""
        ...

    async def request(self, kind: str, payload: bytes, timeout: float = 2.0) -> bytes | None:
        """The first answer to a request of ``kind``, or None when no node answered in time."""
        ...
