"""Who am I, and user/token administration (admin role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from lowalt.api.auth import AdminPrincipal, CurrentPrincipal
from lowalt.identity.model import Role
from lowalt.store import identity_repo

router = APIRouter(tags=["identity"])


class Me(BaseModel):
    name: str
    role: Role
    organisation: str | None


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[\w.@-]+$")]
    role: Role
    organisation: Annotated[str | None, Field(max_length=200)] = None


class IssuedToken(BaseModel):
    user: str
    token: str = Field(description="Shown once; only its SHA-256 digest is stored.")


@router.get("/me", response_model=Me, summary="The caller's identity")
async def me(principal: CurrentPrincipal) -> Me:
    return Me(name=principal.name, role=principal.role, organisation=principal.organisation)


class TokenInfo(BaseModel):
    prefix: str = Field(description="What `lowalt tokens revoke` takes")
    label: str | None
    expires_at: str | None


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    organisation: str | None
    disabled: bool = Field(description="suspended: its tokens get 403 (websockets close 4403)")
    created_at: str
    tokens: list[TokenInfo]


class Suspension(BaseModel):
    name: str
    suspended: bool


@router.get("/admin/users", response_model=list[UserOut], summary="List users with their token prefixes (admin)")
async def list_users(request: Request, _: AdminPrincipal) -> list[dict[str, object]]:
    async with request.app.state.db.unit_of_work() as uow:
        return await identity_repo.list_users(uow.conn)


async def _suspend(request: Request, name: str, suspended: bool) -> Suspension:
    async with request.app.state.db.unit_of_work() as uow:
        try:
            await identity_repo.set_suspended(uow.conn, name, suspended)
        except identity_repo.UnknownUser as exc:
            raise HTTPException(404, str(exc)) from None
        await uow.commit()
    return Suspension(name=name, suspended=suspended)


UserName = Annotated[str, Path(min_length=1, max_length=120)]


@router.post("/admin/users/{name}/suspend", response_model=Suspension,
             summary="Suspend a user: its tokens stop working within 2 s, its websockets close with 4403 (admin)")
async def suspend_user(name: UserName, request: Request, _: AdminPrincipal) -> Suspension:
    return await _suspend(request, name, True)


@router.post("/admin/users/{name}/reinstate", response_model=Suspension, summary="Lift a suspension (admin)")
async def reinstate_user(name: UserName, request: Request, _: AdminPrincipal) -> Suspension:
    return await _suspend(request, name, False)


@router.post("/admin/users", status_code=201, response_model=IssuedToken, summary="Create a user and a token (admin)")
async def create_user(body: NewUser, request: Request, _: AdminPrincipal) -> IssuedToken:
    async with request.app.state.db.unit_of_work() as uow:
        try:
            user_id = await identity_repo.add_user(uow.conn, body.name, body.role, body.organisation)
        except identity_repo.DuplicateUser as exc:
            raise HTTPException(409, str(exc)) from exc
        token = await identity_repo.issue_token(uow.conn, user_id, label="created via API")
        await uow.commit()
    return IssuedToken(user=body.name, token=token)
