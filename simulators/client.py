"""The simulator's only door into the server: its public REST API and websockets.

* :class:`Api` - users and tokens (``POST /admin/users``), weather warnings, restrictions, airspace,
  metrics; aircraft registration and plans (file, approve, activate, complete) through
  :mod:`lowalt.client`, the typed client operators use.
* :class:`TelemetryLink` - one ``/ws/telemetry`` connection (a device or a fleet gateway); counts
  every report it sends and how the server answered (ack counts and error frames by code).
* :class:`LiveWatcher` - a ``/ws/live`` subscriber: report-to-feed latency (the row's ``tr``,
  the report's own timestamp, against arrival time) and every alert it is told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import orjson

from lowalt.client import AsyncClient, LowaltError, Plan, PlanRequest
from simulators.airspace import Airspace
from simulators.scenario import SEVERITIES

SEVERITY_RANK = {s: k for k, s in enumerate(SEVERITIES)}


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, base_url: str, *, concurrency: int = 8, timeout: float = 30.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                      limits=httpx.Limits(max_connections=concurrency * 2))
        self.sem = asyncio.Semaphore(concurrency)
        self._clients: dict[str, AsyncClient] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, token: str | None, body: Any = None,
                   ok: tuple[int, ...] = (200, 201)) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["content-type"] = "application/json"
        async with self.sem:
            r = await self.http.request(method, path, headers=headers,
                                        content=orjson.dumps(body) if body is not None else None)
        if r.status_code not in ok:
            raise ApiError(f"{method} {path} -> {r.status_code}: {r.text[:300]}")
        json_types = ("application/json", "application/geo+json")  # GeoJSON endpoints answer geo+json
        return r.json() if r.headers.get("content-type", "").startswith(json_types) else r.text

    async def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await self.http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.25)
        raise ApiError(f"server at {self.http.base_url} did not become healthy in {timeout:.0f} s")

    async def add_user(self, admin: str, name: str, role: str, org: str | None = None) -> str:
        body = {"name": name, "role": role, **({"organisation": org} if org else {})}
        return str((await self.call("POST", "/admin/users", admin, body))["token"])

    # -- registration and plans: through lowalt.client, as an operator integrating from code would --

    def client(self, token: str) -> AsyncClient:
        """A lowalt.client session for one token, sharing this Api's connection pool."""
        lw = self._clients.get(token)
        if lw is None:
            lw = self._clients[token] = AsyncClient(str(self.http.base_url), token, http=self.http)
        return lw

    async def _lw(self, coro: Any) -> Any:
        async with self.sem:
            try:
                return await coro
            except LowaltError as exc:
                raise ApiError(str(exc)) from exc  # "POST /plans -> 503: ...", as before

    async def register(self, operator: str, aircraft_id: str, category: str) -> None:
        await self._lw(self.client(operator).register_aircraft(aircraft_id, category))

    async def file_plan(self, operator: str, body: dict[str, Any]) -> Plan:
        plan: PlanRequest = body  # type: ignore[assignment]  # built by the missions, validated by the server
        return await self._lw(self.client(operator).file_plan(plan))  # type: ignore[no-any-return]

    async def approve(self, centre: str, plan_id: str, comment: str) -> Plan | None:
        """The centre approves; None when it may not (409: a rule now rejects the plan)."""
        try:
            return await self._lw(self.client(centre).approve(plan_id, comment))  # type: ignore[no-any-return]
        except ApiError as exc:
            if isinstance(exc.__cause__, LowaltError) and exc.__cause__.status == 409:
                return None
            raise

    async def activate(self, operator: str, plan_id: str) -> Plan:
        return await self._lw(self.client(operator).activate(plan_id))  # type: ignore[no-any-return]

    async def complete(self, operator: str, plan_id: str) -> None:
        """Complete a plan; a 409 (already ended, e.g. withdrawn meanwhile) is not an error."""
        try:
            await self._lw(self.client(operator).complete(plan_id))
        except ApiError as exc:
            if not (isinstance(exc.__cause__, LowaltError) and exc.__cause__.status == 409):
                raise

    async def airspace(self, token: str) -> Airspace:
        pts, rts, vols = await asyncio.gather(*(self.call("GET", f"/airspace/{k}", token)
                                                for k in ("points", "routes", "volumes")))
        return Airspace.from_geojson(pts, rts, vols)

    async def metrics(self) -> str:
        r = await self.http.get("/metrics")
        return r.text


