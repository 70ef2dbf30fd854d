"""The managed PostGIS: starts with no configuration, is reused, survives SIGKILL and stale pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lowalt.launch import free_port, start_serve
from lowalt.store.cluster import ManagedCluster

LOWALT = [sys.executable, "-m", "lowalt.cli"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ManagedCluster]:
    c = ManagedCluster(tmp_path / "state")
    yield c
    c.destroy()


def _postmaster_pid(c: ManagedCluster) -> int:
    return int((c.cluster_dir / "postmaster.pid").read_text().splitlines()[0])


def _wait_gone(c: ManagedCluster, timeout: float = 20.0) -> None:
    """Wait until no process of this cluster is left (backends exit after their postmaster dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-f", str(c.cluster_dir)], capture_output=True, text=True).stdout
        if not out.strip():
            return
        time.sleep(0.2)
    raise AssertionError("cluster processes did not exit")


def _crash(c: ManagedCluster) -> None:
    os.kill(_postmaster_pid(c), signal.SIGKILL)
    _wait_gone(c)


def test_start_reuse_and_survive_sigkill(cluster: ManagedCluster) -> None:
    assert cluster.start() is True
    assert cluster.start() is False  # reuses the running cluster
    assert "POSTGIS" in cluster.psql("SELECT postgis_full_version()", database="lowalt")
    cluster.psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)", database="lowalt")
    _crash(cluster)
    assert (cluster.cluster_dir / "postmaster.pid").exists()  # left behind by the crash
    assert cluster.start() is True
    assert cluster.psql("SELECT v FROM kept", database="lowalt").strip() == "42"


def test_stale_pid_file_naming_an_unrelated_live_process(cluster: ManagedCluster) -> None:
    cluster.start()
    cluster.psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)", database="lowalt")
    _crash(cluster)
    pid_file = cluster.cluster_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    lines[0] = str(os.getpid())  # the pid was reused by some other process: this test's python
    pid_file.write_text("\n".join(lines) + "\n")
    assert cluster.start() is True
    assert cluster.psql("SELECT v FROM kept", database="lowalt").strip() == "7"


def _wait_health(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            r = httpx.get(url + "/healthz", timeout=2)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_serve_sigkill_restart_keeps_committed_data(tmp_path: Path) -> None:
    env = {**os.environ, "LOWALT_DATA_DIR": str(tmp_path / "state"), "LOWALT_LOG_JSON": "0"}
    env.pop("LOWALT_DATABASE_URL", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cluster = ManagedCluster(tmp_path / "state")
    proc = start_serve(env, port=port).proc
    try:
        assert _wait_health(url, proc)["database"] == "up"
        out = subprocess.run([*LOWALT, "users", "add", "ops-1", "--role", "centre", "--token"], env=env,
                             capture_output=True, text=True, check=True).stdout
        token = out.strip().splitlines()[-1]
        # crash everything: the server and the database under it
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _crash(cluster)
        proc = start_serve(env, port=port).proc  # the same port: the same URL as before the crash
        assert _wait_health(url, proc)["database"] == "up"
        me = httpx.get(url + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.status_code == 200 and me.json()["name"] == "ops-1"
        # a clean stop stops the cluster this server started
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not cluster.running()
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.destroy()


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    server = start_serve(env)
    return server.proc, server.url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def test_only_the_owner_stops_the_cluster(tmp_path: Path) -> None:
    """Owned by whoever started it (`lowalt db start`, or the first `serve`); a server that only reused a
    running cluster never stops it, so a second node keeps its database when the first one stops."""
    env = {**os.environ, "LOWALT_DATA_DIR": str(tmp_path / "state"), "LOWALT_LOG_JSON": "0"}
    env.pop("LOWALT_DATABASE_URL", None)
    cluster = ManagedCluster(tmp_path / "state")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        out = subprocess.run([*LOWALT, "db", "start"], env=env, capture_output=True, text=True, check=True).stdout
        assert out.startswith("started ")
        reuser, url = _serve(env)
        procs.append(reuser)
        assert _wait_health(url, reuser)["database"] == "up"
        _stop(reuser)
        assert cluster.running()  # `db start` owns it: the server that reused it left it running
        subprocess.run([*LOWALT, "db", "stop"], env=env, capture_output=True, check=True)
        assert not cluster.running()

        first, first_url = _serve(env)  # starts it: the owner
        procs.append(first)
        assert _wait_health(first_url, first)["database"] == "up"
        second, second_url = _serve(env)  # reuses it
        procs.append(second)
        assert _wait_health(second_url, second)["database"] == "up"
        _stop(second)
        assert cluster.running()
        assert _wait_health(first_url, first)["database"] == "up"
        _stop(first)
        assert not cluster.running()  # the owner's clean stop stops what it started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        cluster.destroy()
