"""The alert's value types: kinds, severities, states and the :class:`Alert` snapshot.

A leaf module so that both the lifecycle (:mod:`lowalt.conflict.alerts`) and its columnar tables
(:mod:`lowalt.conflict.alert_table`) can use them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


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
