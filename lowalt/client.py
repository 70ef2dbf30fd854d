"""A small typed client for operators who integrate with lowalt from code (httpx, asyncio).

It speaks the public API only (the same one the operator portal and the simulators use): register
and edit aircraft, keep the pilot register, file a plan and read its decision, act on an alternative, list/get/cancel/activate/complete
plans, read the airspace, and follow ``/ws/plans``. Results are the API's JSON, typed with
``TypedDict`` (``Plan``, ``Decision``, ``Reason``, ``Alternative``...); errors raise
:class:`LowaltError` with the API's error code and message in English and Chinese::

    import asyncio
    from datetime import datetime, timedelta, UTC
    from lowalt.client import AsyncClient, plan_request, with_alternative

    async def main() -> None:
        async with AsyncClient("http://127.0.0.1:8000", token) as lw:
            await lw.register_aircraft("FL-001", "light_uav", registration="UAS-JX-0001")
            start = datetime.now(UTC) + timedelta(minutes=20)
            req = plan_request("FL-001", "light_uav",
                               {"type": "LineString", "coordinates": [[117.60, 29.30], [117.63, 29.32]]},
                               pilot="张伟", mission="inspection", start=start, end=start + timedelta(minutes=30),
                               floor_m=0, ceiling_m=120, half_width_m=50)
            plan = await lw.file_plan(req)
            if plan["state"] == "rejected" and plan["decision"]["alternatives"]:
                plan = await lw.file_plan(with_alternative(req, plan["decision"]["alternatives"][0]))
            print(plan["state"], plan["decision"]["pathway"])

    asyncio.run(main())

Instants go out as ISO 8601 with their offset (aware datetimes only) and come back in UTC.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, NotRequired, TypedDict

import httpx

Reference = Literal["AGL", "AMSL"]
PlanState = Literal["submitted", "approved", "referred", "rejected", "active", "completed", "cancelled", "withdrawn"]
Geometry = dict[str, Any]
"""A GeoJSON geometry (RFC 7946, [lon, lat]): LineString (route) or Polygon (operating area)."""
FeatureCollection = dict[str, Any]


class Altitude(TypedDict):
    value_m: float
    reference: Reference


class Band(TypedDict):
    floor: Altitude
    ceiling: Altitude


class Reason(TypedDict, total=False):
    rule: str
    outcome: Literal["pass", "refer", "reject"]
    code: str
    message_zh: str
    message_en: str
    details: dict[str, Any]
    """Among others ``article``: the regulation the rule applies."""


class Alternative(TypedDict, total=False):
    """A change that would be approved if filed as suggested (``expected``)."""

    kind: Literal["time", "altitude", "route", "location"]
    expected: str
    message_zh: str
    message_en: str
    start: str
    end: str
    floor: Altitude
    ceiling: Altitude
    lowered: bool
    geometry: Geometry
    takeoff: Geometry
    landing: Geometry
    avoids: list[str]
    shift_m: float


class Pathway(TypedDict, total=False):
    pathway: str
    applied: bool
    applicable: bool
    verdict: str | None
    message_zh: str
    message_en: str
    reasons: list[Reason]


class Decision(TypedDict, total=False):
    verdict: Literal["approved", "referred", "rejected"]
    pathway: str
    pathway_zh: str
    decided_at: str
    reasons: list[Reason]
    pathways: list[Pathway]
    alternatives: list[Alternative]
    preempts: list[str]
    decide_by: str


class Plan(TypedDict, total=False):
    id: str
    state: PlanState
    organisation: str
    submitted_by: str
    aircraft_id: str
    category: str
    pilot: str
    licence_id: str | None
    mission: str
    priority: int
    geometry: Geometry
    half_width_m: float
    altitude: Band
    takeoff: Geometry
    landing: Geometry
    start: str
    end: str
    flags: list[str]
    corridor_id: str | None
    urgent: bool
    decision: Decision
    decide_by: str | None
    created_at: str | None
    updated_at: str | None
    events: list[dict[str, Any]]
    """The audit trail (``GET /plans/{id}`` only)."""


class PlanRequest(TypedDict):
    """The body of ``POST /plans``; build it with :func:`plan_request`."""

    aircraft_id: str
    category: str
    pilot: str
    mission: str
    geometry: Geometry
    altitude: Band
    start: str
    end: str
    half_width_m: NotRequired[float]
    licence_id: NotRequired[str]
    takeoff: NotRequired[Geometry]
    landing: NotRequired[Geometry]
    flags: NotRequired[list[str]]
    corridor_id: NotRequired[str]
    urgent: NotRequired[bool]


class Aircraft(TypedDict, total=False):
    id: str
    category: str
    registration: str | None
    organisation: str | None
    device: str | None
    device_user_id: int | None
    created_at: str


class Pilot(TypedDict, total=False):
    """One row of the organisation's pilot register (``/pilots``); the identity number comes back masked."""

    id: int
    organisation: str
    name: str
    id_number_masked: str
    licence_number: str | None
    licence_class: str | None
    licence_class_zh: str | None
    licence_expiry: str | None
    """Last day valid, Beijing date (inclusive)."""
    covers: list[str]
    created_at: str


