"""The pilot register (``/pilots``): who flies for an organisation, with which licence until when.

Why: filing checks a plan's pilot against this register (``lowalt.filing.pilot_rules``; 条例 Art. 16
操控员执照, E2; Art. 27, D7). Operators keep their own organisation's register and see nothing of
another's (an id that is not theirs is "not found", the same answer as an unknown one); the centre
sees every organisation's and may register for one. The real-name identity number (GB 11643) is
checked (check digit, birth date) and stored, but every response shows it masked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lowalt.api.auth import require
from lowalt.filing.pilot_rules import CLASS_ZH, LICENCE_COVERS
from lowalt.identity.model import Principal, Role
from lowalt.store import pilot_repo

router = APIRouter(tags=["pilots"])

Keeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CENTRE))]
LicenceClass = Literal["uas_small", "uas_medium", "uas_large", "evtol", "helicopter", "aeroplane"]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number_problem(v: str) -> str | None:
    """Why ``v`` is not an 18-character resident identity number (GB 11643-1999), or None when it is:
    17 digits, a valid birth date at positions 7-14, and the ISO 7064 MOD 11-2 check character."""
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] in "Xx"):
        return "18 characters: 17 digits and a check digit (0-9 or X)"
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "the birth date (characters 7-14) is not a date"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(v[:17], _WEIGHTS, strict=True)) % 11]
    return None if v[17].upper() == check else "the check digit does not match (mistyped?)"


def mask_id(v: str) -> str:
    """The identity number as shown: the first 3 and last 4 characters, the rest starred."""
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


class _Licence(BaseModel):
    licence_number: Annotated[str | None, Field(min_length=1, max_length=64, pattern=r"^[\w.\-/]+$",
                                                description="the licence (执照) number")] = None
    licence_class: Annotated[LicenceClass | None, Field(description="illustrative classes, see "
                                                        "lowalt.filing.pilot_rules")] = None
    licence_expiry: Annotated[date | None, Field(description="last day valid (Beijing date, inclusive)")] = None


class PilotIn(_Licence):
    """A pilot to register; the licence comes whole (number, class and expiry) or not at all."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=120)]
    id_number: Annotated[str, Field(min_length=1, max_length=18, description="resident identity number "
                                    "(GB 11643, 18 characters); shown masked in every response")]
    organisation: Annotated[str | None, Field(max_length=200, description="centre only")] = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        problem = id_number_problem(v)
        if problem:
            raise ValueError(problem)
        return v.upper()

    @model_validator(mode="after")
    def _whole(self) -> PilotIn:
        _check_whole(self.licence_number, self.licence_class, self.licence_expiry)
        return self


