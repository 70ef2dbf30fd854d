"""The conflict monitor in a process of its own: the tick's work on the second core.

A 30,000-aircraft tick is ~0.4 s of numpy and Python. Run in a worker thread it holds the GIL that
ingest, the live feed and the history writer need, and they stall behind it: at 30,000 aircraft
report-to-feed p99 went from 91 ms (tick off) to seconds. Here the same :class:`ConflictMonitor` runs
in a child process (``spawn``: the server's threads and event loop are never forked) and this adapter
speaks the service's ``Monitor`` protocol over a pipe. The calling worker thread waits on the pipe
with the GIL released, so the event loop keeps the whole of its core.

What crosses the pipe each tick: the snapshot's columns (pickled numpy arrays), the plan picture and
the intrusion volumes only when they changed (they are rebuilt a few times a minute), and back the
statuses and the alert diff (new, updated, cleared). The active set is rebuilt here from the diffs,
as the thread monitor keeps it, so the ~190,000 active alerts of a 30,000-aircraft picture never
cross the pipe. Acknowledgements and ``GET /alerts`` go to the child under the same lock as a tick,
so an acknowledgement never races a tick (the thread monitor's guarantee).

If the child dies (killed, out of memory) or stops answering, the next call starts a new one, which
adopts the alerts this side knows to be active (same ids: the log continues them) and the call is
made again once.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from lowalt.conflict.intrusion import IntrusionVolumes
from lowalt.live.monitor import ConflictMonitor, PlanPicture, PlanSource
from lowalt.live.service import Assessment
from lowalt.live.shards import ShardOwner
from lowalt.surveillance.tracks import Snapshot

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 60.0
"""A child that has not answered one call in this long is taken for hung, killed and replaced."""
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class MonitorParams:
    """What the child's :class:`ConflictMonitor` is built with (the thread monitor's constructor arguments)."""

    lookahead_s: float = 60.0
    predict_max_s: float = 10.0


class _Latest:
    """The plan picture and intrusion volumes the parent sent last: the child monitor's sources."""

    def __init__(self) -> None:
        self.plans: PlanPicture | None = None
        self.intrusions: IntrusionVolumes | None = None

    def picture(self, now: float) -> PlanPicture:
        assert self.plans is not None
        return self.plans

    def volumes(self, now: float) -> IntrusionVolumes | None:
        return self.intrusions


_SAME = "same"
"""Sent in place of a plan picture / volumes that did not change since the last call."""


def _is_same(value: Any) -> bool:
    return isinstance(value, str) and value == _SAME


