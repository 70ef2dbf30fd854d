"""Activation schedules: recurring weekly windows in local time plus one-off overrides.

Semantics of :meth:`Schedule.is_active` at instant ``t`` (timezone-aware):

1. inside any ``deactivations`` interval -> inactive (one-off closure wins);
2. inside any ``activations`` interval -> active (one-off release / NOTAM-like activation);
3. otherwise, if ``weekly`` windows exist -> active iff local time (``timezone``,
   default Asia/Shanghai) falls in one of them;
4. otherwise (no weekly windows) -> active iff the schedule has no ``activations`` at all,
   i.e. an empty schedule is "always active", while a schedule made only of one-off
   activations is active only during them.

``None`` in place of a schedule means always active. Intervals are half-open
``[start, end)``; a weekly window whose ``end`` is not after ``start`` runs past midnight
into the next day (``start == end`` means the whole day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

LOCAL_TZ = "Asia/Shanghai"
DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
ALL_DAYS: frozenset[int] = frozenset(range(1, 8))
WEEKDAYS: frozenset[int] = frozenset(range(1, 6))
WEEKEND: frozenset[int] = frozenset({6, 7})


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require_aware(t: datetime, what: str) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {t!r}")


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """A recurring window on some days of the week, in the schedule's local time."""

    days: frozenset[int]
    """ISO weekdays the window starts on (1 = Monday ... 7 = Sunday)."""
    start: time
    """Local start time (inclusive)."""
    end: time
    """Local end time (exclusive); not after ``start`` = runs past midnight."""

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError(f"days must be a non-empty subset of 1..7, got {sorted(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("weekly window times are local wall-clock times without tzinfo")

    def contains_local(self, local: datetime) -> bool:
        """True if the local wall-clock datetime falls in this window."""
        tod = local.time().replace(tzinfo=None)
        wd = local.isoweekday()
        if self.start < self.end:
            return wd in self.days and self.start <= tod < self.end
        prev = 7 if wd == 1 else wd - 1
        if self.start == self.end:
            return wd in self.days
        return (wd in self.days and tod >= self.start) or (prev in self.days and tod < self.end)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A one-off interval ``[start, end)`` of timezone-aware datetimes (stored as given, compared in UTC)."""

    start: datetime
    """Inclusive start (timezone-aware)."""
    end: datetime
    """Exclusive end (timezone-aware, after start)."""

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError(f"interval end {self.end.isoformat()} is not after start {self.start.isoformat()}")

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class Schedule:
    """When something (volume, route release, vertiport opening) is active. See module docstring."""

    weekly: tuple[WeeklyWindow, ...] = ()
    """Recurring windows in local time; empty = no recurring restriction."""
    activations: tuple[TimeInterval, ...] = ()
    """One-off activations (UTC-comparable)."""
    deactivations: tuple[TimeInterval, ...] = ()
    """One-off deactivations; they win over everything else."""
    timezone: str = LOCAL_TZ
    """IANA zone the weekly windows are expressed in."""

    def is_active(self, t: datetime) -> bool:
        """Whether the schedule is active at the timezone-aware instant ``t``."""
        _require_aware(t, "t")
        if any(iv.contains(t) for iv in self.deactivations):
            return False
        if any(iv.contains(t) for iv in self.activations):
            return True
        if self.weekly:
            local = t.astimezone(_zone(self.timezone))
            return any(w.contains_local(local) for w in self.weekly)
        return not self.activations

    @staticmethod
    def daily(start: time, end: time, days: frozenset[int] = ALL_DAYS, timezone: str = LOCAL_TZ) -> Schedule:
        """A schedule with one weekly window, e.g. ``Schedule.daily(time(7), time(19))``."""
        return Schedule(weekly=(WeeklyWindow(frozenset(days), start, end),), timezone=timezone)


def is_active(schedule: Schedule | None, t: datetime) -> bool:
    """``schedule.is_active(t)``, with ``None`` meaning always active."""
    if schedule is None:
        _require_aware(t, "t")
        return True
    return schedule.is_active(t)


def active_mask(schedules: Sequence[Schedule | None], t: datetime) -> npt.NDArray[np.bool_]:
    """Activity of many schedules (one per volume) at ``t`` as a bool array (len(schedules),).

    ``None`` entries are always active. Cost is one check per distinct schedule object.
    """
    _require_aware(t, "t")
    memo: dict[int, bool] = {}
    out = np.ones(len(schedules), dtype=np.bool_)
    for k, s in enumerate(schedules):
        if s is None:
            continue
        key = id(s)
        if key not in memo:
            memo[key] = s.is_active(t)
        out[k] = memo[key]
    return out
