"""A lowalt node as its own process (``python -m lowalt.cli serve``), so a test can kill -9 it."""

from __future__ import annotations

from pathlib import Path

from lowalt.launch import ServerProcess, start_serve
from tests.conftest import REPO

NodeProcess = ServerProcess


async def start_node(database_url: str, nats_url: str, node_id: str, roles: str, log: Path,
                     extra: dict[str, str] | None = None) -> NodeProcess:
    env = {"LOWALT_DATABASE_URL": database_url, "LOWALT_NATS_URL": nats_url, "LOWALT_NODE_ID": node_id,
           "LOWALT_NODE_ROLES": roles, "LOWALT_TICK_S": "0.5", "LOWALT_LOG_JSON": "1", **(extra or {})}
    with log.open("ab") as out:
        node = start_serve(env, output=out, cwd=REPO)
    try:
        await node.wait_ready(timeout=60)
    except RuntimeError as exc:
        node.kill()
        raise AssertionError(f"node {node_id}: {exc}; see {log}") from exc
    return node
