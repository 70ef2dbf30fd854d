"""The ``lowalt`` command: serve, demo, users/tokens, db, airspace check, bench.

Subcommands owned by one part of the system are dispatched to that part's
``main(argv)``, so this file stays a thin table of contents.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from lowalt.settings import Settings

# subcommand path -> "module:function" taking the remaining argv and returning an exit code
DELEGATED: dict[tuple[str, ...], str] = {
    ("bench", "cd"): "lowalt.conflict.bench:main",
    ("bench", "filing"): "lowalt.filing.bench:main",
    ("bench", "airspace"): "lowalt.airspace.bench:main",
    ("bench", "pipeline"): "lowalt.live.bench:main",
    ("bench", "map"): "lowalt.web.bench:main",
    ("simulate",): "simulators.cli:main",
    ("airspace", "check"): "lowalt.airspace.check:main",
}


def _delegate(argv: Sequence[str]) -> int | None:
    for path, target in DELEGATED.items():
        if tuple(argv[: len(path)]) == path:
            module_name, func_name = target.split(":")
            func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func_name)
            return func(list(argv[len(path):]))
    return None


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    if getattr(args, "data_dir", None):
        s = replace(s, data_dir=Path(args.data_dir))
    if getattr(args, "host", None):
        s = replace(s, host=args.host)
    if getattr(args, "port", None):
        s = replace(s, port=args.port)
    return s


# -- serve / demo ---------------------------------------------------------------------------

def _run_server(settings: Settings, banner: Callable[[Settings], None] | None = None) -> int:
    import uvicorn

    from lowalt.api.app import create_app
    from lowalt.logging_setup import configure_logging
    from lowalt.perf import tune_allocator, tune_gc
    from lowalt.store.cluster import ManagedCluster

    configure_logging(settings.log_level, settings.log_json)
    tune_allocator()
    tune_gc()
    cluster: ManagedCluster | None = None
    started = False
    if not settings.database_url:
        cluster = ManagedCluster(settings.data_dir)
        started = cluster.start()
        settings = replace(settings, database_url=cluster.url())
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn that into a normal exit so the
    # managed cluster below is stopped cleanly instead of the process dying on the signal.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if banner:
            banner(settings)
        app = create_app(settings)
        # access log off by default (LOWALT_ACCESS_LOG=1 turns it on); either way every line is scrubbed of
        # tokens by configure_logging. ws_max_size stays above the app's frame limit (Limits), which answers.
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                    access_log=os.environ.get("LOWALT_ACCESS_LOG", "0") not in ("", "0", "false", "no"),
                    ws_max_size=4 * 1024 * 1024)
    finally:
        if cluster is not None and started:
            cluster.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    return _run_server(_settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """Managed PostGIS + server (Fuliang airspace) + the ``demo`` scenario flying until Ctrl-C.

    The traffic is the simulator's (``simulators/demo.py``), talking to the server over its public
    API; it prints the map URL with a token. ``LOWALT_DEMO_AIRCRAFT`` scales the fleet.
    """
    from simulators.demo import main as demo_main

    s = _settings(args)
    return demo_main(s.host, s.port, s.data_dir)


# -- users / tokens -------------------------------------------------------------------------

async def _with_db(settings: Settings, work: Callable[..., object]) -> object:
    from lowalt.store.db import open_database

    db = await open_database(settings)
    try:
        async with db.unit_of_work() as uow:
            result = await work(uow.conn)  # type: ignore[misc]
            await uow.commit()
            return result
    finally:
        await db.close()


def cmd_users_add(args: argparse.Namespace) -> int:
    from lowalt.identity.model import Role
    from lowalt.store import identity_repo

    async def work(conn: object) -> str | None:
        uid = await identity_repo.add_user(conn, args.name, Role(args.role), args.org)  # type: ignore[arg-type]
        if args.token:
            return await identity_repo.issue_token(conn, uid, label="created with user")  # type: ignore[arg-type]
        return None

    try:
        token = asyncio.run(_with_db(_settings(args), work))
    except identity_repo.DuplicateUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.name} ({args.role}) created")
    if token:
        print(token)
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    import json

    from lowalt.store import identity_repo

    rows = asyncio.run(_with_db(_settings(args), identity_repo.list_users))
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


def cmd_tokens_issue(args: argparse.Namespace) -> int:
    from lowalt.store import identity_repo

    async def work(conn: object) -> str:
        uid = await identity_repo.user_id_by_name(conn, args.name)  # type: ignore[arg-type]
        return await identity_repo.issue_token(conn, uid, label=args.label)  # type: ignore[arg-type]

    try:
        token = asyncio.run(_with_db(_settings(args), work))
    except identity_repo.UnknownUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke by the prefix ``users list`` shows (``lwt_`` + 6 characters; a whole token works too).
    Open websockets using it close within ~2 s (4401); REST refuses it within 2 s."""
    from lowalt.store import identity_repo

    async def work(conn: object) -> list[dict[str, object]]:
        return await identity_repo.revoke_tokens(conn, args.prefix, args.user)  # type: ignore[arg-type]

    revoked = asyncio.run(_with_db(_settings(args), work))
    for r in revoked:
        print(f"revoked {r['prefix']} of user {r['user']}" + (f" ({r['label']})" if r["label"] else ""))
    if not revoked:
        shown = identity_repo.normalise_prefix(args.prefix)
        scope = f" of user {args.user}" if args.user else ""
        print(f"revoked 0 tokens: no live token{scope} has the prefix {shown!r}. Prefixes are 10 characters "
              "(lwt_ + 6) as shown under \"tokens\" by `lowalt users list`; already revoked tokens are not shown.",
              file=sys.stderr)
        return 1
    print(f"revoked {len(revoked)} token(s)")
    return 0