def metric(text: str, name: str) -> dict[str, float]:
    """Prometheus text -> {label string: value} for one metric name."""
    out: dict[str, float] = {}
    for m in re.finditer(rf"^{name}(?:\{{(.*?)\}})? ([0-9.e+-]+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


@dataclass
class SendStats:
    sent: int = 0
    frames: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    send_failed: int = 0
    """Reports that could not be written to a socket (connection lost): counted, never silent."""

    def merge(self, other: SendStats) -> None:
        self.sent += other.sent
        self.frames += other.frames
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.errors.update(other.errors)
        self.send_failed += other.send_failed


class TelemetryLink:
    """One telemetry websocket; ``send`` never blocks on the server's answers (a reader task counts them)."""

    def __init__(self, ws_url: str, token: str, stats: SendStats) -> None:
        self.url = f"{ws_url}/ws/telemetry?token={token}"
        self.stats = stats
        self.ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, max_size=None, ping_interval=None, compression=None)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg = orjson.loads(raw)
                if msg.get("type") == "ack":
                    self.stats.accepted += int(msg["accepted"])
                    self.stats.rejected += int(msg["rejected"])
                elif msg.get("type") == "error":
                    self.stats.errors[str(msg.get("code"))] += 1

    async def send(self, reports: list[dict[str, Any]]) -> None:
        if not reports:
            return
        payload = orjson.dumps(reports[0] if len(reports) == 1 else {"reports": reports})
        try:
            if self.ws is None:
                await self.open()
            await self.ws.send(payload.decode())
            self.stats.sent += len(reports)
            self.stats.frames += 1
        except Exception:
            self.stats.send_failed += len(reports)
            self.ws = None

    async def close(self, linger: float = 0.0) -> None:
        if linger:
            await asyncio.sleep(linger)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


@dataclass
class LiveWatcher:
    """Subscribes to ``/ws/live``; keeps latency samples for ``prefix`` aircraft and all alerts."""

    ws_url: str
    token: str
    prefix: str
    latencies: list[np.ndarray] = field(default_factory=list)
    series: list[tuple[float, float, float, int]] = field(default_factory=list)
    """(arrival epoch, p50 ms, p99 ms, rows) per feed message carrying our rows."""
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks_seen: set[str] = field(default_factory=set)
    last_tr: dict[str, float] = field(default_factory=dict)
    measuring: bool = False
    messages: int = 0
    closed_by_server: str | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(f"{self.ws_url}/ws/live?token={self.token}", max_size=None, compression=None)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for raw in self.ws:
                self.handle(orjson.loads(raw), time.time())
        except Exception as exc:  # closed by the server (too slow) or at shutdown
            self.closed_by_server = repr(exc)[:200]

    def handle(self, msg: dict[str, Any], now: float) -> None:
        """Take one feed message received at ``now``: latency of fresh rows, alerts."""
        self.messages += 1
        kind = msg.get("type")
        if kind in ("tracks", "snapshot"):
            tr = msg["tracks"]
            ids, p = tr["ids"], self.prefix
            mine = [k for k, i in enumerate(ids) if i.startswith(p)]
            self.tracks_seen.update(ids[k] for k in mine)
            if mine and kind == "tracks" and self.measuring:
                # a row is re-sent when only its status changes (same report, old ``tr``): only rows
                # carrying a report newer than the last one seen for that aircraft are measured
                last, trs = self.last_tr, tr["tr"]
                fresh = [k for k in mine if trs[k] > last.get(ids[k], 0.0)]
                for k in fresh:
                    last[ids[k]] = trs[k]
                if fresh:
                    lat = (now - np.asarray([trs[k] for k in fresh], dtype=np.float64)) * 1000.0
                    self.latencies.append(lat)
                    self.series.append((now, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)),
                                        len(fresh)))
            for a in msg.get("alerts", []) if kind == "snapshot" else []:
                self.alerts.setdefault(a["id"], a)
        elif kind == "alerts":
            for a in (*msg.get("new", []), *msg.get("updated", [])):
                first = self.alerts.setdefault(a["id"], a)
                first["peak_severity"] = max(first.get("peak_severity", first.get("severity")), a.get("severity"),
                                             key=lambda s: SEVERITY_RANK.get(str(s), -1))

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
