"""The per-object alert book that the columnar one replaced, kept as a test oracle.

Same lifecycle, one Python object per alert: slow with thousands of findings per tick, but easy to
read. ``test_cd_alert_table.py`` checks that the columnar book gives the same diffs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from lowalt.conflict.alerts import (
    Alert,
    AlertDiff,
    AlertState,
    Finding,
    FindingKind,
    IdFactory,
    Severity,
    sequential_id,
)


@dataclass(slots=True)
class _Entry:
    """Mutable state of one active alert; the frozen :class:`Alert` snapshot is rebuilt only when
    someone asks for it, so an ongoing alert costs a few attribute writes per tick."""

    alert: Alert
    last_seen: float
    severity: Severity
    state: AlertState
    details: Mapping[str, Any]
    missed: int = 0
    lower_count: int = 0
    lower_max: Severity = Severity.CAUTION

    def current(self) -> Alert:
        a = self.alert
        if (a.last_seen != self.last_seen or a.severity != self.severity or a.state != self.state
                or a.details is not self.details):
            a = replace(a, last_seen=self.last_seen, severity=self.severity, state=self.state,
                        details=self.details)
            self.alert = a
        return a


class ReferenceAlertBook:
    """Active alerts with hysteresis (see module docstring).

    Parameters
    ----------
    clear_after_ticks : int
        Consecutive absent ticks before an alert clears (default 3, ``>= 1``).
    clear_after_s : float, optional
        Seconds since last seen before an alert clears, checked at each update.
    downgrade_after_ticks : int
        Consecutive ticks at a lower severity before downgrading (default 3, ``>= 1``).
    """

    def __init__(
        self,
        *,
        clear_after_ticks: int = 3,
        clear_after_s: float | None = None,
        downgrade_after_ticks: int = 3,
        id_factory: IdFactory = sequential_id,
    ) -> None:
        if clear_after_ticks < 1:
            raise ValueError("clear_after_ticks must be >= 1")
        if downgrade_after_ticks < 1:
            raise ValueError("downgrade_after_ticks must be >= 1")
        if clear_after_s is not None and not clear_after_s >= 0:
            raise ValueError("clear_after_s must be >= 0")
        self._clear_ticks = clear_after_ticks
        self._clear_s = clear_after_s
        self._down_ticks = downgrade_after_ticks
        self._new_id = id_factory
        self._active: dict[tuple[FindingKind, tuple[str, ...]], _Entry] = {}
        self._by_id: dict[str, tuple[FindingKind, tuple[str, ...]]] = {}
        self._seq: dict[tuple[FindingKind, tuple[str, ...]], int] = {}
        self._last_now: float | None = None

    @property
    def active(self) -> tuple[Alert, ...]:
        """Active alerts, ordered by id."""
        return tuple(sorted((e.current() for e in self._active.values()), key=lambda a: a.alert_id))

    def get(self, alert_id: str) -> Alert:
        return self._active[self._by_id[alert_id]].current()

    def update(self, findings: Iterable[Finding], now: float) -> AlertDiff:
        """Apply one tick's findings at time ``now`` (epoch s, non-decreasing) and return the diff.

        Cost is a dict lookup and a few attribute writes per ongoing finding; output lists are
        sorted by alert id so the same ticks always give the same diff.
        """
        if self._last_now is not None and now < self._last_now:
            raise ValueError(f"now went backwards: {now} < {self._last_now}")
        self._last_now = now
        current: dict[tuple[FindingKind, tuple[str, ...]], Finding] = {}
        for f in findings:
            k = (f.kind, f.subject)
            prev = current.get(k)
            if prev is None or f.severity > prev.severity:
                current[k] = f
        new: list[_Entry] = []
        updated: list[_Entry] = []
        cleared: list[Alert] = []
        active = self._active
        for k, f in current.items():
            entry = active.get(k)
            details = MappingProxyType(dict(f.details))
            if entry is None:
                seq = self._seq.get(k, 0) + 1
                self._seq[k] = seq
                sev = Severity(f.severity)
                alert = Alert(
                    alert_id=self._new_id(f.kind, f.subject, seq),
                    kind=f.kind, subject=f.subject, severity=sev, state=AlertState.NEW,
                    first_seen=now, last_seen=now, details=details,
                )
                entry = _Entry(alert, now, sev, AlertState.NEW, details)
                active[k] = entry
                self._by_id[alert.alert_id] = k
                new.append(entry)
                continue
            entry.missed = 0
            entry.last_seen = now
            entry.details = details
            entry.state = AlertState.ONGOING
            fsev = f.severity
            if fsev > entry.severity:
                entry.severity = Severity(fsev)
                entry.lower_count = 0
                updated.append(entry)
            elif fsev < entry.severity:
                entry.lower_max = Severity(fsev) if entry.lower_count == 0 else max(entry.lower_max, Severity(fsev))
                entry.lower_count += 1
                if entry.lower_count >= self._down_ticks:
                    entry.severity = entry.lower_max
                    entry.lower_count = 0
                    updated.append(entry)
            else:
                entry.lower_count = 0

        if len(active) > len(current):
            for k in [k for k in active if k not in current]:
                entry = active[k]
                entry.missed += 1
                entry.lower_count = 0
                timed_out = self._clear_s is not None and now - entry.last_seen >= self._clear_s
                if entry.missed >= self._clear_ticks or timed_out:
                    done = replace(entry.current(), state=AlertState.CLEARED, cleared_at=now)
                    del active[k]
                    del self._by_id[done.alert_id]
                    cleared.append(done)

        def by_id(alerts: Iterable[Alert]) -> tuple[Alert, ...]:
            return tuple(sorted(alerts, key=lambda a: a.alert_id))

        return AlertDiff(by_id(e.current() for e in new), by_id(e.current() for e in updated), by_id(cleared))

    def adopt(self, alerts: Iterable[Alert]) -> None:
        """Take over alerts raised elsewhere (a previous run, another node) as ongoing.

        An adopted alert continues under its id if its finding is seen again, and clears after the
        usual ``clear_after_ticks`` absent ticks if not. Alerts whose subject is already active
        here are ignored (the one in this book wins).
        """
        for a in alerts:
            k = (a.kind, a.subject)
            if k in self._active or a.alert_id in self._by_id:
                continue
            a = replace(a, state=AlertState.ONGOING)
            self._active[k] = _Entry(a, a.last_seen, a.severity, AlertState.ONGOING, a.details)
            self._by_id[a.alert_id] = k

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert:
        """Mark an active alert acknowledged by ``by`` at ``at`` (epoch s); ``KeyError`` if not active."""
        if alert_id not in self._by_id:
            raise KeyError(alert_id)
        entry = self._active[self._by_id[alert_id]]
        entry.alert = replace(entry.current(), acknowledged_by=by, acknowledged_at=at)
        return entry.alert
