"""The measures as PostGIS SQL: pure builders, one per measure, returning :class:`Query` (text + binds).

Why SQL and not Python: history grows to tens of millions of track points a day; the database reads
them where they lie (BRIN on ``track_points.t``, the GiST index on ``geom``, ``(aircraft_id, t)``) and
returns a few hundred rows. Every builder takes the window ``[start, end)`` and a scope: ``org=None``
for every organisation (the centre) or one organisation's name (an operator sees only its own plans,
aircraft and alerts). Buckets use ``date_bin`` with the epoch as origin, so a time exactly on an edge
(10:15:00) starts the bucket it names, never ends the previous one.

Conventions shared with filing (so the measures count what filing counts):

- a movement is a plan's take-off (at ``starts_at``) or landing (at ``ends_at``) at the take-off point
  nearest its take-off/landing point in EPSG:4548 metres, when within ``radius_m``
  (policy.yaml ``vertiports.match_radius_m``);
- a plan holds its slots while approved or active; completed plans held them (they count as booked).

Track-derived time: each report counts the time to the same aircraft's next report in the window, at
most ``MAX_GAP_S`` (a longer gap is lost contact, not flight).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lowalt.aircraft_category import CATEGORIES, UNKNOWN_SEPARATION_CODE, separation_code

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
"""The finer rollup's bucket: the live hour is read from closed minutes (``analytics_cell_minutes``,
``analytics_corridor_minutes``, migration 0017) and only the last minute or two raw."""
MAX_GAP_S = 10.0
"""Longest gap between two reports of one aircraft counted as flight time (seconds, inclusive); a longer gap
(lost contact, or the flight ended) counts nothing."""
CELL_M = 1000
M_PER_DEG_LAT = 110_850.0
"""Metres in a degree of latitude at 29.4 N (the service area's middle; CGCS2000 ellipsoid)."""
M_PER_DEG_LON = 97_090.0
"""Metres in a degree of longitude at 29.4 N. Over 29.0-29.8 N it varies by under 0.8 %, so within 600 m of
a corridor the scaled distance is off by under 5 m (TM scale and convergence add far less)."""
GRID_PER_DEG = 100
"""Cells per degree of the grid that matches reports to the routes' boxes (0.01 degree, about 1 km)."""
BAND_M = 15.0
"""Scaled distances closer than this to a corridor's edge are settled exactly in EPSG:4548."""
DEG_M_MIN = 90_000.0
"""Fewest metres in a degree of longitude or latitude over the service area (a degree of longitude is about
97 km at 29.5 N; 90 km leaves room): a distance in metres divided by it is an upper bound in degrees."""
"""Grid cell side in EPSG:4548 metres."""
ORIGIN = "1970-01-01 00:00:00+00"
_LOCAL = "ST_Transform(ST_SetSRID(ST_MakePoint(tp.lon, tp.lat), 4326), 4548)"
"""A report's position in EPSG:4548 from its lon/lat columns (cheaper than reading the POINTZ ``geom``)."""
BOOKED = ("approved", "active", "completed")
FLOWN = ("active", "completed")


@dataclass(frozen=True)
class Query:
    """One SQL statement and its bind parameters (named ``:x``)."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants of this module, never user input


_PORTS = """
ports AS MATERIALIZED (
    SELECT id AS point_id, coalesce(properties->>'name_zh', id) AS name_zh,
           coalesce((properties->>'capacity_per_15min')::int, 0) AS capacity, ST_Transform(geom, 4548) AS g
    FROM airspace_features WHERE collection = 'points')"""

def _match(counts: str) -> str:
    """CTEs over ``moves``: ``per_pt`` (movements per point and 15-minute slot: ``counts``, aggregates over
    ``moves``), ``pts`` (each distinct point projected once), ``near`` (each point's nearest take-off point
    within ``:radius``) and ``matched`` (``per_pt`` with its take-off point).

    Why per point and not per movement: plans take off and land at a few hundred points, and the next
    24 h at 1,000 aircraft hold 96,000 movements: matched one by one (each projected again for every
    take-off point) the demand took 2.2 s; counted per point and slot first, then matched, ~0.1 s."""
    return f"""
per_pt AS MATERIALIZED (
    SELECT pt, date_bin('15 minutes', at, TIMESTAMPTZ '{ORIGIN}') AS slot, {counts} FROM moves GROUP BY 1, 2),
pts AS MATERIALIZED (SELECT pt, ST_Transform(pt, 4548) AS g FROM per_pt GROUP BY pt),
near AS MATERIALIZED (
    SELECT p.pt, n.point_id, n.name_zh, n.capacity
    FROM pts p CROSS JOIN LATERAL (
        SELECT point_id, name_zh, capacity, ST_Distance(p.g, ports.g) AS d
        FROM ports ORDER BY d, point_id LIMIT 1) n
    WHERE n.d <= :radius),
matched AS (SELECT n.point_id, n.name_zh, n.capacity, p.* FROM per_pt p JOIN near n ON n.pt = p.pt)"""


def _moves(states: tuple[str, ...] | None, org: str | None) -> str:
    where = (f" AND state IN {_in(states)}" if states else "") + (" AND organisation = :org" if org is not None else "")
    return f"""
moves AS (
    SELECT id, state, ends_at AS plan_end, starts_at AS at, takeoff AS pt FROM plans
    WHERE starts_at >= :start AND starts_at < :end{where}
    UNION ALL
    SELECT id, state, ends_at, ends_at, landing FROM plans
    WHERE ends_at >= :start AND ends_at < :end{where})"""


def slot_use(start: datetime, end: datetime, *, org: str | None, radius_m: float, as_of: datetime) -> Query:
    """Take-off points: movements booked, flown and no-shows per 15-minute slot, with the capacity.

    Only slots with at least one booked movement are returned (zeros are implied). ``as_of``: a plan
    still approved whose window ended before it is a no-show."""
    counts = (f"count(*) AS booked, count(*) FILTER (WHERE state IN {_in(FLOWN)}) AS flown, "
              f"count(*) FILTER (WHERE state = 'approved' AND plan_end <= :as_of) AS no_shows")
    sql = f"""
WITH {_PORTS},{_moves(BOOKED, org)},{_match(counts)}
SELECT point_id, name_zh, slot, capacity, sum(booked)::bigint AS booked, sum(flown)::bigint AS flown,
       sum(no_shows)::bigint AS no_shows
FROM matched GROUP BY point_id, name_zh, slot, capacity ORDER BY point_id, slot"""
    return Query(sql, {"start": start, "end": end, "org": org, "radius": radius_m, "as_of": as_of})


def demand_slots(start: datetime, end: datetime, *, radius_m: float) -> Query:
    """Take-off points: movements of approved and active plans per slot in ``[start, end)`` (every
    organisation's: saturation is a fact about the point, whoever booked it)."""
    sql = f"""
WITH {_PORTS},{_moves(("approved", "active"), None)},{_match("count(*) AS booked")}
SELECT point_id, name_zh, slot, capacity, sum(booked)::bigint AS booked
FROM matched GROUP BY point_id, name_zh, slot, capacity ORDER BY point_id, slot"""
    return Query(sql, {"start": start, "end": end, "radius": radius_m})


def demand_corridors(start: datetime, end: datetime, *, org: str | None) -> Query:
    """Approved and active plans filed under a corridor (``attrs.corridor_id``) per starting hour."""
    own = " AND organisation = :org" if org is not None else ""
    sql = f"""
SELECT attrs->>'corridor_id' AS route_id, date_bin('1 hour', starts_at, TIMESTAMPTZ '{ORIGIN}') AS hour,
       count(*) AS plans
FROM plans
WHERE state IN ('approved', 'active') AND starts_at >= :start AND starts_at < :end
      AND attrs->>'corridor_id' IS NOT NULL{own}
GROUP BY route_id, hour ORDER BY route_id, hour"""
    return Query(sql, {"start": start, "end": end, "org": org})


def _own_points(org: str | None) -> str:
    return " AND tp.aircraft_id IN (SELECT id FROM aircraft WHERE organisation = :org)" if org is not None else ""


def _corridor_inside(time_cond: str, org: str | None, *, scoped: bool = True) -> str:
    """CTEs ``corr`` (the routes) and ``inside`` (route, aircraft, its organisation label, whole second) for
    reports matching ``time_cond`` (SQL on ``tp.t``). See :func:`corridor_hours` for what inside means.

    The reports of the window are read first (BRIN on ``t``: linear in the window, not in the history)
    and matched to the routes whose box covers their ``GRID_PER_DEG`` grid cell by a hash join, then
    tested against the box itself (the GiST index on ``geom`` would match every report ever made near a
    route, then filter them by time).
    ``scoped=False``: the scope column is left out (a read scopes by ``org`` already; the roll-ups label each
    aircraft with its organisation)."""
    scope = ("coalesce('org:' || (SELECT ac.organisation FROM aircraft ac WHERE ac.id = tp.aircraft_id), 'none')"
             if scoped else "NULL::text")
    return f"""
corr AS MATERIALIZED (
    SELECT r.*, ST_XMin(r.box) AS x0, ST_XMax(r.box) AS x1, ST_YMin(r.box) AS y0, ST_YMax(r.box) AS y1 FROM (
        SELECT id AS route_id, coalesce(properties->>'name_zh', id) AS name_zh,
               ST_Transform(geom, 4548) AS line, (properties->>'half_width_m')::float8 AS hw,
               ST_Expand(Box2D(geom), ((properties->>'half_width_m')::float8 + 50) / {DEG_M_MIN}) AS box,
               ST_SetSRID(ST_Scale(ST_Force2D(geom), {M_PER_DEG_LON}, {M_PER_DEG_LAT}), 0) AS scaled
        FROM airspace_features WHERE collection = 'routes') r),
corr_cells AS MATERIALIZED (
    SELECT c.route_id, gx, gy FROM corr c
    CROSS JOIN generate_series(floor(c.x0 * {GRID_PER_DEG})::int, floor(c.x1 * {GRID_PER_DEG})::int) gx
    CROSS JOIN generate_series(floor(c.y0 * {GRID_PER_DEG})::int, floor(c.y1 * {GRID_PER_DEG})::int) gy),
cand AS MATERIALIZED (
    SELECT k.route_id, tp.aircraft_id, tp.t_epoch, tp.lon, tp.lat, tp.alt_amsl FROM track_points tp
    JOIN corr_cells k ON k.gx = floor(tp.lon * {GRID_PER_DEG})::int AND k.gy = floor(tp.lat * {GRID_PER_DEG})::int
    WHERE ({time_cond}){_own_points(org)}),
near AS (
    SELECT c.route_id, c.line, c.hw, tp.aircraft_id, tp.t_epoch, tp.lon, tp.lat, tp.alt_amsl,
           ST_Distance(ST_MakePoint(tp.lon * {M_PER_DEG_LON}, tp.lat * {M_PER_DEG_LAT}), c.scaled) AS d
    FROM cand tp JOIN corr c ON c.route_id = tp.route_id
    WHERE tp.lon BETWEEN c.x0 AND c.x1 AND tp.lat BETWEEN c.y0 AND c.y1),
inside AS (
    SELECT tp.route_id, tp.aircraft_id, floor(tp.t_epoch)::bigint AS s, {scope} AS scope,
           tp.t_epoch, tp.lon, tp.lat, tp.alt_amsl
    FROM near tp
    WHERE tp.d <= tp.hw - {BAND_M}
       OR (tp.d <= tp.hw + {BAND_M} AND ST_DWithin({_LOCAL}, tp.line, tp.hw)))"""


def _category_codes() -> str:
    """``VALUES`` of every category name (wire value and separation key) with its separation code
    (module constants, never user input); a category absent from them is the ``unknown`` row, as for the
    monitor (``lowalt.aircraft_category.separation_code``)."""
    names = {*(c.value for c in CATEGORIES), *(c.separation_key for c in CATEGORIES)}
    return ", ".join(f"('{n}', {separation_code(n)})" for n in sorted(names))


def corridor_positions(start: datetime, end: datetime) -> Query:
    """The aircraft inside corridors in ``[start, end)`` (see :func:`corridor_hours`), one row per (route,
    aircraft, whole second): its first report of that second, in EPSG:4548, with its organisation scope and
    its category's separation code, as one row of columns (``array_agg``; NULLs without any), for
    :func:`lowalt.analytics.separation.measure` (the roller's separation, a minute at a time)."""
    cond, params = _ranges_cond([(start, end)])
    sql = f"""
WITH {_corridor_inside(cond, None)},
pos AS (
    SELECT f.route_id, f.scope, f.s, f.alt_amsl AS z, ST_X(g) AS x, ST_Y(g) AS y,
           coalesce(k.code, {UNKNOWN_SEPARATION_CODE}) AS code
    FROM (SELECT DISTINCT ON (route_id, aircraft_id, s) * FROM inside
          ORDER BY route_id, aircraft_id, s, t_epoch) f
    LEFT JOIN aircraft ac ON ac.id = f.aircraft_id
    LEFT JOIN (VALUES {_category_codes()}) k(name, code) ON k.name = ac.category
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326), 4548) AS g) p)
SELECT array_agg(route_id) AS route, array_agg(scope) AS scope, array_agg(s) AS s, array_agg(x) AS x,
       array_agg(y) AS y, array_agg(z) AS z, array_agg(code) AS code FROM pos"""
    return Query(sql, params)


_SEP_COLUMNS = "route_id, scope, samples, sum_mm, metres, counts, los_s, inside_s"


def _separation_merge(src: str) -> str:
    """CTE ``sep_merged``: the rows of ``src`` (bucket, route, scope, samples, sum_mm, metres, counts,
    los_s, inside_s) added up per bucket, route and scope (counts, sums, and the histograms metre by metre)."""
    return f"""
sep_src AS MATERIALIZED (
    -- k numbers each (bucket, route, scope): the histograms' bins are regrouped by integers, not by text
    -- (sorting 0.16 M bins by route and scope names took most of a live hour's read)
    SELECT s0.*, dense_rank() OVER (ORDER BY bucket, route_id, scope) AS k FROM ({src}) s0),
sep_merged AS MATERIALIZED (
    SELECT bucket, route_id, scope, sum(samples)::bigint AS samples, sum(sum_mm)::bigint AS sum_mm,
           coalesce(max(metres), '{{}}') AS metres, coalesce(max(counts), '{{}}') AS counts,
           sum(los_s)::bigint AS los_s, sum(inside_s)::bigint AS inside_s
    FROM (SELECT k, bucket, route_id, scope, samples, sum_mm, NULL::int[] AS metres, NULL::int[] AS counts, los_s,
                 inside_s FROM sep_src
          UNION ALL
          SELECT k, min(bucket), min(route_id), min(scope), 0, 0, array_agg(m ORDER BY m), array_agg(c ORDER BY m),
                 0, 0
          FROM (SELECT k, min(bucket) AS bucket, min(route_id) AS route_id, min(scope) AS scope, u.m,
                       sum(u.c)::int AS c
                FROM sep_src CROSS JOIN LATERAL unnest(sep_src.metres, sep_src.counts) AS u(m, c)
                GROUP BY k, u.m) x
          GROUP BY k) u
    GROUP BY k, bucket, route_id, scope)"""


INSERT_SEPARATION = f"""
INSERT INTO analytics_separation (span, at, {_SEP_COLUMNS})
VALUES (:span, :at, :route_id, :scope, :samples, :sum_mm, :metres, :counts, :los_s, :inside_s)"""
"""One row of separation parts (``lowalt.analytics.separation.Part``) of a minute or an hour."""


Range = tuple[datetime, datetime]
"""``[start, end)``."""


@dataclass(frozen=True)
class Rolled:
    """What the rollups hold: closed hours (``analytics_rolled_hours``) and closed minutes of hours not
    rolled yet (``analytics_rolled_minutes``)."""

    hours: frozenset[datetime] = frozenset()
    minutes: frozenset[datetime] = frozenset()


NONE = Rolled()


@dataclass(frozen=True)
class Reads:
    """Where a window's track-derived measures read from: whole rolled hours, whole rolled minutes outside
    those hours, and raw history for the rest (``raw``, merged ranges). The three partition the window."""

    hours: list[datetime]
    minutes: list[datetime]
    raw: list[Range]


def _full(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """The epoch-aligned periods ``[p, p + step)`` that lie wholly inside ``[start, end)``."""
    n = int(step.total_seconds())
    p = datetime.fromtimestamp(-(-int(start.timestamp()) // n) * n, tz=start.tzinfo)
    out = []
    while p + step <= end:
        out.append(p)
        p += step
    return out


def full_hours(start: datetime, end: datetime) -> list[datetime]:
    """The epoch-aligned hours ``[h, h + 1 h)`` that lie wholly inside ``[start, end)``."""
    return _full(start, end, HOUR)


def _less(start: datetime, end: datetime, taken: Sequence[Range]) -> list[Range]:
    """``[start, end)`` less the (disjoint) ranges ``taken``, as merged ranges."""
    out: list[Range] = []
    t = start
    for s, e in sorted(taken):
        if s > t:
            out.append((t, s))
        t = max(t, e)
    if t < end:
        out.append((t, end))
    return out


def raw_ranges(start: datetime, end: datetime, rolled: Collection[datetime]) -> list[Range]:
    """``[start, end)`` less the rolled-up hours: what must still be read from raw history (merged ranges)."""
    return _less(start, end, [(h, h + HOUR) for h in rolled if start <= h and h + HOUR <= end])


def reads(start: datetime, end: datetime, rolled: Rolled) -> Reads:
    """Split ``[start, end)`` into rolled hours, rolled minutes (of the hours not rolled) and raw ranges."""
    hours = [h for h in full_hours(start, end) if h in rolled.hours]
    in_hours = set(hours)
    minutes = [m for m in _full(start, end, MINUTE)
               if m in rolled.minutes and m - timedelta(seconds=m.timestamp() % 3600) not in in_hours]
    taken = [(h, h + HOUR) for h in hours] + [(m, m + MINUTE) for m in minutes]
    return Reads(hours, minutes, _less(start, end, taken))


def _ranges_cond(ranges: Sequence[Range]) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    conds = []
    for i, (s, e) in enumerate(ranges):
        params |= {f"cs{i}": s, f"ce{i}": e}
        conds.append(f"(tp.t >= :cs{i} AND tp.t < :ce{i})")
    return " OR ".join(conds) or "false", params


def corridor_hours(start: datetime, end: datetime, *, org: str | None, rolled: Rolled = NONE) -> Query:
    """Corridors: distinct aircraft per hour and the most inside in one second, from track history (whole
    rolled hours from ``analytics_corridor_hours``, rolled minutes of the other hours from
    ``analytics_corridor_minutes``, raw history for the rest: :func:`reads`).

    Inside = within the route's half width of its centreline (EPSG:4548), altitude not considered (the
    band is AGL and needs terrain; see docs/analytics.md). Reports are first tested against the corridor's
    box in degrees (no projection: the box around the centreline widened by ``(half width + 50 m) /
    DEG_M_MIN`` degrees, a superset). Their distance is then estimated in metres by scaling lon/lat at the
    service area's latitude (``M_PER_DEG_*``; off by under ``BAND_M`` at these distances), and only reports
    whose estimate lies within ``BAND_M`` of the half width are projected to EPSG:4548 for the exact answer.

    A rolled minute keeps the aircraft inside (not their count) and its peak, so an hour made of minutes
    and raw seconds still counts each aircraft once, and its peak is the largest of its parts' (the
    seconds of an hour are split between them, never shared).

    In the same statement, each hour's separation and density parts: samples, sum_mm, metres, counts and
    los_s from the rolled hours and minutes only (``analytics_separation``, written by the roller:
    ``lowalt.analytics.separation``; the raw tail is not measured at read, so the separation covers the
    window's rolled part, :func:`separation_cover`), inside_s from those and the raw tail (zeros for an hour
    without any); and the route's length. ``org``: its aircraft's flights, peak, samples (nearest to
    anyone's aircraft), losses of separation with any aircraft, and aircraft-seconds."""
    r = reads(start, end, rolled)
    cond, params = _ranges_cond(r.raw)
    hour = f"date_bin('1 hour', {{}}, TIMESTAMPTZ '{ORIGIN}')"
    src = (f"SELECT {hour.format('at')} AS bucket, {_SEP_COLUMNS} FROM analytics_separation "
           f"WHERE scope = :scope AND ((span = 'hour' AND at = ANY(CAST(:rolled AS timestamptz[]))) "
           f"OR (span = 'minute' AND at = ANY(CAST(:minutes AS timestamptz[]))))")
    sql = f"""
WITH {_corridor_inside(cond, None)},{_separation_merge(src)},
mine AS (SELECT route_id, aircraft_id, s FROM inside WHERE scope = :scope OR :scope = 'all'),
mins AS (
    SELECT route_id, date_bin('1 hour', minute, TIMESTAMPTZ '{ORIGIN}') AS hour, peak, aircraft
    FROM analytics_corridor_minutes WHERE minute = ANY(CAST(:minutes AS timestamptz[])) AND scope = :scope),
per_second AS (SELECT route_id, s, count(DISTINCT aircraft_id) AS n FROM mine GROUP BY route_id, s),
raw_inside AS (
    SELECT route_id, date_bin('1 hour', to_timestamp(s), TIMESTAMPTZ '{ORIGIN}') AS hour, sum(n)::bigint AS inside_s
    FROM per_second GROUP BY 1, 2),
peaks AS (
    SELECT route_id, hour, max(n) AS peak FROM (
        SELECT route_id, date_bin('1 hour', to_timestamp(s), TIMESTAMPTZ '{ORIGIN}') AS hour, n FROM per_second
        UNION ALL SELECT route_id, hour, peak FROM mins) x
    GROUP BY route_id, hour),
flights AS (
    SELECT route_id, hour, count(DISTINCT aircraft_id) AS flights FROM (
        SELECT route_id, date_bin('1 hour', to_timestamp(s), TIMESTAMPTZ '{ORIGIN}') AS hour, aircraft_id FROM mine
        UNION ALL SELECT route_id, hour, unnest(aircraft) FROM mins) x
    GROUP BY route_id, hour),
rows AS (
    SELECT p.route_id, p.hour, f.flights, p.peak FROM peaks p JOIN flights f USING (route_id, hour)
    UNION ALL
    SELECT route_id, hour, flights, peak FROM analytics_corridor_hours
    WHERE hour = ANY(CAST(:rolled AS timestamptz[])) AND scope = :scope)
SELECT r.route_id, coalesce(c.name_zh, r.route_id) AS name_zh, r.hour, r.flights, r.peak AS peak_simultaneous,
       ST_Length(c.line) / 1000 AS length_km, coalesce(m.samples, 0) AS samples, coalesce(m.sum_mm, 0) AS sum_mm,
       coalesce(m.metres, '{{}}') AS metres, coalesce(m.counts, '{{}}') AS counts, coalesce(m.los_s, 0) AS los_s,
       coalesce(m.inside_s, 0) + coalesce(ri.inside_s, 0) AS inside_s
FROM rows r LEFT JOIN corr c USING (route_id)
LEFT JOIN sep_merged m ON m.route_id = r.route_id AND m.bucket = r.hour
LEFT JOIN raw_inside ri ON ri.route_id = r.route_id AND ri.hour = r.hour
ORDER BY r.route_id, r.hour"""
    return Query(sql, {**params, "rolled": r.hours, "minutes": r.minutes,
                       "scope": "all" if org is None else f"org:{org}"})


def separation_cover(start: datetime, end: datetime, rolled: Rolled) -> Range | None:
    """The part of ``[start, end)`` the corridor separation covers: from the start of its first rolled
    hour or minute to the end of its last (None when none is rolled). Reports after it (the live minute
    or two; the roller runs every ``LOWALT_ANALYTICS_ROLLUP_S``) and in a partial minute at the window's
    start are not in the separation; the raw gaps inside it are those the roller has not rolled (it rolls
    every closed minute of the live hour and every closed hour in order, so only while it catches up)."""
    r = reads(start, end, rolled)
    parts = [(h, h + HOUR) for h in r.hours] + [(m, m + MINUTE) for m in r.minutes]
    if not parts:
        return None
    return min(p[0] for p in parts), max(p[1] for p in parts)


def roll_up_corridors(hour: datetime) -> Query:
    """One closed hour of corridor use from raw history into ``analytics_corridor_hours``: per route, for
    every organisation (scope ``org:<name>``, ``none`` for aircraft of none) and for all of them (``all``:
    its peak is the most aircraft of any organisation inside in one second, not a sum of peaks). Its
    separation is measured apart (:func:`corridor_positions`, a minute at a time)."""
    cond, params = _ranges_cond([(hour, hour + HOUR)])
    sql = f"""
WITH {_corridor_inside(cond, None)},
per_second AS (SELECT route_id, scope, s, count(DISTINCT aircraft_id) AS n FROM inside GROUP BY 1, 2, 3),
fl AS (SELECT route_id, scope, count(DISTINCT aircraft_id) AS flights FROM inside GROUP BY 1, 2)
INSERT INTO analytics_corridor_hours (hour, route_id, scope, flights, peak)
SELECT CAST(:hour AS timestamptz), o.route_id, o.scope, f.flights, o.peak
FROM (SELECT route_id, scope, max(n) AS peak FROM per_second GROUP BY 1, 2) o JOIN fl f USING (route_id, scope)
UNION ALL
SELECT :hour, a.route_id, 'all', (SELECT sum(flights) FROM fl WHERE fl.route_id = a.route_id), a.peak
FROM (SELECT route_id, max(n) AS peak FROM (SELECT route_id, s, sum(n) AS n FROM per_second GROUP BY 1, 2) x
      GROUP BY 1) a"""
    return Query(sql, {**params, "hour": hour})


def roll_up_corridor_minute(minute: datetime) -> Query:
    """One closed minute of corridor use into ``analytics_corridor_minutes``: per route and scope (as
    :func:`roll_up_corridors`), the aircraft inside and the most inside in one second (its separation apart,
    as for an hour)."""
    cond, params = _ranges_cond([(minute, minute + MINUTE)])
    sql = f"""
WITH {_corridor_inside(cond, None)},
per_second AS (SELECT route_id, scope, s, count(DISTINCT aircraft_id) AS n FROM inside GROUP BY 1, 2, 3),
ac AS (SELECT route_id, scope, array_agg(DISTINCT aircraft_id ORDER BY aircraft_id) AS aircraft
       FROM inside GROUP BY 1, 2)
INSERT INTO analytics_corridor_minutes (minute, route_id, scope, peak, aircraft)
SELECT CAST(:minute AS timestamptz), o.route_id, o.scope, o.peak, ac.aircraft
FROM (SELECT route_id, scope, max(n) AS peak FROM per_second GROUP BY 1, 2) o JOIN ac USING (route_id, scope)
UNION ALL
SELECT :minute, a.route_id, 'all', a.peak,
       (SELECT array_agg(DISTINCT i.aircraft_id ORDER BY i.aircraft_id) FROM inside i WHERE i.route_id = a.route_id)
FROM (SELECT route_id, max(n) AS peak FROM (SELECT route_id, s, sum(n) AS n FROM per_second GROUP BY 1, 2) x
      GROUP BY 1) a"""
    return Query(sql, {**params, "minute": minute})


def hour_from_minutes(hour: datetime) -> list[Query]:
    """An hour whose every minute is rolled, rolled from them (no second pass over raw history): the same
    rows :func:`roll_up_hour` and :func:`roll_up_corridors` write (seconds add up; an aircraft in several
    minutes counts once; the hour's peak is its minutes' largest)."""
    p = {"hour": hour, "end": hour + HOUR}
    of_hour = "minute >= :hour AND minute < :end"
    return [
        Query(f"""INSERT INTO analytics_cell_hours (hour, cx, cy, aircraft_id, seconds)
SELECT CAST(:hour AS timestamptz), cx, cy, aircraft_id, sum(seconds) FROM analytics_cell_minutes
WHERE {of_hour} GROUP BY cx, cy, aircraft_id""", p),
        Query(f"""INSERT INTO analytics_corridor_hours (hour, route_id, scope, flights, peak)
SELECT CAST(:hour AS timestamptz), route_id, scope, count(DISTINCT a), max(peak)
FROM analytics_corridor_minutes CROSS JOIN LATERAL unnest(aircraft) a WHERE {of_hour} GROUP BY route_id, scope""", p),
        Query(f"""WITH {_separation_merge(
            f"SELECT CAST(:hour AS timestamptz) AS bucket, {_SEP_COLUMNS} FROM analytics_separation "
            f"WHERE span = 'minute' AND at >= :hour AND at < :end")}
INSERT INTO analytics_separation (span, at, {_SEP_COLUMNS})
SELECT 'hour', bucket, {_SEP_COLUMNS} FROM sep_merged""", p),
        Query(f"""INSERT INTO analytics_rolled_hours (hour, points)
SELECT CAST(:hour AS timestamptz), coalesce(sum(points), 0) FROM analytics_rolled_minutes WHERE {of_hour}""", p)]


def drop_minutes(before: datetime) -> list[Query]:
    """Delete the rolled minutes before ``before`` (hours rolled up an hour ago or more: no read still
    relies on them, see ``analytics_repo.roll_up``)."""
    return [Query(f"DELETE FROM {t} WHERE minute < :before", {"before": before})
            for t in ("analytics_cell_minutes", "analytics_corridor_minutes", "analytics_rolled_minutes")] + [
        Query("DELETE FROM analytics_separation WHERE span = 'minute' AND at < :before", {"before": before})]


def _dwell(ranges: Sequence[Range], org: str | None, select_extra: str) -> tuple[str, dict[str, Any]]:
    """Track points in ``ranges`` with their dwell time: the time to the same aircraft's next report when
    that is at most ``MAX_GAP_S``, else 0. Reports up to ``MAX_GAP_S`` past each range's end are read, so
    an hour's sum does not depend on where a window ends. Returns the CTE and its binds."""
    params: dict[str, Any] = {"max_gap": MAX_GAP_S}
    read, keep = [], []
    for i, (s, e) in enumerate(ranges):
        params |= {f"rs{i}": s, f"re{i}": e, f"rx{i}": e + timedelta(seconds=MAX_GAP_S)}
        read.append(f"(tp.t >= :rs{i} AND tp.t < :rx{i})")
        keep.append(f"(w.t >= :rs{i} AND w.t < :re{i})")
    sql = f"""
dwell AS (
    SELECT w.*, CASE WHEN w.gap <= :max_gap THEN w.gap ELSE 0 END AS dt FROM (
        SELECT tp.aircraft_id, tp.t_epoch, tp.t{select_extra},
               lead(tp.t_epoch) OVER (PARTITION BY tp.aircraft_id ORDER BY tp.t_epoch) - tp.t_epoch AS gap
        FROM track_points tp WHERE ({" OR ".join(read) or "false"}){_own_points(org)}) w
    WHERE {" OR ".join(keep) or "false"})"""
    return sql, params


def _rolled(org: str | None) -> str:
    """Rows of the rollups for the hours ``:rolled`` and the minutes ``:minutes`` (operators: their
    aircraft's)."""
    own = " AND ch.aircraft_id IN (SELECT id FROM aircraft WHERE organisation = :org)" if org is not None else ""
    return f"SELECT ch.cx, ch.cy, ch.aircraft_id, ch.seconds FROM analytics_cell_hours ch " \
           f"WHERE ch.hour = ANY(CAST(:rolled AS timestamptz[])){own} UNION ALL " \
           f"SELECT ch.cx, ch.cy, ch.aircraft_id, ch.seconds FROM analytics_cell_minutes ch " \
           f"WHERE ch.minute = ANY(CAST(:minutes AS timestamptz[])){own}"


def _roll_up_cells(start: datetime, step: timedelta, key: str) -> Query:
    dwell, params = _dwell([(start, start + step)], None, f", {_LOCAL} AS g")
    sql = f"""
WITH {dwell},
ins AS (
    INSERT INTO analytics_cell_{key}s ({key}, cx, cy, aircraft_id, seconds)
    SELECT :at, floor(ST_X(g) / {CELL_M})::int, floor(ST_Y(g) / {CELL_M})::int, aircraft_id, sum(dt)
    FROM dwell GROUP BY 2, 3, 4 RETURNING 1)
INSERT INTO analytics_rolled_{key}s ({key}, points) SELECT :at, (SELECT count(*) FROM dwell)"""
    return Query(sql, {**params, "at": start})


def roll_up_hour(hour: datetime) -> Query:
    """Roll one closed hour of history into ``analytics_cell_hours`` (seconds per cell and aircraft, exactly
    what the cells measure sums from raw reports) and record it in ``analytics_rolled_hours``."""
    return _roll_up_cells(hour, HOUR, "hour")


def roll_up_minute(minute: datetime) -> Query:
    """One closed minute into ``analytics_cell_minutes`` (as :func:`roll_up_hour`), recorded in
    ``analytics_rolled_minutes``."""
    return _roll_up_cells(minute, MINUTE, "minute")


def cell_use(start: datetime, end: datetime, *, org: str | None, rolled: Rolled = NONE) -> Query:
    """1 km cells (EPSG:4548): flight hours, occupancy, and where conflict and intrusion alerts were raised.

    An alert has no position of its own: it is placed at its first aircraft's report nearest its
    ``first_seen`` (within ``MAX_GAP_S``). Alerts count when raised in the window (operators: alerts that
    involve one of their aircraft). ``rolled``: hours and minutes read from the rollups instead of raw
    history (:func:`reads`)."""
    r = reads(start, end, rolled)
    dwell, params = _dwell(r.raw, org, f", {_LOCAL} AS g")
    own_alert = (" AND a.aircraft && ARRAY(SELECT id FROM aircraft WHERE organisation = :org)::text[]"
                 if org is not None else "")
    sql = f"""
WITH {dwell},
occ AS (
    SELECT cx, cy, sum(seconds) / 3600.0 AS flight_hours FROM (
        SELECT floor(ST_X(g) / {CELL_M})::int AS cx, floor(ST_Y(g) / {CELL_M})::int AS cy, dt AS seconds FROM dwell
        UNION ALL
        SELECT cx, cy, seconds FROM ({_rolled(org)}) r) u
    GROUP BY cx, cy),
raised AS (
    SELECT a.kind, a.first_seen, a.aircraft[1] AS ac FROM alert_events a
    WHERE a.event = 'raised' AND a.kind IN ('conflict', 'intrusion')
      AND a.first_seen >= :start AND a.first_seen < :end{own_alert}),
placed AS (
    SELECT r.kind, floor(ST_X(q.g) / {CELL_M})::int AS cx, floor(ST_Y(q.g) / {CELL_M})::int AS cy
    FROM raised r CROSS JOIN LATERAL (
        SELECT {_LOCAL} AS g FROM track_points tp
        WHERE tp.aircraft_id = r.ac
          AND tp.t >= r.first_seen - make_interval(secs => :max_gap)
          AND tp.t <= r.first_seen + make_interval(secs => :max_gap)
        ORDER BY abs(tp.t_epoch - extract(epoch FROM r.first_seen)), tp.t_epoch LIMIT 1) q),
hot AS (
    SELECT cx, cy, count(*) FILTER (WHERE kind = 'conflict') AS conflicts,
           count(*) FILTER (WHERE kind = 'intrusion') AS intrusions
    FROM placed GROUP BY cx, cy),
cells AS (
    SELECT coalesce(o.cx, h.cx) AS cx, coalesce(o.cy, h.cy) AS cy, coalesce(o.flight_hours, 0) AS flight_hours,
           coalesce(h.conflicts, 0) AS conflicts, coalesce(h.intrusions, 0) AS intrusions
    FROM occ o FULL JOIN hot h ON o.cx = h.cx AND o.cy = h.cy)
SELECT cx, cy, ST_X(c.ll) AS lon, ST_Y(c.ll) AS lat, flight_hours,
       flight_hours / :hours AS occupancy,
       conflicts, intrusions
FROM cells CROSS JOIN LATERAL (
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((cx + 0.5) * {CELL_M}, (cy + 0.5) * {CELL_M}), 4548), 4326) AS ll) c
ORDER BY cx, cy"""
    return Query(sql, {**params, "start": start, "end": end, "org": org, "rolled": r.hours, "minutes": r.minutes,
                       "hours": (end - start).total_seconds() / 3600.0})


_DECISIONS = """
decisions AS (
    SELECT e.plan_id, e.at, e.to_state AS verdict,
           CASE WHEN e.by = 'system' THEN 'automatic' ELSE 'centre' END AS decider,
           coalesce(p.decision->>'pathway', 'unknown') AS pathway,
           (SELECT min(f.at) FROM plan_events f WHERE f.plan_id = e.plan_id AND f.to_state = 'submitted') AS filed
    FROM plan_events e JOIN plans p ON p.id = e.plan_id
    WHERE e.at >= :start AND e.at < :end{own}
      AND ((e.from_state = 'submitted' AND e.to_state IN ('approved', 'referred', 'rejected'))
           OR (e.from_state = 'referred' AND e.to_state IN ('approved', 'rejected'))))"""


def decision_counts(start: datetime, end: datetime, *, org: str | None) -> Query:
    """Filing: decisions made in the window by decider, pathway and verdict.

    A decision is filing's verdict on a submitted plan (automatic) or the centre's approval or
    rejection of a referred one; a suspension (approved -> referred) is not a decision."""
    own = " AND p.organisation = :org" if org is not None else ""
    sql = f"""
WITH {_DECISIONS.format(own=own)}
SELECT decider, pathway, verdict, count(*) AS decisions FROM decisions
GROUP BY decider, pathway, verdict ORDER BY decider, pathway, verdict"""
    return Query(sql, {"start": start, "end": end, "org": org})


def decision_times(start: datetime, end: datetime, *, org: str | None) -> Query:
    """Filing: median seconds from filing to each decision, automatic and centre apart."""
    own = " AND p.organisation = :org" if org is not None else ""
    sql = f"""
WITH {_DECISIONS.format(own=own)}
SELECT decider, count(*) AS decisions,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM at - filed)) AS median_s
FROM decisions GROUP BY decider ORDER BY decider"""
    return Query(sql, {"start": start, "end": end, "org": org})


def referral_reasons(start: datetime, end: datetime, *, org: str | None) -> Query:
    """Filing: plans referred to the centre in the window, by reason code (a plan with two reasons counts
    under each)."""
    own = " AND p.organisation = :org" if org is not None else ""
    sql = f"""
SELECT c.code, count(DISTINCT e.plan_id) AS plans
FROM plan_events e JOIN plans p ON p.id = e.plan_id
CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(e.details->'codes', '[]'::jsonb)) AS c(code)
WHERE e.at >= :start AND e.at < :end AND e.from_state = 'submitted' AND e.to_state = 'referred'{own}
GROUP BY c.code ORDER BY plans DESC, c.code"""
    return Query(sql, {"start": start, "end": end, "org": org})


def _same_geometry(column: str, alt_key: str) -> str:
    """``column`` (a plan's geometry) is the alternative's GeoJSON ``alt_key`` when it has one (within 1e-7
    degrees, about a centimetre: the portal files the offered coordinates as they are)."""
    return (f"(NOT a.alt ? '{alt_key}' OR ST_HausdorffDistance({column}, "
            f"ST_SetSRID(ST_GeomFromGeoJSON(a.alt->'{alt_key}'), 4326)) < 1e-7)")


def _same_band(side: str) -> str:
    return (f"(NOT a.alt ? '{side}' OR (q.{side}_m = (a.alt->'{side}'->>'value_m')::float8 "
            f"AND q.{side}_ref = a.alt->'{side}'->>'reference'))")


def alternatives_accepted(start: datetime, end: datetime, *, org: str | None) -> Query:
    """Filing: plans offered alternatives in the window, and of those the ones re-filed as an offered
    alternative and approved, by the alternative's kind (``all``: distinct plans, whatever the kind).

    Offers: a filing decision's ``decision.alternatives`` (a refusal or referral; offered when the plan was
    decided, ``created_at``) and the ``alternatives`` of a plan event (a withdrawal by a constraint or a
    weather warning, displacement by a higher priority; offered at the event). Nothing in a plan names the
    offer it takes, so a re-filing is recognised by what it is: a plan of the same organisation and
    aircraft, filed at or after the offer, that has every field the alternative sets (``start``/``end``
    exactly, ``floor``/``ceiling`` value and reference, ``geometry``/``takeoff``/``landing`` within 1e-7
    degrees), which is what the portal's one-click re-filing sends. Approved = approved, active or
    completed now (re-filings later than the window count: the question is whether the offer was taken)."""
    own = " AND p.organisation = :org" if org is not None else ""
    sql = f"""
WITH offers AS (
    SELECT p.id, p.organisation, p.aircraft_id, p.created_at AS at, x.alt
    FROM plans p CROSS JOIN LATERAL jsonb_array_elements(p.decision->'alternatives') x(alt)
    WHERE jsonb_typeof(p.decision->'alternatives') = 'array'
      AND p.created_at >= :start AND p.created_at < :end{own}
    UNION ALL
    SELECT p.id, p.organisation, p.aircraft_id, e.at, x.alt
    FROM plan_events e JOIN plans p ON p.id = e.plan_id
    CROSS JOIN LATERAL jsonb_array_elements(e.details->'alternatives') x(alt)
    WHERE jsonb_typeof(e.details->'alternatives') = 'array' AND e.at >= :start AND e.at < :end{own}),
taken AS (
    SELECT a.id, a.alt->>'kind' AS kind,
           EXISTS (SELECT 1 FROM plans q
                   WHERE q.organisation = a.organisation AND q.aircraft_id = a.aircraft_id AND q.id <> a.id
                     AND q.created_at >= a.at AND q.state IN {_in(BOOKED)}
                     AND (NOT a.alt ? 'start' OR q.starts_at = (a.alt->>'start')::timestamptz)
                     AND (NOT a.alt ? 'end' OR q.ends_at = (a.alt->>'end')::timestamptz)
                     AND {_same_band("floor")} AND {_same_band("ceiling")}
                     AND {_same_geometry("q.geom", "geometry")} AND {_same_geometry("q.takeoff", "takeoff")}
                     AND {_same_geometry("q.landing", "landing")}) AS accepted
    FROM offers a)
SELECT kind, count(DISTINCT id) AS offered, count(DISTINCT id) FILTER (WHERE accepted) AS accepted
FROM taken GROUP BY kind
UNION ALL
SELECT 'all', count(DISTINCT id), count(DISTINCT id) FILTER (WHERE accepted) FROM taken
ORDER BY 1"""
    return Query(sql, {"start": start, "end": end, "org": org})


def operator_use(start: datetime, end: datetime, *, org: str | None, rolled: Rolled = NONE) -> Query:
    """Operators: flights, flight hours, alerts and nonconformance per flight hour, conformance rate.

    Every organisation with an aircraft, a flown plan or a flight hour in the window (or just ``org``)."""
    own_org = " WHERE organisation = :org" if org is not None else ""
    r = reads(start, end, rolled)
    dwell, params = _dwell(r.raw, org, "")
    sql = f"""
WITH {dwell},
hours AS (
    SELECT ac.organisation, sum(d.seconds) / 3600.0 AS flight_hours
    FROM (SELECT aircraft_id, dt AS seconds FROM dwell UNION ALL SELECT aircraft_id, seconds FROM ({_rolled(org)}) r) d
    JOIN aircraft ac ON ac.id = d.aircraft_id WHERE ac.organisation IS NOT NULL
    GROUP BY ac.organisation),
flown AS (
    SELECT p.organisation, p.id, p.aircraft_id, p.starts_at, p.ends_at FROM plans p
    WHERE p.state IN {_in(FLOWN)} AND p.starts_at >= :start AND p.starts_at < :end),
raised AS (
    SELECT a.alert_id, a.kind, a.first_seen, a.aircraft FROM alert_events a
    WHERE a.event = 'raised' AND a.first_seen >= :start AND a.first_seen < :end),
org_alerts AS (
    SELECT ac.organisation, count(DISTINCT r.alert_id) AS alerts,
           count(DISTINCT r.alert_id) FILTER (WHERE r.kind = 'nonconformance') AS deviations
    FROM raised r JOIN aircraft ac ON ac.id = ANY(r.aircraft) WHERE ac.organisation IS NOT NULL
    GROUP BY ac.organisation),
conform AS (
    SELECT f.organisation, count(*) AS flights,
           count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM alert_events a WHERE a.event = 'raised' AND a.kind = 'nonconformance'
                 AND f.aircraft_id = ANY(a.aircraft) AND a.first_seen >= f.starts_at
                 AND a.first_seen < f.ends_at)) AS conforming
    FROM flown f GROUP BY f.organisation),
orgs AS (
    SELECT organisation FROM hours UNION SELECT organisation FROM conform
    UNION SELECT organisation FROM org_alerts)
SELECT o.organisation, coalesce(c.flights, 0) AS flights, coalesce(h.flight_hours, 0) AS flight_hours,
       coalesce(a.alerts, 0) AS alerts, coalesce(a.deviations, 0) AS deviations,
       coalesce(c.conforming, 0) AS conforming
FROM (SELECT organisation FROM orgs{own_org}) o
LEFT JOIN hours h USING (organisation) LEFT JOIN conform c USING (organisation)
LEFT JOIN org_alerts a USING (organisation) ORDER BY o.organisation"""
    return Query(sql, {**params, "start": start, "end": end, "org": org, "rolled": r.hours, "minutes": r.minutes})