class _Unset:
    """Marks an argument left out (``None`` means "clear it")."""


UNSET: Any = _Unset()


class LowaltError(Exception):
    """An error answer: ``status`` (HTTP), ``code`` (``invalid``, ``approval_refused``...), the message in
    English and Chinese, the fields it names, and (409 on approval) the reasons."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code: str | None = err.get("code")
        self.message: str = err.get("message") or (body if isinstance(body, str) else f"HTTP {status}")
        self.message_zh: str | None = err.get("message_zh")
        self.fields: list[dict[str, Any]] = err.get("fields") or []
        self.reasons: list[Reason] = err.get("reasons") or []
        self.body = body
        super().__init__(f"{method} {path} -> {status}: {self.message}")


def _iso(t: datetime | str) -> str:
    if isinstance(t, str):
        return t
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("naive datetime: give it a timezone (the API refuses naive times)")
    return t.isoformat()


def plan_request(aircraft_id: str, category: str, geometry: Geometry, *, pilot: str, mission: str,
                 start: datetime | str, end: datetime | str, floor_m: float = 0.0, ceiling_m: float = 120.0,
                 reference: Reference = "AGL", half_width_m: float | None = None, licence_id: str | None = None,
                 takeoff: Geometry | None = None, landing: Geometry | None = None, urgent: bool = False,
                 flags: Iterable[str] = (), corridor_id: str | None = None) -> PlanRequest:
    """A ``POST /plans`` body. ``geometry`` is a route LineString (with ``half_width_m``) or an area
    Polygon; the band's floor and ceiling share ``reference`` (AGL by default)."""
    body: PlanRequest = {
        "aircraft_id": aircraft_id, "category": category, "pilot": pilot, "mission": mission, "geometry": geometry,
        "altitude": {"floor": {"value_m": float(floor_m), "reference": reference},
                     "ceiling": {"value_m": float(ceiling_m), "reference": reference}},
        "start": _iso(start), "end": _iso(end),
    }
    if half_width_m is not None:
        body["half_width_m"] = float(half_width_m)
    if licence_id:
        body["licence_id"] = licence_id
    if takeoff:
        body["takeoff"] = takeoff
    if landing:
        body["landing"] = landing
    if urgent:
        body["urgent"] = True
    if flags:
        body["flags"] = list(flags)
    if corridor_id:
        body["corridor_id"] = corridor_id
    return body


