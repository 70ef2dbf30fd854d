"""Track history (COPY in batches) and the alert log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TRACK_COLUMNS = ["aircraft_id", "t_epoch", "lon", "lat", "alt_amsl", "vx", "vy", "vz", "src"]


async def copy_track_points(conn: AsyncConnection, records: Sequence[tuple[Any, ...]]) -> int:
    """Write track points with PostgreSQL COPY (asyncpg's binary copy)."""
    if not records:
        return 0
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table("track_points", records=records, columns=TRACK_COLUMNS)
    return len(records)


async def track_history(
    conn: AsyncConnection, aircraft_id: str, start: datetime, end: datetime, limit: int = 20_000
) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT t_epoch, lon, lat, alt_amsl, vx, vy, vz, src FROM track_points "
            "WHERE aircraft_id = :a AND t >= :s AND t < :e ORDER BY t LIMIT :l"
        ),
        {"a": aircraft_id, "s": start, "e": end, "l": limit},
    )
    return [dict(r._mapping) for r in rows]


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


ALERT_EVENTS = ("raised", "updated", "acknowledged", "cleared")
ALERT_EVENT_COLUMNS = ("alert_id", "event", "kind", "severity", "state", "aircraft", "first_seen", "last_seen",
                       "cleared_at", "acknowledged_by", "acknowledged_at", "details", "node")


def is_data_error(exc: BaseException) -> bool:
    """True when PostgreSQL (or the driver encoding for it) refused the data itself, as opposed to
    the connection or the server being away: retrying the same rows would fail forever."""
    import asyncpg

    if isinstance(exc, asyncpg.exceptions.DataError | asyncpg.exceptions.IntegrityConstraintViolationError):
        return True
    if isinstance(exc, OverflowError | ValueError | TypeError | UnicodeError):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_data_error(cause)


ALERT_EVENTS_PER_COPY = 5000


async def append_alert_events(conn: AsyncConnection, events: Sequence[tuple[str, dict[str, Any]]],
                              *, node: str | None = None) -> None:
    """Append alert lifecycle events to the insert-only log (``alert_events``).

    Each event carries the whole alert as it was then, so the current state of an alert is its
    latest event (the ``alerts`` view). Nothing is ever updated or deleted.
    """
    if not events:
        return
    # COPY (asyncpg's binary copy), like the track history: a tick may raise or update thousands of
    # alerts at once, and a row-by-row executemany spent seconds binding parameters in Python. In parts,
    # so that building the rows of ~190,000 alerts (a dense picture's first tick) never holds the event
    # loop for more than a few tens of milliseconds at a time.
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for k in range(0, len(events), ALERT_EVENTS_PER_COPY):
        await driver.copy_records_to_table("alert_events", columns=ALERT_EVENT_COLUMNS, records=[
            (a["id"], ev, a["kind"], a["severity"], a["state"], list(a["aircraft"]), _ts(a["first_seen"]),
             _ts(a["last_seen"]), _ts(a.get("cleared_at")), a.get("acknowledged_by"), _ts(a.get("acknowledged_at")),
             orjson.dumps({"subject": list(a.get("subject", a["aircraft"])), **a.get("details", {})},
                          default=float, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
             node)
            for ev, a in events[k:k + ALERT_EVENTS_PER_COPY]
        ])


async def list_alerts(conn: AsyncConnection, *, state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Current state of logged alerts (latest event of each), newest first."""
    q = "SELECT * FROM alerts" + (" WHERE state = :state" if state else "") + " ORDER BY last_seen DESC LIMIT :l"
    rows = await conn.execute(text(q), {"state": state, "l": limit})
    return [dict(r._mapping) for r in rows]


async def alert_events(conn: AsyncConnection, alert_id: str) -> list[dict[str, Any]]:
    """The whole history of one alert, oldest first (the audit trail)."""
    rows = await conn.execute(
        text("SELECT * FROM alert_events WHERE alert_id = :a ORDER BY event_id"), {"a": alert_id})
    return [dict(r._mapping) for r in rows]


async def open_alerts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Alerts whose latest event is not ``cleared``, as wire dicts (epoch seconds) for adoption."""
    rows = await conn.execute(text("SELECT * FROM alerts WHERE state <> 'cleared'"))
    out = []
    for r in rows:
        m = dict(r._mapping)
        details = dict(m["details"] or {})
        subject = details.pop("subject", None) or list(m["aircraft"])
        out.append({
            "id": m["id"], "kind": m["kind"], "severity": m["severity"], "state": m["state"],
            "aircraft": list(m["aircraft"]), "subject": list(subject),
            "first_seen": m["first_seen"].timestamp(), "last_seen": m["last_seen"].timestamp(),
            "acknowledged_by": m["acknowledged_by"],
            "acknowledged_at": m["acknowledged_at"].timestamp() if m["acknowledged_at"] else None,
            "details": details,
        })
    return out
