"""``lowalt cluster`` refuses bad arguments before it starts anything, naming the option (both sides of
every bound: the numbers at a bound are accepted)."""

from __future__ import annotations

import pytest

from lowalt.bus.cluster import MAX_NODES, _args
from lowalt.settings import MONITOR_SHARDS_MAX


@pytest.mark.parametrize(("argv", "field"), [
    (["--nodes", "0"], "--nodes"), ([f"--nodes={MAX_NODES + 1}"], "--nodes"), (["--nodes", "two"], "--nodes"),
    (["--shards", "0"], "--shards"), ([f"--shards={MONITOR_SHARDS_MAX + 1}"], "--shards"),
    (["--aircraft", "-1"], "--aircraft"), (["--port", "0"], "--port"), (["--port", "65536"], "--port"),
    (["--port", "65535", "--nodes", "2"], "--port"), (["--nats-port", "8001"], "--nats-port"),
    (["--nats-port", "8000", "--nodes", "1"], "--nats-port"),
])
def test_refused_naming_the_option(argv: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _args(argv)
    assert exit_.value.code == 2
    assert f"argument {field}" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--nodes", "1"], [f"--nodes={MAX_NODES}"], ["--shards", "1"], [f"--shards={MONITOR_SHARDS_MAX}"],
    ["--aircraft", "0"], ["--port", "65534", "--nodes", "2"], ["--port", "1", "--nodes", "1", "--nats-port", "2"],
    ["--nats-port", "8002", "--nodes", "2"], ["--nats-port", "7999"],
])
def test_the_bounds_themselves_are_accepted(argv: list[str]) -> None:
    _args(argv)
