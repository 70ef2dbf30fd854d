"""One launcher (``lowalt.launch``) starts real servers for the benches, the simulator, ``lowalt cluster``
and the tests, and one free-port helper hands out ports: nobody else binds port 0 or spawns ``serve``."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from lowalt.launch import free_port, nats_process, port_accepts, start_serve
from lowalt.store.db import Database
from tests.conftest import REPO

ALLOWED = {Path("lowalt/launch.py"), Path("tests/hygiene/test_launch.py")}


def _sources() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split()
    return [Path(p) for p in out if (REPO / p).exists()]


def test_nobody_else_picks_ports_or_spawns_serve() -> None:
    port_zero = re.compile(r"""bind\(\(\s*["'][\d.]*["']\s*,\s*0\s*\)\)""")
    spawn = re.compile(r"""["']lowalt\.cli["']\s*,\s*["']serve["']|\*LOWALT\s*,\s*["']serve["']""")
    checks = {"binds port 0 (use free_port)": port_zero, "spawns serve (use start_serve)": spawn}
    found = [f"{p} {what}" for p in _sources() if p not in ALLOWED
             for what, pat in checks.items() if pat.search((REPO / p).read_text(encoding="utf-8", errors="replace"))]
    assert not found, f"lowalt.launch is the one launcher and port helper: {found}"


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_free_port_is_bindable_for_tcp_and_udp(kind: socket.SocketKind) -> None:
    port = free_port(kind)
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", port))
    assert not port_accepts(port)


async def test_a_served_process_answers_then_stops_gracefully(database: Database, tmp_path: Path) -> None:
    server = start_serve({"LOWALT_DATABASE_URL": database.url, "LOWALT_DATA_DIR": str(tmp_path / "state")})
    try:
        await server.wait_ready(timeout=120)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server.url}/healthz")).json()["database"] == "up"
        assert port_accepts(int(server.url.rsplit(":", 1)[1]))
    finally:
        server.stop()
    assert server.proc.returncode == 0  # SIGTERM is the graceful path


async def test_a_server_that_cannot_start_is_reported_not_waited_for(tmp_path: Path) -> None:
    server = start_serve({"LOWALT_DATA_DIR": str(tmp_path / "state"), "LOWALT_TICK_S": "not-a-number"})
    try:
        with pytest.raises(RuntimeError, match="exited"):
            await server.wait_ready(timeout=120)
    finally:
        server.stop()


def test_nats_process_accepts_connections_until_stopped(tmp_path: Path) -> None:
    nats = nats_process(tmp_path / "js")
    nats.start()
    try:
        assert port_accepts(nats.port) and nats.url.endswith(f":{nats.port}")
    finally:
        nats.stop()
    assert not port_accepts(nats.port)
