"""History of an area: every aircraft's reports inside a lon/lat box in a time window, and the alerts of
that window (the map's "replay by area").

Why a module of its own: the per-aircraft history (``live_repo.track_history``) answers "where was this
aircraft", the centre's question after an incident is "what flew here then". The box is tested on the
``geom`` column, so PostGIS uses the ``track_points_geom_idx`` GiST index with the time range; no new index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

BBox = tuple[float, float, float, float]
"""min lon, min lat, max lon, max lat (WGS84 degrees)."""


async def area_points(conn: AsyncConnection, bbox: BBox, start: datetime, end: datetime, *,
                      organisation: str | None = None, only_own: bool = False, limit: int = 200_000
                      ) -> list[dict[str, Any]]:
    """Reports inside ``bbox`` with ``start <= t < end``, ordered by aircraft then time (at most ``limit``).

    ``only_own``: only aircraft registered to ``organisation`` (an operator's view; none when it has none)."""
    own = ("AND tp.aircraft_id IN (SELECT id FROM aircraft WHERE organisation = :org) " if only_own else "")
    rows = await conn.execute(
        text(
            "SELECT tp.aircraft_id, tp.t_epoch, tp.lon, tp.lat, tp.alt_amsl FROM track_points tp "
            "WHERE tp.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) AND tp.t >= :s AND tp.t < :e "
            + own + "ORDER BY tp.aircraft_id, tp.t_epoch LIMIT :l"
        ),
        {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3], "s": start, "e": end, "l": limit,
         "org": organisation},
    )
    return [dict(r._mapping) for r in rows]


async def window_alerts(conn: AsyncConnection, aircraft: Sequence[str], start: datetime, end: datetime,
                        limit: int = 2_000) -> list[dict[str, Any]]:
    """Logged alerts (latest state of each) that were open at some time in [start, end) and involve any of
    ``aircraft``, oldest first."""
    if not aircraft:
        return []
    rows = await conn.execute(
        text(
            "SELECT * FROM alerts WHERE first_seen < :e AND last_seen >= :s AND aircraft && CAST(:ids AS text[]) "
            "ORDER BY first_seen, id LIMIT :l"
        ),
        {"s": start, "e": end, "ids": list(aircraft), "l": limit},
    )
    return [dict(r._mapping) for r in rows]
