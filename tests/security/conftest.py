"""Helpers for the security tests: named users with tokens, condition waits, a `lowalt serve` subprocess."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from lowalt.identity.model import Role
from lowalt.launch import start_serve
from lowalt.store import identity_repo
from lowalt.store.db import Database
from tests.conftest import wait_until

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class User:
    name: str
    role: str
    organisation: str | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


UserFactory = Callable[..., Awaitable[User]]


@pytest.fixture
async def new_user(database: Database) -> UserFactory:
    async def _make(role: str, organisation: str | None = None, name: str | None = None) -> User:
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        async with database.unit_of_work() as uow:
            uid = await identity_repo.add_user(uow.conn, name, Role(role), organisation)
            token = await identity_repo.issue_token(uow.conn, uid, label="test")
            await uow.commit()
        return User(name, role, organisation, token)

    return _make


async def wait_for(condition: Callable[[], Awaitable[Any]], timeout: float, what: str, every: float = 0.1) -> Any:
    """The suite's one condition wait (``tests.conftest.wait_until``), under the name these tests use."""
    return await wait_until(condition, timeout, what, every)


async def read_until_closed(ws: ClientConnection, timeout: float = 10.0) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes the socket (fail after ``timeout``): (close code, frames seen)."""
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        try:
            async for raw in ws:
                frames.append(orjson.loads(raw))
        except ConnectionClosed:
            pass

    await asyncio.wait_for(read(), timeout)
    return ws.close_code, frames


@dataclass
class ServeProcess:
    url: str
    ws_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
async def serve_process(database: Database, tmp_path: Path) -> AsyncIterator[ServeProcess]:
    """``lowalt serve`` as a real process on the test database, every byte of its output captured."""
    log_path = tmp_path / "server.log"
    env = {"LOWALT_DATABASE_URL": database.url, "LOWALT_DATA_DIR": str(tmp_path / "state"),
           "LOWALT_LOG_LEVEL": "DEBUG", "LOWALT_ACCESS_LOG": "1", "LOWALT_TICK_S": "0.5"}
    with log_path.open("wb") as out:
        server = start_serve(env, output=out, cwd=REPO)
    try:
        try:
            await server.wait_ready(timeout=90)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}: {log_path.read_text()[-2000:]}") from exc
        yield ServeProcess(server.url, server.ws_url, server.proc, log_path)
    finally:
        server.stop()
