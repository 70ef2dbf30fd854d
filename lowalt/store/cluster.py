"""The managed local PostGIS cluster: lowalt's embedded default database.

With no ``LOWALT_DATABASE_URL`` configured, lowalt runs its own PostgreSQL
cluster in a data folder: ``initdb`` once, ``pg_ctl start`` on a unix socket
(``listen_addresses=''``: no TCP port to collide with), ``CREATE EXTENSION
postgis``, and ``pg_ctl stop`` on exit when this process started it.

Two facts of the platform shape this module:

* ``initdb`` and ``postgres`` refuse to run as root. When we are root the
  server runs as the unprivileged ``postgres`` system user (created by
  Debian's package) through ``runuser``, and the cluster folder is owned by
  it. A folder the ``postgres`` user cannot reach (a project checked out under
  root's 0700 home) is moved to ``/var/lib/lowalt/clusters/<hash>``; the
  project's data folder keeps a pointer file so every command finds it.
* Debian installs the server binaries in ``/usr/lib/postgresql/<ver>/bin``,
  off PATH. We pick the newest version that has PostGIS installed.

A crash leaves ``postmaster.pid`` behind. When the pid it names is not a
live postgres serving this folder (the pid may have been reused by an
unrelated process) we remove the stale file before starting.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PG_ROOT = Path("/usr/lib/postgresql")
PG_SHARE = Path("/usr/share/postgresql")
SERVICE_USER = "postgres"
DB_USER = "lowalt"
DB_NAME = "lowalt"
SOCKET_PORT = 5432  # names the socket file only; no TCP listener
ROOT_FALLBACK = Path("/var/lib/lowalt/clusters")
POINTER_FILE = "cluster-location"


class ClusterError(RuntimeError):
    """The managed cluster could not be set up or started; the message says what to do."""


def find_pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<ver>/bin`` whose version has PostGIS installed."""
    override = os.environ.get("LOWALT_PG_BIN")
    if override:
        return Path(override)
    candidates: list[tuple[int, Path]] = []
    if PG_ROOT.is_dir():
        for ver_dir in PG_ROOT.iterdir():
            if ver_dir.name.isdigit() and (ver_dir / "bin" / "pg_ctl").exists():
                candidates.append((int(ver_dir.name), ver_dir / "bin"))
    if not candidates:
        raise ClusterError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql; "
            "run `make bootstrap` (installs postgresql-15-postgis-3) or set LOWALT_DATABASE_URL"
        )
    candidates.sort(reverse=True)
    for ver, bin_dir in candidates:
        if (PG_SHARE / str(ver) / "extension" / "postgis.control").exists():
            return bin_dir
    raise ClusterError(
        f"PostGIS is not installed for PostgreSQL {candidates[0][0]}; "
        f"run `make bootstrap` or `apt-get install postgresql-{candidates[0][0]}-postgis-3`"
    )


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _reachable_by(user: str, path: Path) -> bool:
    """Whether ``user`` can traverse every parent folder of ``path``."""
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0


