"""Capacity and utilisation analytics (``/analytics/*``, issue #20): JSON, or CSV with ``?format=csv``.

Who sees what (rules in ``lowalt.api.authz``; docs/analytics.md):

- the centre: every organisation's measures;
- an operator: its own organisation's (its plans, its aircraft's tracks, alerts involving them); the
  24 h demand's saturation is the take-off point's, whoever booked it (filing tells an operator the
  same when it refuses a full slot), its corridor plans are its own;
- a viewer (the public display, a supervisor): the airspace measures (take-off points, corridors,
  cells, demand), which name no operator; not filing or operators, which rate organisations.

Windows are ``[from, to)``, ISO 8601 with an offset, at most ``MAX_WINDOW`` long (inclusive).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lowalt.analytics import model
from lowalt.analytics.measures import CELL_M
from lowalt.api import authz
from lowalt.api.auth import require
from lowalt.api.errors import ApiError
from lowalt.api.guard import access_of
from lowalt.identity.model import Principal, Role
from lowalt.store import analytics_repo

router = APIRouter(prefix="/analytics", tags=["analytics"])
T = TypeVar("T")
Reader = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE, Role.VIEWER))]
Rater = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE))]

MAX_WINDOW = timedelta(days=7)
"""Longest window (inclusive): a week, the dashboard's widest range; the daily report reads one day."""
YEARS = (2000, 2100)
"""Years a window may touch (inclusive): history and plans lie well inside; far dates are typing errors."""
DEFAULT_RADIUS_M = 150.0
"""Take-off point match radius when filing is not running (policy.yaml ``vertiports.match_radius_m``)."""
From = Annotated[AwareDatetime, Query(alias="from", description="window start, ISO 8601 with offset (inclusive)")]
To = Annotated[AwareDatetime, Query(description="window end, ISO 8601 with offset (exclusive); at most 7 days "
                                                "after from")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv (the rows as a table)")]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
             "description": "JSON, or with ?format=csv the rows as CSV (header = the JSON keys)"}}


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SlotOut(_Out):
    point_id: str
    name_zh: str
    slot: datetime = Field(description="slot start (15 min; holds start <= t < start + 15 min)")
    capacity: int = Field(description="movements admitted per slot")
    booked: int = Field(description="take-offs + landings of approved, active and completed plans")
    flown: int = Field(description="of those, plans that flew (active, completed)")
    no_shows: int = Field(description="of those, plans still approved after their window ended")


class PeakHourOut(_Out):
    point_id: str
    name_zh: str
    hour: datetime
    booked: int
    capacity: int = Field(description="movements admitted in the hour (4 slots)")


class TakeoffPoints(BaseModel):
    start: datetime
    end: datetime
    slots: list[SlotOut] = Field(description="slots with at least one booked movement (others: zero)")
    peaks: list[PeakHourOut] = Field(description="each point's busiest hour (earliest on a tie)")


class CorridorHourOut(_Out):
    route_id: str
    name_zh: str
    hour: datetime
    flights: int = Field(description="distinct aircraft reported inside the corridor in the hour")
    peak_simultaneous: int = Field(description="most aircraft inside in one second")
    separation_samples: int = Field(description="aircraft-seconds inside with another aircraft inside too")
    mean_separation_m: float | None = Field(description="mean horizontal distance (m) to the nearest other "
                                                        "aircraft inside, over those samples; null without any")
    p95_separation_m: int | None = Field(description="95th percentile of those distances (nearest rank) as its "
                                                     "bin's lower edge, metres: 5 m bins below 500 m, 5 % above")
    loss_of_separation_s: int = Field(description="pair-seconds inside below the conflict monitor's minima for "
                                                  "the pair's categories (horizontal and vertical)")
    length_km: float | None = Field(description="centreline length, km (null: the route is no longer published)")
    mean_density_per_km: float | None = Field(description="mean aircraft inside per km over the hour's part in "
                                                          "the window")
    peak_density_per_km: float | None = Field(description="peak_simultaneous / length_km")


class Corridors(BaseModel):
    start: datetime
    end: datetime
    hours: list[CorridorHourOut]
    separation_from: datetime | None = Field(description="start of the part of the window the separation and "
                                                         "loss-of-separation measures cover (its first rolled "
                                                         "minute or hour); null: none rolled yet")
    separation_to: datetime | None = Field(description="covered up to: reports from here on are not in the "
                                                       "separation measures yet (the roller measures each "
                                                       "closed minute a few tens of seconds after it ends)")


class CellOut(_Out):
    cx: int = Field(description="floor(x / 1000), EPSG:4548")
    cy: int = Field(description="floor(y / 1000), EPSG:4548")
    lon: float = Field(description="cell centre, WGS84")
    lat: float
    flight_hours: float
    occupancy: float = Field(description="mean aircraft in the cell over the window (flight hours / hours)")
    conflicts: int
    intrusions: int


