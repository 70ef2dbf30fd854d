"""The nats-server that ``lowalt cluster`` starts is stopped last: a terminal's Ctrl-C reaches the nodes (which
shut down through the bus) but not the bus, and the bus still dies with the launcher however it dies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from lowalt.launch import nats_process, port_accepts
from tests.conftest import wait_until


def test_own_session_keeps_a_terminals_ctrl_c_away_and_the_bus_dies_with_its_launcher(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from lowalt.launch import nats_process
        srv = nats_process(Path({str(tmp_path / "js")!r}))
        srv.start(own_session=True)
        print(srv.port, srv.proc.pid, flush=True)
        time.sleep(600)
    """)
    launcher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        port, pid = (int(x) for x in launcher.stdout.readline().split())
        assert port_accepts(port)
        assert os.getpgid(pid) != os.getpgid(launcher.pid)  # not in the group a terminal's Ctrl-C reaches
        launcher.kill()  # kill -9 of the launcher: no chance to stop the bus itself
        launcher.wait(10)

        async def gone() -> bool:
            return not port_accepts(port)

        import asyncio

        asyncio.run(wait_until(gone, 10, "the bus to stop with its launcher"))
    finally:
        if launcher.poll() is None:
            launcher.kill()


def test_by_default_the_bus_stays_in_its_callers_group(tmp_path: Path) -> None:
    srv = nats_process(tmp_path / "js")
    srv.start()
    try:
        assert srv.proc is not None and os.getpgid(srv.proc.pid) == os.getpgid(0)
    finally:
        srv.stop()
