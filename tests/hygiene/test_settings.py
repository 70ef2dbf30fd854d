"""Settings: every field from LOWALT_* (pydantic-settings), overridable in tests, documented in the README."""

from __future__ import annotations

import io
import re
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from lowalt.settings import Settings, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_is_the_generated_one() -> None:
    text = README.read_text()
    found = re.search(r"<!-- settings-table:begin -->\n(.*?)<!-- settings-table:end -->", text, re.S)
    assert found, "README has no settings table"
    assert found.group(1) == settings_table(), "README's settings table is stale: run `python -m lowalt.settings`"
    for f in fields(Settings):
        assert f"`LOWALT_{f.name.upper()}`" in found.group(1)


def test_every_field_is_read_from_the_environment(tmp_path: Path) -> None:
    env = {"LOWALT_DATABASE_URL": "postgresql+asyncpg://u:p@h/db", "LOWALT_DATA_DIR": str(tmp_path),
           "LOWALT_HOST": "0.0.0.0", "LOWALT_PORT": "9001", "LOWALT_AIRSPACE_DIR": str(tmp_path / "air"),
           "LOWALT_DEM_PATH": str(tmp_path / "dem.tif"), "LOWALT_LOG_LEVEL": "debug", "LOWALT_LOG_JSON": "false",
           "LOWALT_ACCESS_LOG": "1", "LOWALT_WS_COMPRESSION": "1", "LOWALT_TICK_S": "0.5", "LOWALT_MONITOR_PROCESS": "0", "LOWALT_LOOKAHEAD_S": "90",
           "LOWALT_COAST_AFTER_S": "2", "LOWALT_LOST_AFTER_S": "20", "LOWALT_NATS_URL": "nats://127.0.0.1:4222",
           "LOWALT_NODE_ID": "node-2", "LOWALT_NODE_ROLES": "history", "LOWALT_MONITOR_SHARDS": "2", "LOWALT_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
           "LOWALT_BASEMAP_PMTILES": str(tmp_path / "area.pmtiles"), "LOWALT_ANALYTICS_ROLLUP_S": "60",
           "LOWALT_HISTORY_RETENTION_DAYS": "30"}
    (tmp_path / "area.pmtiles").write_bytes(b"PMTiles")  # an existing file: the setting checks that
    s = Settings.from_env(env)
    defaults = Settings()
    for f in fields(Settings):  # a new field without an environment test fails here
        assert getattr(s, f.name) != getattr(defaults, f.name), f.name
    assert (s.port, s.tick_s, s.lookahead_s, s.log_level, s.log_json) == (9001, 0.5, 90.0, "DEBUG", False)
    assert Settings.from_env({"LOWALT_DEM": "/srv/dem.tif"}).dem_path == Path("/srv/dem.tif")  # older name
    assert Settings.from_env({"LOWALT_PORT": ""}) == defaults  # empty means unset


def test_database_url_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("postgresql+asyncpg://u:secret@h/db\n")
    assert Settings.from_env({"LOWALT_DATABASE_URL_FILE": str(secret)}).database_url == "postgresql+asyncpg://u:secret@h/db"


def test_bad_values_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="port"):
        Settings.from_env({"LOWALT_PORT": "eighty"})
    with pytest.raises(ValidationError, match="tick_s"):
        Settings.from_env({"LOWALT_TICK_S": "-1"})
    with pytest.raises(ValidationError, match="basemap_pmtiles"):
        Settings.from_env({"LOWALT_BASEMAP_PMTILES": "/no/such/file.pmtiles"})  # refused at start-up, not at the first tile
    with pytest.raises(ValidationError, match="lookahead_s"):
        replace(Settings(), lookahead_s=0)  # overrides are validated too
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)  # type: ignore[call-arg]


def test_keyword_construction_and_replace_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOWALT_TICK_S", "7")
    assert Settings().tick_s == 1.0
    s = replace(Settings(tick_s=0.5), port=9000)
    assert (s.tick_s, s.port) == (0.5, 9000)
    assert Settings.from_env().tick_s == 7.0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_logs_follow_the_terminal_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert Settings().json_logs() is True  # a pipe or a file: JSON lines
    assert Settings(log_json=False).json_logs() is False
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert Settings().json_logs() is False  # a terminal: text
    assert Settings(log_json=True).json_logs() is True