class PilotPatch(_Licence):
    """A change to a registered pilot: a new name, or a renewed or replaced licence (all three fields)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(min_length=1, max_length=120)] = None

    @model_validator(mode="after")
    def _whole(self) -> PilotPatch:
        _check_whole(self.licence_number, self.licence_class, self.licence_expiry)
        return self


def _check_whole(number: str | None, cls: str | None, expiry: date | None) -> None:
    given = {"licence_number": number, "licence_class": cls, "licence_expiry": expiry}
    missing = [k for k, v in given.items() if v is None]
    if 0 < len(missing) < 3:
        raise ValueError(f"{missing[0]}: a licence needs its number, class and expiry together")


class PilotOut(BaseModel):
    id: int
    organisation: str
    name: str
    id_number_masked: Annotated[str, Field(description="e.g. 360***********1234")]
    licence_number: str | None
    licence_class: LicenceClass | None
    licence_class_zh: str | None
    licence_expiry: date | None
    covers: Annotated[list[str], Field(description="aircraft categories the licence class covers")]
    created_at: datetime


def _out(row: dict[str, Any]) -> PilotOut:
    cls = row["licence_class"]
    return PilotOut.model_validate({
        **row, "id_number_masked": mask_id(str(row["id_number"])),
        "licence_class_zh": CLASS_ZH.get(cls) if cls else None,
        "covers": sorted(LICENCE_COVERS.get(cls, ())) if cls else []})


def _org_for(body_org: str | None, principal: Principal) -> str:
    if body_org is not None and body_org != principal.organisation:
        if not principal.has_role(Role.CENTRE):
            raise RequestValidationError([{"loc": ("body", "organisation"), "type": "forbidden_field",
                                           "msg": "only the centre registers for another organisation; leave it out"}])
        return body_org
    if not principal.organisation:
        raise HTTPException(422, "organisation: name the organisation the pilot flies for")
    return principal.organisation


def _duplicate(field: str) -> HTTPException:
    what = "this licence number" if field == "licence_number" else "this person (identity number)"
    return HTTPException(409, f"{field}: {what} is already in the organisation's register")


async def _mine(request: Request, pilot_id: int, principal: Principal) -> dict[str, Any]:
    async with request.app.state.db.unit_of_work() as uow:
        row = await pilot_repo.get_pilot(uow.conn, pilot_id)
    if row is None or (principal.role is Role.OPERATOR and row["organisation"] != principal.organisation):
        raise HTTPException(404, f"pilot_id: no pilot {pilot_id} in your register")
    return row


@router.get("/pilots", summary="The pilot register (operators: their own organisation's)")
async def list_pilots(request: Request, principal: Keeper,
                      organisation: Annotated[str | None, Query(max_length=200, description="centre: one "
                                                                "organisation's")] = None) -> list[PilotOut]:
    if principal.role is Role.OPERATOR:
        if organisation is not None and organisation != principal.organisation:
            raise HTTPException(422, "organisation: operators see their own organisation's register only; leave it out")
        if not principal.organisation:
            return []
    org = principal.organisation if principal.role is Role.OPERATOR else organisation
    async with request.app.state.db.unit_of_work() as uow:
        rows = await pilot_repo.list_pilots(uow.conn, org)
    return [_out(r) for r in rows]


@router.post("/pilots", status_code=201, summary="Register a pilot and licence (operator: for its own organisation)")
async def add_pilot(body: PilotIn, request: Request, principal: Keeper) -> PilotOut:
    org = _org_for(body.organisation, principal)
    async with request.app.state.db.unit_of_work() as uow:
        try:
            row = await pilot_repo.add_pilot(
                uow.conn, organisation=org, name=body.name, id_number=body.id_number, created_by=principal.name,
                licence_number=body.licence_number, licence_class=body.licence_class,
                licence_expiry=body.licence_expiry)
        except pilot_repo.DuplicatePilot as d:
            raise _duplicate(d.field) from None
        await uow.commit()
    return _out(row)


@router.patch("/pilots/{pilot_id}", summary="Rename a pilot or renew/replace the licence")
async def change_pilot(pilot_id: Annotated[int, Path(ge=1, le=2**62)], body: PilotPatch, request: Request,
                       principal: Keeper) -> PilotOut:
    await _mine(request, pilot_id, principal)
    values = body.model_dump(exclude_none=True)
    if "name" in values:
        values["name"] = values["name"].strip()
        if not values["name"]:
            raise HTTPException(422, "name: must not be blank")
    if not values:
        raise HTTPException(422, "body: nothing to change; give name or the licence (number, class, expiry)")
    async with request.app.state.db.unit_of_work() as uow:
        try:
            row = await pilot_repo.update_pilot(uow.conn, pilot_id, values)
        except pilot_repo.DuplicatePilot as d:
            raise _duplicate(d.field) from None
        await uow.commit()
    return _out(row)


@router.delete("/pilots/{pilot_id}", status_code=204, response_class=Response,
               summary="Remove a pilot from the register (plans already filed keep their pilot's name)")
async def remove_pilot(pilot_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, principal: Keeper
                       ) -> Response:
    await _mine(request, pilot_id, principal)
    async with request.app.state.db.unit_of_work() as uow:
        await pilot_repo.delete_pilot(uow.conn, pilot_id)
        await uow.commit()
    return Response(status_code=204)
