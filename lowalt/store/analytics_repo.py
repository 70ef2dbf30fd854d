"""Runs the analytics measures (``lowalt.analytics.measures``) and maps their rows to typed rows.

The only I/O of the analytics: the SQL is built by pure functions, the derivations (peak hours, next
free slot) are pure; this module executes and converts (numbers to int/float, times stay aware UTC).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.analytics import measures, separation
from lowalt.analytics import model as m


async def _tune(conn: AsyncConnection) -> None:
    # JIT compiling costs these statements more than it saves (0.5-2 s each, measured); sorting per-second
    # presence wants more than the default 4 MB. Both only for this transaction.
    await conn.execute(text("SET LOCAL jit = off"))
    await conn.execute(text("SET LOCAL work_mem = '64MB'"))


async def _rows(conn: AsyncConnection, q: measures.Query) -> list[dict[str, Any]]:
    await _tune(conn)
    result = await conn.execute(text(q.sql), q.params)
    return [dict(r._mapping) for r in result]


def _per_hour(n: int, hours: float) -> float | None:
    return n / hours if hours > 0 else None


async def slot_use(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None, radius_m: float,
                   as_of: datetime) -> list[m.SlotUse]:
    rows = await _rows(conn, measures.slot_use(start, end, org=org, radius_m=radius_m, as_of=as_of))
    return [m.SlotUse(r["point_id"], r["name_zh"], r["slot"], int(r["capacity"]), int(r["booked"]), int(r["flown"]),
                    int(r["no_shows"])) for r in rows]


async def corridors(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None,
                    use_rollup: bool = True) -> m.Corridors:
    """The corridor hours of ``[start, end)`` and the part of it their separation covers (the rolled part:
    ``measures.separation_cover``)."""
    got = await rolled(conn, start, end, use=use_rollup)
    rows = await _rows(conn, measures.corridor_hours(start, end, org=org, rolled=got))
    hours = m.with_separation(
        [m.CorridorHour(r["route_id"], r["name_zh"], r["hour"], int(r["flights"]), int(r["peak_simultaneous"]),
                        length_km=None if r["length_km"] is None else float(r["length_km"])) for r in rows],
        {(r["route_id"], r["hour"]): m.Separation(int(r["samples"]), int(r["sum_mm"]), r["metres"], r["counts"],
                                                  int(r["los_s"]), int(r["inside_s"])) for r in rows}, start, end)
    cover = measures.separation_cover(start, end, got)
    return m.Corridors(hours, *(cover or (None, None)))


async def corridor_hours(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None,
                         use_rollup: bool = True) -> list[m.CorridorHour]:
    return (await corridors(conn, start, end, org=org, use_rollup=use_rollup)).hours


def _measure(cols: tuple[Any, ...]) -> separation.Parts:
    return separation.measure(separation.Positions.of(*cols))


async def _roll_separation(conn: AsyncConnection, start: datetime, span: str, minutes: int) -> None:
    """The corridor separation of ``minutes`` minutes from ``start`` measured from raw history in numpy
    (``lowalt.analytics.separation``, a minute's positions at a time, off the event loop) and written as one
    bucket of ``span`` (``minute`` or ``hour``) at ``start`` into ``analytics_separation``. Runs after that
    span's corridor roll-up, whose rows say whether anybody was inside a corridor at all."""
    parts: separation.Parts = {}
    table, key = ("analytics_corridor_minutes", "minute") if span == "minute" else ("analytics_corridor_hours", "hour")
    if not (await conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {key} = :at)"), {"at": start})
            ).scalar():
        return  # nobody inside a corridor (the corridor roll-up of the same span ran first): nothing to measure
    for k in range(minutes):
        a = start + k * measures.MINUTE
        q = measures.corridor_positions(a, a + measures.MINUTE)
        cols = (await conn.execute(text(q.sql), q.params)).one()
        separation.merge(parts, await asyncio.to_thread(_measure, tuple(cols)))
    rows = []
    for (route_id, scope), p in sorted(parts.items()):
        metres, counts = p.histogram()
        rows.append({"span": span, "at": start, "route_id": route_id, "scope": scope, "samples": p.samples,
                     "sum_mm": p.sum_mm, "metres": metres, "counts": counts, "los_s": p.los_s,
                     "inside_s": p.inside_s})
    if rows:
        await conn.execute(text(measures.INSERT_SEPARATION), rows)


