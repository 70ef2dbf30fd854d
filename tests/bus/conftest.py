"""A real nats-server with JetStream per test: free port, temporary store directory (``lowalt.launch``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lowalt.launch import NatsProcess, nats_process, nats_server_binary

NatsServer = NatsProcess
"""The fixture's type: ``url``, ``port``, ``store``; ``stop()`` and ``start()`` again on the same store."""


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    if nats_server_binary() is None:
        pytest.fail("nats-server is not installed (scripts/bootstrap.sh installs it)")
    srv = nats_process(tmp_path / "jetstream")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
