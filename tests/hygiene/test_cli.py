"""The ``lowalt`` command: every subcommand documented, usage errors print help and exit 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from lowalt import cli

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = {"serve", "demo", "simulate", "users", "tokens", "db", "bench", "airspace"}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lowalt.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)


def test_help_lists_every_subcommand_and_each_has_help() -> None:
    done = _run("--help")
    assert done.returncode == 0
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == TOP_LEVEL | {path[0] for path in cli.DELEGATED}

    def walk(command: object, path: tuple[str, ...]) -> None:
        assert (getattr(command, "help", None) or "").strip(), f"`lowalt {' '.join(path)}` has no help"
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, (*path, name))
        for param in getattr(command, "params", []):
            if getattr(param, "param_type_name", "") == "option" and not param.hidden:
                assert param.help, f"`lowalt {' '.join(path)} {param.opts[0]}` has no help"

    walk(typer.main.get_command(cli.app), ())


@pytest.mark.parametrize("args", [(), ("bench",), ("airspace",), ("db",), ("users",), ("tokens",)])
def test_a_group_without_its_subcommand_prints_its_help_and_exits_2(args: tuple[str, ...]) -> None:
    done = _run(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "Usage: lowalt" in done.stderr and "Commands:" in done.stderr


@pytest.mark.parametrize("args", [("frobnicate",), ("serve", "--port", "http"), ("users", "add", "bob", "--role", "wizard"),
                                  ("db", "explode"), ("serve", "--no-such-option")])
def test_usage_errors_print_help_and_exit_2(args: tuple[str, ...]) -> None:
    done = _run(*args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Usage: lowalt" in done.stderr  # the help of the command that was being parsed
    assert "error:" in done.stderr


def test_a_bad_setting_names_its_variable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOWALT_TICK_S", "fast")
    assert cli.main(["db", "url"]) == 2
    assert "LOWALT_TICK_S" in capsys.readouterr().err


def test_db_url_without_a_cluster_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(tmp_path), "db", "url"]) == 1
    assert "no cluster" in capsys.readouterr().err
    assert cli.main(["--data-dir", str(tmp_path), "db", "status", "--demo"]) == 3


def test_delegated_commands_get_the_rest_of_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "cd", "--n", "50", "--repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"n", "pairs", "seconds_median", "peak_mb"} <= set(out) and out["n"] == 50
    with pytest.raises(SystemExit) as exit_:  # the part's own argparse help
        cli.main(["bench", "cd", "--help"])
    assert exit_.value.code == 0
    assert "--category" in capsys.readouterr().out


def test_a_delegated_part_not_installed_fails_with_a_message(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(cli.DELEGATED, ("bench", "tick"), "lowalt.live.no_such_module:main")
    assert cli.main(["bench", "tick", "--tracks", "10"]) == 1
    err = capsys.readouterr().err
    assert "lowalt bench tick" in err and "not available" in err
