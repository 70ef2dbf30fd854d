"""Roles and the authenticated principal (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a user is for. Each endpoint names the roles it admits; ``admin`` is admitted everywhere."""

    OPERATOR = "operator"
    """Files flight plans for its own organisation."""
    DEVICE = "device"
    """Reports telemetry for the aircraft bound to it (or its fleet, as a gateway)."""
    CENTRE = "centre"
    """Coordination-centre staff: sees everything, approves plans, issues restrictions."""
    VIEWER = "viewer"
    """Read-only map."""
    ADMIN = "admin"
    """Manages users and tokens; may do anything."""
    MILITARY = "military"
    """军: the military airspace authority: activates military areas, decides plans in them (issue #19)."""
    ATC = "atc"
    """民: civil aviation ATC at Luojia (ZSJD): notices, decides plans in its controlled airspace (#19)."""
    POLICE = "police"
    """地: police: counter-UAS cases handed over by the centre (#19, lowalt.coordination)."""


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    user_id: int
    name: str
    role: Role
    organisation: str | None
    token_id: int

    def has_role(self, *roles: Role) -> bool:
        return self.role is Role.ADMIN or self.role in roles


class Refusal(StrEnum):
    """Why a presented token does not authenticate."""

    MISSING = "missing"
    """No token was presented."""
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    """The token is valid but its user is suspended (disabled): 403, websocket close 4403."""
    AIRCRAFT_SUSPENDED = "aircraft_suspended"
    """A device token whose bound aircraft are all suspended by the centre: 403, websocket close 4403
    (a device that reports for no aircraft in service has nothing to do)."""

    @property
    def status(self) -> int:
        """The HTTP status for this refusal (401: present a valid token; 403: the account may not act)."""
        return 403 if self in (Refusal.SUSPENDED, Refusal.AIRCRAFT_SUSPENDED) else 401

    @property
    def ws_close_code(self) -> int:
        return 4403 if self.status == 403 else 4401
