"""The network shell around the pure decoders: a UDP endpoint per MAVLink gateway, a TCP client per
ADS-B receiver, a poller per Remote ID provider. Each decoded batch enters
:meth:`lowalt.live.service.LiveService.ingest_reports` as the typed reports the decoders built
(``RawReport`` structs: no JSON encoded and parsed back), through the same checks as a frame from
``/ws/telemetry`` (physical envelope, authorisation, time alignment, history). Started by the app
when ``LOWALT_FEEDS_FILE`` is set; nothing listens otherwise.

Metrics: ``lowalt_feed_packets_total{feed}`` (datagrams' packets / Mode S frames received),
``lowalt_feed_refused_total{feed,reason}`` (unsigned, bad_signature, unknown_system, malformed),
``lowalt_feed_reports_total{feed}`` (reports handed to the report path) and
``lowalt_feed_connected{feed}`` (ADS-B receivers connected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from lowalt.feeds.adsb import AdsbDecoder
from lowalt.feeds.config import AdsbReceiver, FeedsConfig, MavlinkGateway, RidProvider
from lowalt.feeds.mavlink import MavlinkDecoder
from lowalt.feeds.rid import flights_to_reports
from lowalt.identity.model import Principal, Role
from lowalt.metrics import Metrics
from lowalt.surveillance.reports import RawReport, ReportError

log = logging.getLogger(__name__)
RECONNECT_S = (0.5, 10.0)
"""First and longest wait before an ADS-B client connects again."""


class ReportSink(Protocol):
    def ingest_reports(self, principal: Principal, reports: Sequence[RawReport], now: float | None = None
                       ) -> tuple[int, list[ReportError]]: ...


def unique(reports: list[RawReport]) -> list[RawReport]:
    """The latest of several reports with the same aircraft and time in one batch (else: duplicates)."""
    if len(reports) < 2:
        return reports
    return list({(r.id, r.t): r for r in reports}.values())


def gateway_principal(gw: MavlinkGateway) -> Principal:
    """A MAVLink gateway reports as its organisation's fleet gateway (only that fleet's aircraft)."""
    return Principal(user_id=-1, name=f"mavlink:{gw.gateway}", role=Role.DEVICE, organisation=gw.organisation,
                     token_id=-1)


def receiver_principal(name: str) -> Principal:
    """A receiver or Remote ID provider the centre configured reports any aircraft it sees (none is
    registered here; their ids, ``ADSB-...`` and ``RID-...``, never name a registered aircraft)."""
    return Principal(user_id=-1, name=name, role=Role.ADMIN, organisation=None, token_id=-1)


class _MavlinkProtocol(asyncio.DatagramProtocol):
    """Datagrams are decoded as they arrive; their reports are ingested once per event-loop pass (all
    datagrams the loop read in that pass: one frame, no added delay), not one frame per datagram."""

    def __init__(self, gw: MavlinkGateway, sink: ReportSink, metrics: Metrics) -> None:
        self.decoder = MavlinkDecoder({s: (m.aircraft, m.key) for s, m in gw.systems.items()})
        self.principal = gateway_principal(gw)
        self.sink, self.metrics, self.feed = sink, metrics, f"mavlink:{gw.gateway}"
        self.pending: list[RawReport] = []

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            res = self.decoder.feed(data, time.time())
            self.metrics.inc("lowalt_feed_packets_total", res.packets, feed=self.feed)
            for reason, n in res.refused.items():
                self.metrics.inc("lowalt_feed_refused_total", n, feed=self.feed, reason=reason)
        except Exception:  # never fatal: count and go on
            log.exception("mavlink_datagram_failed", extra={"feed": self.feed})
            self.metrics.inc("lowalt_feed_refused_total", feed=self.feed, reason="malformed")
            return
        if res.reports:
            if not self.pending:
                asyncio.get_running_loop().call_soon(self.flush)
            self.pending += res.reports

    def flush(self) -> None:
        reports, self.pending = unique(self.pending), []
        if reports:
            self.sink.ingest_reports(self.principal, reports)
            self.metrics.inc("lowalt_feed_reports_total", len(reports), feed=self.feed)


class FeedEndpoints:
    """All configured feeds of this node; ``start`` binds/connects, ``stop`` closes."""

    def __init__(self, config: FeedsConfig, sink: ReportSink, metrics: Metrics) -> None:
        self.config, self.sink, self.metrics = config, sink, metrics
        self.mavlink: dict[str, tuple[str, int]] = {}
        """Gateway name -> the bound UDP address (port 0 in the file: the one the OS chose)."""
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for gw in self.config.mavlink:
            transport, _ = await loop.create_datagram_endpoint(
                lambda gw=gw: _MavlinkProtocol(gw, self.sink, self.metrics),  # type: ignore[misc]
                local_addr=(gw.host, gw.port))
            self._transports.append(transport)
            self.mavlink[gw.gateway] = transport.get_extra_info("sockname")[:2]
            log.info("mavlink_listening", extra={"gateway": gw.gateway, "address": self.mavlink[gw.gateway]})
        for rx in self.config.adsb:
            self._tasks.append(asyncio.create_task(self._adsb_client(rx), name=f"adsb:{rx.receiver}"))
        for sp in self.config.rid:
            self._tasks.append(asyncio.create_task(self._rid_poller(sp), name=f"rid:{sp.provider}"))

    async def stop(self) -> None:
        for t in self._transports:
            t.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._transports, self._tasks = [], []

    async def _adsb_client(self, rx: AdsbReceiver) -> None:
        feed, wait = f"adsb:{rx.receiver}", RECONNECT_S[0]
        decoder = AdsbDecoder(rx.location, fmt=rx.format, qnh_hpa=rx.qnh_hpa,
                              geoid_undulation_m=rx.geoid_undulation_m)
        principal = receiver_principal(feed)
        while True:
            try:
                reader, writer = await asyncio.open_connection(rx.host, rx.port)
            except OSError as exc:
                log.warning("adsb_connect_failed", extra={"feed": feed, "error": str(exc)[:200]})
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT_S[1])
                continue
            wait = RECONNECT_S[0]
            decoder.new_connection()
            self.metrics.set("lowalt_feed_connected", 1, feed=feed)
            try:
                while chunk := await reader.read(65536):
                    now = time.time()
                    res = decoder.feed(chunk, now)
                    self.metrics.inc("lowalt_feed_packets_total", res.frames, feed=feed)
                    if res.malformed:
                        self.metrics.inc("lowalt_feed_refused_total", res.malformed, feed=feed, reason="malformed")
                    if res.reports:
                        self.sink.ingest_reports(principal, unique(res.reports), now)
                        self.metrics.inc("lowalt_feed_reports_total", len(res.reports), feed=feed)
            except (OSError, asyncio.IncompleteReadError) as exc:
                log.warning("adsb_connection_lost", extra={"feed": feed, "error": str(exc)[:200]})
            finally:
                self.metrics.set("lowalt_feed_connected", 0, feed=feed)
                writer.close()
            await asyncio.sleep(wait)

    async def _rid_poller(self, sp: RidProvider) -> None:
        """Poll a Remote ID provider's F3411 ``/uss/flights`` for the configured view."""
        import httpx

        feed, principal = f"rid:{sp.provider}", receiver_principal(f"rid:{sp.provider}")
        view = ",".join(f"{v:.7f}" for v in sp.view)
        headers = {"Authorization": f"Bearer {sp.token}"} if sp.token else {}
        last: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=max(sp.every_s * 2, 2.0), headers=headers) as http:
            while True:
                started = time.monotonic()
                try:
                    r = await http.get(sp.flights_url, params={"view": view})
                    r.raise_for_status()
                    reports, skipped = flights_to_reports(r.content, geoid_undulation_m=sp.geoid_undulation_m,
                                                          category=sp.category)
                    self.metrics.inc("lowalt_feed_packets_total", len(reports) + skipped, feed=feed)
                    reports = [r for r in reports if float(r.t) > last.get(r.id, -1.0)]  # new states only
                    last.update((r.id, float(r.t)) for r in reports)
                    if len(last) > 100_000:
                        last.clear()
                    if reports:
                        self.sink.ingest_reports(principal, unique(reports))
                        self.metrics.inc("lowalt_feed_reports_total", len(reports), feed=feed)
                except (httpx.HTTPError, OSError) as exc:  # a provider that is down: count, go on
                    self.metrics.inc("lowalt_feed_refused_total", feed=feed, reason="unavailable")
                    log.warning("rid_poll_failed", extra={"feed": feed, "error": str(exc)[:200]})
                except Exception as exc:  # an answer that is not a GetFlightsResponse: count, go on
                    self.metrics.inc("lowalt_feed_refused_total", feed=feed, reason="malformed")
                    log.warning("rid_poll_failed", extra={"feed": feed, "error": str(exc)[:200]})
                await asyncio.sleep(max(0.0, sp.every_s - (time.monotonic() - started)))
