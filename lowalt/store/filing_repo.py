"""Flight plans, their audit trail and weather warnings in PostGIS (SQLAlchemy Core).

The only place filing touches geoalchemy2: geometries go in and come out as WKB and
leave as shapely objects inside :class:`~lowalt.filing.model.FlightPlan`. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
import shapely
from geoalchemy2.elements import WKBElement
from sqlalchemy import (
    and_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.airspace.model import AircraftCategory
from lowalt.filing.deconfliction import TAG_CELL_HOUR
from lowalt.filing.model import FlightPlan, MissionType, PlanState, Priority
from lowalt.filing.pilot_rules import RegisteredPilot
from lowalt.filing.ports import AuditRow
from lowalt.filing.rules import Booking, Registry, WeatherWarning
from lowalt.geo.altitude import Altitude, AltitudeReference
from lowalt.store.tables import (  # the one schema definition
    aircraft,
    plan_events,
    plans,
    users,
    weather_warnings,
)


class DuplicateIdempotencyKey(ValueError):
    """Another request with the same key committed first."""


def _wkb(g: shapely.Geometry) -> WKBElement:
    return WKBElement(shapely.to_wkb(g), srid=4326)


_PLAN_COLS = [c for c in plans.c if c.name not in ("geom", "takeoff", "landing")]
_SELECT = select(*_PLAN_COLS, func.ST_AsBinary(plans.c.geom).label("geom_wkb"),
                 func.ST_AsBinary(plans.c.takeoff).label("takeoff_wkb"),
                 func.ST_AsBinary(plans.c.landing).label("landing_wkb"))


_INSERT_PLAN = insert(plans)
"""Statements built once and given their values at execution: SQLAlchemy compiles each once per
process (``insert(t).values(**row)`` built a new statement, with its cache key, per filing)."""


def _bookings_query(with_licence: bool) -> Any:
    who = plans.c.aircraft_id == bindparam("aircraft")
    if with_licence:
        who = who | (plans.c.licence_id == bindparam("licence"))
    return select(plans.c.id, plans.c.aircraft_id, plans.c.licence_id, plans.c.starts_at, plans.c.ends_at).where(
        and_(who, plans.c.state.in_(BOOKING_STATES), plans.c.starts_at < bindparam("end"),
             plans.c.ends_at > bindparam("start")))


def _registry_query() -> Any:
    a = select(aircraft.c.category, aircraft.c.organisation, aircraft.c.suspended).where(
        aircraft.c.id == bindparam("aircraft")).subquery()
    u = select((users.c.disabled | users.c.suspended).label("off")).where(
        users.c.name == bindparam("user")).limit(1).scalar_subquery()
    return select(a.c.category, a.c.organisation, a.c.suspended, u.label("off")).select_from(
        text("(SELECT 1) AS one")).outerjoin(a, text("true"))  # one round trip, a row even without the aircraft


_REGISTRY = _registry_query()


def plan_row(p: FlightPlan, idempotency_key: str | None = None, request_hash: str | None = None) -> dict[str, Any]:
    return {
        "id": p.id, "organisation": p.organisation, "submitted_by": p.submitted_by, "aircraft_id": p.aircraft_id,
        "category": p.category.value, "pilot": p.pilot, "licence_id": p.licence_id, "mission": p.mission.value,
        "priority": int(p.priority), "geom": _wkb(p.geometry), "half_width_m": p.half_width_m,
        "floor_m": p.floor.value_m, "floor_ref": p.floor.reference.value, "ceiling_m": p.ceiling.value_m,
        "ceiling_ref": p.ceiling.reference.value, "takeoff": _wkb(p.takeoff), "landing": _wkb(p.landing),
        "starts_at": p.start, "ends_at": p.end, "state": p.state.value, "decision": p.decision,
        "attrs": {"flags": sorted(p.flags), "corridor_id": p.corridor_id, "urgent": p.urgent},
        "idempotency_key": idempotency_key, "request_hash": request_hash,
    } | ({"created_at": p.created_at, "updated_at": p.updated_at or p.created_at} if p.created_at else {})
    # the decision's clock, so POST and a later GET return the same instants


def _plan(r: Any) -> FlightPlan:
    attrs = r["attrs"] or {}
    return FlightPlan(
        id=r["id"], organisation=r["organisation"], submitted_by=r["submitted_by"], aircraft_id=r["aircraft_id"],
        category=AircraftCategory(r["category"]), pilot=r["pilot"], licence_id=r["licence_id"],
        mission=MissionType(r["mission"]), geometry=shapely.from_wkb(bytes(r["geom_wkb"])),
        half_width_m=r["half_width_m"], floor=Altitude(r["floor_m"], AltitudeReference(r["floor_ref"])),
        ceiling=Altitude(r["ceiling_m"], AltitudeReference(r["ceiling_ref"])),
        takeoff=shapely.from_wkb(bytes(r["takeoff_wkb"])), landing=shapely.from_wkb(bytes(r["landing_wkb"])),
        start=r["starts_at"], end=r["ends_at"], flags=frozenset(attrs.get("flags", [])),
        corridor_id=attrs.get("corridor_id"), urgent=bool(attrs.get("urgent", False)),
        state=PlanState(r["state"]), decision=r["decision"] or {}, created_at=r["created_at"],
        updated_at=r["updated_at"], priority_level=Priority(r["priority"]),  # as the policy gave it at filing (#19)
    )


async def insert_plan(conn: AsyncConnection, p: FlightPlan, idempotency_key: str | None = None,
                      request_hash: str | None = None) -> None:
    if idempotency_key is None:  # nothing unique can clash (ids are uuid4): skip the savepoint round trips
        await conn.execute(_INSERT_PLAN, plan_row(p))
        return
    try:
        async with conn.begin_nested():
            await conn.execute(_INSERT_PLAN, plan_row(p, idempotency_key, request_hash))
    except IntegrityError as exc:
        if "plans_idempotency" in str(exc):
            raise DuplicateIdempotencyKey(idempotency_key) from exc
        raise


async def insert_plans_bulk(conn: AsyncConnection, items: Sequence[FlightPlan]) -> None:
    """Seeding (benchmarks, imports): one executemany for plans and one for their events."""
    if not items:
        return
    await conn.execute(insert(plans), [plan_row(p) for p in items])
    await conn.execute(insert(plan_events), [
        {"plan_id": p.id, "from_state": None, "to_state": p.state.value, "by": p.submitted_by,
         "reason": "bulk import", "details": {}} for p in items])


async def set_state(conn: AsyncConnection, plan_id: str, state: PlanState, *, decision: dict[str, Any] | None = None,
                    now: datetime | None = None) -> None:
    values: dict[str, Any] = {"state": state.value, "updated_at": now or func.now()}
    if decision is not None:
        values["decision"] = decision
    await conn.execute(update(plans).where(plans.c.id == plan_id).values(**values))


async def add_event(conn: AsyncConnection, plan_id: str, from_state: PlanState | None, to_state: PlanState,
                    by: str, reason: str, details: dict[str, Any] | None = None, at: datetime | None = None
                    ) -> int:
    values: dict[str, Any] = {"plan_id": plan_id, "from_state": from_state.value if from_state else None,
                              "to_state": to_state.value, "by": by, "reason": reason, "details": details or {}}
    if at is not None:
        values["at"] = at
    return int((await conn.execute(insert(plan_events).values(**values).returning(plan_events.c.id))).scalar_one())


async def add_events(conn: AsyncConnection, rows: Sequence[tuple[str, PlanState | None, PlanState, str, str,
                                                             dict[str, Any], datetime]],
                     notify: Sequence[str] = ()) -> None:
    """Several audit rows, and the plan events ``notify`` (:func:`notify_plans`), in one round trip:
    (plan id, from, to, by, reason, details, at)."""
    await conn.execute(_ADD_EVENTS, {
        "p": [r[0] for r in rows], "f": [r[1].value if r[1] else None for r in rows], "t": [r[2].value for r in rows],
        "b": [r[3] for r in rows], "r": [r[4] for r in rows],
        "d": [orjson.dumps(r[5], option=orjson.OPT_NON_STR_KEYS).decode() for r in rows],
        "a": [r[6] for r in rows], "ch": PLANS_CHANNEL, "m": list(notify)})


async def get_plan(conn: AsyncConnection, plan_id: str, *, for_update: bool = False) -> FlightPlan | None:
    q = _SELECT.where(plans.c.id == plan_id)
    if for_update:
        q = q.with_for_update(of=plans)
    r = (await conn.execute(q)).mappings().first()
    return _plan(r) if r else None


async def get_by_idempotency_key(conn: AsyncConnection, organisation: str, key: str) -> FlightPlan | None:
    q = _SELECT.where(and_(plans.c.organisation == organisation, plans.c.idempotency_key == key))
    r = (await conn.execute(q)).mappings().first()
    return _plan(r) if r else None


async def get_by_idempotency_key_hashed(conn: AsyncConnection, organisation: str, key: str
                                        ) -> tuple[FlightPlan, str | None] | None:
    """The plan filed with this key and the SHA-256 of the request body it was filed with."""
    q = _SELECT.where(and_(plans.c.organisation == organisation, plans.c.idempotency_key == key))
    r = (await conn.execute(q)).mappings().first()
    return (_plan(r), r["request_hash"]) if r else None


BOOKING_STATES = (PlanState.APPROVED.value, PlanState.ACTIVE.value, PlanState.REFERRED.value)
"""Plans that hold their aircraft (or may soon: a referred plan can still be approved)."""
_BOOKINGS, _BOOKINGS_WHO = _bookings_query(False), _bookings_query(True)


async def bookings(conn: AsyncConnection, aircraft_id: str, licence_id: str | None, start: datetime,
                   end: datetime) -> list[Booking]:
    """Other approved/active/referred plans of this aircraft or pilot licence overlapping [start, end)."""
    q = _BOOKINGS_WHO if licence_id else _BOOKINGS
    rows = await conn.execute(q, {"aircraft": aircraft_id, "licence": licence_id, "start": start, "end": end})
    return [Booking(r["id"], r["aircraft_id"], r["licence_id"], r["starts_at"], r["ends_at"])
            for r in rows.mappings().all()]


async def plans_overlapping(conn: AsyncConnection, states: Sequence[str], start: datetime, end: datetime
                            ) -> list[FlightPlan]:
    """Plans in these states whose window overlaps [start, end) (no limit: a warning's whole area)."""
    q = _SELECT.where(and_(plans.c.state.in_(list(states)), plans.c.starts_at < end, plans.c.ends_at > start))
    return [_plan(r) for r in (await conn.execute(q.order_by(plans.c.starts_at, plans.c.id))).mappings().all()]


async def list_plans(conn: AsyncConnection, *, organisation: str | None = None, states: Sequence[str] = (),
                     start: datetime | None = None, end: datetime | None = None,
                     bbox: tuple[float, float, float, float] | None = None, limit: int = 100, offset: int = 0
                     ) -> list[FlightPlan]:
    q = _SELECT
    if organisation is not None:
        q = q.where(plans.c.organisation == organisation)
    if states:
        q = q.where(plans.c.state.in_(list(states)))
    if start is not None:
        q = q.where(plans.c.ends_at > start)
    if end is not None:
        q = q.where(plans.c.starts_at < end)
    if bbox is not None:
        q = q.where(func.ST_Intersects(plans.c.geom, func.ST_MakeEnvelope(*bbox, 4326)))
    q = q.order_by(plans.c.starts_at, plans.c.id).limit(limit).offset(offset)
    return [_plan(r) for r in (await conn.execute(q)).mappings().all()]


async def holding_plans(conn: AsyncConnection, after: datetime) -> list[FlightPlan]:
    """Approved and active plans not yet over: what the deconfliction index must hold."""
    q = _SELECT.where(and_(plans.c.state.in_([PlanState.APPROVED.value, PlanState.ACTIVE.value]),
                           plans.c.ends_at > after))
    return [_plan(r) for r in (await conn.execute(q)).mappings().all()]


async def events(conn: AsyncConnection, plan_id: str) -> list[dict[str, Any]]:
    q = select(plan_events).where(plan_events.c.plan_id == plan_id).order_by(plan_events.c.id)
    return [{**dict(r), "at": r["at"].isoformat()} for r in (await conn.execute(q)).mappings().all()]


async def registry(conn: AsyncConnection, aircraft_id: str, user_name: str) -> Registry:
    return _registry_row((await conn.execute(_REGISTRY, {"aircraft": aircraft_id, "user": user_name})
                          ).mappings().first())


def _registry_row(r: Any) -> Registry:
    return Registry(
        aircraft_category=r["category"] if r else None,
        aircraft_organisation=r["organisation"] if r else None,
        aircraft_suspended=bool(r["suspended"]) if r else False,
        operator_suspended=bool(r and r["off"]),
    )


async def set_suspended(conn: AsyncConnection, *, aircraft_id: str | None = None, user_name: str | None = None,
                        suspended: bool = True) -> None:
    if aircraft_id is not None:
        await conn.execute(update(aircraft).where(aircraft.c.id == aircraft_id).values(suspended=suspended))
    if user_name is not None:
        await conn.execute(update(users).where(users.c.name == user_name).values(suspended=suspended))


async def add_weather_warning(conn: AsyncConnection, w: WeatherWarning, created_by: str) -> None:
    await conn.execute(insert(weather_warnings).values(
        id=w.id, kind=w.kind, geom=_wkb(w.area) if w.area is not None else None, starts_at=w.start, ends_at=w.end,
        value=w.value, text=w.text, created_by=created_by))


async def end_weather_warning(conn: AsyncConnection, warning_id: str, by: str, at: datetime) -> bool:
    """Mark a warning ended (kept for the audit); False if unknown or already ended."""
    r = await conn.execute(update(weather_warnings).where(and_(
        weather_warnings.c.id == warning_id, weather_warnings.c.ended_at.is_(None))).values(ended_at=at, ended_by=by))
    return bool(r.rowcount)


async def weather_warnings_after(conn: AsyncConnection, after: datetime) -> list[WeatherWarning]:
    q = select(weather_warnings, func.ST_AsBinary(weather_warnings.c.geom).label("wkb")).where(
        weather_warnings.c.ends_at > after, weather_warnings.c.ended_at.is_(None)).order_by(
        weather_warnings.c.starts_at)
    return [WeatherWarning(r["id"], r["kind"], r["starts_at"], r["ends_at"], r["value"],
                           shapely.from_wkb(bytes(r["wkb"])) if r["wkb"] is not None else None, r["text"])
            for r in (await conn.execute(q)).mappings().all()]


_RESTRICTIONS = text(
    "SELECT id, reason, ST_AsBinary(geom) AS wkb, floor_m, floor_ref, ceiling_m, ceiling_ref, starts_at, "
    "ends_at, created_by, properties, deleted_at IS NOT NULL AS deleted FROM airspace_restrictions "
    "WHERE ends_at > :t AND (deleted_at IS NULL OR :deleted)")


async def active_restriction_rows(conn: AsyncConnection, after: datetime, *, deleted: bool = False
                                  ) -> list[dict[str, Any]]:
    """Centre restrictions (table ``airspace_restrictions``) not yet over, not deleted (``deleted``:
    the deleted ones too, marked ``deleted``: another node's catch-up removes them)."""
    rows = (await conn.execute(_RESTRICTIONS, {"t": after, "deleted": deleted})).mappings().all()
    return [{**dict(r), "polygon": shapely.from_wkb(bytes(r["wkb"]))} for r in rows]



# ---------------------------------------------------------------- filing across nodes (0009)

NOTIFY_CHANNEL = "lowalt_filing"
"""``pg_notify`` channel: ``<node> cells <c1,c2,...>`` after held airspace changed, ``<node> weather``."""


async def lock_keys(conn: AsyncConnection, keys: Sequence[int]) -> None:
    """``pg_advisory_xact_lock`` on every key, in the order given (callers sort: no deadlock)."""
    if keys:
        await conn.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:k AS bigint[])) "
                                "WITH ORDINALITY AS u(k, o)"), {"k": list(keys)})


