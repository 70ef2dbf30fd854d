"""Replay by area: what flew inside a lon/lat box during a time window, with the alerts of that window.

The map's replay panel plays it back at 1-60x (``static/js/replay.js``). Centre and viewers see every
aircraft; an operator only its own organisation's (the query filters in PostGIS, so another operator's
aircraft are never read out). Alerts are those open at some time in the window that involve an aircraft of
the answer, filtered as ``GET /alerts`` filters them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from lowalt.api import authz
from lowalt.api.auth import require
from lowalt.api.errors import ApiError
from lowalt.api.guard import access_of
from lowalt.identity.model import Principal, Role
from lowalt.store import replay_repo

router = APIRouter(tags=["live"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER, Role.CENTRE, Role.OPERATOR))]

MAX_WINDOW = timedelta(hours=6)
"""Longest window (inclusive): a shift's part, and a bounded answer."""
MAX_SPAN_DEG = 3.0
"""Largest side of the box in degrees (inclusive): the whole service area (2.9° x 1.25°) fits."""
MAX_POINTS = 200_000
"""Reports returned at most; ``truncated`` says when there were more (narrow the box or the window)."""


class ReplayTrack(BaseModel):
    id: str
    points: list[tuple[float, float, float, float]] = Field(
        description="reports in time order: [t (epoch s), lon, lat, altitude AMSL m]")


class ReplayAlert(BaseModel):
    id: str
    kind: str
    severity: str
    state: str
    aircraft: list[str]
    first_seen: datetime
    last_seen: datetime
    cleared_at: datetime | None = None
    acknowledged_by: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AreaReplay(BaseModel):
    bbox: tuple[float, float, float, float] = Field(description="min lon, min lat, max lon, max lat")
    start: datetime = Field(description="the window's start (inclusive)")
    end: datetime = Field(description="the window's end (exclusive)")
    tracks: list[ReplayTrack]
    alerts: list[ReplayAlert]
    points: int = Field(description="reports returned")
    truncated: bool = Field(description=f"more than {MAX_POINTS:,} reports matched: the aircraft last by id are cut (narrow the box or the window)")


def _bad(field: str, message: str, message_zh: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", message_zh, code="invalid", field=field)


def parse_bbox(value: str) -> replay_repo.BBox:
    """``min_lon,min_lat,max_lon,max_lat`` (WGS84 degrees) -> a box, or a 422 naming ``bbox``."""
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise _bad("bbox", "expected four numbers min_lon,min_lat,max_lon,max_lat",
                   "区域应为四个数：最小经度,最小纬度,最大经度,最大纬度")
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise _bad("bbox", "min must be below max, longitudes within ±180, latitudes within ±90",
                   "区域的最小值须小于最大值，经度在±180内，纬度在±90内")
    if x1 - x0 > MAX_SPAN_DEG or y1 - y0 > MAX_SPAN_DEG:
        raise _bad("bbox", f"each side at most {MAX_SPAN_DEG:g} degrees", f"区域每边不超过{MAX_SPAN_DEG:g}度")
    return x0, y0, x1, y1


def parse_time(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(field, f"not an ISO 8601 time: {value!r}", "时间格式应为ISO 8601") from None
    if dt.tzinfo is None:
        raise _bad(field, "needs a UTC offset, e.g. 2026-11-24T08:00:00Z", "时间须带时区，例如2026-11-24T08:00:00Z")
    return dt.astimezone(UTC)


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise _bad("to", "must be after from", "结束时间须晚于开始时间")
    if end - start > MAX_WINDOW:
        raise _bad("to", f"window at most {MAX_WINDOW.total_seconds() / 3600:g} hours",
                   f"时间窗不超过{MAX_WINDOW.total_seconds() / 3600:g}小时")


def group_tracks(rows: list[dict[str, Any]]) -> list[ReplayTrack]:
    """Rows ordered by aircraft then time -> one track per aircraft (pure)."""
    out: list[ReplayTrack] = []
    for r in rows:
        if not out or out[-1].id != r["aircraft_id"]:
            out.append(ReplayTrack(id=r["aircraft_id"], points=[]))
        out[-1].points.append((float(r["t_epoch"]), float(r["lon"]), float(r["lat"]), float(r["alt_amsl"])))
    return out


@router.get("/replay/area", response_model=AreaReplay,
            summary="Every aircraft's history inside a box in a time window, with the alerts of that window "
                    "(operators: their own aircraft only)")
async def area_replay(
    request: Request, principal: Viewer,
    bbox: Annotated[str, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat (WGS84 degrees)")],
    from_: Annotated[str, Query(alias="from", max_length=64, description="ISO 8601 with offset (inclusive)")],
    to: Annotated[str, Query(max_length=64, description="ISO 8601 with offset (exclusive); at most 6 h after from")],
) -> AreaReplay:
    box = parse_bbox(bbox)
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    check_window(start, end)
    access = access_of(request.scope)
    own = access is authz.Access.OWN
    async with request.app.state.db.unit_of_work() as uow:
        rows = await replay_repo.area_points(uow.conn, box, start, end, organisation=principal.organisation,
                                             only_own=own, limit=MAX_POINTS + 1)
        truncated = len(rows) > MAX_POINTS
        tracks = group_tracks(rows[:MAX_POINTS])
        logged = await replay_repo.window_alerts(uow.conn, [t.id for t in tracks], start, end)
    ids = {t.id for t in tracks}

    def org_of(aircraft_id: str) -> str | None:  # every aircraft of the answer is the caller's when OWN
        return principal.organisation if aircraft_id in ids else None

    shown = authz.visible_alerts(principal, access, logged, org_of)
    alerts = [ReplayAlert.model_validate({**a, "aircraft": list(a["aircraft"]), "details": dict(a["details"] or {})})
              for a in shown]
    return AreaReplay(bbox=box, start=start, end=end, tracks=tracks, alerts=alerts,
                      points=sum(len(t.points) for t in tracks), truncated=truncated)
