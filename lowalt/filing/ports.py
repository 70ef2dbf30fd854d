"""What filing needs of its store (ports): the plans' repository and the pilot register.

The composition root (:mod:`lowalt.services.filing`) hands over ``lowalt.store.filing_repo`` and
``lowalt.store.pilot_repo`` (modules satisfy these protocols); filing imports no part of the store,
which builds filing's objects (no ``lowalt.filing <-> lowalt.store`` import cycle).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.filing.model import FlightPlan, PlanState
from lowalt.filing.pilot_rules import RegisteredPilot
from lowalt.filing.rules import Booking, Registry, WeatherWarning
from lowalt.filing.standing import StandingApproval

AuditRow = tuple[str, PlanState | None, PlanState, str, str, dict[str, Any], datetime]
"""(plan id, from, to, by, reason, details, at): one ``plan_events`` row."""


class PlanRepository(Protocol):
    """``lowalt.store.filing_repo``: plans, their audit trail, weather warnings, cells and notifications."""

    NOTIFY_CHANNEL: str
    PLANS_CHANNEL: str
    NOTIFY_MAX: int

    @property
    def DuplicateIdempotencyKey(self) -> type[Exception]:  # noqa: N802  (the module's exception class)
        """Raised by :meth:`insert_plan` when another request filed with the same key committed first."""
        ...

    async def active_restriction_rows(
            self, conn: AsyncConnection, after: datetime, *, deleted: bool = ...
    ) -> list[dict[str, Any]]: ...
    async def add_event(
            self,
            conn: AsyncConnection,
            plan_id: str,
            from_state: PlanState | None,
            to_state: PlanState,
            by: str,
            reason: str,
            details: dict[str, Any] | None = ...,
            at: datetime | None = ...,
    ) -> int: ...
    async def add_events(
            self,
            conn: AsyncConnection,
            rows: Sequence[tuple[str,
            PlanState | None,
            PlanState,
            str,
            str,
            dict[str, Any], datetime]],
            notify: Sequence[str] = ...,
    ) -> None: ...
    async def add_weather_warning(self, conn: AsyncConnection, w: WeatherWarning, created_by: str) -> None: ...
    async def bookings(
            self, conn: AsyncConnection, aircraft_id: str, licence_id: str | None, start: datetime, end: datetime
    ) -> list[Booking]: ...
    async def bump_cells(
            self, conn: AsyncConnection, cells: Sequence[int], plan_ids: Sequence[str], node: str
    ) -> dict[int, int]: ...
    async def cell_versions(
            self, conn: AsyncConnection, cells: Sequence[int] | None = ..., *, from_hour: int = ...
    ) -> dict[int, int]: ...
    async def changed_plans(self, conn: AsyncConnection, since: dict[int, int], upto: dict[int, int]) -> set[str]: ...
    async def end_weather_warning(self, conn: AsyncConnection, warning_id: str, by: str, at: datetime) -> bool: ...
    async def events(self, conn: AsyncConnection, plan_id: str) -> list[dict[str, Any]]: ...
    async def get_by_idempotency_key_hashed(
            self, conn: AsyncConnection, organisation: str, key: str
    ) -> tuple[FlightPlan, str | None] | None: ...
    async def get_plan(self, conn: AsyncConnection, plan_id: str, *, for_update: bool = ...) -> FlightPlan | None: ...
    async def holding_plans(self, conn: AsyncConnection, after: datetime) -> list[FlightPlan]: ...
    async def insert_plan(
            self,
            conn: AsyncConnection,
            p: FlightPlan,
            idempotency_key: str | None = ...,
            request_hash: str | None = ...,
    ) -> None: ...
    async def list_plans(
            self,
            conn: AsyncConnection,
            *,
            organisation: str | None = ...,
            states: Sequence[str] = ...,
            start: datetime | None = ...,
            end: datetime | None = ...,
            bbox: tuple[float, float, float, float] | None = ...,
            limit: int = ...,
            offset: int = ...,
    ) -> list[FlightPlan]: ...
    async def lock_keys(self, conn: AsyncConnection, keys: Sequence[int]) -> None: ...
    async def lock_and_read(
            self, conn: AsyncConnection, keys: Sequence[int], aircraft_id: str, user_name: str, organisation: str,
            since: dict[int, int], licence_id: str | None, start: datetime, end: datetime
    ) -> tuple[Registry, list[RegisteredPilot], dict[int, int], set[str], list[Booking]]: ...
    async def file_plan(
            self, conn: AsyncConnection, p: FlightPlan, idempotency_key: str | None, request_hash: str | None,
            audit: Sequence[AuditRow], notify: Sequence[str], bump: Sequence[int], bumped_ids: Sequence[str],
            node: str
    ) -> dict[int, int]: ...
    async def notify(self, conn: AsyncConnection, message: str) -> None: ...
    async def notify_plans(self, conn: AsyncConnection, messages: Sequence[str]) -> None: ...
    async def plans_by_id(self, conn: AsyncConnection, ids: Sequence[str]) -> list[FlightPlan]: ...
    async def plans_overlapping(
            self, conn: AsyncConnection, states: Sequence[str], start: datetime, end: datetime
    ) -> list[FlightPlan]: ...
    async def registry(self, conn: AsyncConnection, aircraft_id: str, user_name: str) -> Registry: ...
    async def set_state(
            self,
            conn: AsyncConnection,
            plan_id: str,
            state: PlanState,
            *,
            decision: dict[str, Any] | None = ...,
            now: datetime | None = ...,
    ) -> None: ...
    async def try_lock_keys(self, conn: AsyncConnection, keys: Sequence[int]) -> bool: ...
    async def weather_warnings_after(self, conn: AsyncConnection, after: datetime) -> list[WeatherWarning]: ...


class PilotRegister(Protocol):
    """``lowalt.store.pilot_repo``: an organisation's pilots and licences."""

    async def register_of(self, conn: AsyncConnection, organisation: str) -> list[RegisteredPilot]: ...


class GovernmentFleets(Protocol):
    """``lowalt.store.coordination_repo``: government fleets' standing approvals and the preemption audit
    (issue #19). Optional: without it filing has no standing approvals and audits preemption in the plans'
    own events only."""

    async def standing_of(self, conn: AsyncConnection, organisation: str, start: datetime, end: datetime
                          ) -> list[StandingApproval]: ...
    async def record_preemption(self, conn: AsyncConnection, preempted: str, actor: str, at: datetime,
                                details: dict[str, Any]) -> None: ...
