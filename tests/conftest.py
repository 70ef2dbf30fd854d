"""Shared fixtures: one managed PostGIS cluster per test session, a fresh database per test.

Every integration test runs on a real PostGIS. The session migrates a template
database once; each test gets ``CREATE DATABASE ... TEMPLATE`` (a few hundred
milliseconds) so tests never share mutable state.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from lowalt.launch import serve_app
from lowalt.settings import Settings
from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import Database, make_engine, migrate

REPO = Path(__file__).resolve().parent.parent
TEMPLATE_DB = f"lowalt_template_{os.getpid()}"  # per session: concurrent runs share the cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ManagedCluster]:
    data_dir = Path(os.environ.get("LOWALT_TEST_DATA_DIR", REPO / ".lowalt" / "test"))
    cluster = ManagedCluster(data_dir)
    started = cluster.start()
    yield cluster
    if started and os.environ.get("CI"):  # locally keep it for the next run (and for parallel runs)
        cluster.stop()


@pytest.fixture(scope="session")
async def template_db(pg_cluster: ManagedCluster) -> AsyncIterator[str]:
    pg_cluster.drop_database(TEMPLATE_DB)
    pg_cluster.create_database(TEMPLATE_DB)
    engine = make_engine(pg_cluster.url(TEMPLATE_DB))
    await migrate(engine)
    await engine.dispose()
    yield TEMPLATE_DB
    pg_cluster.drop_database(TEMPLATE_DB)


class DatabaseCopies:
    """Databases copied from the template, one made ahead and each dropped behind, by one worker thread.

    A copy and a drop take ~0.15 s together and ~230 tests take a database: done in the test's path they
    were half a minute of the suite (which has 10); here they overlap the tests, which mostly wait on I/O.
    """

    def __init__(self, cluster: ManagedCluster, template: str) -> None:
        self.cluster, self.template = cluster, template
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self.ahead: Future[str] = self.worker.submit(self._copy)

    def _copy(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.cluster.create_database(name, template=self.template)
        return name

    def take(self) -> str:
        name = self.ahead.result()
        self.ahead = self.worker.submit(self._copy)
        return name

    def drop_later(self, name: str) -> None:
        self.worker.submit(self.cluster.drop_database, name)

    def close(self) -> None:
        self.drop_later(self.ahead.result())
        self.worker.shutdown(wait=True)


@pytest.fixture(scope="session")
def database_copies(pg_cluster: ManagedCluster, template_db: str) -> Iterator[DatabaseCopies]:
    dbs = DatabaseCopies(pg_cluster, template_db)
    yield dbs
    dbs.close()  # before the template goes (pytest ends fixtures in reverse order)


@pytest.fixture
async def database(pg_cluster: ManagedCluster, database_copies: DatabaseCopies) -> AsyncIterator[Database]:
    name = database_copies.take()
    db = Database(engine=make_engine(pg_cluster.url(name)), url=pg_cluster.url(name))
    try:
        yield db
    finally:
        await db.close(stop_cluster=False)
        database_copies.drop_later(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings. The monitor runs in a worker thread here (a child process per app would cost each
    test a second of start-up); tests/live/test_monitor_process.py and the ``lowalt serve`` tests run the
    server's default, the monitor process."""
    return Settings(data_dir=tmp_path / "state", log_json=False, monitor_process=False)


@pytest.fixture
async def client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from lowalt.api.app import create_app, start_services, stop_services

    app = create_app(settings, db=database)
    await start_services(app)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c
    finally:
        await stop_services(app)


@pytest.fixture
async def make_token(database: Database):  # type: ignore[no-untyped-def]
    """Create a user with a role and return a bearer token for it."""
    from lowalt.identity.model import Role
    from lowalt.store import identity_repo

    async def _make(role: str, name: str | None = None, organisation: str | None = None) -> str:
        async with database.unit_of_work() as uow:
            uid = await identity_repo.add_user(uow.conn, name or f"{role}-{uuid.uuid4().hex[:6]}", Role(role),
                                               organisation)
            token = await identity_repo.issue_token(uow.conn, uid)
            await uow.commit()
        return token

    return _make


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Server:
    """A real uvicorn server in this event loop (websockets need one) and an HTTP client for it."""

    url: str
    ws_url: str
    app: object
    http: httpx.AsyncClient


async def wait_until(condition: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition",
                     every: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy and return it; fail after ``timeout`` s.

    Tests wait on conditions, never a fixed interval; the timeout only bounds a broken run.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[Server]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop until the block ends."""
    async with serve_app(app, ws_max_size=16 * 1024 * 1024) as url, httpx.AsyncClient(base_url=url) as http:
        yield Server(url, "ws" + url.removeprefix("http"), app, http)


@pytest.fixture
async def server(database: Database, settings: Settings) -> AsyncIterator[Server]:
    """The app on a fresh PostGIS database, served on a free loopback port, tick 0.5 s."""
    from lowalt.api.app import create_app

    async with serving(create_app(replace(settings, tick_s=0.5), db=database)) as srv:
        yield srv


DOC_SCREENSHOTS = os.environ.get("LOWALT_SCREENSHOTS") == "1"
"""Browser tests write the screenshots under docs/ only when asked (``LOWALT_SCREENSHOTS=1 pytest tests/e2e
tests/analytics``): a full-page capture of a WebGL map costs seconds on 2 cores, and a test run should not
rewrite the documentation's images. What the tests assert (texts, features, no raw codes) runs either way."""


async def doc_screenshot(page: Any, path: Path, **options: Any) -> None:
    """``page.screenshot(path=...)`` for a documentation image, when screenshots are asked for."""
    if DOC_SCREENSHOTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), **options)
