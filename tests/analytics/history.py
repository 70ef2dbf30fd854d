"""A generated history of known shape, and every measure computed from it in plain Python/numpy.

The database computes the measures in SQL (``lowalt.analytics.measures``); the functions here compute
the same definitions independently (pyproj distances, numpy sums, sorting by hand), so a test compares
two implementations of docs/analytics.md on the same data.

Layout (EPSG:4548 metres, origin ``X0, Y0`` at a 1 km grid corner near Fuliang):

- take-off points P1 (capacity 2) and P2 (capacity 3) at cell centres, 5 km apart;
- corridor R1: a 10 km east-west centreline at ``Y0 + 3000``, half width 200 m;
- aircraft A1, A2 (org-a), B1 (org-b), X1 (registered to nobody), reporting at 1 Hz with gaps;
- plans of every state at both points (and off them), with boundary starts (hh:15:00 and hh:14:59);
- filing events (automatic and centre decisions with known delays, referral codes);
- alerts (conflict, intrusion, nonconformance) raised at known reports.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.geo.crs import to_local, to_wgs84
from lowalt.store import live_repo

_x, _y = to_local([117.25], [29.40])
X0 = float(np.floor(_x[0] / 1000) * 1000)
Y0 = float(np.floor(_y[0] / 1000) * 1000)
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
"""10:00 Beijing time."""
PORTS = {"P1": (X0 + 500, Y0 + 500, 2, "一号起降点"), "P2": (X0 + 5500, Y0 + 500, 3, "二号起降点")}
RADIUS = 150.0
ROUTE_Y = Y0 + 3000
ROUTE_X = (X0, X0 + 10_000)
HALF_WIDTH = 200.0
ORG_OF = {"A1": "org-a", "A2": "org-a", "B1": "org-b", "X1": None, "A3": "org-b"}
CATEGORY_OF = {"A3": "medium_uav"}
"""Aircraft categories other than ``light_uav``: A3 (medium) against a light UAV has the NMAC minima
(152.4 m / 30.48 m), two light UAVs the small-drone ones (50 m / 15 m)."""
ALT = 120.0
A3_CLIMB_S = 200
"""A3 flies at ``ALT`` for its first 200 s, then 40 m higher (above the vertical minimum of 30.48 m)."""
MAX_GAP = 10.0
STATES = ("submitted", "approved", "referred", "rejected", "active", "completed", "cancelled", "withdrawn")


def altitude(ac: str, t: float) -> float:
    """Each report's altitude AMSL: ``ALT``, but A3 climbs 40 m ``A3_CLIMB_S`` after it starts."""
    return ALT + 40.0 if ac == "A3" and t >= T0.timestamp() + 120 + A3_CLIMB_S else ALT


def ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_wgs84([x], [y])
    return float(lon[0]), float(lat[0])


@dataclass
class Plan:
    id: str
    organisation: str
    aircraft: str
    state: str
    start: datetime
    end: datetime
    takeoff: tuple[float, float]
    """EPSG:4548 metres."""
    landing: tuple[float, float]
    corridor: str | None
    pathway: str
    events: list[tuple[str | None, str, str, datetime, list[str]]] = field(default_factory=list)
    """(from, to, by, at, codes)."""
    band: tuple[float, float] = (0.0, 100.0)
    """Floor and ceiling, metres AGL."""
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    """Offered with its filing decision (``decision.alternatives``)."""
    withdrawn_alternatives: list[dict[str, Any]] = field(default_factory=list)
    """Offered with its withdrawal (the withdrawn event's ``details.alternatives``)."""

    @property
    def filed(self) -> datetime:
        """When it was filed (``created_at``): its first event."""
        return min(at for _f, _t, _b, at, _c in self.events)


@dataclass
class Alert:
    id: str
    kind: str
    aircraft: list[str]
    first_seen: datetime
    extra_updates: int = 1


@dataclass
class History:
    plans: list[Plan]
    points: dict[str, np.ndarray]
    """aircraft -> (n, 3) array of t_epoch, x, y (metres)."""
    alerts: list[Alert]


