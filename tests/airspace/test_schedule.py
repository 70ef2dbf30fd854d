"""Schedules in Asia/Shanghai local time, one-off activations and deactivations."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from lowalt.airspace.schedule import (
    WEEKDAYS,
    Schedule,
    TimeInterval,
    WeeklyWindow,
    active_mask,
    is_active,
)

from .conftest import local_time


def test_daily_window_is_local_time() -> None:
    s = Schedule.daily(time(7), time(19))
    assert s.is_active(local_time(2026, 6, 15, 7, 0))
    assert not s.is_active(local_time(2026, 6, 15, 19, 0))
    # 12:00 UTC = 20:00 in Shanghai: closed, although 12:00 would be open in UTC
    assert not s.is_active(datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    assert s.is_active(datetime(2026, 6, 15, 0, 30, tzinfo=UTC))  # 08:30 local


def test_weekdays_and_midnight_crossing() -> None:
    weekdays = Schedule(weekly=(WeeklyWindow(WEEKDAYS, time(9), time(17)),))
    assert weekdays.is_active(local_time(2026, 6, 19, 10))  # Friday
    assert not weekdays.is_active(local_time(2026, 6, 20, 10))  # Saturday
    night = Schedule(weekly=(WeeklyWindow(frozenset({5}), time(22), time(6)),))  # Fri 22:00 - Sat 06:00
    assert night.is_active(local_time(2026, 6, 19, 23))
    assert night.is_active(local_time(2026, 6, 20, 5, 59))
    assert not night.is_active(local_time(2026, 6, 20, 23))  # Saturday night is not in the set
    assert not night.is_active(local_time(2026, 6, 19, 5))  # Friday early morning belongs to Thursday


def test_one_off_overrides() -> None:
    closed = TimeInterval(local_time(2026, 6, 15, 10), local_time(2026, 6, 15, 12))
    extra = TimeInterval(local_time(2026, 6, 15, 20), local_time(2026, 6, 15, 22))
    s = Schedule(weekly=Schedule.daily(time(7), time(19)).weekly, activations=(extra,), deactivations=(closed,))
    assert s.is_active(local_time(2026, 6, 15, 9))
    assert not s.is_active(local_time(2026, 6, 15, 11))
    assert s.is_active(local_time(2026, 6, 15, 21))
    only_once = Schedule(activations=(extra,))
    assert only_once.is_active(local_time(2026, 6, 15, 21)) and not only_once.is_active(local_time(2026, 6, 15, 9))
    assert Schedule().is_active(local_time(2026, 6, 15, 3))
    assert is_active(None, local_time(2026, 6, 15, 3))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 6, 15, 10)  # noqa: DTZ001 - deliberately naive
    with pytest.raises(ValueError):
        Schedule().is_active(naive)
    with pytest.raises(ValueError):
        TimeInterval(naive, naive)


def test_active_mask() -> None:
    day = Schedule.daily(time(7), time(19))
    mask = active_mask([None, day, day, Schedule()], local_time(2026, 6, 15, 22))
    assert mask.tolist() == [True, False, False, True]