def with_alternative(request: PlanRequest, alternative: Alternative) -> PlanRequest:
    """The request changed as the alternative suggests (time, band, detour or location); filing the
    result is expected to be approved (``alternative["expected"]``)."""
    out: PlanRequest = copy.deepcopy(request)
    for key in ("start", "end", "geometry", "takeoff", "landing"):
        if key in alternative:
            out[key] = copy.deepcopy(alternative[key])
    if "floor" in alternative:
        out["altitude"]["floor"] = dict(alternative["floor"])  # type: ignore[typeddict-item]
    if "ceiling" in alternative:
        out["altitude"]["ceiling"] = dict(alternative["ceiling"])  # type: ignore[typeddict-item]
    return out


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key`` for one filing (reuse it only to retry that same filing)."""
    return uuid.uuid4().hex


class AsyncClient:
    """One operator's (or the centre's) session with a lowalt server.

    ``http`` may be an existing ``httpx.AsyncClient`` (its base URL must be the server's) to share a
    connection pool between several tokens; it is then not closed by :meth:`aclose`.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0,
                 http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owned = http is None
        self.http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self.http.aclose()

    async def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        """One call; the JSON answer, or :class:`LowaltError` for any status >= 400."""
        h = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        content = None
        if json_body is not None:
            h["Content-Type"] = "application/json"
            content = json.dumps(json_body, ensure_ascii=False).encode()
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        r = await self.http.request(method, path, headers=h, content=content, params=clean)
        try:
            data = r.json()
        except ValueError:
            data = r.text
        if r.status_code >= 400:
            raise LowaltError(method, path, r.status_code, data)
        return data

    # -- identity and fleet ----------------------------------------------------------------

    async def me(self) -> dict[str, Any]:
        return await self.request("GET", "/me")  # type: ignore[no-any-return]

    async def register_aircraft(self, aircraft_id: str, category: str, *, registration: str | None = None,
                                device: str | None = None, organisation: str | None = None) -> Aircraft:
        """Register an aircraft (实名登记) for the caller's organisation; ``device`` binds a device user
        of that organisation; ``organisation`` is for the centre only."""
        body: dict[str, Any] = {"id": aircraft_id, "category": category}
        for k, v in (("registration", registration), ("device", device), ("organisation", organisation)):
            if v is not None:
                body[k] = v
        return await self.request("POST", "/aircraft", json_body=body)  # type: ignore[no-any-return]

    async def aircraft(self) -> list[Aircraft]:
        return await self.request("GET", "/aircraft")  # type: ignore[no-any-return]

    async def edit_aircraft(self, aircraft_id: str, *, category: str = UNSET, registration: str | None = UNSET,
                            device: str | None = UNSET) -> Aircraft:
        """Change what is given: ``registration=None`` clears it, ``device=None`` unbinds the device. The
        category cannot change while a plan holds the aircraft (:class:`LowaltError` 409)."""
        body = {k: v for k, v in (("category", category), ("registration", registration), ("device", device))
                if v is not UNSET}
        return await self.request("PATCH", f"/aircraft/{aircraft_id}", json_body=body)  # type: ignore[no-any-return]

    async def pilots(self) -> list[Pilot]:
        return await self.request("GET", "/pilots")  # type: ignore[no-any-return]

    async def add_pilot(self, name: str, id_number: str, *, licence_number: str | None = None,
                        licence_class: str | None = None, licence_expiry: date | str | None = None) -> Pilot:
        """Register a pilot; a licence is given whole (number, class and expiry, the last day valid) or not
        at all. Once the organisation has a register, every plan must name one of its pilots."""
        body: dict[str, Any] = {"name": name, "id_number": id_number}
        if licence_number is not None or licence_class is not None or licence_expiry is not None:
            body |= {"licence_number": licence_number, "licence_class": licence_class,
                     "licence_expiry": str(licence_expiry) if licence_expiry is not None else None}
        return await self.request("POST", "/pilots", json_body=body)  # type: ignore[no-any-return]

    async def edit_pilot(self, pilot_id: int, *, name: str | None = None, licence_number: str | None = None,
                         licence_class: str | None = None, licence_expiry: date | str | None = None) -> Pilot:
        """Rename, or renew/replace the licence (all three licence fields together)."""
        body: dict[str, Any] = {k: v for k, v in (("name", name), ("licence_number", licence_number),
                                                  ("licence_class", licence_class)) if v is not None}
        if licence_expiry is not None:
            body["licence_expiry"] = str(licence_expiry)
        return await self.request("PATCH", f"/pilots/{pilot_id}", json_body=body)  # type: ignore[no-any-return]

    async def remove_pilot(self, pilot_id: int) -> None:
        await self.request("DELETE", f"/pilots/{pilot_id}")

    # -- plans -----------------------------------------------------------------------------

    async def file_plan(self, plan: PlanRequest, *, idempotency_key: str | None = None) -> Plan:
        """File a plan; the answer carries the decision (approved / referred / rejected). With an
        ``idempotency_key`` (e.g. :func:`new_idempotency_key`, kept for the retries of one filing) a retried
        filing replays the first decision instead of filing twice."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.request("POST", "/plans", json_body=plan, headers=headers)  # type: ignore[no-any-return]

    async def plan(self, plan_id: str) -> Plan:
        """One plan with its decision and audit trail (``events``)."""
        return await self.request("GET", f"/plans/{plan_id}")  # type: ignore[no-any-return]

    async def plans(self, *, states: Sequence[PlanState] | None = None, start: datetime | None = None,
                    end: datetime | None = None, bbox: tuple[float, float, float, float] | None = None,
                    limit: int = 100, offset: int = 0) -> list[Plan]:
        """The caller's plans (the centre: all), optionally by state, overlapping [start, end] and bbox
        (minlon, minlat, maxlon, maxlat)."""
        params = {"state": ",".join(states) if states else None, "start": _iso(start) if start else None,
                  "end": _iso(end) if end else None, "bbox": ",".join(map(str, bbox)) if bbox else None,
                  "limit": limit, "offset": offset}
        return await self.request("GET", "/plans", params=params)  # type: ignore[no-any-return]

    async def cancel(self, plan_id: str, reason: str = "") -> Plan:
        return await self.request("POST", f"/plans/{plan_id}/cancel",  # type: ignore[no-any-return]
                                  json_body={"reason": reason})

    async def activate(self, plan_id: str) -> Plan:
        """Confirm readiness (条例 Art. 30): within the hour before take-off."""
        return await self.request("POST", f"/plans/{plan_id}/activate")  # type: ignore[no-any-return]

    async def complete(self, plan_id: str) -> Plan:
        return await self.request("POST", f"/plans/{plan_id}/complete")  # type: ignore[no-any-return]

    async def approve(self, plan_id: str, comment: str = "") -> Plan:
        """Centre only: approve a referred plan (every rule re-run; 409 ``approval_refused`` with reasons)."""
        return await self.request("POST", f"/plans/{plan_id}/approve",  # type: ignore[no-any-return]
                                  json_body={"comment": comment})

    async def reject(self, plan_id: str, comment: str = "") -> Plan:
        """Centre only: reject a referred plan."""
        return await self.request("POST", f"/plans/{plan_id}/reject",  # type: ignore[no-any-return]
                                  json_body={"comment": comment})

    async def plan_events(self) -> AsyncIterator[dict[str, Any]]:
        """The frames of ``/ws/plans`` as they come: first ``{"type": "subscribed", ...}`` (from then on no
        change is missed), then the organisation's plan events (``plan_state``, ``plan_at_risk``...).
        The token travels as a websocket subprotocol, not in the URL; a refused token raises."""
        from websockets.asyncio.client import connect

        url = "ws" + self.base_url.removeprefix("http") + "/ws/plans"
        async with connect(url, subprotocols=["lowalt", f"lowalt.token.{self.token}"]) as ws:  # type: ignore[list-item]
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("type") == "error":
                    raise LowaltError("WS", "/ws/plans", 401, {"error": msg})
                yield msg

    # -- airspace --------------------------------------------------------------------------

    async def airspace(self, kind: Literal["volumes", "points", "routes", "restrictions"], *,
                       at: datetime | None = None,
                       bbox: tuple[float, float, float, float] | None = None) -> FeatureCollection:
        """Volumes, take-off points, routes or temporary restrictions as GeoJSON, in force ``at``."""
        params = {"at": _iso(at) if at else None, "bbox": ",".join(map(str, bbox)) if bbox else None}
        return await self.request("GET", f"/airspace/{kind}", params=params)  # type: ignore[no-any-return]

    async def query(self, lon: float, lat: float, alt_m: float, category: str, *, reference: Reference = "AGL",
                    at: datetime | None = None) -> dict[str, Any]:
        """What is allowed at a point: ``verdict`` (allowed / needs_approval / forbidden), ``reason``,
        ``volume`` that decided it, ``terrain_m``."""
        params = {"lon": lon, "lat": lat, "alt": alt_m, "category": category, "ref": reference,
                  "at": _iso(at) if at else None}
        return await self.request("GET", "/airspace/query", params=params)  # type: ignore[no-any-return]

    async def weather_warnings(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/weather/warnings")  # type: ignore[no-any-return]