SETTLE = timedelta(minutes=10)
"""An hour is rolled up once it has been closed this long (the history writer batches; docs/analytics.md)."""
MINUTE_SETTLE = timedelta(seconds=20)
"""A minute is rolled up once it has been closed this long (the history writer flushes every second). A
report written later is missing from its minute until its hour rolls: the hour then sees more reports
than its minutes hold and rolls from raw history instead."""
MAX_MINUTES = 120
"""Most minutes rolled in one call: the hour being flown and the one before (older hours roll whole)."""
ROLLUP_LOCK = 0x6C6F77616C7431  # pg advisory lock key: one roller at a time, on any node


async def rolled_hours(conn: AsyncConnection, start: datetime, end: datetime) -> set[datetime]:
    """The hours in ``[start, end)`` already in the rollup."""
    rows = await conn.execute(text("SELECT hour FROM analytics_rolled_hours WHERE hour >= :s AND hour < :e"),
                              {"s": start, "e": end})
    return {r[0] for r in rows}


async def rolled(conn: AsyncConnection, start: datetime, end: datetime, *, use: bool = True) -> measures.Rolled:
    """The hours and minutes in ``[start, end)`` in the rollups (``use=False``: none, every read raw).

    A minute stays in the table for an hour after its hour is rolled (``roll_up``), so a read that saw
    the minute listed here finds its rows even if the hour is rolled meanwhile."""
    if not use:
        return measures.NONE
    rows = await conn.execute(text("SELECT minute FROM analytics_rolled_minutes WHERE minute >= :s AND minute < :e"),
                              {"s": start, "e": end})
    return measures.Rolled(frozenset(await rolled_hours(conn, start, end)), frozenset(r[0] for r in rows))


async def _run(conn: AsyncConnection, queries: list[measures.Query]) -> None:
    for q in queries:
        await conn.execute(text(q.sql), q.params)


