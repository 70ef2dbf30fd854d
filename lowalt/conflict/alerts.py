"""Alert lifecycle: a pure state machine over ticks (the caller passes ``now``; no clock reads).

Each tick the caller hands :meth:`AlertBook.update` the current findings. A finding is identified
by ``(kind, subject)``, e.g. ``(FindingKind.CONFLICT, ("UAV12", "UAV7"))`` (ids sorted, see
:func:`conflict_subject`). The book returns a diff:

* ``new``: first tick a subject is seen (state NEW; later ticks make it ONGOING);
* ``updated``: severity changed. Escalation is immediate; a downgrade needs the lower severity on
  ``downgrade_after_ticks`` consecutive ticks (it then drops to the highest of those);
* ``cleared``: the finding was absent for ``clear_after_ticks`` consecutive ticks, or for
  ``clear_after_s`` seconds since last seen (whichever comes first when both are set).

So a pair hovering at the boundary (present, absent, present, ...) keeps one alert and does not
flap. Alert ids are deterministic: ``"{kind}:{subject joined by '|'}:{n}"`` where ``n`` counts the
alerts raised for that subject (1 for the first), so replaying the same ticks gives the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


class FindingKind(StrEnum):
    CONFLICT = "conflict"
    INTRUSION = "intrusion"
    NONCONFORMANCE = "nonconformance"
    UNAUTHORISED = "unauthorised"
    LOST_CONTACT = "lost_contact"


class Severity(IntEnum):
    """Ordered severities (higher is worse)."""

    CAUTION = 1
    """Conflict predicted within the lookahead."""
    WARNING = 2
    """Predicted loss of separation within ``warning_s`` (default 30 s)."""
    ALARM = 3
    """Separation already lost."""


class AlertState(StrEnum):
    NEW = "new"
    ONGOING = "ongoing"
    CLEARED = "cleared"


def severity_from_t_in(t_in: ArrayLike, *, warning_s: float = 30.0) -> NDArray[np.int8]:
    """Severity codes for conflicts: ALARM if ``t_in == 0``, WARNING if ``t_in <= warning_s``, else CAUTION.

    Parameters
    ----------
    t_in : array_like of float, shape (K,)
        Time to loss of separation (s), as in :class:`~lowalt.conflict.Conflicts`.
    warning_s : float
        Warning threshold (s); regulations_cn.md I4 suggests alerting at 30 s.
    """
    t = np.asarray(t_in, dtype=np.float64)
    out = np.full(t.shape, Severity.CAUTION, dtype=np.int8)
    out[t <= warning_s] = Severity.WARNING
    out[t <= 0.0] = Severity.ALARM
    return out


def conflict_subject(id_a: str, id_b: str) -> tuple[str, str]:
    """Order-independent subject for a pair of aircraft ids."""
    return (id_a, id_b) if id_a <= id_b else (id_b, id_a)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the monitor sees this tick."""

    kind: FindingKind
    subject: tuple[str, ...]
    severity: Severity
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[FindingKind, tuple[str, ...]]:
        return (self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class Alert:
    """Snapshot of an alert."""

    alert_id: str
    kind: FindingKind
    subject: tuple[str, ...]
    severity: Severity
    state: AlertState
    first_seen: float
    last_seen: float
    details: Mapping[str, Any]
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    cleared_at: float | None = None


@dataclass(frozen=True, slots=True)
class AlertDiff:
    """What changed in one tick."""

    new: tuple[Alert, ...] = ()
    updated: tuple[Alert, ...] = ()
    cleared: tuple[Alert, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.updated or self.cleared)


@dataclass(slots=True)
class _Entry:
    alert: Alert
    missed: int = 0
    lower_count: int = 0
    lower_max: Severity = Severity.CAUTION


class AlertBook:
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
        self._active: dict[tuple[FindingKind, tuple[str, ...]], _Entry] = {}
        self._by_id: dict[str, tuple[FindingKind, tuple[str, ...]]] = {}
        self._seq: dict[tuple[FindingKind, tuple[str, ...]], int] = {}
        self._last_now: float | None = None

    @property
    def active(self) -> tuple[Alert, ...]:
        """Active alerts, ordered by id."""
        return tuple(sorted((e.alert for e in self._active.values()), key=lambda a: a.alert_id))

    def get(self, alert_id: str) -> Alert:
        return self._active[self._by_id[alert_id]].alert

    def update(self, findings: Iterable[Finding], now: float) -> AlertDiff:
        """Apply one tick's findings at time ``now`` (epoch s, non-decreasing) and return the diff."""
        if self._last_now is not None and now < self._last_now:
            raise ValueError(f"now went backwards: {now} < {self._last_now}")
        self._last_now = now
        current: dict[tuple[FindingKind, tuple[str, ...]], Finding] = {}
        for f in findings:
            k = f.key
            if k not in current or f.severity > current[k].severity:
                current[k] = f
        new: list[Alert] = []
        updated: list[Alert] = []
        cleared: list[Alert] = []

        for k, f in sorted(current.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
            entry = self._active.get(k)
            details = MappingProxyType(dict(f.details))
            if entry is None:
                seq = self._seq.get(k, 0) + 1
                self._seq[k] = seq
                alert = Alert(
                    alert_id=f"{f.kind.value}:{'|'.join(f.subject)}:{seq}",
                    kind=f.kind, subject=f.subject, severity=Severity(f.severity), state=AlertState.NEW,
                    first_seen=now, last_seen=now, details=details,
                )
                self._active[k] = _Entry(alert)
                self._by_id[alert.alert_id] = k
                new.append(alert)
                continue
            entry.missed = 0
            old = entry.alert
            sev = old.severity
            changed = False
            if f.severity > sev:
                sev, changed = Severity(f.severity), True
                entry.lower_count = 0
            elif f.severity < sev:
                entry.lower_max = Severity(f.severity) if entry.lower_count == 0 else max(
                    entry.lower_max, Severity(f.severity))
                entry.lower_count += 1
                if entry.lower_count >= self._down_ticks:
                    sev, changed = entry.lower_max, True
                    entry.lower_count = 0
            else:
                entry.lower_count = 0
            entry.alert = replace(old, severity=sev, state=AlertState.ONGOING, last_seen=now, details=details)
            if changed:
                updated.append(entry.alert)

        for k in sorted(set(self._active) - set(current), key=lambda k: (k[0].value, k[1])):
            entry = self._active[k]
            entry.missed += 1
            entry.lower_count = 0
            timed_out = self._clear_s is not None and now - entry.alert.last_seen >= self._clear_s
            if entry.missed >= self._clear_ticks or timed_out:
                done = replace(entry.alert, state=AlertState.CLEARED, cleared_at=now)
                del self._active[k]
                del self._by_id[done.alert_id]
                cleared.append(done)
        return AlertDiff(tuple(new), tuple(updated), tuple(cleared))

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert:
        """Mark an active alert acknowledged by ``by`` at ``at`` (epoch s); ``KeyError`` if not active."""
        if alert_id not in self._by_id:
            raise KeyError(alert_id)
        entry = self._active[self._by_id[alert_id]]
        entry.alert = replace(entry.alert, acknowledged_by=by, acknowledged_at=at)
        return entry.alert
