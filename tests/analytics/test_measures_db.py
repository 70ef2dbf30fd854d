"""Every measure on a generated history (real PostGIS) against the same measure computed in Python.

Windows are chosen so bucket and window edges are hit on both sides: a take-off at 10:15:00 is in the
10:15 slot and in a window starting 10:15, one at 10:14:59 in the 10:00 slot and outside it; a report at
11:00:00 is in the 11:00 hour, one at 10:59:59 in the 10:00 hour; a report at the window's end is out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from lowalt.analytics import measures
from lowalt.analytics.model import SLOT, CorridorHour
from lowalt.store import analytics_repo
from lowalt.store.db import Database
from tests.analytics import history as hist
from tests.analytics.history import T0, History

WIDE = (T0 - timedelta(hours=4), T0 + timedelta(hours=8))
AS_OF = T0 + timedelta(hours=2)
ORGS = (None, "org-a", "org-b")


@pytest.fixture
async def stored(database: Database) -> AsyncIterator[tuple[Database, History]]:
    h = hist.build()
    async with database.unit_of_work() as uow:
        await hist.store(uow.conn, h)
        await uow.commit()
    yield database, h


def scopes(windows: list[tuple[datetime, datetime]]) -> Iterator[tuple[datetime, datetime, str | None]]:
    """Every window with every scope: all organisations (the centre), then each one (an operator)."""
    return ((start, end, org) for start, end in windows for org in ORGS)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


async def test_slots_booked_flown_no_shows_against_python(stored: tuple[Database, History]) -> None:
    db, h = stored
    windows = [WIDE, (T0 + timedelta(minutes=15), T0 + timedelta(hours=5)), (T0, T0 + timedelta(minutes=15))]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            rows = await analytics_repo.slot_use(uow.conn, start, end, org=org, radius_m=hist.RADIUS, as_of=AS_OF)
            got = {(r.point_id, utc(r.slot)): (r.capacity, r.booked, r.flown, r.no_shows) for r in rows}
            assert got == hist.expected_slots(h, start, end, org, AS_OF), (start, end, org)
            assert all(r.slot.timestamp() % SLOT.total_seconds() == 0 for r in rows)
        # the edge plans themselves: 10:15:00 x2 (approved + completed) and one more approved at 10:15:00
        rows = await analytics_repo.slot_use(uow.conn, T0, T0 + timedelta(minutes=30), org="org-a",
                                             radius_m=hist.RADIUS, as_of=AS_OF)
    by_slot = {(r.point_id, utc(r.slot)): r for r in rows}
    at_1015 = by_slot[("P1", T0 + timedelta(minutes=15))]
    assert at_1015.booked >= 3 and at_1015.booked > at_1015.capacity  # over capacity is reported, not hidden
    assert by_slot[("P1", T0)].booked >= 1  # 10:14:59 belongs to 10:00


async def test_slots_window_edges_both_sides(stored: tuple[Database, History]) -> None:
    """A window starting at 10:15:00 holds the three 10:15:00 take-offs; one ending at 10:15:00 holds none of
    them but the 10:14:59 one."""
    db, h = stored
    edge = T0 + timedelta(minutes=15)
    async with db.unit_of_work() as uow:
        after = await analytics_repo.slot_use(uow.conn, edge, edge + SLOT, org="org-a", radius_m=hist.RADIUS,
                                              as_of=AS_OF)
        before = await analytics_repo.slot_use(uow.conn, edge - SLOT, edge, org="org-a", radius_m=hist.RADIUS,
                                               as_of=AS_OF)
    on_edge = sum(p.start == edge and p.takeoff == hist.PORTS["P1"][:2] for p in h.plans)
    just_before = sum(p.start == edge - timedelta(seconds=1) and p.takeoff == hist.PORTS["P1"][:2] for p in h.plans)
    assert (on_edge, just_before) == (3, 1)
    got_after = {(r.point_id, utc(r.slot)): (r.capacity, r.booked, r.flown, r.no_shows) for r in after}
    got_before = {(r.point_id, utc(r.slot)): (r.capacity, r.booked, r.flown, r.no_shows) for r in before}
    assert got_after == hist.expected_slots(h, edge, edge + SLOT, "org-a", AS_OF)
    assert got_before == hist.expected_slots(h, edge - SLOT, edge, "org-a", AS_OF)
    assert got_after[("P1", edge)][1] >= on_edge and got_before[("P1", edge - SLOT)][1] >= just_before


async def test_demand_next_24h_and_next_free_slot(stored: tuple[Database, History]) -> None:
    db, h = stored
    now = T0 + timedelta(minutes=15)
    end = now + timedelta(hours=24)
    async with db.unit_of_work() as uow:
        d = await analytics_repo.demand(uow.conn, now, end, org=None, radius_m=hist.RADIUS)
    expected = hist.expected_demand(h, now, end)
    assert {(s.point_id, utc(s.slot)): s.booked for s in d.slots} == expected
    for s in d.slots:
        cap = hist.PORTS[s.point_id][2]
        assert s.saturated is (s.booked >= cap)
        if not s.saturated:
            assert s.next_free_slot is None
            continue
        t = s.slot + SLOT  # the first later slot under capacity, by hand
        while expected.get((s.point_id, utc(t)), 0) >= cap:
            t += SLOT
        assert s.next_free_slot is not None and utc(s.next_free_slot) == utc(t)
    assert any(s.saturated for s in d.slots)  # the shape has a saturated slot (P1 at 10:15)
    corridor = {(c.route_id, utc(c.hour)): c.plans for c in d.corridors}
    exp_c: dict[tuple[str, datetime], int] = {}
    for p in h.plans:
        if p.state in ("approved", "active") and p.corridor and now <= p.start < end:
            k = (p.corridor, datetime.fromtimestamp(p.start.timestamp() // 3600 * 3600, tz=UTC))
            exp_c[k] = exp_c.get(k, 0) + 1
    assert corridor == exp_c


async def test_corridor_flights_and_peak_simultaneous(stored: tuple[Database, History]) -> None:
    db, h = stored
    windows = [WIDE, (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=2)),
               (T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            rows = await analytics_repo.corridor_hours(uow.conn, start, end, org=org)
            got = {utc(r.hour): (r.flights, r.peak_simultaneous) for r in rows if r.route_id == "R1"}
            assert got == hist.expected_corridor(h, start, end, org), (start, end, org)
        rows = await analytics_repo.corridor_hours(uow.conn, *WIDE, org=None)
    got = {utc(r.hour): (r.flights, r.peak_simultaneous) for r in rows}
    assert got[T0] == (3, 3)  # A1, A2 (inside at 190 m for 10 minutes) and A3, all three 10:10-10:11:59
    # A1's return from 11:00:00 starts the 11:00 hour; B1 crosses later (11:17), never at the same time
    assert got[T0 + timedelta(hours=1)] == (2, 1)


def _separation(rows: list[CorridorHour]) -> dict[datetime, tuple[int, float, int, int]]:
    return {utc(r.hour): (r.separation_samples, r.mean_separation_m, r.p95_separation_m, r.loss_of_separation_s)
            for r in rows if r.route_id == "R1" and r.separation_samples}


def _assert_separation(got: dict[datetime, tuple[int, float, int, int]],
                       exp: dict[datetime, tuple[int, float, int, int]], where: object) -> None:
    assert set(got) == set(exp), where
    for k, (n, mean, p95, lost) in exp.items():
        assert (got[k][0], got[k][2], got[k][3]) == (n, p95, lost), (where, k)
        assert got[k][1] == pytest.approx(mean, abs=1e-3), (where, k)  # summed in whole millimetres


async def _check_corridors(conn: Any, h: History, start: datetime, end: datetime, org: str | None
                           ) -> dict[datetime, tuple[int, float, int, int]]:
    """The corridors read through the rollups: flights, peak and density equal the raw-only read's and
    Python's over the window; the separation equals Python's over the part the read says it covers (the
    raw-only read covers nothing: the raw tail's separation is not measured at read). Returns R1's
    separation per hour."""
    got = await analytics_repo.corridors(conn, start, end, org=org)
    raw = await analytics_repo.corridors(conn, start, end, org=org, use_rollup=False)
    where = (start, end, org)

    def plain(rows: list[CorridorHour]) -> list[tuple[object, ...]]:
        return [(r.route_id, r.hour, r.flights, r.peak_simultaneous, r.length_km) for r in rows]

    assert plain(got.hours) == plain(raw.hours), where
    assert {utc(r.hour): (r.flights, r.peak_simultaneous) for r in got.hours if r.route_id == "R1"} == (
        hist.expected_corridor(h, start, end, org)), where
    density = {utc(r.hour): (r.mean_density_per_km, r.peak_density_per_km) for r in got.hours}
    assert density == {utc(r.hour): (pytest.approx(r.mean_density_per_km, rel=1e-9), r.peak_density_per_km)
                       for r in raw.hours}, where
    exp_d = hist.expected_density(h, start, end, org)
    assert set(density) == set(exp_d), where
    for k, (mean, peak) in exp_d.items():
        assert density[k] == (pytest.approx(mean, rel=1e-6), pytest.approx(peak, rel=1e-6)), (where, k)
    assert (raw.separation_from, raw.separation_to) == (None, None) and not _separation(raw.hours)
    sep = _separation(got.hours)
    if got.separation_from is None or got.separation_to is None:
        assert sep == {}, where
        return sep
    assert start <= got.separation_from < got.separation_to <= end, where
    _assert_separation(sep, hist.expected_separation(h, got.separation_from, got.separation_to, org), where)
    return sep


async def test_corridor_separation_and_loss_of_separation(stored: tuple[Database, History]) -> None:
    """Mean and p95 distance to the nearest other aircraft in the corridor, pair-seconds below the monitor's
    minima and the density per km (mean and peak), against brute force in Python, with the roller's state
    of 11:30:20 (10:00 rolled as an hour, 10:00-11:29 as minutes, the rest raw): every scope over the whole
    history; windows cut A3's loss (10:02:00 - 10:05:19 below 152.4 m and 30.48 m) on both sides of its
    edges. The separation covers the window's rolled minutes (a partial minute and the raw tail are not
    measured: the read says where its cover ends), the density the whole window."""
    db, h = stored
    live = T0 + timedelta(hours=1)
    async with db.unit_of_work() as uow:
        assert await analytics_repo.roll_up(uow.conn, now=live + timedelta(minutes=30) + analytics_repo.MINUTE_SETTLE
                                            ) == [T0]
        await uow.commit()
    m = timedelta(minutes=1)
    edges = (T0 + 2 * m, T0 + 5 * m + timedelta(seconds=20))  # the loss's first second, its last + 1
    windows = {"wide": WIDE, "edges": edges, "outer": (edges[0] - timedelta(seconds=1), T0 + 6 * m),
               "inner": (T0 + 3 * m, T0 + 5 * m), "tail": (live + timedelta(minutes=20), live + timedelta(minutes=45))}
    got, cover = {}, {}
    async with db.unit_of_work() as uow:
        for name, (start, end) in windows.items():
            for org in ORGS if name == "wide" else (None,):
                got[(name, org)] = await _check_corridors(uow.conn, h, start, end, org)
            c = await analytics_repo.corridors(uow.conn, start, end, org=None)
            cover[name] = (c.separation_from, c.separation_to)
    assert cover == {"wide": (T0, live + timedelta(minutes=30)), "edges": (T0 + 2 * m, T0 + 5 * m),
                     "outer": (T0 + 2 * m, T0 + 6 * m), "inner": (T0 + 3 * m, T0 + 5 * m),
                     "tail": (live + timedelta(minutes=20), live + timedelta(minutes=30))}
    assert got[("wide", None)][T0][3] == hist.A3_CLIMB_S  # close enough for 255 s, but 40 m higher after 200 s
    assert got[("outer", None)][T0][3] == hist.A3_CLIMB_S  # 10:01:59 is raw, 10:02 on are rolled minutes
    assert got[("edges", None)][T0][3] == hist.A3_CLIMB_S - 20  # 10:05:00-10:05:19 not covered: a partial minute
    assert got[("inner", None)][T0][3] == hist.A3_CLIMB_S - 80  # a minute fewer at the start, 20 s at the end
    # the pair is A1 (org-a) with A3 (org-b): each operator sees it
    assert got[("wide", "org-a")][T0][3] == got[("wide", "org-b")][T0][3] == hist.A3_CLIMB_S
    assert live not in got[("wide", None)]  # 11:00: one aircraft at a time, nothing to measure


async def test_cells_flight_hours_and_hot_spots(stored: tuple[Database, History]) -> None:
    db, h = stored
    windows = [WIDE, (T0 + timedelta(hours=1), T0 + timedelta(hours=2)), (T0, T0 + timedelta(minutes=30))]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            rows = await analytics_repo.cell_use(uow.conn, start, end, org=org)
            exp = hist.expected_cells(h, start, end, org)
            got = {(r.cx, r.cy): r for r in rows}
            assert set(got) == set(exp), (start, end, org)
            hours = (end - start).total_seconds() / 3600
            for k, (fh, conflicts, intrusions) in exp.items():
                assert got[k].flight_hours == pytest.approx(fh, abs=1e-9), k
                assert got[k].occupancy == pytest.approx(fh / hours, abs=1e-9)
                assert (got[k].conflicts, got[k].intrusions) == (conflicts, intrusions), k
        # X1 parked on P1 from 10:59:55: the hour 11:00 holds its reports 11:00:00 - 11:59:59, each counting
        # 1 s (the one at 11:59:59 up to its next report at 12:00:00, read past the window's end)
        rows = await analytics_repo.cell_use(uow.conn, T0 + timedelta(hours=1), T0 + timedelta(hours=2), org=None)
    p1 = next(r for r in rows if (r.cx, r.cy) == (int(hist.X0 // 1000), int(hist.Y0 // 1000)))
    assert p1.flight_hours == pytest.approx(1.0)


async def test_filing_decisions_times_and_referrals(stored: tuple[Database, History]) -> None:
    db, h = stored
    windows = [WIDE, (T0 - timedelta(hours=2), T0)]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            s = await analytics_repo.filing_summary(uow.conn, start, end, org=org)
            counts, times, reasons = hist.expected_filing(h, start, end, org)
            assert {(d.decider, d.pathway, d.verdict): d.decisions for d in s.decisions} == counts
            got_t = {t.decider: (t.decisions, t.median_s) for t in s.times}
            assert set(got_t) == set(times)
            for k, (n, med) in times.items():
                assert got_t[k][0] == n and got_t[k][1] == pytest.approx(med, abs=1e-3)
            assert {r.code: r.plans for r in s.referrals} == reasons
    assert times["centre"][1] > times["automatic"][1]  # the shape: the centre takes minutes, rules seconds


async def test_alternatives_accepted(stored: tuple[Database, History]) -> None:
    """Plans offered alternatives (at filing, or with a withdrawal) and those re-filed as one and approved,
    against Python; windows start and end on an offer (inclusive start, exclusive end)."""
    db, h = stored
    o = hist.OFFER_T
    windows = [WIDE, (o, o + timedelta(seconds=1)), (o + timedelta(seconds=1), o + timedelta(minutes=30)),
               (o + timedelta(seconds=1), o + timedelta(minutes=30, seconds=1))]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            got = (await analytics_repo.filing_summary(uow.conn, start, end, org=org)).alternatives
            assert {a.kind: (a.offered, a.accepted) for a in got} == hist.expected_alternatives(
                h, start, end, org), (start, end, org)
        every = (await analytics_repo.filing_summary(uow.conn, *WIDE, org=None)).alternatives
    # O1 took its time, O4 its band; O2's route was re-filed only rejected or 1 m off; O3's time by another
    # aircraft or before the offer
    assert {a.kind: (a.offered, a.accepted) for a in every} == {
        "all": (4, 2), "time": (2, 1), "altitude": (2, 1), "route": (1, 0)}


async def test_operators_conformance_and_alert_rates(stored: tuple[Database, History]) -> None:
    db, h = stored
    windows = [WIDE, (T0, T0 + timedelta(hours=1)), (T0 + timedelta(hours=1), T0 + timedelta(hours=3))]
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            rows = await analytics_repo.operator_use(uow.conn, start, end, org=org)
            exp = hist.expected_operators(h, start, end, org)
            assert {r.organisation for r in rows} == set(exp), (start, end, org)
            for r in rows:
                flights, hours, alerts, deviations, conforming = exp[r.organisation]
                assert (r.flights, r.alerts, r.deviations) == (flights, alerts, deviations)
                assert r.flight_hours == pytest.approx(hours, abs=1e-9)
                assert r.conformance_rate == (pytest.approx(conforming / flights) if flights else None)
                assert r.alerts_per_flight_hour == (pytest.approx(alerts / hours) if hours else None)
                assert r.deviations_per_flight_hour == (pytest.approx(deviations / hours) if hours else None)
        rows = await analytics_repo.operator_use(uow.conn, *WIDE, org="org-b")
    assert [r.organisation for r in rows] == ["org-b"]  # an operator's scope never shows another's row


async def test_rollup_gives_the_raw_answer_and_waits_for_hours_to_settle(stored: tuple[Database, History]) -> None:
    db, h = stored
    settled = T0 + timedelta(hours=2) + analytics_repo.SETTLE  # 11:00-12:00 closed 10 minutes ago
    async with db.unit_of_work() as uow:
        first = await analytics_repo.roll_up(uow.conn, now=settled - timedelta(microseconds=1))
        second = await analytics_repo.roll_up(uow.conn, now=settled)
        again = await analytics_repo.roll_up(uow.conn, now=settled)
        await uow.commit()
    assert (first, second, again) == ([T0], [T0 + timedelta(hours=1)], [])
    windows = [WIDE, (T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=30)),
               (T0, T0 + timedelta(hours=1)), (T0 + timedelta(seconds=1), T0 + timedelta(hours=2))]
    async with db.unit_of_work() as uow:
        assert await analytics_repo.rolled_hours(uow.conn, *WIDE) == {T0, T0 + timedelta(hours=1)}
        for start, end, org in scopes(windows):
            rolled = await analytics_repo.cell_use(uow.conn, start, end, org=org)
            raw = await analytics_repo.cell_use(uow.conn, start, end, org=org, use_rollup=False)
            assert [(r.cx, r.cy, r.conflicts, r.intrusions) for r in rolled] == [
                (r.cx, r.cy, r.conflicts, r.intrusions) for r in raw]
            exp = hist.expected_cells(h, start, end, org)
            for r in rolled:
                assert r.flight_hours == pytest.approx(exp[(r.cx, r.cy)][0], abs=1e-9), (start, end, org)
            await _check_corridors(uow.conn, h, start, end, org)
            ops = await analytics_repo.operator_use(uow.conn, start, end, org=org)
            ops_raw = await analytics_repo.operator_use(uow.conn, start, end, org=org, use_rollup=False)
            assert [o.flight_hours for o in ops] == pytest.approx([o.flight_hours for o in ops_raw], abs=1e-9)


async def _same_as_raw_and_python(db: Database, h: History, windows: list[tuple[datetime, datetime]]) -> None:
    """Cells, corridors and operators read through the rollups equal the raw-only answer and Python's (the
    corridors' separation: Python's over the part the rollups cover, :func:`_check_corridors`)."""
    async with db.unit_of_work() as uow:
        for start, end, org in scopes(windows):
            cells = await analytics_repo.cell_use(uow.conn, start, end, org=org)
            raw = await analytics_repo.cell_use(uow.conn, start, end, org=org, use_rollup=False)
            assert [(r.cx, r.cy, r.conflicts, r.intrusions) for r in cells] == [
                (r.cx, r.cy, r.conflicts, r.intrusions) for r in raw], (start, end, org)
            exp = hist.expected_cells(h, start, end, org)
            assert {(r.cx, r.cy) for r in cells} == set(exp)
            for r, q in zip(cells, raw, strict=True):
                assert r.flight_hours == pytest.approx(exp[(r.cx, r.cy)][0], abs=1e-9), (start, end, org)
                assert r.flight_hours == pytest.approx(q.flight_hours, abs=1e-9)
            await _check_corridors(uow.conn, h, start, end, org)
            ops = await analytics_repo.operator_use(uow.conn, start, end, org=org)
            ops_raw = await analytics_repo.operator_use(uow.conn, start, end, org=org, use_rollup=False)
            assert [o.organisation for o in ops] == [o.organisation for o in ops_raw]
            assert [o.flight_hours for o in ops] == pytest.approx([o.flight_hours for o in ops_raw], abs=1e-9)
            exp_ops = hist.expected_operators(h, start, end, org)
            assert [o.flight_hours for o in ops] == pytest.approx([exp_ops[o.organisation][1] for o in ops], abs=1e-9)


async def test_live_hour_reads_rolled_minutes_and_the_last_ones_raw(stored: tuple[Database, History]) -> None:
    """The live hour: 11:00-11:29 rolled by the minute, 10:00 rolled as an hour from its 60 minutes, 11:30 on
    raw. Every window mixing the three gives the raw-only answer and Python's."""
    db, h = stored
    now = T0 + timedelta(hours=1, minutes=30) + analytics_repo.MINUTE_SETTLE  # 11:30 closed, not settled
    async with db.unit_of_work() as uow:
        hours = await analytics_repo.roll_up(uow.conn, now=now)
        await uow.commit()
    assert hours == [T0]
    async with db.unit_of_work() as uow:
        got = await analytics_repo.rolled(uow.conn, *WIDE)
    mins = [T0 + timedelta(minutes=k) for k in range(90)]  # 10:00's minutes stay an hour after it rolls
    assert (got.hours, sorted(got.minutes)) == (frozenset({T0}), mins)
    live = T0 + timedelta(hours=1)
    r = measures.reads(T0 + timedelta(minutes=30), live + timedelta(minutes=45), got)
    assert (r.hours, r.minutes[0], r.minutes[-1], r.raw) == (
        [], T0 + timedelta(minutes=30), live + timedelta(minutes=29), [(live + timedelta(minutes=30),
                                                                     live + timedelta(minutes=45))])
    r = measures.reads(T0, live + timedelta(minutes=45, seconds=1), got)
    assert (r.hours, len(r.minutes), r.raw) == ([T0], 30, [(live + timedelta(minutes=30),
                                                           live + timedelta(minutes=45, seconds=1))])
    await _same_as_raw_and_python(db, h, [
        WIDE, (T0, live + timedelta(minutes=45)), (T0 + timedelta(minutes=30), live + timedelta(minutes=45)),
        (live + timedelta(minutes=12, seconds=30), live + timedelta(minutes=31)), (live, live + timedelta(minutes=29))])