def _points() -> dict[str, np.ndarray]:
    """Tracks at 1 Hz: A1 along the corridor centreline, A2 along its edge (190 m inside then 230 m
    outside), B1 across the grid with a 30 s gap, X1 parked on P1. Every position is at least 5 m from a
    cell edge or the corridor edge, so rounding through lon/lat cannot move it across."""
    t0 = T0.timestamp()
    out: dict[str, np.ndarray] = {}
    t = t0 + np.arange(0, 1800.0)  # 10:00:00 - 10:29:59
    out["A1"] = np.column_stack([t, X0 + 7.0 + 5.0 * np.arange(t.size), np.full(t.size, ROUTE_Y + 10.0)])
    t2 = t0 + 600 + np.arange(0, 1200.0)  # 10:10 - 10:29:59
    y2 = np.where(np.arange(t2.size) < 600, ROUTE_Y - 190.0, ROUTE_Y + 230.0)
    out["A2"] = np.column_stack([t2, X0 + 2007.0 + 4.0 * np.arange(t2.size), y2])
    t3 = np.concatenate([t0 + 3000 + np.arange(0, 900.0), t0 + 3930 + np.arange(0, 1500.0)])  # 30 s gap
    i = np.arange(t3.size)
    out["B1"] = np.column_stack([t3, X0 + 10.5 + (i * 3.0) % 4980, Y0 + 1010.0 + (i // 800) * 1000.0])
    t4 = t0 + 3600 - 5 + np.arange(0, 3610.0)  # 10:59:55 - 12:00:04: crosses the 11:00 and 12:00 edges
    out["X1"] = np.column_stack([t4, np.full(t4.size, PORTS["P1"][0]), np.full(t4.size, PORTS["P1"][1])])
    # B1 also flies the corridor for a while (in the corridor hour with A1? no: 10:50 onwards) -- and A1
    # comes back along it 11:00:00 - 11:04:59, so an hour edge splits a corridor visit
    # A3 (org-b, medium) trails A1 along the corridor 10:02:00 - 10:11:59, 40 m across and falling back 0.5 m
    # a second from 20 m behind: below the 152.4 m minimum for its first 255 s, climbed after 200 s
    j = np.arange(0, 600.0)
    out["A3"] = np.column_stack([t0 + 120 + j, X0 + 7.0 + 5.0 * (120 + j) - (20.0 + 0.5 * j),
                                 np.full(j.size, ROUTE_Y - 30.0)])
    back = t0 + 3600 + np.arange(0, 300.0)
    out["A1"] = np.vstack([out["A1"], np.column_stack([back, X0 + 8997.0 - 5.0 * np.arange(300),
                                                       np.full(300, ROUTE_Y - 50.0)])])
    return out


def build(seed: int = 20) -> History:
    rng = random.Random(seed)
    plans: list[Plan] = []
    spots = [PORTS["P1"][:2], PORTS["P2"][:2], (X0 + 2500.0, Y0 + 2500.0)]  # the last matches no point

    def near(spot: tuple[float, float]) -> tuple[float, float]:
        a, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, 120)  # inside the 150 m match radius
        return spot[0] + r * np.cos(a), spot[1] + r * np.sin(a)

    aircraft = ["A1", "A2", "B1"]
    for k in range(60):
        ac = rng.choice(aircraft)
        start = T0 + timedelta(seconds=rng.randrange(0, 5 * 3600, 60) + rng.choice([0, 0, 59]))
        plans.append(Plan(uuid.uuid4().hex, ORG_OF[ac] or "", ac, STATES[k % len(STATES)], start,
                          start + timedelta(minutes=rng.choice([14, 15, 20, 45])), near(rng.choice(spots)),
                          near(rng.choice(spots)), rng.choice([None, "R1"]),
                          rng.choice(["standard", "long_term_corridor", "no_application"])))
    # bucket edges: exactly 10:15:00 is the 10:15 slot, 10:14:59 the 10:00 slot; P1 holds 2 per slot
    for sec, st in ((900, "approved"), (900, "completed"), (899, "active"), (900, "approved")):
        s = T0 + timedelta(seconds=sec)
        plans.append(Plan(uuid.uuid4().hex, "org-a", "A1", st, s, s + timedelta(minutes=30), PORTS["P1"][:2],
                          spots[2], None, "standard"))
    # a plan just off the radius (160 m) matches nothing
    s = T0 + timedelta(minutes=30)
    plans.append(Plan(uuid.uuid4().hex, "org-b", "B1", "approved", s, s + timedelta(minutes=10),
                      (PORTS["P2"][0] + 160.0, PORTS["P2"][1]), spots[2], None, "standard"))
    for p in plans:
        _decide(p, rng)
    pts = _points()
    alerts = [
        Alert("c1", "conflict", ["A1", "A2"], T0 + timedelta(seconds=700)),
        Alert("c2", "conflict", ["B1", "X1"], T0 + timedelta(seconds=3100, milliseconds=400)),
        Alert("i1", "intrusion", ["B1"], T0 + timedelta(seconds=4000)),
        Alert("i2", "intrusion", ["X1"], T0 + timedelta(seconds=7000)),  # X1's reports end at 7204
        Alert("n1", "nonconformance", ["A1"], T0 + timedelta(seconds=1000)),
        Alert("n2", "nonconformance", ["B1"], T0 + timedelta(seconds=5000)),
        Alert("l1", "lost_contact", ["B1"], T0 + timedelta(seconds=3905)),
        Alert("old", "conflict", ["A1", "B1"], T0 - timedelta(hours=2)),  # before every window used
    ]
    plans += _offers()
    return History(plans, pts, alerts)


OFFER_T = T0 + timedelta(hours=6)
"""When the alternatives below are offered (10:00 Beijing + 6 h); their windows start at 18:00 + ..."""


def _line(a: tuple[float, float], b: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(ll(*a)), list(ll(*b))]}


def _offers() -> list[Plan]:
    """Plans offered alternatives and the plans filed after them, with known answers (a spot matching no
    take-off point, so the slot measures are untouched):

    - O1 (org-a, A1) refused at OFFER_T, offered a time and a band: re-filed at the time a minute later and
      approved -> accepted (time);
    - O2 (org-a, A2) referred at OFFER_T + 1 s, offered a route: re-filed on it but rejected, and on a route
      1 m off it and approved -> not accepted;
    - O3 (org-b, B1) refused at OFFER_T, offered a time: filed at that time by another aircraft (A3), and by
      B1 a minute *before* the offer -> not accepted;
    - O4 (org-b, B1) withdrawn at OFFER_T + 30 min (its event offers a band): re-filed in the band, approved
      -> accepted (altitude)."""
    spot = (X0 + 2500.0, Y0 + 2500.0)
    off = (spot[0] + 1500.0, spot[1])
    s = T0 + timedelta(hours=12)
    out = []

    def plan(org: str, ac: str, state: str, start: datetime, filed: datetime, decided: str | None = None, *,
             band: tuple[float, float] = (0.0, 100.0), landing: tuple[float, float] = off,
             alts: list[dict[str, Any]] | None = None) -> Plan:
        p = Plan(uuid.uuid4().hex, org, ac, state, start, start + timedelta(minutes=20), spot, landing, None,
                 "standard", band=band, alternatives=alts or [])
        verdict = decided or state
        p.events += [(None, "submitted", "op-user", filed, []),
                     ("submitted", verdict, "system", filed, ["conflict"] if verdict == "referred" else [])]
        out.append(p)
        return p

    later = s + timedelta(hours=1)
    o1 = plan("org-a", "A1", "rejected", s, OFFER_T, alts=[
        {"kind": "time", "start": later.isoformat(), "end": (later + timedelta(minutes=20)).isoformat()},
        {"kind": "altitude", "floor": {"value_m": 120.0, "reference": "AGL"},
         "ceiling": {"value_m": 200.0, "reference": "AGL"}}])
    plan("org-a", "A1", "approved", later, OFFER_T + timedelta(minutes=1))
    moved = (off[0], off[1] + 600.0)
    plan("org-a", "A2", "referred", s, OFFER_T + timedelta(seconds=1),
         alts=[{"kind": "route", "geometry": _line(spot, moved)}])
    plan("org-a", "A2", "rejected", s, OFFER_T + timedelta(minutes=2), landing=moved)
    plan("org-a", "A2", "approved", s, OFFER_T + timedelta(minutes=3), landing=(moved[0] + 1.0, moved[1]))
    plan("org-b", "B1", "rejected", s, OFFER_T, alts=[
        {"kind": "time", "start": later.isoformat(), "end": (later + timedelta(minutes=20)).isoformat()}])
    plan("org-b", "A3", "approved", later, OFFER_T + timedelta(minutes=1))
    plan("org-b", "B1", "approved", later, OFFER_T - timedelta(minutes=1))
    o4 = plan("org-b", "B1", "withdrawn", s + timedelta(hours=3), OFFER_T - timedelta(hours=1), "approved")
    o4.events.append(("approved", "withdrawn", "centre-user", OFFER_T + timedelta(minutes=30), []))
    o4.withdrawn_alternatives = [{"kind": "altitude", "floor": {"value_m": 150.0, "reference": "AGL"},
                                  "ceiling": {"value_m": 250.0, "reference": "AGL"}}]
    plan("org-b", "B1", "approved", s + timedelta(hours=3), OFFER_T + timedelta(hours=1), band=(150.0, 250.0))
    assert o1.alternatives
    return out


def _decide(p: Plan, rng: random.Random) -> None:
    """Filing events of a plan ending in ``p.state``: filed 1-3 h before start; automatic decisions take
    0-2 s, the centre's 1-60 min after filing."""
    filed = p.start - timedelta(seconds=rng.randrange(3600, 3 * 3600))
    auto = filed + timedelta(seconds=rng.uniform(0, 2))
    centre = filed + timedelta(seconds=rng.uniform(60, 3600))
    codes = rng.sample(["night_flight", "over_crowds", "visibility_low"], rng.choice([1, 2]))
    ev = p.events
    ev.append((None, "submitted", "op-user", filed, []))
    if p.state == "submitted":
        return
    via_centre = p.state == "referred" or rng.random() < 0.4
    if p.state == "rejected" and not via_centre:
        ev.append(("submitted", "rejected", "system", auto, ["vertiport_full"]))
        return
    if via_centre:
        ev.append(("submitted", "referred", "system", auto, codes))
        if p.state == "referred":
            return
        if p.state == "rejected":
            ev.append(("referred", "rejected", "centre-user", centre, []))
            return
        ev.append(("referred", "approved", "centre-user", centre, []))
    else:
        ev.append(("submitted", "approved", "system", auto, []))
    after = centre if via_centre else auto
    if p.state in ("active", "completed"):
        ev.append(("approved", "active", "system", p.start, []))
    if p.state == "completed":
        ev.append(("active", "completed", "op-user", p.end, []))
    if p.state in ("cancelled", "withdrawn"):
        ev.append(("approved", p.state, "op-user", after + timedelta(seconds=5), []))
    if p.state == "approved" and rng.random() < 0.2:  # a suspension (approved -> referred) is no decision
        ev.append(("approved", "referred", "system", after + timedelta(seconds=9), []))
        ev.append(("referred", "approved", "centre-user", after + timedelta(seconds=99), []))


# ------------------------------------------------------------------ writing it to PostGIS


ROLLED_ALL = T0 + timedelta(hours=3, minutes=10)
"""A clock at which every hour of the history (its reports end at 12:00:04) is closed and settled."""


async def roll_all(db: Any) -> None:
    """Roll every hour of the history up, as the server's roller does (the corridor separation is read from
    the roll-ups only). A server's own roller may hold the lock meanwhile (it rolls the same hours): wait."""
    from lowalt.store import analytics_repo
    from tests.conftest import wait_until

    hours = {T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)}

    async def rolled() -> bool:
        async with db.unit_of_work() as uow:
            await analytics_repo.roll_up(uow.conn, now=ROLLED_ALL)
            done = hours <= await analytics_repo.rolled_hours(uow.conn, T0, ROLLED_ALL)
            await uow.commit()
            return done

    await wait_until(rolled, timeout=60, what="the history's hours rolled up")


