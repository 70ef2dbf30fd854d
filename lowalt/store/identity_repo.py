"""Users and tokens in PostGIS. Repositories never commit; the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.identity.model import Principal, Refusal, Role
from lowalt.identity.tokens import display_prefix, hash_token, new_token
from lowalt.store.tables import aircraft, api_tokens, users


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
    """Users with the display prefixes of their live tokens (what ``lowalt tokens revoke`` takes)."""
    rows = (await conn.execute(select(users).order_by(users.c.id))).mappings().all()
    toks = (await conn.execute(
        select(api_tokens.c.user_id, api_tokens.c.prefix, api_tokens.c.label, api_tokens.c.expires_at)
        .where(api_tokens.c.revoked_at.is_(None)).order_by(api_tokens.c.id))).mappings().all()
    by_user: dict[int, list[dict[str, object]]] = {}
    for t in toks:
        by_user.setdefault(int(t["user_id"]), []).append(
            {"prefix": t["prefix"], "label": t["label"],
             "expires_at": t["expires_at"].isoformat() if t["expires_at"] else None})
    return [
        {"id": r["id"], "name": r["name"], "role": r["role"], "organisation": r["organisation"],
         "disabled": r["disabled"], "created_at": r["created_at"].isoformat(), "tokens": by_user.get(int(r["id"]), [])}
        for r in rows
    ]


async def user_info(conn: AsyncConnection, name: str) -> dict[str, object] | None:
    """One user's id, role, organisation and whether it is suspended, or None."""
    row = (await conn.execute(select(users.c.id, users.c.role, users.c.organisation, users.c.disabled)
                              .where(users.c.name == name))).mappings().first()
    return None if row is None else dict(row)


async def set_suspended(conn: AsyncConnection, name: str, suspended: bool) -> None:
    """Suspend (or reinstate) a user: its tokens stop working while suspended (403, websockets 4403)."""
    result = await conn.execute(update(users).where(users.c.name == name).values(disabled=suspended))
    if not result.rowcount:
        raise UnknownUser(f"no user named {name!r}")


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


def normalise_prefix(shown: str) -> str:
    """The stored display prefix from what an admin typed: the prefix as ``users list`` shows it, with or
    without a trailing ellipsis, or a whole token."""
    p = shown.strip().rstrip(".…")
    return display_prefix(p) if len(p) > len(display_prefix(p)) else p


async def revoke_tokens(conn: AsyncConnection, prefix: str, user: str | None = None) -> list[dict[str, object]]:
    """Revoke the live tokens with this display prefix (of ``user`` only, when given).
    Returns what was revoked: user name, prefix and label of each token."""
    p = normalise_prefix(prefix)
    cond = [api_tokens.c.prefix == p, api_tokens.c.revoked_at.is_(None)]
    if user is not None:
        cond.append(api_tokens.c.user_id == select(users.c.id).where(users.c.name == user).scalar_subquery())
    rows = (await conn.execute(
        update(api_tokens).where(*cond).values(revoked_at=datetime.now(UTC))
        .returning(api_tokens.c.user_id, api_tokens.c.prefix, api_tokens.c.label))).mappings().all()
    names = {u.id: u.name for u in (await conn.execute(
        select(users.c.id, users.c.name).where(users.c.id.in_([r["user_id"] for r in rows])))).all()}
    return [{"user": names.get(r["user_id"]), "prefix": r["prefix"], "label": r["label"]} for r in rows]


async def revoke_token(conn: AsyncConnection, prefix: str) -> int:
    return len(await revoke_tokens(conn, prefix))


async def check_tokens(conn: AsyncConnection, hashes: Sequence[bytes], now: datetime
                       ) -> dict[bytes, Principal | Refusal]:
    """Each token digest's principal, or why it does not authenticate (one query for all of them).
    A device token is refused (``AIRCRAFT_SUSPENDED``) when aircraft are bound to it and all are suspended."""
    if not hashes:
        return {}
    # a device's aircraft: NULL when none is bound to it, else whether every one is suspended
    grounded = (select(func.bool_and(aircraft.c.suspended)).where(aircraft.c.device_user_id == users.c.id)
                .scalar_subquery())
    rows = (await conn.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.organisation, users.c.disabled,
               api_tokens.c.id.label("token_id"), api_tokens.c.token_hash, api_tokens.c.expires_at,
               api_tokens.c.revoked_at, grounded.label("grounded"))
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash.in_(list(hashes))))).all()
    out: dict[bytes, Principal | Refusal] = dict.fromkeys(hashes, Refusal.UNKNOWN)
    for row in rows:
        key = bytes(row.token_hash)
        if row.revoked_at is not None:
            out[key] = Refusal.REVOKED
        elif row.expires_at is not None and row.expires_at <= now:
            out[key] = Refusal.EXPIRED
        elif row.disabled:
            out[key] = Refusal.SUSPENDED
        elif row.role == Role.DEVICE.value and row.grounded:
            out[key] = Refusal.AIRCRAFT_SUSPENDED
        else:
            out[key] = Principal(user_id=int(row.id), name=row.name, role=Role(row.role),
                                 organisation=row.organisation, token_id=int(row.token_id))
    return out


async def check_token(conn: AsyncConnection, token: str, now: datetime) -> Principal | Refusal:
    key = hash_token(token)
    return (await check_tokens(conn, [key], now))[key]


async def authenticate(conn: AsyncConnection, token: str, now: datetime) -> Principal | None:
    """The principal behind a token, or None when it is unknown, revoked, expired or its user disabled."""
    result = await check_token(conn, token, now)
    return result if isinstance(result, Principal) else None
