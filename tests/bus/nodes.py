"""A lowalt node as its own process (``python -m lowalt.cli serve``), so a test can kill -9 it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import REPO, wait_until


@dataclass
class NodeProcess:
    url: str
    ws_url: str
    proc: subprocess.Popen[bytes]

    def kill(self) -> None:
        """kill -9: no shutdown, no lease handed on, nothing flushed."""
        self.proc.kill()
        self.proc.wait(30)


async def start_node(database_url: str, nats_url: str, node_id: str, roles: str, log: Path) -> NodeProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "LOWALT_DATABASE_URL": database_url, "LOWALT_NATS_URL": nats_url,
           "LOWALT_NODE_ID": node_id, "LOWALT_NODE_ROLES": roles, "LOWALT_PORT": str(port),
           "LOWALT_TICK_S": "0.5", "LOWALT_LOG_JSON": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lowalt.cli", "serve"], env=env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)
    node = NodeProcess(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", proc)

    async def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"node {node_id} exited ({proc.returncode}); see {log}")
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"{node.url}/healthz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(healthy, timeout=60, what=f"node {node_id} to serve")
    return node