class Cells(BaseModel):
    start: datetime
    end: datetime
    cell_m: int = Field(description="cell side, metres")
    cells: list[CellOut]


class DecisionCountOut(_Out):
    decider: Literal["automatic", "centre"]
    pathway: str
    verdict: Literal["approved", "referred", "rejected"]
    decisions: int


class DecisionTimeOut(_Out):
    decider: Literal["automatic", "centre"]
    decisions: int
    median_s: float | None = Field(description="median seconds from filing to the decision")


class ReferralOut(_Out):
    code: str
    label_zh: str = Field(description="the reason in Chinese, without the plan's particulars")
    plans: int


class AlternativesOut(_Out):
    kind: str = Field(description="time, altitude, route, location; all = distinct plans whatever the kind")
    offered: int = Field(description="plans offered an alternative of this kind in the window")
    accepted: int = Field(description="of those, plans re-filed as an offered alternative and approved")


class Filing(BaseModel):
    start: datetime
    end: datetime
    decisions: list[DecisionCountOut]
    times: list[DecisionTimeOut]
    referrals: list[ReferralOut] = Field(description="automatic referrals by reason code")
    alternatives: list[AlternativesOut] = Field(description="alternatives offered and accepted, by kind")


class OperatorOut(_Out):
    organisation: str
    flights: int
    flight_hours: float
    alerts: int
    alerts_per_flight_hour: float | None
    deviations: int = Field(description="nonconformance alerts")
    deviations_per_flight_hour: float | None
    conformance_rate: float | None = Field(description="flights with no nonconformance alert / flights")


class Operators(BaseModel):
    start: datetime
    end: datetime
    operators: list[OperatorOut]


class DemandSlotOut(_Out):
    point_id: str
    name_zh: str
    slot: datetime
    capacity: int
    booked: int
    saturated: bool = Field(description="booked >= capacity: filing refuses another movement (vertiport_full)")
    next_free_slot: datetime | None = Field(description="when saturated: the first later slot with room")


class CorridorDemandOut(_Out):
    route_id: str
    hour: datetime
    plans: int


class DemandOut(BaseModel):
    start: datetime
    end: datetime
    slots: list[DemandSlotOut]
    corridors: list[CorridorDemandOut]


def _in_years(t: datetime, field: str) -> datetime:
    t = t.astimezone(UTC)
    if not YEARS[0] <= t.year <= YEARS[1]:
        raise ApiError(422, f"{field}: must be in the years {YEARS[0]}-{YEARS[1]}",
                       f"时间须在{YEARS[0]}至{YEARS[1]}年之间", code="invalid", field=field)
    return t


def window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window in UTC, or a 422 naming ``from`` or ``to`` (outside ``YEARS``; empty, reversed or longer
    than ``MAX_WINDOW``)."""
    start, end = _in_years(start, "from"), _in_years(end, "to")
    if end <= start:
        raise ApiError(422, "to: must be after from", "结束时间须晚于开始时间", code="invalid", field="to")
    if end - start > MAX_WINDOW:
        raise ApiError(422, f"to: window at most {MAX_WINDOW.days} days", f"时间窗不超过{MAX_WINDOW.days}天",
                       code="invalid", field="to")
    return start, end


def scope(request: Request, principal: Principal) -> str | None:
    """None (every organisation) for ALL access; the caller's organisation for OWN (403 without one)."""
    if access_of(request.scope) is not authz.Access.OWN:
        return None
    if not principal.organisation:
        raise ApiError(403, "your account belongs to no organisation, so it has no measures of its own",
                       "您的账户不属于任何单位，没有可查看的统计", code="forbidden")
    return principal.organisation


def _radius(request: Request) -> float:
    filing = getattr(request.app.state, "filing", None)
    return float(filing.policy.vertiport_radius_m) if filing is not None else DEFAULT_RADIUS_M


Fetch = Callable[[Any, datetime, datetime, str | None], Awaitable[T]]
"""(the unit of work's connection, start, end, organisation or None) -> what a measure reads."""


async def read(request: Request, principal: Principal, from_: datetime, to: datetime, fetch: Fetch[T]
               ) -> tuple[datetime, datetime, T]:
    """The checked window and what ``fetch(conn, start, end, org)`` reads for the caller's scope."""
    start, end = window(from_, to)
    org = scope(request, principal)
    async with request.app.state.db.unit_of_work() as uow:
        return start, end, await fetch(uow.conn, start, end, org)


def csv_response(rows: list[Any], row_type: type[Any], name: str) -> Response:
    return Response(model.to_csv(rows, row_type), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/takeoff-points", response_model=TakeoffPoints, responses=CSV,
            summary="Take-off points: movements booked vs capacity per 15 min, flown, no-shows, peak hours")
