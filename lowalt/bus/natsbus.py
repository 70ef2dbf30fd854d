"""NATS JetStream adapter of :class:`lowalt.bus.Bus` (Debian ``nats-server`` >= 2.9, PyPI ``nats-py``).

Subjects and consumers:

* ``lowalt.reports.<cell>`` in stream ``LOWALT_REPORTS`` (file storage, kept ``REPORTS_MAX_AGE_S``):
  one message per geographic cell per ingested frame (``lowalt.bus.codec``). A publish completes
  when JetStream acknowledged every cell's message: only then is the device told ``ack``.
* every node: an ordered (ephemeral, flow-controlled) consumer of ``lowalt.reports.>`` from
  ``lost_after_s`` ago, so a node that starts or restarts rebuilds the live picture from the bus;
* the history writers: one shared durable pull consumer ``history``: a message is acknowledged only
  after its rows' COPY committed; a failed write naks it (redelivered after ``NAK_DELAY_S``), a
  writer that dies leaves it unacknowledged (redelivered after ``ACK_WAIT_S``) to another writer.
  Delivery is at least once: a writer killed between the commit and the ack writes those rows twice.
* ``lowalt.feed.<kind>`` on core NATS (no persistence): live-feed messages (the monitor's assessment).
* ``lowalt.rpc.<kind>`` on core NATS: requests one node answers (an alert acknowledged on any node is
  applied by the monitor node).
* leases in the KV bucket ``lowalt_leases`` (TTL ``LEASE_TTL_S``): ``monitor`` names the node that runs
  the conflict monitor (``monitor.<k>``: monitor shard k, ``lowalt.live.shards``); it renews it every
  second (compare-and-set on the revision it holds), and when it dies the key ages out and another
  candidate's ``create`` succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from lowalt.bus.codec import ReportRows, decode, encode, split_by_cell
from lowalt.bus.port import FeedHandler, HistoryWriter, ReportHandler, RequestHandler

log = logging.getLogger(__name__)

STREAM = "LOWALT_REPORTS"
REPORTS_SUBJECTS = "lowalt.reports.>"
FEED_PREFIX = "lowalt.feed."
RPC_PREFIX = "lowalt.rpc."
HISTORY_DURABLE = "history"
REPORTS_MAX_AGE_S = 24 * 3600.0
"""How long JetStream keeps reports: the longest PostGIS outage the history survives without loss."""
PUBLISH_TIMEOUT_S = 5.0
ACK_WAIT_S = 30.0
NAK_DELAY_S = 1.0
LEASES = "lowalt_leases"
LEASE_TTL_S = 3.0
"""A lease not renewed for this long is free: the failover time of the monitor is at most this plus a renewal."""
HISTORY_FETCH = 2000
"""Messages per history fetch (each one cell of one frame)."""


START_TIMEOUT_S = 15.0
"""Longest wait for the bus at a node's start (connect, JetStream's stream); then the node does not start."""


class BusUnavailable(RuntimeError):
    """The NATS server a node was configured with did not answer at its start."""


def shown_url(url: str) -> str:
    """``url`` as it may appear in a log or an error: without a user and password in it."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url.rpartition("@")[2]


