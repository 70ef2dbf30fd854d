"""The pilot register (0011): pilots and their licences per organisation. Repositories never commit;
the caller's unit of work does. Rows come back whole (``id_number`` included): masking the real-name
number is the API's job (``lowalt.api.routers.pilots``), so the store never loses it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.filing.pilot_rules import RegisteredPilot
from lowalt.store.tables import pilots


class DuplicatePilot(ValueError):
    """The organisation already registered this person (``id_number``) or this licence number."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _duplicate(exc: IntegrityError) -> DuplicatePilot:
    return DuplicatePilot("licence_number" if "pilots_org_licence" in str(exc.orig) else "id_number")


async def add_pilot(conn: AsyncConnection, *, organisation: str, name: str, id_number: str, created_by: str,
                    licence_number: str | None = None, licence_class: str | None = None,
                    licence_expiry: date | None = None) -> dict[str, Any]:
    try:
        async with conn.begin_nested():
            row = (await conn.execute(insert(pilots).values(
                organisation=organisation, name=name, id_number=id_number, licence_number=licence_number,
                licence_class=licence_class, licence_expiry=licence_expiry, created_by=created_by,
            ).returning(*pilots.c))).mappings().one()
    except IntegrityError as exc:
        raise _duplicate(exc) from exc
    return dict(row)


async def list_pilots(conn: AsyncConnection, organisation: str | None = None) -> list[dict[str, Any]]:
    """The register of one organisation (None: every organisation's), by name."""
    q = select(pilots).order_by(pilots.c.organisation, pilots.c.name, pilots.c.id)
    if organisation is not None:
        q = q.where(pilots.c.organisation == organisation)
    return [dict(r) for r in (await conn.execute(q)).mappings().all()]


async def get_pilot(conn: AsyncConnection, pilot_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(pilots).where(pilots.c.id == pilot_id))).mappings().first()
    return dict(row) if row is not None else None


async def update_pilot(conn: AsyncConnection, pilot_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change some columns (name, licence); the whole-licence and uniqueness rules stay the database's."""
    try:
        async with conn.begin_nested():
            row = (await conn.execute(update(pilots).where(pilots.c.id == pilot_id).values(**values)
                                      .returning(*pilots.c))).mappings().one()
    except IntegrityError as exc:
        raise _duplicate(exc) from exc
    return dict(row)


async def delete_pilot(conn: AsyncConnection, pilot_id: int) -> None:
    await conn.execute(delete(pilots).where(pilots.c.id == pilot_id))


async def register_of(conn: AsyncConnection, organisation: str) -> list[RegisteredPilot]:
    """What the filing rule needs of an organisation's register (empty: it keeps none)."""
    q = select(pilots.c.name, pilots.c.licence_number, pilots.c.licence_class, pilots.c.licence_expiry).where(
        pilots.c.organisation == organisation)
    return [RegisteredPilot(r.name, r.licence_number, r.licence_class, r.licence_expiry)
            for r in (await conn.execute(q)).all()]