async def store(conn: AsyncConnection, h: History) -> None:
    for pid, (x, y, cap, name) in PORTS.items():
        lon, lat = ll(x, y)
        await conn.execute(text(
            "INSERT INTO airspace_features (collection, id, geom, properties) VALUES "
            "('points', :id, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:p AS jsonb))"),
            {"id": pid, "lon": lon, "lat": lat, "p": json.dumps({"name_zh": name, "capacity_per_15min": cap})})
    a, b = ll(ROUTE_X[0], ROUTE_Y), ll(ROUTE_X[1], ROUTE_Y)
    await conn.execute(text(
        "INSERT INTO airspace_features (collection, id, geom, properties) VALUES ('routes', 'R1', "
        "ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0, :y0), ST_MakePoint(:x1, :y1)), 4326), CAST(:p AS jsonb))"),
        {"x0": a[0], "y0": a[1], "x1": b[0], "y1": b[1],
         "p": json.dumps({"name_zh": "一号航线", "half_width_m": HALF_WIDTH})})
    for ac, org in ORG_OF.items():
        await conn.execute(text("INSERT INTO aircraft (id, category, organisation) VALUES (:id, :c, :o)"),
                           {"id": ac, "o": org, "c": CATEGORY_OF.get(ac, "light_uav")})
    for p in h.plans:
        (tx, ty), (lx, ly) = ll(*p.takeoff), ll(*p.landing)
        await conn.execute(text(
            "INSERT INTO plans (id, organisation, submitted_by, aircraft_id, category, pilot, mission, priority, "
            "geom, floor_m, floor_ref, ceiling_m, ceiling_ref, takeoff, landing, starts_at, ends_at, state, "
            "decision, attrs, created_at) VALUES (:id, :org, 'op-user', :ac, 'light_uav', 'pilot', 'survey', 1, "
            "ST_SetSRID(ST_MakeLine(ST_MakePoint(:tx, :ty), ST_MakePoint(:lx, :ly)), 4326), :fl, 'AGL', :cl, 'AGL', "
            "ST_SetSRID(ST_MakePoint(:tx, :ty), 4326), ST_SetSRID(ST_MakePoint(:lx, :ly), 4326), :s, :e, :state, "
            "CAST(:d AS jsonb), CAST(:a AS jsonb), :filed)"),
            {"id": p.id, "org": p.organisation, "ac": p.aircraft, "tx": tx, "ty": ty, "lx": lx, "ly": ly,
             "s": p.start, "e": p.end, "state": p.state, "fl": p.band[0], "cl": p.band[1], "filed": p.filed,
             "d": json.dumps({"pathway": p.pathway} | ({"alternatives": p.alternatives} if p.alternatives else {})),
             "a": json.dumps({"corridor_id": p.corridor})})
        for f, t, by, at, codes in p.events:
            details: dict[str, Any] = {"codes": codes} if codes else {}
            if t == "withdrawn" and p.withdrawn_alternatives:
                details["alternatives"] = p.withdrawn_alternatives
            await conn.execute(text(
                "INSERT INTO plan_events (plan_id, from_state, to_state, by, at, reason, details) "
                "VALUES (:p, :f, :t, :by, :at, '', CAST(:d AS jsonb))"),
                {"p": p.id, "f": f, "t": t, "by": by, "at": at, "d": json.dumps(details)})
    records = []
    for ac, arr in h.points.items():
        lon, lat = to_wgs84(arr[:, 1], arr[:, 2])
        records += [(ac, float(t), float(x), float(y), altitude(ac, float(t)), 0.0, 0.0, 0.0, 0)
                    for t, x, y in zip(arr[:, 0], lon, lat, strict=True)]
    await live_repo.copy_track_points(conn, records)
    events: list[tuple[str, dict[str, Any]]] = []
    for al in h.alerts:
        doc = {"id": al.id, "kind": al.kind, "severity": "warning", "state": "new", "aircraft": al.aircraft,
               "first_seen": al.first_seen.timestamp(), "last_seen": al.first_seen.timestamp()}
        events.append(("raised", doc))
        events += [("updated", {**doc, "state": "ongoing"})] * al.extra_updates
    await live_repo.append_alert_events(conn, events)