_LOCK_AND_READ = (
    "SELECT o_category AS category, o_organisation AS organisation, o_suspended AS suspended, o_off AS off,"
    " o_register AS register, o_cells AS cells, o_versions AS versions, o_changed AS changed, o_bookings AS bookings"
    " FROM filing_lock_and_read($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")


async def lock_and_read(conn: AsyncConnection, keys: Sequence[int], aircraft_id: str, user_name: str,
                        organisation: str, since: dict[int, int], licence_id: str | None, start: datetime,
                        end: datetime) -> tuple[Registry, list[RegisteredPilot], dict[int, int], set[str],
                                                list[Booking]]:
    """A filing's first statement in its unit of work (begun at checkout): :func:`lock_keys` on ``keys``
    (sorted by the caller), then, in a snapshot taken after the locks (``filing_lock_and_read``, 0020),
    :func:`registry`, the organisation's pilot register (as ``pilot_repo.register_of``), :func:`cell_versions`
    of ``since``'s cells with the plans changed in them since those versions (:func:`changed_plans`), and
    :func:`bookings` of the aircraft and licence from ``start`` to ``end``. One round trip (it was two:
    one statement's snapshot predates the locks it waits for)."""
    cells = sorted(since)
    r = await (await _driver(conn)).fetchrow(
        _LOCK_AND_READ, list(keys), aircraft_id, user_name, organisation, cells, [since[c] for c in cells],
        licence_id, list(BOOKING_STATES), start, end)
    register = [RegisteredPilot(n, num, cls, date.fromisoformat(exp) if exp else None)
                for n, num, cls, exp in orjson.loads(r["register"] or "[]")]
    versions = {int(c): int(v) for c, v in zip(r["cells"] or [], r["versions"] or [], strict=True)}
    found = [Booking(b[0], b[1], b[2], datetime.fromisoformat(b[3]), datetime.fromisoformat(b[4]))
             for b in orjson.loads(r["bookings"] or "[]")]
    return _registry_row(r), register, versions, {str(i) for i in r["changed"] or []}, found


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside its open transaction.

    A filing's reads and writes under its locks go to asyncpg directly: through SQLAlchemy's
    greenlet bridge, statement compilation and result processing, each round trip cost a filing
    node about as much CPU as the rules (docs/filing.md, Throughput). The transaction must be open
    (``Database.unit_of_work`` begins it at checkout): a statement outside it would autocommit and
    the advisory locks would not hold.
    """
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        raise RuntimeError("filing statements run inside the unit of work's open transaction")
    return driver


_FILE_PLAN = (
    "WITH p AS (INSERT INTO plans (id, organisation, submitted_by, aircraft_id, category, pilot, licence_id, mission,"
    " priority, geom, half_width_m, floor_m, floor_ref, ceiling_m, ceiling_ref, takeoff, landing, starts_at, ends_at,"
    " state, decision, attrs, idempotency_key, request_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6,"
    " $7, $8, $9, ST_GeomFromWKB($10, 4326), $11, $12, $13, $14, $15, ST_GeomFromWKB($16, 4326),"
    " ST_GeomFromWKB($17, 4326), $18, $19, $20, CAST($21::text AS jsonb), CAST($22::text AS jsonb), $23, $24,"
    " coalesce($25, now()), coalesce($26, $25, now()))"
    " ON CONFLICT ON CONSTRAINT plans_idempotency DO NOTHING RETURNING id),"
    " e AS (INSERT INTO plan_events (plan_id, from_state, to_state, \"by\", reason, details, at)"
    " SELECT u.p, u.f, u.t, u.b, u.r, CAST(u.d AS jsonb), u.a FROM unnest($27::text[], $28::text[], $29::text[],"
    " $30::text[], $31::text[], $32::text[], $33::timestamptz[]) AS u(p, f, t, b, r, d, a)"
    " WHERE EXISTS (SELECT 1 FROM p) RETURNING 1),"
    " b AS (INSERT INTO filing_cells AS fc (cell, version) SELECT c, 1 FROM unnest($34::bigint[]) AS c"
    " WHERE EXISTS (SELECT 1 FROM p) ON CONFLICT (cell) DO UPDATE SET version = fc.version + 1"
    " RETURNING cell, version),"
    " l AS (INSERT INTO filing_changes (cell, version, plan_ids) SELECT cell, version, $35::text[] FROM b)"
    " SELECT (SELECT count(*) FROM p) AS filed, (SELECT count(*) FROM e) AS events,"
    " (SELECT array_agg(cell ORDER BY cell) FROM b) AS cells, (SELECT array_agg(version ORDER BY cell) FROM b)"
    " AS versions,"
    " (SELECT count(pg_notify(n.ch, n.m)) FROM unnest($36::text[], $37::text[]) AS n(ch, m)"
    "  WHERE EXISTS (SELECT 1 FROM p)) AS notified")
"""Insert the plan; then, only if it was inserted (not an idempotency key another request filed with
first), its audit rows, the bumped cells with the change logged, and the NOTIFYs (delivered on commit)."""

async def file_plan(conn: AsyncConnection, p: FlightPlan, idempotency_key: str | None, request_hash: str | None,
                    audit: Sequence[AuditRow], notify: Sequence[str], bump: Sequence[int], bumped_ids: Sequence[str],
                    node: str) -> dict[int, int]:
    """A filing's writes in one round trip: :func:`insert_plan`, :func:`add_events` (``notify``: the plan
    events, as :func:`notify_plans`) and :func:`bump_cells` (``bump``, logging ``bumped_ids``).

    Raises :class:`DuplicateIdempotencyKey` (nothing written) when another request committed the key
    first. Returns the cells' new versions.
    """
    cells = sorted(set(bump))
    channels = [PLANS_CHANNEL] * len(notify)
    messages = list(notify)
    if cells:
        channels.append(NOTIFY_CHANNEL)
        messages.append(_cells_notice(node, cells))
    r = await (await _driver(conn)).fetchrow(
        _FILE_PLAN, p.id, p.organisation, p.submitted_by, p.aircraft_id, p.category.value, p.pilot, p.licence_id,
        p.mission.value, int(p.priority), shapely.to_wkb(p.geometry), p.half_width_m, p.floor.value_m,
        p.floor.reference.value, p.ceiling.value_m, p.ceiling.reference.value, shapely.to_wkb(p.takeoff),
        shapely.to_wkb(p.landing), p.start, p.end, p.state.value, _json(p.decision),
        _json({"flags": sorted(p.flags), "corridor_id": p.corridor_id, "urgent": p.urgent}), idempotency_key,
        request_hash, p.created_at, p.updated_at,
        [a[0] for a in audit], [a[1].value if a[1] else None for a in audit], [a[2].value for a in audit],
        [a[3] for a in audit], [a[4] for a in audit], [_json(a[5]) for a in audit], [a[6] for a in audit],
        cells, list(bumped_ids), channels, messages)
    if not r["filed"]:
        raise DuplicateIdempotencyKey(idempotency_key or "")
    return {int(c): int(v) for c, v in zip(r["cells"] or [], r["versions"] or [], strict=True)}


def _json(d: dict[str, Any]) -> str:
    return orjson.dumps(d, option=orjson.OPT_NON_STR_KEYS).decode()


def _cells_notice(node: str, cells: Sequence[int]) -> str:
    """``<node> cells <c1,c2,...>`` (cut at the NOTIFY limit: a reader then catches up on everything)."""
    return f"{node} cells {','.join(str(c) for c in cells)}"[:NOTIFY_MAX]


async def try_lock_keys(conn: AsyncConnection, keys: Sequence[int]) -> bool:
    """Try-lock every key without waiting (taken out of order, so never blocking); False if any is held."""
    if not keys:
        return True
    r = await conn.execute(text("SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest(CAST(:k AS bigint[])) "
                                "AS u(k)"), {"k": list(keys)})
    return bool(r.scalar_one())


async def cell_versions(conn: AsyncConnection, cells: Sequence[int] | None = None, *, from_hour: int = 0
                        ) -> dict[int, int]:
    """Current version of these cells (all cells when None); a cell never changed is absent (version 0).

    ``from_hour`` (all cells only): leave out the cell-hours (``deconfliction.cell_hour_keys``) of earlier
    hours, which only grow in number (a few per approval) and hold no plan that is not over."""
    if cells is None:
        rows = await conn.execute(text(
            "SELECT cell, version FROM filing_cells WHERE (cell >> 56) <> :tag OR (cell & :mask) >= :h"),
            {"tag": TAG_CELL_HOUR, "mask": (1 << 28) - 1, "h": from_hour})
    else:
        rows = await conn.execute(text("SELECT cell, version FROM filing_cells WHERE cell = ANY(CAST(:c AS bigint[]))"),
                                  {"c": list(cells)})
    return {int(c): int(v) for c, v in rows.all()}


async def changed_plans(conn: AsyncConnection, since: dict[int, int], upto: dict[int, int]) -> set[str]:
    """Ids of the plans changed in each cell after version ``since[cell]`` up to ``upto[cell]``."""
    cells = [c for c in upto if upto[c] > since.get(c, 0)]
    if not cells:
        return set()
    rows = await conn.execute(text(  # per cell, a range of the primary key (cell, version): not a scan of the log
        "SELECT DISTINCT unnest(f.plan_ids) "
        "FROM unnest(CAST(:c AS bigint[]), CAST(:lo AS bigint[]), CAST(:hi AS bigint[])) AS k(cell, lo, hi) "
        "CROSS JOIN LATERAL (SELECT plan_ids FROM filing_changes x "
        "WHERE x.cell = k.cell AND x.version > k.lo AND x.version <= k.hi OFFSET 0) AS f"),  # OFFSET 0: not flattened
        {"c": cells, "lo": [since.get(c, 0) for c in cells], "hi": [upto[c] for c in cells]})
    return {str(r[0]) for r in rows.all()}


async def plans_by_id(conn: AsyncConnection, ids: Sequence[str]) -> list[FlightPlan]:
    if not ids:
        return []
    q = _SELECT.where(plans.c.id.in_(list(ids)))
    return [_plan(r) for r in (await conn.execute(q)).mappings().all()]


async def bump_cells(conn: AsyncConnection, cells: Sequence[int], plan_ids: Sequence[str], node: str
                     ) -> dict[int, int]:
    """Bump the cells' versions, log which plans changed, and NOTIFY (delivered on commit). One round trip.

    Callers hold each cell's advisory lock (or a try-lock on it). Returns the new versions.
    """
    if not cells:
        return {}
    rows = await conn.execute(text(
        "WITH b AS (INSERT INTO filing_cells AS fc (cell, version) SELECT unnest(CAST(:c AS bigint[])), 1 "
        "  ON CONFLICT (cell) DO UPDATE SET version = fc.version + 1 RETURNING cell, version), "
        "l AS (INSERT INTO filing_changes (cell, version, plan_ids) SELECT cell, version, CAST(:ids AS text[]) "
        "FROM b) "
        "SELECT b.cell, b.version, n.x FROM b, (SELECT pg_notify(:ch, :msg) AS x) n"),
        {"c": sorted(set(cells)), "ids": list(plan_ids), "ch": NOTIFY_CHANNEL, "msg": _cells_notice(node, sorted(set(cells)))})
    return {int(c): int(v) for c, v, _ in rows.all()}


PLANS_CHANNEL = "lowalt_plans"
"""``pg_notify`` channel of plan events (``<node> <zlib+base64 JSON>``), sent in the transaction that
makes them true: another node's ``/ws/plans`` subscribers see exactly the committed events."""
NOTIFY_MAX = 7900
"""PostgreSQL refuses a NOTIFY payload of 8000 bytes or more."""
_ADD_EVENTS = text(
    "WITH e AS (INSERT INTO plan_events (plan_id, from_state, to_state, \"by\", reason, details, at) "
    "SELECT p, f, t, b, r, CAST(d AS jsonb), a FROM unnest(CAST(:p AS text[]), CAST(:f AS text[]), "
    "CAST(:t AS text[]), CAST(:b AS text[]), CAST(:r AS text[]), CAST(:d AS text[]), "
    "CAST(:a AS timestamptz[])) AS u(p, f, t, b, r, d, a) RETURNING 1) "
    "SELECT (SELECT count(*) FROM e) AS events, "
    "(SELECT count(pg_notify(:ch, m)) FROM unnest(CAST(:m AS text[])) AS n(m)) AS notified")


async def notify_plans(conn: AsyncConnection, messages: Sequence[str]) -> None:
    """Plan events for the other nodes, delivered when this transaction commits (none if it does not)."""
    if messages:
        await conn.execute(text("SELECT count(pg_notify(:ch, m)) FROM unnest(CAST(:m AS text[])) AS n(m)"),
                           {"ch": PLANS_CHANNEL, "m": list(messages)})


async def notify(conn: AsyncConnection, message: str) -> None:
    """A note to the other nodes, delivered when this transaction commits."""
    await conn.execute(text("SELECT pg_notify(:ch, :msg)"), {"ch": NOTIFY_CHANNEL, "msg": message})
