"""Registered aircraft and the device each is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.store.tables import aircraft


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