# ------------------------------------------------------------------ the measures, independently


def _port_of(xy: tuple[float, float]) -> str | None:
    best = min(PORTS, key=lambda k: (np.hypot(PORTS[k][0] - xy[0], PORTS[k][1] - xy[1]), k))
    return best if np.hypot(PORTS[best][0] - xy[0], PORTS[best][1] - xy[1]) <= RADIUS else None


def _floor(t: datetime, seconds: int) -> datetime:
    e = int(t.timestamp())
    return datetime.fromtimestamp(e - e % seconds, tz=UTC)


def _moves(h: History, start: datetime, end: datetime, states: tuple[str, ...], org: str | None
           ) -> list[tuple[Plan, str, datetime]]:
    out = []
    for p in h.plans:
        if p.state not in states or (org and p.organisation != org):
            continue
        for xy, at in ((p.takeoff, p.start), (p.landing, p.end)):
            port = _port_of(xy)
            if port and start <= at < end:
                out.append((p, port, at))
    return out


def expected_slots(h: History, start: datetime, end: datetime, org: str | None, as_of: datetime
                   ) -> dict[tuple[str, datetime], tuple[int, int, int, int]]:
    """(point, slot) -> (capacity, booked, flown, no_shows)."""
    acc: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for p, port, at in _moves(h, start, end, ("approved", "active", "completed"), org):
        c = acc[(port, _floor(at, 900))]
        c[0] += 1
        c[1] += p.state in ("active", "completed")
        c[2] += p.state == "approved" and p.end <= as_of
    return {k: (PORTS[k[0]][2], *v) for k, v in acc.items()}  # type: ignore[misc]