async def test_a_late_report_makes_its_hour_roll_from_raw_history(stored: tuple[Database, History]) -> None:
    """Two reports of 10:30 written after 10:30 was rolled: 10:00 then holds more reports than its minutes,
    so it rolls from raw history and keeps them (from its minutes it would lose their 5 s)."""
    db, _h = stored
    lon, lat = hist.ll(hist.X0 + 7500, hist.Y0 + 7500)  # a cell nobody else visits
    async with db.unit_of_work() as uow:
        await analytics_repo.roll_up(uow.conn, now=T0 + timedelta(hours=1, minutes=1))
        assert len((await analytics_repo.rolled(uow.conn, T0, T0 + timedelta(hours=1))).minutes) == 60
        for dt in (0, 5):
            await uow.conn.execute(text(
                "INSERT INTO track_points (aircraft_id, t_epoch, lon, lat, alt_amsl, vx, vy, vz, src) "
                "VALUES ('LATE-1', :t, :lon, :lat, 200, 0, 0, 0, 0)"),
                {"t": (T0 + timedelta(minutes=30, seconds=dt)).timestamp(), "lon": lon, "lat": lat})
        assert await analytics_repo.roll_up(uow.conn, now=T0 + timedelta(hours=1) + analytics_repo.SETTLE) == [T0]
        rolled = await analytics_repo.cell_use(uow.conn, T0, T0 + timedelta(hours=1), org=None)
        raw = await analytics_repo.cell_use(uow.conn, T0, T0 + timedelta(hours=1), org=None, use_rollup=False)
    assert [(r.cx, r.cy) for r in rolled] == [(r.cx, r.cy) for r in raw]
    assert [r.flight_hours for r in rolled] == pytest.approx([r.flight_hours for r in raw], abs=1e-9)
    late = next(r for r in rolled if (r.cx, r.cy) == (int((hist.X0 + 7500) // 1000), int((hist.Y0 + 7500) // 1000)))
    assert late.flight_hours == pytest.approx(5 / 3600)


def test_a_minute_rolls_only_once_it_has_settled() -> None:
    """Both sides of the settle edge, and the reads' partition of a window (pure)."""
    m0 = T0 + timedelta(minutes=7)
    rolled = measures.Rolled(frozenset(), frozenset({m0}))
    assert measures.reads(m0, m0 + measures.MINUTE, rolled).raw == []
    assert measures.reads(m0, m0 + measures.MINUTE - timedelta(seconds=1), rolled).minutes == []  # not whole
    assert measures.reads(m0 - timedelta(seconds=1), m0 + 2 * measures.MINUTE, rolled).raw == [
        (m0 - timedelta(seconds=1), m0), (m0 + measures.MINUTE, m0 + 2 * measures.MINUTE)]
    # minutes inside a rolled hour are read from the hour
    assert measures.reads(T0, T0 + measures.HOUR, measures.Rolled(frozenset({T0}), frozenset({m0}))).minutes == []


def test_reads_partition_any_window() -> None:
    """Rolled hours, rolled minutes and raw ranges never overlap and cover the window exactly (random windows
    and rollups, pure)."""
    import random

    rng = random.Random(20)
    for _ in range(300):
        start = T0 + timedelta(seconds=rng.randrange(-7200, 7200))
        end = start + timedelta(seconds=rng.randrange(1, 4 * 3600))
        hours = frozenset(T0 + timedelta(hours=k) for k in range(-3, 4) if rng.random() < 0.5)
        minutes = frozenset(T0 + timedelta(minutes=k) for k in range(-180, 240) if rng.random() < 0.7)
        r = measures.reads(start, end, measures.Rolled(hours, minutes))
        parts = sorted([(h, h + measures.HOUR) for h in r.hours] + [(m, m + measures.MINUTE) for m in r.minutes]
                       + r.raw)
        assert parts[0][0] == start and parts[-1][1] == end
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False)), (start, end)
        assert set(r.hours) <= hours and set(r.minutes) <= minutes


async def test_minutes_wait_to_settle(stored: tuple[Database, History]) -> None:
    db, _h = stored
    edge = T0 + timedelta(minutes=2) + analytics_repo.MINUTE_SETTLE  # 10:01 closed a settle ago
    async with db.unit_of_work() as uow:
        await analytics_repo.roll_up(uow.conn, now=edge - timedelta(microseconds=1))
        before = (await analytics_repo.rolled(uow.conn, *WIDE)).minutes
        await analytics_repo.roll_up(uow.conn, now=edge)
        after = (await analytics_repo.rolled(uow.conn, *WIDE)).minutes
    assert (before, after) == ({T0}, {T0, T0 + timedelta(minutes=1)})


def test_raw_ranges_are_the_window_less_whole_rolled_hours() -> None:
    from lowalt.analytics.measures import full_hours, raw_ranges

    h = timedelta(hours=1)
    assert full_hours(T0, T0 + 2 * h) == [T0, T0 + h]
    assert full_hours(T0 + timedelta(seconds=1), T0 + 2 * h) == [T0 + h]  # 10:00:01 starts no whole hour
    assert full_hours(T0, T0 + 2 * h - timedelta(seconds=1)) == [T0]
    assert raw_ranges(T0, T0 + 3 * h, {T0 + h}) == [(T0, T0 + h), (T0 + 2 * h, T0 + 3 * h)]
    assert raw_ranges(T0, T0 + 2 * h, {T0, T0 + h}) == []
    assert raw_ranges(T0 + timedelta(minutes=1), T0 + 2 * h, {T0, T0 + h}) == [(T0 + timedelta(minutes=1), T0 + h)]