async def takeoff_points(request: Request, principal: Reader, from_: From, to: To, format: Format = "json"
                         ) -> TakeoffPoints | Response:
    start, end, slots = await read(request, principal, from_, to, lambda c, s, e, o: analytics_repo.slot_use(
        c, s, e, org=o, radius_m=_radius(request), as_of=datetime.now(UTC)))
    if format == "csv":
        return csv_response(slots, model.SlotUse, "takeoff-points")
    return TakeoffPoints.model_validate({"start": start, "end": end, "slots": slots,
                                         "peaks": model.peak_hours(slots)})


@router.get("/corridors", response_model=Corridors, responses=CSV,
            summary="Corridors: flights per hour, peak simultaneous aircraft, density per km, mean and p95 "
                    "separation and time in loss of separation, from track history")
async def corridors(request: Request, principal: Reader, from_: From, to: To, format: Format = "json"
                    ) -> Corridors | Response:
    start, end, got = await read(request, principal, from_, to,
                                 lambda c, s, e, o: analytics_repo.corridors(c, s, e, org=o))
    if format == "csv":
        return csv_response(got.hours, model.CorridorHour, "corridors")
    return Corridors.model_validate({"start": start, "end": end, "hours": got.hours,
                                     "separation_from": got.separation_from, "separation_to": got.separation_to})


@router.get("/cells", response_model=Cells, responses=CSV,
            summary="1 km cells: flight hours, occupancy, conflict and intrusion hot spots (the heat map)")
async def cells(request: Request, principal: Reader, from_: From, to: To, format: Format = "json"
                ) -> Cells | Response:
    start, end, rows = await read(request, principal, from_, to,
                                  lambda c, s, e, o: analytics_repo.cell_use(c, s, e, org=o))
    if format == "csv":
        return csv_response(rows, model.CellUse, "cells")
    return Cells.model_validate({"start": start, "end": end, "cell_m": CELL_M, "cells": rows})


@router.get("/filing", response_model=Filing, responses=CSV,
            summary="Filing: decisions by pathway and verdict, median time to decision, referrals by reason, "
                    "alternatives offered and accepted")
async def filing(request: Request, principal: Rater, from_: From, to: To, format: Format = "json",
                 table: Annotated[Literal["decisions", "times", "referrals", "alternatives"],
                                  Query(description="with format=csv: which table")] = "decisions",
                 ) -> Filing | Response:
    start, end, s = await read(request, principal, from_, to,
                               lambda c, s, e, o: analytics_repo.filing_summary(c, s, e, org=o))
    if format == "csv":
        tables: dict[str, tuple[list[Any], type[Any]]] = {
            "decisions": (s.decisions, model.DecisionCount), "times": (s.times, model.DecisionTime),
            "referrals": (s.referrals, model.ReferralReason),
            "alternatives": (s.alternatives, model.AlternativesUse)}
        return csv_response(*tables[table], f"filing-{table}")
    return Filing.model_validate({"start": start, "end": end, "decisions": s.decisions, "times": s.times,
                                  "referrals": s.referrals, "alternatives": s.alternatives})


@router.get("/operators", response_model=Operators, responses=CSV,
            summary="Operators: flights, flight hours, conformance rate, alerts and deviations per flight hour")
async def operators(request: Request, principal: Rater, from_: From, to: To, format: Format = "json"
                    ) -> Operators | Response:
    start, end, rows = await read(request, principal, from_, to,
                                  lambda c, s, e, o: analytics_repo.operator_use(c, s, e, org=o))
    if format == "csv":
        return csv_response(rows, model.OperatorUse, "operators")
    return Operators.model_validate({"start": start, "end": end, "operators": rows})


@router.get("/demand", response_model=DemandOut, responses=CSV,
            summary="Demand vs capacity ahead (default the next 24 h) from approved plans: saturated take-off "
                    "point slots with the next free slot, corridor plans per hour")
async def demand(request: Request, principal: Reader, format: Format = "json",
                 from_: Annotated[AwareDatetime | None, Query(alias="from", description="default: now")] = None,
                 hours: Annotated[int, Query(ge=1, le=24, description="horizon, 1-24 hours")] = 24,
                 ) -> DemandOut | Response:
    start = _in_years(from_ or datetime.now(UTC), "from")
    end = start + timedelta(hours=hours)
    org = scope(request, principal)
    async with request.app.state.db.unit_of_work() as uow:
        d = await analytics_repo.demand(uow.conn, start, end, org=org, radius_m=_radius(request))
    if format == "csv":
        return csv_response(d.slots, model.DemandSlot, "demand")
    return DemandOut.model_validate({"start": d.start, "end": d.end, "slots": d.slots, "corridors": d.corridors})