class NatsBus:
    durable = True

    def __init__(self, url: str, node_id: str) -> None:
        self.url = url
        self.node_id = node_id
        self._nc: Client | None = None
        self._subs: list[Any] = []
        self._js: JetStreamContext | None = None
        """Publishing context (its async-publish reply subscription is made once)."""
        self._kv: KeyValue | None = None
        self._leases: dict[str, int] = {}
        """Lease name -> the KV revision this node wrote last (its proof of holding it)."""

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("NatsBus.start() was not called")
        return self._nc

    async def start(self) -> None:
        """Connect and make sure the report stream exists. Once connected, a lost server is reconnected
        to for ever; the first connection is bounded (:data:`START_TIMEOUT_S`): a node whose bus is not
        there does not start (:class:`BusUnavailable`), rather than wait with no port open and deaf to
        SIGTERM."""
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                self._nc = await nats.connect(servers=[self.url], name=f"lowalt-{self.node_id}", connect_timeout=3,
                                              max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                              allow_reconnect=True)
                js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
                config = StreamConfig(name=STREAM, subjects=[REPORTS_SUBJECTS], storage=StorageType.FILE,
                                      retention=RetentionPolicy.LIMITS, max_age=REPORTS_MAX_AGE_S)
                try:
                    await js.add_stream(config)
                except nats.js.errors.BadRequestError:  # exists with other limits: take ours
                    await js.update_stream(config)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            await self.close()
            raise BusUnavailable(f"no NATS server with JetStream answered at {shown_url(self.url)} within "
                                 f"{START_TIMEOUT_S:g} s ({type(exc).__name__})") from None
        log.info("bus_connected", extra={"url": shown_url(self.url), "node": self.node_id})

    async def close(self) -> None:
        if self._nc is None:
            return
        for name in list(self._leases):  # a graceful stop hands the lease on at once
            with contextlib.suppress(Exception):
                assert self._kv is not None
                await self._kv.delete(name, last=self._leases.pop(name))
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        self._js = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._nc.drain(), 5.0)
        with contextlib.suppress(Exception):
            await self._nc.close()
        self._nc = None

    # -- reports ------------------------------------------------------------------------------

    def publish_reports(self, rows: ReportRows) -> asyncio.Future[None] | None:
        if not len(rows):
            return None
        return asyncio.ensure_future(self._publish(rows))

    async def _publish(self, rows: ReportRows) -> None:
        if self._js is None:
            self._js = self.nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
        acks = [await self._js.publish_async(f"lowalt.reports.{cell}", encode(part), stream=STREAM,
                                             wait_stall=PUBLISH_TIMEOUT_S)
                for cell, part in split_by_cell(rows).items()]
        await asyncio.wait_for(asyncio.gather(*acks), PUBLISH_TIMEOUT_S)

    async def subscribe_reports(self, handler: ReportHandler, *, since: float | None = None) -> None:
        async def on_msg(msg: Msg) -> None:
            try:
                handler(decode(msg.data))
            except Exception:
                log.exception("bus_report_handler_failed")

        config = ConsumerConfig(ack_policy=AckPolicy.NONE)
        if since is not None:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = datetime.fromtimestamp(since, tz=UTC)
        else:
            config.deliver_policy = DeliverPolicy.NEW
        js = self.nc.jetstream()
        self._subs.append(await js.subscribe(REPORTS_SUBJECTS, cb=on_msg, stream=STREAM, ordered_consumer=True,
                                             config=config))

    # -- live feed ----------------------------------------------------------------------------

    async def publish_feed(self, kind: str, payload: bytes) -> None:
        await self.nc.publish(FEED_PREFIX + kind, payload)

    async def subscribe_feed(self, handler: FeedHandler) -> None:
        async def on_msg(msg: Msg) -> None:
            try:
                handler(msg.subject.removeprefix(FEED_PREFIX), msg.data)
            except Exception:
                log.exception("bus_feed_handler_failed")

        self._subs.append(await self.nc.subscribe(FEED_PREFIX + ">", cb=on_msg))

    # -- history --------------------------------------------------------------------------------

    async def run_history(self, write: HistoryWriter, stop: asyncio.Event) -> None:
        js = self.nc.jetstream()
        sub = await js.pull_subscribe(REPORTS_SUBJECTS, durable=HISTORY_DURABLE, stream=STREAM,
                                      config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S,
                                                            max_ack_pending=100_000,
                                                            deliver_policy=DeliverPolicy.ALL))
        while not stop.is_set():
            try:
                msgs = await sub.fetch(HISTORY_FETCH, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as exc:  # bus away: the client reconnects; try again shortly
                log.warning("history_fetch_failed", extra={"error": str(exc)[:200]})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), NAK_DELAY_S)
                continue
            records = [r for m in msgs for r in decode(m.data).history_records()]
            try:
                await write(records)
            except Exception as exc:  # PostGIS away: JetStream keeps them, redelivered later
                log.warning("history_write_failed", extra={"pending": len(records), "error": str(exc)[:200]})
                for m in msgs:
                    with contextlib.suppress(Exception):
                        await m.nak(delay=NAK_DELAY_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), NAK_DELAY_S)
                continue
            for m in msgs:
                with contextlib.suppress(Exception):  # an ack lost: redelivered, written twice
                    await m.ack()
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    # -- leases ---------------------------------------------------------------------------------

    async def _lease_kv(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.nc.jetstream().create_key_value(
                KeyValueConfig(bucket=LEASES, ttl=LEASE_TTL_S, history=1, storage=StorageType.FILE))
        return self._kv

    async def read_lease(self, name: str) -> str | None:
        try:
            entry = await (await self._lease_kv()).get(name)
        except Exception:  # nobody holds it (no key, or deleted), or the bus is away
            return None
        return entry.value.decode() if entry.value else None

    async def hold_lease(self, name: str, holder: str) -> bool:
        kv = await self._lease_kv()
        revision = self._leases.get(name)
        if revision is not None:
            try:
                self._leases[name] = await kv.update(name, holder.encode(), last=revision)
                return True
            except Exception:  # another node took it (ours expired) or the bus is away
                self._leases.pop(name, None)
        try:
            self._leases[name] = await kv.create(name, holder.encode())
            return True
        except Exception:  # held by another node (or the bus is away)
            return False

    async def release_lease(self, name: str) -> None:
        revision = self._leases.pop(name, None)
        if revision is not None and self._kv is not None:
            with contextlib.suppress(Exception):  # lost meanwhile: it ages out anyway
                await self._kv.delete(name, last=revision)

    # -- requests ---------------------------------------------------------------------------------

    async def serve(self, kind: str, handler: RequestHandler) -> None:
        async def on_msg(msg: Msg) -> None:
            try:
                reply = await handler(msg.data)
            except Exception:
                log.exception("bus_request_handler_failed")
                return
            if reply is not None:
                await msg.respond(reply)

        self._subs.append(await self.nc.subscribe(RPC_PREFIX + kind, cb=on_msg))

    async def request(self, kind: str, payload: bytes, timeout: float = 2.0) -> bytes | None:
        try:
            return (await self.nc.request(RPC_PREFIX + kind, payload, timeout=timeout)).data
        except (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return None
