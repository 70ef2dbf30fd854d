"""Users and tokens in PostGIS. Repositories never commit; the caller's unit of work does."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.identity.model import Principal, Role
from lowalt.identity.tokens import display_prefix, hash_token, new_token
from lowalt.store.tables import api_tokens, users


class DuplicateUser(ValueError):
    pass


class UnknownUser(LookupError):
    pass


async def add_user(conn: AsyncConnection, name: str, role: Role, organisation: str | None = None) -> int:
    try:
        async with conn.begin_nested():
            result = await conn.execute(
                insert(users).values(name=name, role=role.value, organisation=organisation).returning(users.c.id)
            )
    except IntegrityError as exc:
        raise DuplicateUser(f"user {name!r} already exists") from exc
    return int(result.scalar_one())


async def user_id_by_name(conn: AsyncConnection, name: str) -> int:
    row = (await conn.execute(select(users.c.id).where(users.c.name == name))).first()
    if row is None:
        raise UnknownUser(f"no user named {name!r}")
    return int(row.id)


async def list_users(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = (await conn.execute(select(users).order_by(users.c.id))).mappings().all()
    return [
        {"id": r["id"], "name": r["name"], "role": r["role"], "organisation": r["organisation"],
         "disabled": r["disabled"], "created_at": r["created_at"].isoformat()}
        for r in rows
    ]


async def issue_token(
    conn: AsyncConnection, user_id: int, *, label: str | None = None, expires_at: datetime | None = None
) -> str:
    """Create a token for the user and return it in clear (the only time it is ever visible)."""
    token = new_token()
    await conn.execute(
        insert(api_tokens).values(
            user_id=user_id, token_hash=hash_token(token), prefix=display_prefix(token),
            label=label, expires_at=expires_at,
        )
    )
    return token


async def revoke_token(conn: AsyncConnection, prefix: str) -> int:
    result = await conn.execute(
        update(api_tokens)
        .where(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)


async def authenticate(conn: AsyncConnection, token: str, now: datetime) -> Principal | None:
    """The principal behind a token, or None when it is unknown, revoked, expired or its user disabled."""
    row = (
        await conn.execute(
            select(
                users.c.id, users.c.name, users.c.role, users.c.organisation,
                api_tokens.c.id.label("token_id"), api_tokens.c.expires_at,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash == hash_token(token),
                api_tokens.c.revoked_at.is_(None),
                users.c.disabled.is_(False),
            )
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return Principal(user_id=int(row.id), name=row.name, role=Role(row.role),
                     organisation=row.organisation, token_id=int(row.token_id))
