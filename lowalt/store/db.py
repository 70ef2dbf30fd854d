"""Database engine, migrations, and the unit of work that owns each transaction.

Repositories never commit: a service opens ``async with db.unit_of_work() as uow``,
does its reads and writes, and calls ``await uow.commit()``; anything else rolls back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lowalt.settings import Settings
from lowalt.store.cluster import ManagedCluster

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 3.0
"""Longest wait for a new connection (a frozen or partitioned PostGIS answers nothing)."""
COMMAND_TIMEOUT_S = 5.0
"""Longest wait for one statement; past it the caller gets ``DatabaseUnavailable`` (HTTP 503)."""


BEGIN_TIMEOUT_S = 2.0
"""Longest wait for a unit of work's BEGIN. A live server answers it at once, loaded or not (p99 30 ms with
both cores saturated by filings); unanswered, the server is taken as frozen and the caller gets
``DatabaseUnavailable`` (503) at once instead of after a statement's timeout and a new connection's."""


FAIL_FAST_S = 1.0
"""After PostGIS failed to connect or to answer a BEGIN, units of work answer ``DatabaseUnavailable`` at once
for this long instead of each waiting out the timeouts again: during an outage a request (its token check,
then its own work) gets its 503 within one timeout, and requests do not pile up on a dead server. The
first unit of work after it tries again (a circuit breaker's half-open state)."""


class DatabaseUnavailable(RuntimeError):
    """PostGIS cannot be reached; callers answer 503 and keep in-memory work going."""


def alembic_config() -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(sync_conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


class UnitOfWork:
    """One transaction; rolled back unless ``commit()`` is called."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.committed = False

    async def commit(self) -> None:
        await self.conn.commit()
        self.committed = True


@dataclass
class Database:
    """The engine plus, for the embedded default, the managed cluster it runs on."""

    engine: AsyncEngine
    url: str
    cluster: ManagedCluster | None = None
    started_cluster: bool = False
    _closed: bool = field(default=False, repr=False)
    _down_until: float = field(default=0.0, repr=False)
    """Until then (monotonic) units of work fail at once: PostGIS just failed to connect or to answer BEGIN."""

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        conn = await self._begun()
        try:
            uow = UnitOfWork(conn)
            yield uow
            if not uow.committed:
                await conn.rollback()
        except BaseException:
            await conn.rollback()
            raise
        finally:
            await conn.close()

    async def _begun(self) -> AsyncConnection:
        if monotonic() < self._down_until:
            raise DatabaseUnavailable("PostGIS did not answer a moment ago")
        try:
            return await self._begin_on_a_connection()
        except DatabaseUnavailable:
            self._down_until = monotonic() + FAIL_FAST_S
            raise

    async def _begin_on_a_connection(self) -> AsyncConnection:
        """A pooled connection with its transaction begun: BEGIN is sent at once and is the connection's
        liveness check (the pool's checkout ping is skipped for it, one round trip fewer on every unit of
        work: issue 16's filing throughput). A pooled connection whose server process died fails its BEGIN;
        it is invalidated and the work begins once more on a new connection. Bounded: a BEGIN unanswered
        for :data:`BEGIN_TIMEOUT_S` (a frozen server) ends the wait in :class:`DatabaseUnavailable`."""
        for attempt in range(2):
            token = _BEGIN_CHECKS.set(True)
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S + COMMAND_TIMEOUT_S):
                    conn = await self.engine.connect()
            except (OSError, ConnectionError) as exc:
                raise DatabaseUnavailable(str(exc)) from exc
            except Exception as exc:  # sqlalchemy wraps driver errors
                if _is_connection_error(exc):
                    raise DatabaseUnavailable(str(exc)) from exc
                raise
            finally:
                _BEGIN_CHECKS.reset(token)
            try:
                await conn.begin()
                async with asyncio.timeout(BEGIN_TIMEOUT_S):  # no task per call, as wait_for would make
                    await _begin_now(conn)
                return conn
            except BaseException as exc:
                frozen = isinstance(exc, TimeoutError)
                dead = frozen or (isinstance(exc, Exception) and _is_connection_error(exc))
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CONNECT_TIMEOUT_S):
                        if dead:  # its socket closed at once: SQLAlchemy's invalidate would first wait 2 s on
                            _terminate(await conn.get_raw_connection())  # a graceful close a frozen server
                            await conn.invalidate()  # never answers
                        await conn.close()
                if not dead:
                    raise
                if frozen or attempt:  # a frozen server: connecting again would only wait longer
                    raise DatabaseUnavailable(str(exc) or "no answer to BEGIN") from exc
        raise AssertionError("unreachable")

    async def ping(self, timeout_s: float = 2.0) -> bool:
        async def select_one() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(select_one(), timeout_s)
            return True
        except Exception:  # any failure (a timeout included) means "down" for health purposes
            return False

    async def close(self, *, stop_cluster: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        await self.engine.dispose()
        if stop_cluster and self.cluster is not None and self.started_cluster:
            self.cluster.stop()


def _is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | ConnectionError):
            return True
        name = type(seen).__name__
        if name in {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError",
                    "ConnectionRefusedError", "InvalidCatalogNameError", "AdminShutdownError"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def make_engine(url: str, *, command_timeout_s: float | None = COMMAND_TIMEOUT_S) -> AsyncEngine:
    """An asyncpg engine with connect and command timeouts (``None``: no command timeout, for migrations)."""
    connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_S}
    if command_timeout_s is not None:
        connect_args["command_timeout"] = command_timeout_s
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_timeout=5, connect_args=connect_args)
    event.listen(engine.sync_engine.pool, "checkout", _ping_on_checkout)
    return engine


_BEGIN_CHECKS: ContextVar[bool] = ContextVar("lowalt_begin_checks", default=False)
"""True while :meth:`Database.unit_of_work` checks a connection out: its BEGIN, sent at once, is the check."""


async def _begin_now(conn: AsyncConnection) -> None:
    """Send BEGIN now, as SQLAlchemy's asyncpg adapter would at the first statement (same isolation level;
    its commit or rollback ends it)."""
    raw = await conn.get_raw_connection()
    adapter: Any = raw.dbapi_connection
    if adapter is not None and adapter._transaction is None:
        await adapter._start_transaction()


def _terminate(raw: Any) -> None:
    """Close a pooled connection's socket now, without a goodbye to the server (asyncpg's ``terminate``)."""
    driver = raw.driver_connection
    if driver is not None:
        driver.terminate()


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """``pool_pre_ping`` in one round trip, for checkouts other than a unit of work's (whose BEGIN is its
    check). SQLAlchemy's asyncpg ping wraps its ``;`` in BEGIN and ROLLBACK (for pgbouncer's transaction
    mode): three round trips on every checkout. A failure invalidates the connection and the pool
    connects anew, as after a failed pre-ping. ``run_async`` is SQLAlchemy's public way to await the
    driver from a pool event."""
    if _BEGIN_CHECKS.get():
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.fetchrow(";"))
    except Exception as exc:
        raise DisconnectionError(str(exc)) from exc


async def open_database(settings: Settings, *, run_migrations: bool = True) -> Database:
    """Connect to the configured database, or start the managed PostGIS when none is configured."""
    cluster: ManagedCluster | None = None
    started = False
    if settings.database_url:
        url = settings.database_url
    else:
        cluster = ManagedCluster(settings.data_dir)
        started = cluster.start()
        url = cluster.url()
    engine = make_engine(url)
    db = Database(engine=engine, url=url, cluster=cluster, started_cluster=started)
    if run_migrations:  # DDL may take longer than one request's statement: its own engine, no command timeout
        schema = make_engine(url, command_timeout_s=None)
        try:
            await migrate(schema)
        finally:
            await schema.dispose()
    log.info("database_open", extra={"managed": cluster is not None, "started_cluster": started})
    return db


BACKGROUND_NICE = 10
"""Scheduling niceness given to a local PostgreSQL backend doing background work (analytics roll-ups)."""


async def lower_backend_priority(conn: AsyncConnection, nice: int = BACKGROUND_NICE) -> bool:
    """Let this connection's PostgreSQL backend yield the CPU to the live path (``nice``), when that backend
    is a process of this machine (the managed PostGIS, or any local server this process may renice).

    On two cores an analytics roll-up over 30,000 aircraft competes with the history COPY and the server
    for CPU: report-to-feed p99 281 ms without it, 406 ms with it (docs/BENCHMARKS.md). PostgreSQL has no
    per-query priority, so the backend process is reniced. Returns whether it was; a remote server, or a
    backend this process may not renice, is left as it is.
    """
    import os

    pid, local = (await conn.execute(text(
        "SELECT pg_backend_pid(), inet_server_addr() IS NULL OR inet_server_addr() = inet_client_addr()"))).one()
    if not local:  # over TCP from another machine: that pid is not ours to touch
        return False
    try:
        with open(f"/proc/{int(pid)}/comm") as f:
            if f.read().strip() != "postgres":
                return False
        os.setpriority(os.PRIO_PROCESS, int(pid), max(os.getpriority(os.PRIO_PROCESS, int(pid)), nice))
    except OSError:  # not visible, not permitted
        return False
    return True
