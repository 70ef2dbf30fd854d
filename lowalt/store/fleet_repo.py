"""Editing a registered aircraft (the operator portal's fleet, issue #22). Repositories never commit;
the caller's unit of work does. Registration itself is ``aircraft_repo``'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.store.tables import aircraft, plans, users

HOLDING_STATES = ("approved", "active", "referred")
"""Plan states that hold (or may hold) the aircraft under the category it was filed with."""


async def aircraft_row(conn: AsyncConnection, aircraft_id: str) -> dict[str, Any] | None:
    """The aircraft with the name of the device user bound to it (``device``), or None."""
    q = select(aircraft, users.c.name.label("device")).select_from(
        aircraft.outerjoin(users, users.c.id == aircraft.c.device_user_id)).where(aircraft.c.id == aircraft_id)
    row = (await conn.execute(q)).mappings().first()
    return dict(row) if row is not None else None


async def update_aircraft(conn: AsyncConnection, aircraft_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(aircraft).where(aircraft.c.id == aircraft_id).values(**values))


async def holding_plans(conn: AsyncConnection, aircraft_id: str, now: datetime) -> int:
    """How many of the aircraft's plans are approved, active or referred and not over yet."""
    q = select(func.count()).select_from(plans).where(
        plans.c.aircraft_id == aircraft_id, plans.c.state.in_(HOLDING_STATES), plans.c.ends_at > now)
    return int((await conn.execute(q)).scalar_one())
