"""Editing a registered aircraft (``PATCH /aircraft/{aircraft_id}``): category, real-name registration
number, device binding. The operator portal's fleet (issue #22).

Why these rules: an operator edits only its own organisation's aircraft (another's is "not found", as
for an unknown id) and binds only its own organisation's device users (the telemetry of a bound device
speaks for the aircraft; :func:`lowalt.api.authz.device_binding_allowed`). The category is what filing
and separation judge the aircraft by, so it cannot change while a plan filed under the old one still
holds the aircraft (approved, active or referred, not over): cancel or finish those first (409).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from lowalt.airspace.model import AircraftCategory
from lowalt.api import authz
from lowalt.api.auth import require
from lowalt.api.deps import live_service
from lowalt.identity.model import Principal, Role
from lowalt.live.service import AircraftInfo
from lowalt.store import fleet_repo, identity_repo

router = APIRouter(tags=["fleet"])

Keeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE))]


class AircraftPatch(BaseModel):
    """What to change; a field left out stays as it is, ``null`` clears the registration or unbinds."""

    model_config = ConfigDict(extra="forbid")
    category: AircraftCategory | None = None
    registration: Annotated[str | None, Field(min_length=1, max_length=64, pattern=r"^[\w.:\-/]+$",
                                              description="real-name registration number (条例 Art. 10)")] = None
    device: Annotated[str | None, Field(min_length=1, max_length=120, description="name of a device user of the "
                                        "aircraft's organisation to bind; null unbinds")] = None


class AircraftOut(BaseModel):
    id: str
    category: str
    registration: str | None
    organisation: str | None
    device: Annotated[str | None, Field(description="name of the bound device user")]
    created_at: datetime


def _out(row: dict[str, Any]) -> AircraftOut:
    return AircraftOut.model_validate(row)


@router.patch("/aircraft/{aircraft_id}", summary="Edit an aircraft: category, registration number, device binding")
async def edit_aircraft(aircraft_id: Annotated[str, Path(min_length=1, max_length=64)], body: AircraftPatch,
                        request: Request, principal: Keeper) -> AircraftOut:
    given = body.model_fields_set
    if not given:
        raise HTTPException(422, "body: nothing to change; give category, registration or device")
    if "category" in given and body.category is None:
        raise HTTPException(422, "category: cannot be cleared; give one")
    async with request.app.state.db.unit_of_work() as uow:
        row = await fleet_repo.aircraft_row(uow.conn, aircraft_id)
        if row is None or (principal.role is Role.OPERATOR and row["organisation"] != principal.organisation):
            raise HTTPException(404, f"aircraft_id: no aircraft {aircraft_id!r} in your fleet")
        values: dict[str, Any] = {}
        if body.category is not None and body.category.value != row["category"]:
            if await fleet_repo.holding_plans(uow.conn, aircraft_id, datetime.now(UTC)):
                raise HTTPException(409, "category: plans filed under the current category still hold this "
                                         "aircraft (approved, active or referred); cancel or complete them first")
            values["category"] = body.category.value
        if "registration" in given:
            values["registration"] = body.registration
        if "device" in given:
            values["device_user_id"] = None
            if body.device is not None:
                device = await identity_repo.user_info(uow.conn, body.device)
                if device is None or not authz.device_binding_allowed(principal, device, row["organisation"]):
                    # the same answer whether the user does not exist or is not this organisation's device
                    raise HTTPException(422, f"device: no device user {body.device!r} in organisation "
                                             f"{row['organisation']!r}")
                values["device_user_id"] = int(device["id"])  # type: ignore[call-overload]
        if values:
            await fleet_repo.update_aircraft(uow.conn, aircraft_id, values)
            row = await fleet_repo.aircraft_row(uow.conn, aircraft_id)
            await uow.commit()
    assert row is not None
    live = live_service(request)
    known = live.aircraft.get(aircraft_id)
    info = (replace(known, category=row["category"], device_user_id=row["device_user_id"]) if known is not None
            else AircraftInfo(aircraft_id, row["category"], row["organisation"], row["device_user_id"]))
    live.register_aircraft(info)  # authorisation and category of its telemetry from now on
    return _out(row)
