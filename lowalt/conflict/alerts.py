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
flap. Alert ids come from ``id_factory(kind, subject, n)`` where ``n`` counts the alerts this book
raised for that subject (1 for the first). The default is deterministic,
``"{kind}:{subject joined by '|'}:{n}"``, so replaying the same ticks gives the same ids; the
server passes a factory of globally unique ids (UUIDs), because a count kept in memory starts
again from 1 after a restart. :meth:`AlertBook.adopt` takes alerts a previous run left open, so
they continue under their ids (or clear) instead of being forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lowalt.conflict.alert_model import Alert as Alert
from lowalt.conflict.alert_model import AlertState as AlertState
from lowalt.conflict.alert_model import FindingKind as FindingKind
from lowalt.conflict.alert_model import Severity as Severity
from lowalt.conflict.alert_table import FindingBatch, KindTable


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


_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})

IdFactory = Callable[["FindingKind", tuple[str, ...], int], str]


def sequential_id(kind: FindingKind, subject: tuple[str, ...], seq: int) -> str:
    """Deterministic alert id (tests, replays): unique only within one book's lifetime."""
    return f"{kind.value}:{'|'.join(subject)}:{seq}"


class Finding(NamedTuple):
    """One thing the monitor sees this tick (a named tuple: built thousands of times per tick)."""

    kind: FindingKind
    subject: tuple[str, ...]
    severity: Severity
    details: Mapping[str, Any] = _NO_DETAILS

    @property
    def key(self) -> tuple[FindingKind, tuple[str, ...]]:
        return (self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class AlertDiff:
    """What changed in one tick."""

    new: tuple[Alert, ...] = ()
    updated: tuple[Alert, ...] = ()
    cleared: tuple[Alert, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.updated or self.cleared)


class AlertBook:
    """Active alerts with hysteresis (see module docstring), one columnar table per kind.

    Findings arrive either as :class:`Finding` tuples (convenient, for a few) or as
    :class:`~lowalt.conflict.alert_table.FindingBatch` columns (for thousands per tick); a kind
    takes one form per tick. See :mod:`lowalt.conflict.alert_table` for the array mechanics.

    Parameters
    ----------
    clear_after_ticks : int
        Consecutive absent ticks before an alert clears (default 3, ``>= 1``).
    clear_after_s : float, optional
        Seconds since last seen before an alert clears, checked at each update.
    downgrade_after_ticks : int
        Consecutive ticks at a lower severity before downgrading (default 3, ``>= 1``).
    id_factory : callable
        ``(kind, subject, n) -> id`` for new alerts (default :func:`sequential_id`).
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
        self._tables = {k: KindTable(k) for k in FindingKind}
        self._by_id: dict[str, tuple[FindingKind, int]] = {}
        self._subject_keys: dict[tuple[FindingKind, tuple[str, ...]], int] = {}
        self._last_now: float | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._by_id

    @property
    def active(self) -> tuple[Alert, ...]:
        """Active alerts, ordered by id."""
        out = [t.alert(r) for t in self._tables.values() for r in range(len(t))]
        return tuple(sorted(out, key=lambda a: a.alert_id))

    def get(self, alert_id: str) -> Alert:
        kind, key = self._by_id[alert_id]
        table = self._tables[kind]
        row = table.row_of(key)
        if row is None:  # pragma: no cover - the index and the table move together
            raise KeyError(alert_id)
        return table.alert(row)

    def subject_key(self, kind: FindingKind, subject: tuple[str, ...]) -> int:
        """The key this book uses for a subject given as a :class:`Finding`."""
        k = (kind, subject)
        key = self._subject_keys.get(k)
        if key is None:
            key = self._subject_keys[k] = len(self._subject_keys)
        return key

    def _batch(self, kind: FindingKind, fs: list[Finding]) -> FindingBatch:
        subjects = [f.subject for f in fs]
        details = np.empty(len(fs), dtype=object)
        for k, f in enumerate(fs):
            details[k] = f.details
        return FindingBatch(
            kind, np.array([self.subject_key(kind, s) for s in subjects], dtype=np.int64),
            np.array([int(f.severity) for f in fs], dtype=np.int8), subjects.__getitem__,
            {"details": details}, _details_column,
        )

    def update(self, findings: Iterable[Finding], now: float, batches: Iterable[FindingBatch] = ()) -> AlertDiff:
        """Apply one tick's findings at time ``now`` (epoch s, non-decreasing) and return the diff.

        Output lists are sorted by alert id so the same ticks always give the same diff.
        """
        if self._last_now is not None and now < self._last_now:
            raise ValueError(f"now went backwards: {now} < {self._last_now}")
        self._last_now = now
        by_kind: dict[FindingKind, FindingBatch] = {}
        for b in batches:
            if b.kind in by_kind:
                raise ValueError(f"two batches of {b.kind.value} in one tick")
            by_kind[b.kind] = b
        grouped: dict[FindingKind, list[Finding]] = {}
        for f in findings:
            grouped.setdefault(f.kind, []).append(f)
        for kind, fs in grouped.items():
            if kind in by_kind:
                raise ValueError(f"{kind.value} given both as findings and as a batch")
            by_kind[kind] = self._batch(kind, fs)
        new: list[Alert] = []
        updated: list[Alert] = []
        cleared: list[Alert] = []
        for kind, table in self._tables.items():
            batch = by_kind.get(kind)
            if batch is None and not len(table):
                continue
            diff = table.update(batch, now, clear_ticks=self._clear_ticks, clear_s=self._clear_s,
                                down_ticks=self._down_ticks, new_id=self._new_id)
            for a in diff.cleared:
                self._by_id.pop(a.alert_id, None)
            cleared += diff.cleared
            for key in diff.new.tolist():
                row = table.row_of(key)
                assert row is not None
                a = table.alert(row)
                self._by_id[a.alert_id] = (kind, key)
                new.append(a)
            for key in diff.updated.tolist():
                row = table.row_of(key)
                if row is not None:
                    updated.append(table.alert(row))

        def by_id(alerts: list[Alert]) -> tuple[Alert, ...]:
            return tuple(sorted(alerts, key=lambda a: a.alert_id))

        return AlertDiff(by_id(new), by_id(updated), by_id(cleared))

    def adopt(self, alerts: Iterable[Alert],
              key_of: Callable[[FindingKind, tuple[str, ...]], int] | None = None) -> None:
        """Take over alerts raised elsewhere (a previous run, another node) as ongoing.

        An adopted alert continues under its id if its finding is seen again, and clears after the
        usual ``clear_after_ticks`` absent ticks if not. Alerts whose subject is already active
        here are ignored (the one in this book wins). ``key_of`` gives the subject key the caller's
        batches use (default: this book's key for findings).
        """
        key_fn = key_of or self.subject_key
        batches: dict[FindingKind, tuple[list[Alert], list[int]]] = {}
        taken: set[tuple[FindingKind, int]] = set()
        for a in alerts:
            key = key_fn(a.kind, a.subject)
            table = self._tables[a.kind]
            if a.alert_id in self._by_id or (a.kind, key) in taken or table.row_of(key) is not None:
                continue
            taken.add((a.kind, key))
            batch = batches.setdefault(a.kind, ([], []))
            batch[0].append(a)
            batch[1].append(key)
            self._by_id[a.alert_id] = (a.kind, key)
        for kind, (found, keys) in batches.items():
            self._tables[kind].adopt(found, keys)

    def acknowledge(self, alert_id: str, by: str, at: float) -> Alert:
        """Mark an active alert acknowledged by ``by`` at ``at`` (epoch s); ``KeyError`` if not active."""
        kind, key = self._by_id[alert_id]
        table = self._tables[kind]
        row = table.row_of(key)
        if row is None:  # pragma: no cover
            raise KeyError(alert_id)
        table.ack_by[row] = by
        table.ack_at[row] = at
        return table.alert(row)


def _details_column(values: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return dict(values["details"])
