"""Registered aircraft, the device each is bound to, and their suspensions (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.store.tables import aircraft, aircraft_audit


class DuplicateAircraft(ValueError):
    pass


async def add_aircraft(
    conn: AsyncConnection, aircraft_id: str, *, category: str, organisation: str | None,
    registration: str | None = None, device_user_id: int | None = None,
) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(insert(aircraft).values(
                id=aircraft_id, category=category, organisation=organisation, registration=registration,
                device_user_id=device_user_id))
    except IntegrityError as exc:
        raise DuplicateAircraft(f"aircraft {aircraft_id!r} is already registered") from exc


async def list_aircraft(conn: AsyncConnection, organisation: str | None = None) -> list[dict[str, Any]]:
    q = select(aircraft).order_by(aircraft.c.id)
    if organisation is not None:
        q = q.where(aircraft.c.organisation == organisation)
    return [dict(r) for r in (await conn.execute(q)).mappings().all()]


class UnknownAircraft(LookupError):
    pass


async def get_aircraft(conn: AsyncConnection, aircraft_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(aircraft).where(aircraft.c.id == aircraft_id))).mappings().first()
    return None if row is None else dict(row)


async def set_suspended(conn: AsyncConnection, aircraft_id: str, suspended: bool, *, by_user: str,
                        reason: str) -> dict[str, Any]:
    """Suspend (or reinstate) an aircraft and audit who did it and why, in the caller's transaction.
    Returns the audit row. Raises UnknownAircraft. Repeating the current state is audited too: the
    record says someone confirmed it."""
    row = (await conn.execute(update(aircraft).where(aircraft.c.id == aircraft_id).values(suspended=suspended)
                              .returning(aircraft.c.id))).first()
    if row is None:
        raise UnknownAircraft(f"no aircraft {aircraft_id!r}")
    audit = (await conn.execute(insert(aircraft_audit).values(
        aircraft_id=aircraft_id, action="suspend" if suspended else "reinstate", reason=reason, by_user=by_user)
        .returning(*aircraft_audit.c))).mappings().one()
    return dict(audit)


async def audit_trail(conn: AsyncConnection, aircraft_id: str) -> list[dict[str, Any]]:
    """Every suspension and reinstatement of an aircraft, oldest first."""
    q = select(aircraft_audit).where(aircraft_audit.c.aircraft_id == aircraft_id).order_by(aircraft_audit.c.id)
    return [dict(r) for r in (await conn.execute(q)).mappings().all()]