async def roll_up(conn: AsyncConnection, *, now: datetime, max_hours: int = 24 * 31) -> list[datetime]:
    """Roll up what has closed since the last call, in the caller's transaction; returns the hours rolled.

    First the closed minutes (``MINUTE_SETTLE`` after they end) of the hours not rolled yet, at most the
    hour being flown and the one before: the live hour's reads. Then the next closed hours (``SETTLE``
    after they end) after the last one rolled (from the first report ever, the first time), at most
    ``max_hours``: from their minutes when all 60 are rolled and hold every report of the hour (sums, no
    second pass over history), else from raw history (the server was down, or reports came late). Minutes
    of hours rolled before this call's last one are dropped. Another roller holding the lock (another
    node, a report) makes this a no-op."""
    if not (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})).scalar():
        return []
    await _tune(conn)
    last = (await conn.execute(text("SELECT max(hour) FROM analytics_rolled_hours"))).scalar()
    if last is None:
        first = (await conn.execute(text("SELECT min(t) FROM track_points"))).scalar()
        if first is None:
            return []
        h = m.floor_to(first, measures.HOUR)
    else:
        h = last + measures.HOUR
    last_minute = (await conn.execute(text("SELECT max(minute) FROM analytics_rolled_minutes"))).scalar()
    minute = max(h, m.floor_to(now, measures.HOUR) - measures.HOUR,
                 h if last_minute is None else last_minute + measures.MINUTE)
    settled = m.floor_to(now - MINUTE_SETTLE, measures.MINUTE)  # minutes before it have settled
    for _ in range(MAX_MINUTES):
        if minute >= settled:
            break
        # minutes without a report are recorded empty in one statement, not rolled one by one
        nxt = (await conn.execute(text("SELECT min(t) FROM track_points WHERE t >= :m AND t < :e"),
                                  {"m": minute, "e": settled})).scalar()
        skip_to = settled if nxt is None else m.floor_to(nxt, measures.MINUTE)
        if skip_to > minute:
            await conn.execute(text(
                "INSERT INTO analytics_rolled_minutes (minute, points) "
                "SELECT generate_series(CAST(:a AS timestamptz), CAST(:b AS timestamptz), interval '1 minute'), 0"),
                {"a": minute, "b": skip_to - measures.MINUTE})
            minute = skip_to
            continue
        await _run(conn, [measures.roll_up_minute(minute), measures.roll_up_corridor_minute(minute)])
        await _roll_separation(conn, minute, "minute", 1)
        minute += measures.MINUTE
    done: list[datetime] = []
    while h + measures.HOUR + SETTLE <= now and len(done) < max_hours:
        span = {"h": h, "e": h + measures.HOUR}
        minutes, points = (await conn.execute(text(
            "SELECT count(*), coalesce(sum(points), 0) FROM analytics_rolled_minutes "
            "WHERE minute >= :h AND minute < :e"), span)).one()
        whole = minutes == measures.HOUR // measures.MINUTE and points == (await conn.execute(text(
            "SELECT count(*) FROM track_points WHERE t >= :h AND t < :e"), span)).scalar()
        if whole:
            await _run(conn, measures.hour_from_minutes(h))
        else:
            await _run(conn, [measures.roll_up_hour(h), measures.roll_up_corridors(h)])
            await _roll_separation(conn, h, "hour", measures.HOUR // measures.MINUTE)
        done.append(h)
        h += measures.HOUR
    if done:
        await _run(conn, measures.drop_minutes(done[-1]))
    return done


async def cell_use(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None,
                   use_rollup: bool = True) -> list[m.CellUse]:
    rows = await _rows(conn, measures.cell_use(start, end, org=org,
                                               rolled=await rolled(conn, start, end, use=use_rollup)))
    return [m.CellUse(int(r["cx"]), int(r["cy"]), float(r["lon"]), float(r["lat"]), float(r["flight_hours"]),
                    float(r["occupancy"]), int(r["conflicts"]), int(r["intrusions"])) for r in rows]


async def filing_summary(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None
                         ) -> m.FilingSummary:
    counts = await _rows(conn, measures.decision_counts(start, end, org=org))
    times = await _rows(conn, measures.decision_times(start, end, org=org))
    reasons = await _rows(conn, measures.referral_reasons(start, end, org=org))
    alts = await _rows(conn, measures.alternatives_accepted(start, end, org=org))
    return m.FilingSummary(
        decisions=[m.DecisionCount(r["decider"], r["pathway"], r["verdict"], int(r["decisions"])) for r in counts],
        times=[m.DecisionTime(r["decider"], int(r["decisions"]),
                            None if r["median_s"] is None else float(r["median_s"])) for r in times],
        referrals=[m.ReferralReason(r["code"], m.reason_zh(r["code"]), int(r["plans"])) for r in reasons],
        alternatives=[m.AlternativesUse(r["kind"], int(r["offered"]), int(r["accepted"])) for r in alts])


async def operator_use(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None,
                       use_rollup: bool = True) -> list[m.OperatorUse]:
    out = []
    got = await rolled(conn, start, end, use=use_rollup)
    for r in await _rows(conn, measures.operator_use(start, end, org=org, rolled=got)):
        hours, flights = float(r["flight_hours"]), int(r["flights"])
        alerts, deviations = int(r["alerts"]), int(r["deviations"])
        out.append(m.OperatorUse(r["organisation"], flights, hours, alerts, _per_hour(alerts, hours), deviations,
                               _per_hour(deviations, hours),
                               int(r["conforming"]) / flights if flights else None))
    return out


async def demand(conn: AsyncConnection, start: datetime, end: datetime, *, org: str | None, radius_m: float
                 ) -> m.Demand:
    """Approved and active plans' movements per take-off point slot in ``[start, end)``, saturated slots
    with the next free one, and plans per corridor and hour (``org``: that organisation's corridor plans;
    slot saturation is always every organisation's, as filing sees it)."""
    rows = await _rows(conn, measures.demand_slots(start, end, radius_m=radius_m))
    slots = [m.DemandSlot(r["point_id"], r["name_zh"], r["slot"], int(r["capacity"]), int(r["booked"]),
                        int(r["booked"]) >= int(r["capacity"]), None) for r in rows]
    corr = await _rows(conn, measures.demand_corridors(start, end, org=org))
    return m.Demand(start, end, m.with_next_free(slots, start, end),
                  [m.CorridorDemand(r["route_id"], r["hour"], int(r["plans"])) for r in corr])