def expected_demand(h: History, start: datetime, end: datetime) -> dict[tuple[str, datetime], int]:
    acc: dict[tuple[str, datetime], int] = defaultdict(int)
    for _p, port, at in _moves(h, start, end, ("approved", "active"), None):
        acc[(port, _floor(at, 900))] += 1
    return dict(acc)


def _window(h: History, start: datetime, end: datetime, org: str | None) -> dict[str, np.ndarray]:
    """Each aircraft's reports in the window, time-ordered, with a 4th column: its dwell (seconds)."""
    out = {}
    for ac, arr in h.points.items():
        if org and ORG_OF[ac] != org:
            continue
        full = arr[np.argsort(arr[:, 0])]
        full = np.column_stack([full, dwell(full)])
        m = (full[:, 0] >= start.timestamp()) & (full[:, 0] < end.timestamp())
        out[ac] = full[m]
    return out


def dwell(arr: np.ndarray) -> np.ndarray:
    """Seconds each report counts: to the aircraft's next report (wherever the window ends) when that is at
    most MAX_GAP away, else (a gap, or its last report) 0."""
    dt = np.zeros(len(arr))
    if len(arr) > 1:
        gaps = np.diff(arr[:, 0])
        dt[:-1] = np.where(gaps <= MAX_GAP, gaps, 0.0)
    return dt