def _child(conn: Connection, params: MonitorParams) -> None:
    """The child's loop: one request, one answer, until ``stop`` or the parent goes away. A terminal's Ctrl-C
    reaches the whole process group: the parent stops the child in order (``stop``, or its pipe closing),
    so the child ignores it rather than dying mid-answer with a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    latest = _Latest()
    mon = ConflictMonitor(lookahead_s=params.lookahead_s, predict_max_s=params.predict_max_s,
                          intrusion_source=latest.volumes)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        op = msg[0]
        try:
            if op == "stop":
                conn.send(("ok", None))
                return
            if op == "assess":
                _, snap, now, gone, picture, volumes, terrain, owner = msg
                if not _is_same(owner):
                    mon.owner = owner
                if not _is_same(picture):
                    latest.plans = picture
                    mon.plan_source = None if picture is None else latest
                if not _is_same(volumes):
                    latest.intrusions = volumes
                if not _is_same(terrain):
                    mon.terrain = terrain
                res = mon.assess(snap, now, gone)
                lists = [_parts(res.alerts_new), _parts(res.alerts_updated), _parts(res.alerts_cleared)]
                for which, parts in enumerate(lists):
                    for part in parts[1:]:  # all but the first of each list ahead of the answer
                        conn.send(("part", (which, part)))
                conn.send(("ok", (res.statuses, lists[0][0], lists[1][0], lists[2][0], dict(mon.last_phases_ms),
                                  res.handed)))
            elif op == "ack":
                conn.send(("ok", mon.acknowledge(*msg[1:])))
            elif op == "current":  # ~190,000 alerts over a dense picture: in parts, like a tick's diff
                parts = _parts(mon.current_alerts())
                for part in parts[1:]:
                    conn.send(("part", (0, part)))
                conn.send(("ok", parts[0]))
            elif op == "adopt":
                _, alerts, now = msg
                mon.adopt(alerts, now)
                known = {a["id"]: a for a in mon.current_alerts()}
                conn.send(("ok", {w["id"]: known[w["id"]] for w in alerts if w["id"] in known}))
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except Exception:  # report, keep serving: one bad call must not end the monitor
            conn.send(("error", traceback.format_exc(limit=8)))


PART_ALERTS = 4000
"""Alerts per pipe message. The first tick over a dense picture raises ~190,000 alerts at once; unpickled as
one message they held the GIL (and stalled the event loop) for over a second, in parts of this size
the loop runs between them."""


def _parts(alerts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [alerts[k:k + PART_ALERTS] for k in range(0, len(alerts), PART_ALERTS)] or [[]]


class MonitorUnavailable(RuntimeError):
    """The monitor process failed twice in a row on one call."""


class ProcessMonitor:
    """The service's ``Monitor`` over a :class:`ConflictMonitor` in a child process."""

    def __init__(self, params: MonitorParams | None = None, *,
                 intrusion_source: Any = None, plan_source: PlanSource | None = None, terrain: Any = None) -> None:
        self.params = params or MonitorParams()
        self.intrusion_source = intrusion_source
        self.plan_source = plan_source
        self.terrain = terrain
        self.owner: ShardOwner | None = None
        """The shards this monitor owns (sent to the child when it changes); None: everything."""
        self.last_phases_ms: dict[str, float] = {}
        self.restarts = 0
        self._wire: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._proc: BaseProcess | None = None
        self._sent: dict[str, Any] = {}

    # -- the Monitor protocol ----------------------------------------------------------------

    def assess(self, snap: Snapshot, now: float, gone: Snapshot | None = None) -> Assessment:
        picture = self.plan_source.picture(now) if self.plan_source is not None else None
        volumes = self.intrusion_source(now) if self.intrusion_source is not None else None
        with self._lock:
            parts: list[list[dict[str, Any]]] = [[], [], []]
            statuses, new, updated, cleared, phases, handed = self._call(
                lambda: ("assess", snap, now, gone, self._changed("picture", picture),
                         self._changed("volumes", volumes), self._changed("terrain", self.terrain),
                         self._changed("owner", self.owner)),
                parts=parts)
            new, updated, cleared = new + parts[0], updated + parts[1], cleared + parts[2]
            self.last_phases_ms = phases
            for a in (*new, *updated):
                self._wire[a["id"]] = a
            for a in (*cleared, *handed):
                self._wire.pop(a["id"], None)
            return Assessment(statuses=statuses, alerts_new=new, alerts_updated=updated, alerts_cleared=cleared,
                              active=dict(self._wire), handed=handed)

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        with self._lock:
            wire: dict[str, Any] | None = self._call(lambda: ("ack", alert_id, by, at))
            if wire is not None:
                self._wire[alert_id] = wire
            return wire

    def current_alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            parts: list[list[dict[str, Any]]] = [[]]
            first: list[dict[str, Any]] = self._call(lambda: ("current",), parts=parts)
            return first + parts[0]

    def adopt(self, alerts: list[dict[str, Any]], now: float) -> None:
        with self._lock:
            self._wire.update(self._call(lambda: ("adopt", alerts, now)))

    def close(self) -> None:
        """Stop the child (at the server's stop); a later call would start a new one."""
        with self._lock:
            conn, proc = self._conn, self._proc
            self._conn = self._proc = None
            if conn is not None:
                try:
                    conn.send(("stop",))
                    if conn.poll(5.0):
                        conn.recv()
                except (EOFError, OSError):
                    pass
                conn.close()
            if proc is not None:
                proc.join(5.0)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5.0)

    @property
    def pid(self) -> int | None:
        """The child's process id (None before the first call)."""
        return self._proc.pid if self._proc is not None else None

    # -- the pipe ----------------------------------------------------------------------------

    def _changed(self, name: str, value: Any) -> Any:
        """``value`` if it is not the object sent last time under ``name``, else the marker."""
        if name in self._sent and self._sent[name] is value:
            return _SAME
        self._sent[name] = value
        return value

    def _call(self, request: Any, parts: list[list[dict[str, Any]]] | None = None) -> Any:
        """Send ``request()`` and return the answer (``part`` messages ahead of it are appended to
        ``parts``); on a dead or hung child, start a new one (adopting the active alerts) and try once
        more. Caller holds the lock."""
        for attempt in (1, 2):
            if self._conn is None:
                self._start()
            conn = self._conn
            assert conn is not None
            for got in parts or ():
                got.clear()
            try:
                conn.send(request())
                while True:
                    if not conn.poll(ANSWER_TIMEOUT_S):
                        raise TimeoutError(f"no answer in {ANSWER_TIMEOUT_S:.0f} s")
                    status, value = conn.recv()
                    if status != "part":
                        break
                    if parts is not None:
                        parts[value[0]] += value[1]
            except (EOFError, OSError, TimeoutError) as exc:
                log.error("monitor_process_lost", extra={"error": str(exc)[:200], "attempt": attempt,
                                                         "pid": self.pid})
                self._discard()
                if attempt == 2:
                    raise MonitorUnavailable(str(exc)) from exc
                continue
            if status != "ok":
                raise RuntimeError(f"monitor process: {value}")
            return value
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_child, args=(child, self.params), name="lowalt-monitor", daemon=True)
        proc.start()
        child.close()
        try:
            if not parent.poll(START_TIMEOUT_S):
                raise TimeoutError(f"not ready in {START_TIMEOUT_S:.0f} s")
            parent.recv()
        except (EOFError, OSError, TimeoutError) as exc:
            parent.close()
            proc.kill()
            proc.join(5.0)
            raise MonitorUnavailable(f"the monitor process did not start: {exc}") from exc
        self._conn, self._proc = parent, proc
        self._sent = {}
        if self._wire:  # a replacement: continue what the previous child had open, under the same ids
            self.restarts += 1
            parent.send(("adopt", list(self._wire.values()), max(a["last_seen"] for a in self._wire.values())))
            if parent.poll(ANSWER_TIMEOUT_S):
                parent.recv()
        log.info("monitor_process_started", extra={"pid": proc.pid, "restarts": self.restarts})

    def _discard(self) -> None:
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5.0)
