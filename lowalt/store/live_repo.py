"""Track history (COPY in batches) and the alert log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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


async def upsert_alerts(conn: AsyncConnection, alerts: Sequence[dict[str, Any]]) -> None:
    """Insert or update alerts by id (the lifecycle is decided in memory; this only records it)."""
    if not alerts:
        return
    await conn.execute(
        text(
            """
            INSERT INTO alerts (id, kind, severity, state, aircraft, first_seen, last_seen, cleared_at,
                                acknowledged_by, acknowledged_at, details)
            VALUES (:id, :kind, :severity, :state, :aircraft, :first_seen, :last_seen, :cleared_at,
                    :acknowledged_by, :acknowledged_at, CAST(:details AS jsonb))
            ON CONFLICT (id) DO UPDATE SET severity = EXCLUDED.severity, state = EXCLUDED.state,
                last_seen = EXCLUDED.last_seen, cleared_at = EXCLUDED.cleared_at,
                acknowledged_by = EXCLUDED.acknowledged_by, acknowledged_at = EXCLUDED.acknowledged_at,
                details = EXCLUDED.details
            """
        ),
        [
            {
                "id": a["id"], "kind": a["kind"], "severity": a["severity"], "state": a["state"],
                "aircraft": list(a["aircraft"]), "first_seen": _ts(a["first_seen"]), "last_seen": _ts(a["last_seen"]),
                "cleared_at": _ts(a.get("cleared_at")), "acknowledged_by": a.get("acknowledged_by"),
                "acknowledged_at": _ts(a.get("acknowledged_at")),
                "details": json.dumps(a.get("details", {}), ensure_ascii=False, default=float),
            }
            for a in alerts
        ],
    )


async def list_alerts(conn: AsyncConnection, *, state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    q = "SELECT * FROM alerts" + (" WHERE state = :state" if state else "") + " ORDER BY last_seen DESC LIMIT :l"
    rows = await conn.execute(text(q), {"state": state, "l": limit})
    return [dict(r._mapping) for r in rows]