def expected_cells(h: History, start: datetime, end: datetime, org: str | None
                   ) -> dict[tuple[int, int], tuple[float, int, int]]:
    """(cx, cy) -> (flight hours, conflicts, intrusions)."""
    hours: dict[tuple[int, int], float] = defaultdict(float)
    for arr in _window(h, start, end, org).values():
        for _t, x, y, d in arr:
            hours[(int(np.floor(x / 1000)), int(np.floor(y / 1000)))] += d / 3600
    hot: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for al in h.alerts:
        if al.kind not in ("conflict", "intrusion") or not start <= al.first_seen < end:
            continue
        if org and not any(ORG_OF[a] == org for a in al.aircraft):
            continue
        arr = h.points[al.aircraft[0]]
        d = np.abs(arr[:, 0] - al.first_seen.timestamp())
        if d.min() > MAX_GAP:
            continue
        k = int(np.lexsort((arr[:, 0], d))[0])
        cell = (int(np.floor(arr[k, 1] / 1000)), int(np.floor(arr[k, 2] / 1000)))
        hot[cell][0 if al.kind == "conflict" else 1] += 1
    cells = set(hours) | set(hot)
    return {c: (hours.get(c, 0.0), hot[c][0] if c in hot else 0, hot[c][1] if c in hot else 0) for c in cells}