@dataclass(frozen=True)
class ManagedCluster:
    """A PostgreSQL cluster in a folder, driven by pg_ctl over a unix socket."""

    data_dir: Path
    """The project's data folder (default ``.lowalt``); may point elsewhere via a pointer file."""

    def __post_init__(self) -> None:
        # the server resolves relative paths against PGDATA, not our working directory
        object.__setattr__(self, "data_dir", Path(os.path.abspath(self.data_dir)))

    @property
    def cluster_dir(self) -> Path:
        """Where the cluster's files live (``PGDATA``)."""
        pointer = self.data_dir / POINTER_FILE
        if pointer.exists():
            return Path(pointer.read_text().strip())
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.cluster_dir / "socket"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "server.log"

    def url(self, database: str = DB_NAME) -> str:
        """SQLAlchemy URL for asyncpg over the unix socket."""
        return f"postgresql+asyncpg://{DB_USER}@/{database}?host={self.socket_dir}&port={SOCKET_PORT}"

    # -- commands ---------------------------------------------------------------

    def _as_service(self, argv: list[str]) -> list[str]:
        if _running_as_root():
            return ["runuser", "-u", SERVICE_USER, "--", *argv]
        return argv

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._as_service(argv), capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def _choose_location(self) -> None:
        """Pick a cluster folder the server's user can reach; record it when it is not the default."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / POINTER_FILE).exists():
            return
        # unix socket paths are limited to 107 bytes
        too_long = len(str((self.data_dir / "pgdata" / "socket" / ".s.PGSQL.5432").resolve())) > 100
        if not too_long and (not _running_as_root() or _reachable_by(SERVICE_USER, self.data_dir.resolve())):
            return
        digest = hashlib.sha1(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        base = ROOT_FALLBACK if _running_as_root() else Path(f"/tmp/lowalt-{os.getuid()}")
        target = base / digest / "pgdata"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        (self.data_dir / POINTER_FILE).write_text(str(target) + "\n")
        log.info("cluster_relocated", extra={"cluster_dir": str(target)})

    def _own(self, path: Path) -> None:
        if _running_as_root():
            pw = pwd.getpwnam(SERVICE_USER)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def initialized(self) -> bool:
        return (self.cluster_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """``initdb`` the cluster if it does not exist yet (idempotent)."""
        self._choose_location()
        if self.initialized():
            return
        bin_dir = find_pg_bin()
        cdir = self.cluster_dir
        cdir.mkdir(parents=True, exist_ok=True)
        os.chmod(cdir, 0o700)
        self._own(cdir)
        self._run(
            [str(bin_dir / "initdb"), "-D", str(cdir), "-U", DB_USER, "--auth=trust",
             "--encoding=UTF8", "--locale=C.UTF-8"]
        )
        self.socket_dir.mkdir(exist_ok=True)
        self._own(self.socket_dir)
        with (cdir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# lowalt managed cluster\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"port = {SOCKET_PORT}\n"
                "fsync = on\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
            )
        log.info("cluster_initialized", extra={"cluster_dir": str(cdir)})

    def _pid_file_state(self) -> str:
        """'absent', 'live' (a postgres for this folder runs), or 'stale'."""
        pid_file = self.cluster_dir / "postmaster.pid"
        if not pid_file.exists():
            return "absent"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            return "stale"
        if "postgres" in cmdline or "postmaster" in cmdline:
            return "live"
        return "stale"

    def running(self) -> bool:
        return self.initialized() and self._pid_file_state() == "live" and self._ready()

    def _ready(self) -> bool:
        bin_dir = find_pg_bin()
        result = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", str(self.socket_dir), "-p", str(SOCKET_PORT), "-U", DB_USER],
            capture_output=True, check=False,
        )
        return result.returncode == 0

    def start(self, timeout: float = 60.0) -> bool:
        """Start the cluster unless it already runs. Returns True when this call started it."""
        self.init()
        state = self._pid_file_state()
        if state == "live":
            self._wait_ready(timeout)
            return False
        if state == "stale":
            log.warning("stale_pid_file_removed", extra={"cluster_dir": str(self.cluster_dir)})
            (self.cluster_dir / "postmaster.pid").unlink(missing_ok=True)
            for lock in self.socket_dir.glob(".s.PGSQL.*"):
                lock.unlink(missing_ok=True)
        bin_dir = find_pg_bin()
        self._run([str(bin_dir / "pg_ctl"), "-D", str(self.cluster_dir), "-l", str(self.log_file),
                   "-w", "-t", str(int(timeout)), "start"])
        self._wait_ready(timeout)
        self._ensure_database()
        log.info("cluster_started", extra={"cluster_dir": str(self.cluster_dir)})
        return True

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if time.monotonic() > deadline:
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise ClusterError(f"cluster did not become ready in {timeout:.0f}s; server log:\n{tail}")
            time.sleep(0.1)

    def psql(self, sql: str, database: str = "postgres") -> str:
        bin_dir = find_pg_bin()
        result = subprocess.run(
            [str(bin_dir / "psql"), "-h", str(self.socket_dir), "-p", str(SOCKET_PORT), "-U", DB_USER,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str, template: str | None = None) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            return
        tmpl = f" TEMPLATE {template}" if template else ""
        self.psql(f'CREATE DATABASE "{name}"{tmpl}')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _ensure_database(self) -> None:
        self.create_database(DB_NAME)
        self.psql("CREATE EXTENSION IF NOT EXISTS postgis", database=DB_NAME)

    def stop(self, mode: str = "fast") -> None:
        if not self.initialized() or self._pid_file_state() != "live":
            return
        bin_dir = find_pg_bin()
        self._run([str(bin_dir / "pg_ctl"), "-D", str(self.cluster_dir), "-m", mode, "-w", "stop"], check=False)
        log.info("cluster_stopped", extra={"cluster_dir": str(self.cluster_dir)})

    def destroy(self) -> None:
        """Stop and delete the cluster's files (tests and `lowalt db reset`)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        (self.data_dir / POINTER_FILE).unlink(missing_ok=True)
