"""The alert lifecycle as columns: one table per finding kind, updated with array operations.

A monitor pass over 10,000 tracks finds tens of thousands of conflicts, intrusions and
unauthorised flights; building one Python object per finding per tick cost more than the conflict
engine itself. Here a tick hands each kind's findings over as a :class:`FindingBatch` (integer
subject keys, severities and detail columns) and the table applies the lifecycle with sorted-key
lookups (``np.searchsorted``): escalation, delayed downgrade, clearing after absent ticks or
seconds. Python objects (ids, subjects, :class:`~lowalt.conflict.alert_model.Alert`) are built only for
alerts that are new, changed severity, cleared, or that somebody asks for.

Subject keys are any int64 that is the same for the same subject on every tick (the caller's
choice: aircraft registry codes, pairs packed into one integer, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lowalt.conflict.alert_model import Alert, AlertState, FindingKind, Severity

Render = Callable[[dict[str, Any], tuple[str, ...]], dict[str, Any]]
"""(one row's detail column values, subject) -> the alert's ``details``."""

NEW, ONGOING = 1, 2


def _plain(values: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}


@dataclass(frozen=True)
class FindingBatch:
    """One tick's findings of one kind, as K rows of columns.

    Attributes
    ----------
    kind : FindingKind
    keys : ndarray of int64, shape (K,)
        Subject key per row (the same subject has the same key on every tick).
    severity : ndarray of int8, shape (K,)
        Severity code per row (:class:`~lowalt.conflict.alert_model.Severity`).
    subject : callable
        ``subject(row) -> tuple of ids``; called only for rows that raise a new alert.
    columns : mapping of name -> ndarray, shape (K,)
        Detail values per row (numeric or object); kept as the alert's latest details.
    render : callable, optional
        Turns one row's column values (and the subject) into the ``details`` mapping.
    """

    kind: FindingKind
    keys: NDArray[np.int64]
    severity: NDArray[np.int8]
    subject: Callable[[int], tuple[str, ...]]
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    render: Render = _plain
    unique: bool = False
    """The caller promises each key appears once (skips the de-duplication sort)."""

    def __len__(self) -> int:
        return int(self.keys.shape[0])


@dataclass(frozen=True)
class TableDiff:
    new: NDArray[np.int64]
    """Keys of alerts raised this tick."""
    updated: NDArray[np.int64]
    """Keys of alerts whose severity changed this tick."""
    cleared: list[Alert]


class KindTable:
    """Active alerts of one kind, rows sorted by subject key."""

    def __init__(self, kind: FindingKind) -> None:
        self.kind = kind
        self.keys = np.zeros(0, dtype=np.int64)
        self.ids = np.empty(0, dtype=object)
        self.subjects = np.empty(0, dtype=object)
        self.severity = np.zeros(0, dtype=np.int8)
        self.state = np.zeros(0, dtype=np.int8)
        self.first_seen = np.zeros(0)
        self.last_seen = np.zeros(0)
        self.missed = np.zeros(0, dtype=np.int32)
        self.lower_count = np.zeros(0, dtype=np.int32)
        self.lower_max = np.zeros(0, dtype=np.int8)
        self.ack_by = np.empty(0, dtype=object)
        self.ack_at = np.zeros(0)
        self.columns: dict[str, np.ndarray] = {}
        self.render: Render = _plain
        self.seq: dict[int, int] = {}
        """Alerts raised per subject key (for deterministic id factories)."""
        self.adopted: dict[str, Mapping[str, Any]] = {}
        """Details of adopted alerts not seen again yet (their columns are not known)."""

    _ROW_COLS = ("keys", "ids", "subjects", "severity", "state", "first_seen", "last_seen", "missed",
                 "lower_count", "lower_max", "ack_by", "ack_at")

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def row_of(self, key: int) -> int | None:
        r = int(np.searchsorted(self.keys, key))
        return r if r < len(self) and self.keys[r] == key else None

    def alert(self, row: int, *, state: AlertState | None = None, cleared_at: float | None = None) -> Alert:
        subject: tuple[str, ...] = self.subjects[row]
        adopted = self.adopted.get(self.ids[row]) if self.adopted else None
        details = dict(adopted) if adopted is not None else \
            self.render({k: c[row] for k, c in self.columns.items()}, subject)
        ack_at = float(self.ack_at[row])
        return Alert(
            alert_id=str(self.ids[row]), kind=self.kind, subject=subject, severity=Severity(int(self.severity[row])),
            state=state or (AlertState.NEW if self.state[row] == NEW else AlertState.ONGOING),
            first_seen=float(self.first_seen[row]), last_seen=float(self.last_seen[row]),
            details=MappingProxyType(details), acknowledged_by=self.ack_by[row],
            acknowledged_at=None if np.isnan(ack_at) else ack_at, cleared_at=cleared_at,
        )

    def _take(self, keep: NDArray[np.bool_] | NDArray[np.int64]) -> None:
        for name in self._ROW_COLS:
            setattr(self, name, getattr(self, name)[keep])
        self.columns = {k: c[keep] for k, c in self.columns.items()}

    def update(self, batch: FindingBatch | None, now: float, *, clear_ticks: int, clear_s: float | None,
               down_ticks: int, new_id: Callable[[FindingKind, tuple[str, ...], int], str]) -> TableDiff:
        a = len(self)
        bkeys = np.zeros(0, dtype=np.int64) if batch is None else np.asarray(batch.keys, dtype=np.int64)
        bsev = np.zeros(0, dtype=np.int8) if batch is None else np.asarray(batch.severity, dtype=np.int8)
        brows = np.arange(len(bkeys))
        if len(bkeys) > 1 and not (batch is not None and batch.unique):  # a subject twice: keep its worst
            order = np.lexsort((-bsev.astype(np.int16), bkeys))
            first = np.ones(len(order), dtype=np.bool_)
            first[1:] = bkeys[order][1:] != bkeys[order][:-1]
            brows = order[first]
        if batch is not None and len(bkeys):
            self.render = batch.render
            for name, col in batch.columns.items():  # a column seen for the first time
                if name not in self.columns:
                    self.columns[name] = np.zeros(a, dtype=np.asarray(col).dtype) if a else np.asarray(col)[:0]
        pos = np.searchsorted(self.keys, bkeys[brows]) if a else np.zeros(len(brows), dtype=np.int64)
        found = (pos < a) & (self.keys[np.minimum(pos, max(a - 1, 0))] == bkeys[brows]) if a else \
            np.zeros(len(brows), dtype=np.bool_)
        r = pos[found]
        src = brows[found]
        updated_rows = np.zeros(0, dtype=np.int64)
        if len(r):
            fs, cur = bsev[src], self.severity[r]
            esc, low = fs > cur, fs < cur
            self.severity[r[esc]] = fs[esc]
            self.lower_count[r[esc]] = 0
            rl, fl = r[low], fs[low]
            lc = self.lower_count[rl]
            lm = np.where(lc == 0, fl, np.maximum(self.lower_max[rl], fl)).astype(np.int8)
            lc = lc + 1
            down = lc >= down_ticks
            self.severity[rl[down]] = lm[down]
            lc[down] = 0
            self.lower_count[rl] = lc
            self.lower_max[rl] = lm
            self.lower_count[r[~esc & ~low]] = 0
            updated_rows = np.concatenate([r[esc], rl[down]])
            self.missed[r] = 0
            self.last_seen[r] = now
            self.state[r] = ONGOING
            if batch is not None:
                for name, col in batch.columns.items():
                    self.columns[name][r] = np.asarray(col)[src]
            if self.adopted:  # seen again: from now on its details come from the columns
                for aid in set(self.ids[r].tolist()) & self.adopted.keys():
                    del self.adopted[aid]
        updated_keys = self.keys[updated_rows]
        cleared: list[Alert] = []
        if a:
            absent = np.ones(a, dtype=np.bool_)
            absent[r] = False
            self.missed[absent] += 1
            self.lower_count[absent] = 0
            gone = absent & (self.missed >= clear_ticks)
            if clear_s is not None:
                gone |= absent & (now - self.last_seen >= clear_s)
            if gone.any():
                cleared = [self.alert(int(k), state=AlertState.CLEARED, cleared_at=now) for k in np.flatnonzero(gone)]
                for c in cleared:
                    self.adopted.pop(c.alert_id, None)
                self._take(~gone)
        new_src = brows[~found]
        if len(new_src) and batch is not None:
            self._insert(batch, new_src, bsev, now, new_id)
        return TableDiff(np.sort(bkeys[new_src]), np.sort(updated_keys), cleared)

    def _insert(self, batch: FindingBatch, src: NDArray[np.int64], bsev: NDArray[np.int8], now: float,
                new_id: Callable[[FindingKind, tuple[str, ...], int], str]) -> None:
        m = len(src)
        keys = np.asarray(batch.keys, dtype=np.int64)[src]
        subjects = np.empty(m, dtype=object)
        ids = np.empty(m, dtype=object)
        for k, (row, key) in enumerate(zip(src.tolist(), keys.tolist(), strict=True)):
            subject = batch.subject(row)
            seq = self.seq.get(key, 0) + 1
            self.seq[key] = seq
            subjects[k] = subject
            ids[k] = new_id(self.kind, subject, seq)
        add = {
            "keys": keys, "ids": ids, "subjects": subjects, "severity": bsev[src],
            "state": np.full(m, NEW, dtype=np.int8), "first_seen": np.full(m, now), "last_seen": np.full(m, now),
            "missed": np.zeros(m, dtype=np.int32), "lower_count": np.zeros(m, dtype=np.int32),
            "lower_max": np.zeros(m, dtype=np.int8), "ack_by": np.full(m, None, dtype=object),
            "ack_at": np.full(m, np.nan),
        }
        cols = {name: np.asarray(col)[src] for name, col in batch.columns.items()}
        self._append(add, cols)

    def _append(self, add: dict[str, np.ndarray], cols: dict[str, np.ndarray]) -> None:
        m = len(add["keys"])
        for name in self._ROW_COLS:
            setattr(self, name, np.concatenate([getattr(self, name), add[name]]))
        for name in set(self.columns) | set(cols):
            old = self.columns.get(name)
            new = cols.get(name)
            if old is None:
                old = np.full(len(self) - m, None, dtype=object)
            if new is None:
                new = np.zeros(m, dtype=old.dtype) if old.dtype != object else np.full(m, None, dtype=object)
            self.columns[name] = np.concatenate([old, new]) if old.dtype == new.dtype else \
                np.concatenate([old.astype(object), new.astype(object)])
        order = np.argsort(self.keys, kind="stable")
        self._take(order)

    def adopt(self, alerts: list[Alert], keys: list[int]) -> None:
        """Add alerts raised elsewhere as ongoing, with their last known details (one append for all:
        a restart after a 30,000-aircraft run adopts ~190,000 open alerts)."""
        m = len(alerts)
        if not m:
            return
        subjects = np.empty(m, dtype=object)
        ids = np.empty(m, dtype=object)
        ack_by = np.empty(m, dtype=object)
        for i, a in enumerate(alerts):
            subjects[i], ids[i], ack_by[i] = a.subject, a.alert_id, a.acknowledged_by
        add = {
            "keys": np.array(keys, dtype=np.int64), "ids": ids, "subjects": subjects,
            "severity": np.array([int(a.severity) for a in alerts], dtype=np.int8),
            "state": np.full(m, ONGOING, dtype=np.int8),
            "first_seen": np.array([a.first_seen for a in alerts], dtype=np.float64),
            "last_seen": np.array([a.last_seen for a in alerts], dtype=np.float64),
            "missed": np.zeros(m, dtype=np.int32), "lower_count": np.zeros(m, dtype=np.int32),
            "lower_max": np.zeros(m, dtype=np.int8), "ack_by": ack_by,
            "ack_at": np.array([np.nan if a.acknowledged_at is None else a.acknowledged_at for a in alerts],
                               dtype=np.float64),
        }
        self._append(add, {})
        for a in alerts:
            self.adopted[a.alert_id] = a.details