def _in_corridor(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    cx = np.clip(x, *ROUTE_X)
    return np.hypot(x - cx, y - ROUTE_Y) <= HALF_WIDTH


def expected_corridor(h: History, start: datetime, end: datetime, org: str | None
                      ) -> dict[datetime, tuple[int, int]]:
    """hour -> (flights, peak simultaneous) for R1."""
    seen: dict[datetime, set[str]] = defaultdict(set)
    per_second: dict[int, set[str]] = defaultdict(set)
    for ac, arr in _window(h, start, end, org).items():
        inside = arr[_in_corridor(arr[:, 1], arr[:, 2])]
        for t in inside[:, 0]:
            seen[datetime.fromtimestamp(t - t % 3600, tz=UTC)].add(ac)
            per_second[int(np.floor(t))].add(ac)
    peak: dict[datetime, int] = defaultdict(int)
    for s, acs in per_second.items():
        hour = datetime.fromtimestamp(s - s % 3600, tz=UTC)
        peak[hour] = max(peak[hour], len(acs))
    return {hr: (len(acs), peak[hr]) for hr, acs in seen.items()}


def _decisions(h: History, start: datetime, end: datetime, org: str | None
               ) -> list[tuple[Plan, str, str, float]]:
    """(plan, decider, verdict, seconds since filing) of each decision in the window."""
    out = []
    for p in h.plans:
        if org and p.organisation != org:
            continue
        filed = min(at for _f, t, _b, at, _c in p.events if t == "submitted")
        for f, t, by, at, _codes in p.events:
            decision = (f == "submitted" and t in ("approved", "referred", "rejected")) or (
                f == "referred" and t in ("approved", "rejected"))
            if decision and start <= at < end:
                out.append((p, "automatic" if by == "system" else "centre", t, (at - filed).total_seconds()))
    return out


def expected_filing(h: History, start: datetime, end: datetime, org: str | None
                    ) -> tuple[dict[tuple[str, str, str], int], dict[str, tuple[int, float]], dict[str, int]]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    secs: dict[str, list[float]] = defaultdict(list)
    for p, decider, verdict, s in _decisions(h, start, end, org):
        counts[(decider, p.pathway, verdict)] += 1
        secs[decider].append(s)
    times = {d: (len(v), float(np.median(v))) for d, v in secs.items()}
    reasons: dict[str, set[str]] = defaultdict(set)
    for p in h.plans:
        if org and p.organisation != org:
            continue
        for f, t, _by, at, codes in p.events:
            if f == "submitted" and t == "referred" and start <= at < end:
                for c in codes:
                    reasons[c].add(p.id)
    return dict(counts), times, {c: len(ids) for c, ids in reasons.items()}


def expected_operators(h: History, start: datetime, end: datetime, org: str | None
                       ) -> dict[str, tuple[int, float, int, int, int]]:
    """organisation -> (flights, flight hours, alerts, deviations, conforming flights)."""
    orgs = {o for o in ORG_OF.values() if o and (org is None or o == org)}
    hours = {o: 0.0 for o in orgs}
    for ac, arr in _window(h, start, end, org).items():
        if ORG_OF[ac] in hours:
            hours[ORG_OF[ac]] += float(arr[:, 3].sum()) / 3600  # type: ignore[index]
    out = {}
    for o in sorted(orgs):
        flown = [p for p in h.plans if p.organisation == o and p.state in ("active", "completed")
                 and start <= p.start < end]
        raised = [a for a in h.alerts if start <= a.first_seen < end and any(ORG_OF[x] == o for x in a.aircraft)]
        conforming = sum(not any(a.kind == "nonconformance" and p.aircraft in a.aircraft
                                 and p.start <= a.first_seen < p.end for a in h.alerts) for p in flown)
        row = (len(flown), hours[o], len(raised), sum(a.kind == "nonconformance" for a in raised), conforming)
        if any(row[:3]) or row[1] > 0:
            out[o] = row
    return out


def sep_bin(d: float) -> int:
    """A separation's histogram bin (its lower edge, whole metres): 5 m wide below 500 m, 5 % above."""
    import math

    return 5 * math.floor(d / 5) if d < 500 else math.floor(500 * 1.05 ** math.floor(math.log(d / 500) / math.log(1.05)))


def expected_separation(h: History, start: datetime, end: datetime, org: str | None
                        ) -> dict[datetime, tuple[int, float, int, int]]:
    """hour -> (samples, mean separation m, p95 by nearest rank as its bin's lower edge, loss-of-separation
    seconds) for R1, by brute force over every second: the aircraft inside in that second (first report
    of the second), each one's distance to the nearest other (samples of ``org``'s aircraft only), and
    the pairs below the monitor's minima (horizontal and vertical, strict)."""
    from lowalt.conflict.separation import SeparationMatrix

    matrix = SeparationMatrix()
    at: dict[int, dict[str, tuple[float, float, float]]] = defaultdict(dict)
    for ac, arr in h.points.items():
        for t, x, y in arr[np.argsort(arr[:, 0], kind="stable")]:
            s = int(np.floor(t))
            if start.timestamp() <= t < end.timestamp() and _in_corridor(np.array([x]), np.array([y]))[0]:
                at[s].setdefault(ac, (x, y, altitude(ac, t)))
    dists: dict[datetime, list[float]] = defaultdict(list)
    lost: dict[datetime, int] = defaultdict(int)
    for s, acs in at.items():
        hour = datetime.fromtimestamp(s - s % 3600, tz=UTC)
        names = sorted(acs)
        for a in names:
            others = [float(np.hypot(acs[a][0] - acs[b][0], acs[a][1] - acs[b][1])) for b in names if b != a]
            if others and (org is None or ORG_OF[a] == org):
                dists[hour].append(min(others))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                h_m, v_m = matrix.minima(CATEGORY_OF.get(a, "light_uav"), CATEGORY_OF.get(b, "light_uav"))
                d = np.hypot(acs[a][0] - acs[b][0], acs[a][1] - acs[b][1])
                if d < h_m and abs(acs[a][2] - acs[b][2]) < v_m and (org is None or org in (ORG_OF[a], ORG_OF[b])):
                    lost[hour] += 1
    out = {}
    for hour, ds in dists.items():
        floored = sorted(sep_bin(d) for d in ds)
        out[hour] = (len(ds), float(np.mean(ds)), floored[-(-95 * len(ds) // 100) - 1], lost[hour])
    return out


def expected_alternatives(h: History, start: datetime, end: datetime, org: str | None) -> dict[str, tuple[int, int]]:
    """kind (and ``all``) -> (plans offered in the window, of those re-filed as an offered alternative and
    approved): a later plan of the same organisation and aircraft with every field the alternative sets."""
    def matches(q: Plan, alt: dict[str, Any]) -> bool:
        (tx, ty), (lx, ly) = ll(*q.takeoff), ll(*q.landing)
        checks = {"start": lambda v: q.start == datetime.fromisoformat(v),
                  "end": lambda v: q.end == datetime.fromisoformat(v),
                  "floor": lambda v: (q.band[0], "AGL") == (v["value_m"], v["reference"]),
                  "ceiling": lambda v: (q.band[1], "AGL") == (v["value_m"], v["reference"]),
                  "geometry": lambda v: np.allclose(v["coordinates"], [[tx, ty], [lx, ly]], rtol=0, atol=1e-7)}
        return all(checks[k](v) for k, v in alt.items() if k in checks)

    offered: dict[str, set[str]] = defaultdict(set)
    accepted: dict[str, set[str]] = defaultdict(set)
    for p in h.plans:
        if org and p.organisation != org:
            continue
        offers = [(p.filed, a) for a in p.alternatives]
        offers += [(at, a) for _f, t, _b, at, _c in p.events if t == "withdrawn" for a in p.withdrawn_alternatives]
        for at, alt in offers:
            if not start <= at < end:
                continue
            took = any(q.id != p.id and q.organisation == p.organisation and q.aircraft == p.aircraft
                       and q.filed >= at and q.state in ("approved", "active", "completed") and matches(q, alt)
                       for q in h.plans)
            for kind in (alt["kind"], "all"):
                offered[kind].add(p.id)
                if took:
                    accepted[kind].add(p.id)
    return {k: (len(v), len(accepted[k])) for k, v in offered.items()} | (
        {} if offered else {"all": (0, 0)})


def expected_density(h: History, start: datetime, end: datetime, org: str | None) -> dict[datetime, tuple[float, float]]:
    """hour -> (mean aircraft per km, peak per km) for R1 (10 km): aircraft-seconds inside over the hour's
    seconds in the window, and the peak simultaneous, each over the length."""
    length_km = (ROUTE_X[1] - ROUTE_X[0]) / 1000
    inside: dict[datetime, set[tuple[str, int]]] = defaultdict(set)
    for ac, arr in _window(h, start, end, org).items():
        for t in arr[_in_corridor(arr[:, 1], arr[:, 2])][:, 0]:
            inside[datetime.fromtimestamp(t - t % 3600, tz=UTC)].add((ac, int(np.floor(t))))
    out = {}
    for hour, (_flights, peak) in expected_corridor(h, start, end, org).items():
        seconds = (min(hour + timedelta(hours=1), end) - max(hour, start)).total_seconds()
        out[hour] = (len(inside[hour]) / seconds / length_km, peak / length_km)
    return out
