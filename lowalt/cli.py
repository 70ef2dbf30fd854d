"""The ``lowalt`` command (typer): serve, demo, users, tokens, db, airspace check, bench, simulate.

Subcommands owned by one part of the system keep their own argparse parser: typer lists them
(with help) and hands the rest of the command line to that part's ``main(argv)`` (:data:`DELEGATED`),
so this file stays a thin table of contents. A usage error prints the command's help and exits 2,
never a traceback; a bad ``LOWALT_*`` setting names the variable and exits 2.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import ValidationError

from lowalt.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from lowalt.store.cluster import ManagedCluster

T = TypeVar("T")

# subcommand path -> "module:function" taking the remaining argv and returning an exit code
DELEGATED: dict[tuple[str, ...], str] = {
    ("bench", "cd"): "lowalt.bench.cd:main",
    ("bench", "filing"): "lowalt.bench.filing:main",
    ("bench", "airspace"): "lowalt.bench.airspace:main",
    ("bench", "pipeline"): "lowalt.bench.pipeline:main",
    ("bench", "map"): "lowalt.bench.map:main",
    ("bench", "tick"): "lowalt.bench.tick:main",
    ("bench", "feeds"): "lowalt.bench.feeds:main",
    ("bench", "analytics"): "lowalt.bench.analytics:main",
    ("report", "daily"): "lowalt.services.daily_report:main",
    ("simulate",): "simulators.cli:main",
    ("airspace", "check"): "lowalt.airspace.check:main",
    ("cluster",): "lowalt.bus.cluster:main",
}
DELEGATED_HELP: dict[tuple[str, ...], str] = {
    ("bench", "cd"): "Conflict engine: N tracks, pairs and time (--n N [--category] --json).",
    ("bench", "filing"): "Filing decisions with N plans on file (--plans N --json).",
    ("bench", "airspace"): "Vectorized airspace queries (--n N).",
    ("bench", "pipeline"): "End to end: report-to-feed latency on a real server (--tracks N --rate R --duration S).",
    ("bench", "map"): "The live map in a browser (--tracks N --duration S --json --quiet).",
    ("bench", "tick"): "One full tick (conflicts, intrusion, conformance, alerts) by phase.",
    ("bench", "feeds"): "MAVLink packets/s and ADS-B messages/s per core, decoding + ingest (--json).",
    ("bench", "analytics"): "Daily report time and dashboard query p95 on a generated history (--aircraft N --hours H).",
    ("report", "daily"): "One day's capacity and utilisation report: HTML, plots, CSV, Chinese summary.",
    ("simulate",): "Run a traffic scenario against a server (`lowalt simulate list` names them).",
    ("airspace", "check"): "Validate airspace data files and name every problem (file, feature, what).",
    ("cluster",): "Several nodes on this machine: PostGIS, nats-server, N servers (--nodes N --aircraft N).",
}

CONTEXT = {"help_option_names": ["-h", "--help"]}
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

app = typer.Typer(name="lowalt", help="lowalt: low-altitude airspace operations (低空空域运行平台).",
                  no_args_is_help=True, context_settings=CONTEXT, add_completion=True,
                  rich_markup_mode=None, pretty_exceptions_enable=False)
users_app = typer.Typer(help="Manage users (roles: operator, device, centre, viewer, admin).",
                        no_args_is_help=True, context_settings=CONTEXT)
tokens_app = typer.Typer(help="Manage API tokens (shown once, stored as SHA-256 digests).",
                         no_args_is_help=True, context_settings=CONTEXT)
db_app = typer.Typer(help="The managed local PostGIS cluster (unused with LOWALT_DATABASE_URL).",
                     no_args_is_help=True, context_settings=CONTEXT)
bench_app = typer.Typer(help="Benchmarks (their flags and JSON keys are stable; see docs/BENCHMARKS.md).",
                        no_args_is_help=True, context_settings=CONTEXT)
airspace_app = typer.Typer(help="Airspace data tools.", no_args_is_help=True, context_settings=CONTEXT)
report_app = typer.Typer(help="Reports from the history in PostGIS (docs/analytics.md).", no_args_is_help=True,
                         context_settings=CONTEXT)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(airspace_app, name="airspace")
app.add_typer(report_app, name="report")


class Role(StrEnum):
    operator = "operator"
    device = "device"
    centre = "centre"
    viewer = "viewer"
    admin = "admin"


class SettingsError(Exception):
    """A LOWALT_* variable that does not validate."""


# -- settings -------------------------------------------------------------------------------

_data_dir_override: Path | None = None

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Local state folder (default .lowalt, "
                                              "or LOWALT_DATA_DIR).", show_default=False)]
Host = Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1, or LOWALT_HOST).",
                                          show_default=False)]
Port = Annotated[int | None, typer.Option(help="Port to listen on (default 8000, or LOWALT_PORT).",
                                          show_default=False, min=1, max=65535)]


def _settings(data_dir: Path | None = None, host: str | None = None, port: int | None = None) -> Settings:
    try:
        s = Settings.from_env()
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    data_dir = data_dir or _data_dir_override
    if data_dir:
        s = replace(s, data_dir=data_dir)
    if host:
        s = replace(s, host=host)
    if port:
        s = replace(s, port=port)
    return s


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{ENV_PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors())


@contextmanager
def _progress(text: str) -> Iterator[None]:
    """A spinner with ``text`` on a terminal; one line on stderr otherwise."""
    from rich.console import Console

    console = Console(stderr=True)
    if console.is_terminal:
        with console.status(text):
            yield
    else:
        print(text, file=sys.stderr, flush=True)
        yield


@app.callback()
def _root(data_dir: DataDir = None) -> None:
    """lowalt: low-altitude airspace operations (低空空域运行平台). Settings come from LOWALT_*
    environment variables (see the README's settings table); options override them."""
    global _data_dir_override
    _data_dir_override = data_dir


# -- serve / demo ---------------------------------------------------------------------------

def _run_server(settings: Settings) -> int:
    import uvicorn

    from lowalt.api.app import create_app
    from lowalt.logging_setup import configure_logging
    from lowalt.perf import tune_allocator, tune_gc
    from lowalt.store.cluster import ManagedCluster

    configure_logging(settings.log_level, settings.json_logs())
    tune_allocator()
    tune_gc()
    cluster: ManagedCluster | None = None
    started = False
    if not settings.database_url:
        cluster = ManagedCluster(settings.data_dir)
        with _progress(f"starting the managed PostGIS in {settings.data_dir} ..."):
            started = cluster.start()
        settings = replace(settings, database_url=cluster.url())
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn that into a normal exit so the
    # managed cluster below is stopped cleanly instead of the process dying on the signal.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app_ = create_app(settings)
        # every log line is scrubbed of tokens by configure_logging. ws_max_size stays above the app's
        # frame limit (Limits), which answers.
        uvicorn.run(app_, host=settings.host, port=settings.port, log_config=None,
                    access_log=settings.access_log, ws_max_size=4 * 1024 * 1024,
                    ws_per_message_deflate=settings.ws_compression)
    finally:
        if cluster is not None and started:
            cluster.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(host: Host = None, port: Port = None, data_dir: DataDir = None) -> int:
    """Run the API server (and the managed PostGIS unless LOWALT_DATABASE_URL is set)."""
    return _run_server(_settings(data_dir, host, port))


@app.command()
def demo(host: Host = None, port: Port = None, data_dir: DataDir = None) -> int:
    """Run the live demo: managed PostGIS, server, Fuliang airspace, simulated traffic, map URL.

    The traffic is the simulator's (simulators/demo.py), talking to the server over its public
    API; the demo's cluster is DATA_DIR/demo (`lowalt db status --demo`). LOWALT_DEMO_AIRCRAFT
    scales the fleet.
    """
    from simulators.demo import main as demo_main

    s = _settings(data_dir, host, port)
    return demo_main(s.host, s.port, s.data_dir)


# -- users / tokens -------------------------------------------------------------------------

async def _with_db(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    from lowalt.store.db import open_database

    db = await open_database(settings)
    try:
        async with db.unit_of_work() as uow:
            result = await work(uow.conn)
            await uow.commit()
            return result
    finally:
        await db.close()


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name.")],
              role: Annotated[Role, typer.Option(help="The user's role.", show_default=False)],
              org: Annotated[str | None, typer.Option(help="Organisation (operators, devices).")] = None,
              token: Annotated[bool, typer.Option("--token", help="Also issue a token and print it.")] = False,
              ) -> int:
    """Add a user."""
    from lowalt.identity.model import Role as IdentityRole
    from lowalt.store import identity_repo

    async def work(conn: AsyncConnection) -> str | None:
        uid = await identity_repo.add_user(conn, name, IdentityRole(role.value), org)
        if token:
            return await identity_repo.issue_token(conn, uid, label="created with user")
        return None

    try:
        issued = asyncio.run(_with_db(_settings(), work))
    except identity_repo.DuplicateUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {name} ({role.value}) created")
    if issued:
        print(issued)
    return 0


@users_app.command("list")
def users_list() -> int:
    """List users and the prefixes of their live tokens."""
    import json

    from lowalt.store import identity_repo

    rows = asyncio.run(_with_db(_settings(), identity_repo.list_users))
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


def _set_suspended(name: str, suspended: bool) -> int:
    from lowalt.store import identity_repo

    async def work(conn: AsyncConnection) -> None:
        await identity_repo.set_suspended(conn, name, suspended)

    try:
        asyncio.run(_with_db(_settings(), work))
    except identity_repo.UnknownUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {name} {'suspended' if suspended else 'reinstated'}")
    return 0


@users_app.command("suspend")
def users_suspend(name: Annotated[str, typer.Argument(help="User name.")]) -> int:
    """Suspend a user: its tokens get 403 within 2 s and its websockets close with 4403."""
    return _set_suspended(name, True)


@users_app.command("reinstate")
def users_reinstate(name: Annotated[str, typer.Argument(help="User name.")]) -> int:
    """Lift a user's suspension."""
    return _set_suspended(name, False)


@tokens_app.command("issue")
def tokens_issue(name: Annotated[str, typer.Argument(help="User name.")],
                 label: Annotated[str | None, typer.Option(help="What the token is for.")] = None) -> int:
    """Issue a token for a user and print it (shown once)."""
    from lowalt.store import identity_repo

    async def work(conn: AsyncConnection) -> str:
        uid = await identity_repo.user_id_by_name(conn, name)
        return await identity_repo.issue_token(conn, uid, label=label)

    try:
        issued = asyncio.run(_with_db(_settings(), work))
    except identity_repo.UnknownUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(issued)
    return 0


@tokens_app.command("revoke")
def tokens_revoke(
        prefix: Annotated[str, typer.Argument(help="e.g. lwt_AbCdEf (as shown by `lowalt users list`), "
                                                   "or a whole token")],
        user: Annotated[str | None, typer.Option(help="Only this user's token with that prefix.")] = None,
) -> int:
    """Revoke tokens by the prefix `users list` shows (lwt_ + 6 characters; a whole token works too).

    Open websockets using it close within ~2 s (4401); REST refuses it within 2 s."""
    from lowalt.store import identity_repo

    async def work(conn: AsyncConnection) -> list[dict[str, object]]:
        return await identity_repo.revoke_tokens(conn, prefix, user)

    revoked = asyncio.run(_with_db(_settings(), work))
    for r in revoked:
        print(f"revoked {r['prefix']} of user {r['user']}" + (f" ({r['label']})" if r["label"] else ""))
    if not revoked:
        shown = identity_repo.normalise_prefix(prefix)
        scope = f" of user {user}" if user else ""
        print(f"revoked 0 tokens: no live token{scope} has the prefix {shown!r}. Prefixes are 10 characters "
              "(lwt_ + 6) as shown under \"tokens\" by `lowalt users list`; already revoked tokens are not shown.",
              file=sys.stderr)
        return 1
    print(f"revoked {len(revoked)} token(s)")
    return 0


# -- db -------------------------------------------------------------------------------------

DemoFlag = Annotated[bool, typer.Option("--demo", help="The demo's cluster (DATA_DIR/demo) instead of the "
                                                       "server's (DATA_DIR).")]


def _cluster(demo: bool) -> ManagedCluster:
    from lowalt.store.cluster import ManagedCluster

    settings = _settings()
    return ManagedCluster(settings.data_dir / "demo" if demo else settings.data_dir)


@db_app.command("start")
def db_start(demo: DemoFlag = False) -> int:
    """Start the cluster (create it first if needed) and print its URL."""
    cluster = _cluster(demo)
    with _progress(f"starting the managed PostGIS in {cluster.data_dir} ..."):
        started = cluster.start()
    print(("started " if started else "already running ") + cluster.url())
    return 0


@db_app.command("stop")
def db_stop(demo: DemoFlag = False) -> int:
    """Stop the cluster."""
    cluster = _cluster(demo)
    cluster.stop()
    print("stopped")
    return 0


@db_app.command("status")
def db_status(demo: DemoFlag = False) -> int:
    """Print running/stopped and the cluster folder; exit 0 when running, 3 when not."""
    cluster = _cluster(demo)
    running = cluster.running()
    state = "running" if running else ("stopped" if cluster.initialized() else "not created")
    print(state, cluster.cluster_dir.resolve())
    if not demo:
        other = _cluster(True)
        if other.initialized():
            print(f"(the demo's cluster: {'running' if other.running() else 'stopped'} "
                  f"{other.cluster_dir.resolve()}; `lowalt db ... --demo`)")
    return 0 if running else 3


@db_app.command("url")
def db_url(demo: DemoFlag = False) -> int:
    """Print the cluster's database URL (exit 1 when the cluster was never created)."""
    cluster = _cluster(demo)
    if not cluster.initialized():
        print(f"error: no cluster in {cluster.data_dir} yet (`lowalt db start` creates one)", file=sys.stderr)
        return 1
    print(cluster.url())
    return 0


@db_app.command("migrate")
def db_migrate() -> int:
    """Run the database migrations (alembic) on the configured database."""
    from lowalt.store.db import open_database

    settings = _settings()

    async def go() -> None:
        db = await open_database(settings)
        await db.close(stop_cluster=False)

    with _progress("migrating the database ..."):
        asyncio.run(go())
    print("migrated")
    return 0


# -- delegated subcommands ------------------------------------------------------------------

def run_delegated(path: tuple[str, ...], argv: Sequence[str]) -> int:
    """Hand ``argv`` to the part's own ``main``; a part not installed yet fails with a message."""
    module_name, func_name = DELEGATED[path].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"error: `lowalt {' '.join(path)}` is not available in this installation "
                  f"({module_name} is missing)", file=sys.stderr)
            return 1
        raise
    func: Callable[[list[str]], int] = getattr(module, func_name)
    return int(func(list(argv)) or 0)


def _add_delegated(group: typer.Typer, path: tuple[str, ...]) -> None:
    def command(ctx: typer.Context) -> int:
        return run_delegated(path, ctx.args)

    command.__doc__ = DELEGATED_HELP[path] + f" Options: `lowalt {' '.join(path)} --help`."
    group.command(path[-1], context_settings=PASS_THROUGH, add_help_option=False)(command)


for _path in DELEGATED:
    _add_delegated({"bench": bench_app, "airspace": airspace_app, "report": report_app}.get(_path[0], app), _path)


# -- entry point ----------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for usage errors, with the command's help)."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args, prog_name="lowalt", standalone_mode=False)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.TyperException as exc:  # typer's (vendored click's) usage errors and the like
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message()
        code = int(getattr(exc, "exit_code", 1))
        if ctx is not None and message == ctx.get_help():  # a group without its subcommand
            print(message, file=sys.stderr)
            return 2
        if ctx is not None and code == 2:
            print(ctx.get_help() + "\n", file=sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        return code
    except (typer.Exit, typer.Abort) as exc:
        if isinstance(exc, typer.Abort):
            print("aborted", file=sys.stderr)
            return 130
        return int(exc.exit_code)
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
