"""Starting a real lowalt server (and the ``nats-server`` a cluster needs): the one launcher that the
benches, the simulator, ``lowalt cluster`` and the tests share, and the one free-port helper.

Two ways to run a server, both the production code path:

* :func:`start_serve`: ``python -m lowalt.cli serve`` as a child process, configured through the
  environment exactly as an operator would (a test can ``kill -9`` it; a bench measures it without the
  load generator in the same interpreter). Wait for it with :meth:`ServerProcess.wait_ready` (async)
  or :meth:`ServerProcess.wait_ready_blocking`; stop it with :meth:`ServerProcess.stop` (SIGTERM, the
  graceful path) or :meth:`ServerProcess.kill`.
* :func:`serve_app`: an app object under uvicorn in the caller's event loop (tests that reach into
  ``app.state``).

Nothing in the server imports this module; it only starts servers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

LOOPBACK = "127.0.0.1"


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM, host: str = LOOPBACK) -> int:
    """A port the OS just handed out on ``host`` (TCP by default, ``SOCK_DGRAM`` for UDP).

    The port is free when this returns; another process could take it before the caller binds it,
    which on a test machine is rare enough that callers do not retry.
    """
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


@dataclass
class ServerProcess:
    """A ``lowalt serve`` child process on ``host:port``."""

    url: str
    ws_url: str
    proc: subprocess.Popen[bytes]

    def _exited(self) -> RuntimeError:
        return RuntimeError(f"lowalt serve at {self.url} exited with {self.proc.returncode}")

    async def _healthy(self, http: httpx.AsyncClient) -> bool:
        if self.proc.poll() is not None:
            raise self._exited()
        try:
            return (await http.get(f"{self.url}/healthz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Until ``/healthz`` answers 200; raises if the process exits or ``timeout`` (a bound for a
        broken start, not an expectation) passes."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while not await self._healthy(http):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"lowalt serve at {self.url}: not healthy after {timeout:.0f} s")
                await asyncio.sleep(0.2)

    def wait_ready_blocking(self, timeout: float = 120.0) -> None:
        """:meth:`wait_ready` for code without an event loop."""
        asyncio.run(self.wait_ready(timeout))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (graceful shutdown: history flushed, lease handed on), SIGKILL after ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """kill -9: no shutdown, no lease handed on, nothing flushed."""
        self.proc.kill()
        self.proc.wait(30)


def start_serve(env: Mapping[str, str] | None = None, *, port: int | None = None, host: str = LOOPBACK,
                output: IO[bytes] | int | None = subprocess.DEVNULL, quiet: bool = True, cwd: Path | None = None,
                own_session: bool = False) -> ServerProcess:
    """Start ``python -m lowalt.cli serve`` on ``host:port`` (a free port by default).

    ``env`` is laid over this process's environment (``LOWALT_*`` settings); ``LOWALT_DATABASE_URL``
    is dropped unless ``env`` sets it, so a ``LOWALT_DATA_DIR`` alone means the managed PostGIS there.
    ``output`` receives stdout, and stderr too when ``quiet`` (else stderr goes to this terminal).
    ``own_session`` keeps a terminal's Ctrl-C away from the server so the caller stops it in order.
    """
    port = port or free_port(host=host)
    full = {**os.environ}
    full.pop("LOWALT_DATABASE_URL", None)
    full |= dict(env or {})
    stderr: IO[bytes] | int | None = None  # not quiet: the caller's terminal
    if quiet:
        stderr = subprocess.DEVNULL if output == subprocess.DEVNULL else subprocess.STDOUT
    proc = subprocess.Popen([sys.executable, "-m", "lowalt.cli", "serve", "--host", host, "--port", str(port)],
                            env=full, cwd=cwd, stdout=output, stderr=stderr, start_new_session=own_session)
    return ServerProcess(f"http://{host}:{port}", f"ws://{host}:{port}", proc)


@asynccontextmanager
async def serve_app(app: Any, *, host: str = LOOPBACK, **config: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free port in this event loop; yields its base URL
    (``http://host:port``) once it accepts connections, and shuts it down when the block ends."""
    import uvicorn

    port = free_port(host=host)
    srv = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on", **config))
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, 60)  # a bound for a broken run; a loaded machine may need it all


def nats_server_binary() -> str | None:
    """The ``nats-server`` executable (Debian puts it in /usr/sbin), or None when not installed."""
    found = shutil.which("nats-server") or "/usr/sbin/nats-server"
    return found if Path(found).exists() else None


@dataclass
class NatsProcess:
    """A ``nats-server -js`` child process on loopback with its JetStream store in ``store`` (its log
    goes to ``store/nats-server.log``: a pipe nobody reads would block it once full)."""

    url: str
    port: int
    store: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0, *, own_session: bool = False) -> None:
        """Start it and wait until it accepts connections (``timeout`` bounds a broken start only).

        ``own_session``: a terminal's Ctrl-C does not reach it (the caller stops the servers using it first,
        then the bus: stopped first, every server logs lost-connection errors while it shuts down); it is
        still stopped by the kernel if the caller dies (Linux's parent-death signal)."""
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed (scripts/bootstrap.sh installs it)")
        self.store.mkdir(parents=True, exist_ok=True)
        log = self.store / "nats-server.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen([binary, "-js", "-a", LOOPBACK, "-p", str(self.port), "-sd", str(self.store)],
                                         stdout=subprocess.DEVNULL, stderr=out, start_new_session=own_session,
                                         preexec_fn=_die_with_parent_hook() if own_session else None)
        deadline = time.monotonic() + timeout
        while not port_accepts(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nats-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent exits, however it exits
    (``prctl(PR_SET_PDEATHSIG)``, Linux); None where that is not available. Resolved in the parent: the
    child runs it between fork and exec, where importing or loading a library could deadlock."""
    import ctypes

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG

    return hook


def nats_process(store: Path, port: int | None = None) -> NatsProcess:
    """A :class:`NatsProcess` (not started) on ``port`` (a free one by default)."""
    port = port or free_port()
    return NatsProcess(f"nats://{LOOPBACK}:{port}", port, store)