def cmd_users_suspend(args: argparse.Namespace) -> int:
    """Suspend (or reinstate) a user: its tokens get 403 within 2 s and its websockets close with 4403."""
    from lowalt.store import identity_repo

    suspended = args.users_cmd == "suspend"

    async def work(conn: object) -> None:
        await identity_repo.set_suspended(conn, args.name, suspended)  # type: ignore[arg-type]

    try:
        asyncio.run(_with_db(_settings(args), work))
    except identity_repo.UnknownUser as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.name} {'suspended' if suspended else 'reinstated'}")
    return 0


# -- db -------------------------------------------------------------------------------------

def cmd_db(args: argparse.Namespace) -> int:
    from lowalt.store.cluster import ManagedCluster

    settings = _settings(args)
    cluster = ManagedCluster(settings.data_dir)
    if args.action == "start":
        started = cluster.start()
        print(("started " if started else "already running ") + cluster.url())
    elif args.action == "stop":
        cluster.stop()
        print("stopped")
    elif args.action == "status":
        print("running" if cluster.running() else "stopped", cluster.cluster_dir)
        return 0 if cluster.running() else 3
    elif args.action == "url":
        print(cluster.url())
    elif args.action == "migrate":
        from lowalt.store.db import open_database

        async def go() -> None:
            db = await open_database(settings)
            await db.close(stop_cluster=False)

        asyncio.run(go())
        print("migrated")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lowalt", description="lowalt: low-altitude airspace operations")
    parser.add_argument("--data-dir", help="local state folder (default .lowalt or LOWALT_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, func, helptext in (("serve", cmd_serve, "run the API server"),
                                 ("demo", cmd_demo, "run the live demo (server, airspace, traffic, map)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.set_defaults(func=func)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_cmd", required=True)
    p = users.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["operator", "device", "centre", "viewer", "admin"])
    p.add_argument("--org", help="organisation (operators, devices)")
    p.add_argument("--token", action="store_true", help="also issue a token and print it")
    p.set_defaults(func=cmd_users_add)
    p = users.add_parser("list", help="list users and the prefixes of their live tokens")
    p.set_defaults(func=cmd_users_list)
    for name, helptext in (("suspend", "suspend a user (tokens refused within 2 s, websockets closed)"),
                           ("reinstate", "lift a user's suspension")):
        p = users.add_parser(name, help=helptext)
        p.add_argument("name")
        p.set_defaults(func=cmd_users_suspend)

    tokens = sub.add_parser("tokens", help="manage API tokens").add_subparsers(dest="tokens_cmd", required=True)
    p = tokens.add_parser("issue", help="issue a token for a user and print it (shown once)")
    p.add_argument("name")
    p.add_argument("--label")
    p.set_defaults(func=cmd_tokens_issue)
    p = tokens.add_parser("revoke", help="revoke tokens by the prefix shown by `users list`")
    p.add_argument("prefix", help="e.g. lwt_AbCdEf (as shown by `lowalt users list`), or a whole token")
    p.add_argument("--user", help="only this user's token with that prefix")
    p.set_defaults(func=cmd_tokens_revoke)

    p = sub.add_parser("db", help="the managed local PostGIS cluster")
    p.add_argument("action", choices=["start", "stop", "status", "url", "migrate"])
    p.set_defaults(func=cmd_db)

    for path in DELEGATED:
        if path[0] not in sub.choices:
            sub.add_parser(path[0], help=f"see `lowalt {path[0]} ... --help`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    delegated = _delegate(args_list)
    if delegated is not None:
        return delegated
    args = build_parser().parse_args(args_list)
    if args.data_dir:
        os.environ["LOWALT_DATA_DIR"] = args.data_dir
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
