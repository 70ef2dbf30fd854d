"""One ``Settings`` object, built once at start-up from the environment and overridden in tests.

``Settings`` is a frozen (pydantic) dataclass: ``Settings(tick_s=0.5)`` builds one from defaults
without looking at the environment, ``dataclasses.replace(settings, port=9000)`` overrides fields (both
validated), and :meth:`Settings.from_env` reads every field from ``LOWALT_<FIELD>`` environment
variables through ``pydantic-settings``. Each field's docstring is its documentation: the README's
settings table is generated from it (``python -m lowalt.settings``; a test keeps them equal).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, FilePath, create_model
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

DEFAULT_AIRSPACE = Path(__file__).resolve().parent.parent / "airspace_data" / "fuliang"
ENV_PREFIX = "LOWALT_"
MONITOR_SHARDS_MAX = 64
"""Most monitor shards a cluster may cut the service area into (``LOWALT_MONITOR_SHARDS``, ``lowalt cluster --shards``)."""


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)]

# extra environment names kept for compatibility (first match wins after LOWALT_<FIELD>)
_ENV_ALIASES: dict[str, tuple[str, ...]] = {"dem_path": ("LOWALT_DEM",)}


@dataclass(frozen=True, config=ConfigDict(use_attribute_docstrings=True, extra="forbid"))
class Settings:
    database_url: str | None = None
    """External PostGIS, `postgresql+asyncpg://user:pass@host/db`; unset: the managed local PostGIS.
    `LOWALT_DATABASE_URL_FILE` names a file holding it (docker secrets)."""
    data_dir: Path = Path(".lowalt")
    """Where the managed cluster and other local state live."""
    host: str = "127.0.0.1"
    """Address the server listens on."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port the server listens on."""
    airspace_dir: Path = DEFAULT_AIRSPACE
    """Airspace data set loaded into the store at start-up when the store is empty."""
    dem_path: Path | None = None
    """A GeoTIFF DEM for AGL/AMSL; unset: the approximate built-in grid."""
    log_level: LogLevel = "INFO"
    """Log level of the server and the command line."""
    log_json: bool | None = None
    """Logs as JSON lines (true) or human-readable text (false); unset: text on a terminal, JSON otherwise."""
    access_log: bool = False
    """uvicorn's access log (every line scrubbed of tokens)."""
    ws_compression: bool = False
    """Offer permessage-deflate on websockets. Off by default: each connection compresses every feed message on its own: about 12 % of the server's CPU at 10,000 aircraft (docs/BENCHMARKS.md); turn it on for map clients on slow links."""
    tick_s: float = Field(default=1.0, gt=0, le=60)
    """Period of the surveillance/conflict tick loop in seconds."""
    monitor_process: bool = True
    """Run the conflict monitor (the tick's conflicts, intrusions, conformance and alert lifecycle) in a process of its own, so it uses another core instead of taking the GIL from ingest and the live feed (docs/BENCHMARKS.md, 30,000 aircraft). `false`: a worker thread of the server (tests, one-core machines)."""
    lookahead_s: float = Field(default=60.0, gt=0, le=600)
    """How far ahead (s) the conflict engine and the intrusion check predict each track."""
    coast_after_s: float = Field(default=3.0, gt=0)
    """A track with no report for this long (report time, s) is shown as coasting."""
    lost_after_s: float = Field(default=10.0, gt=0)
    """A track whose latest report is this old (s) ends: landed, or lost contact."""
    nats_url: str | None = Field(default=None, pattern=r"^(nats|tls|ws|wss)://[^\s/]+(:\d{1,5})?/?$")
    """NATS server with JetStream (`nats://127.0.0.1:4222`) joining this node to a cluster (docs/scale.md); unset: one process, in-process bus."""
    node_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    """This node's name on the bus and in the alert log; unset: a random one at each start."""
    node_roles: str = Field(default="monitor,history", pattern=r"^(none|(monitor|history)(,(monitor|history))?)$")
    """With `LOWALT_NATS_URL`: what this node does besides ingest and the live feed: `monitor` (conflicts and alerts: the nodes with it are candidates; one holds each monitor shard at a time), `history` (writes track history from the bus), both, or `none`."""
    monitor_shards: int = Field(default=1, ge=1, le=MONITOR_SHARDS_MAX)
    """With `LOWALT_NATS_URL`: how many monitor shards split the cells (docs/scale.md, section 3). Each node with the `monitor` role holds one shard's lease (`monitor.<k>`), reads its cells plus a halo and raises only the alerts it owns; a dead shard's cells are taken over by another node within seconds. `1`: one monitor node for every cell. Every node of a cluster must use the same value."""
    basemap_pmtiles: FilePath | None = None
    """A PMTiles archive drawn under the map (a Protomaps vector extract, any vector or raster archive: docs/map.md); unset: the built-in service-area basemap only."""
    feeds_file: Path | None = None
    """A YAML file of device feeds to listen to: MAVLink gateways (UDP, signed), ADS-B receivers (Beast/SBS over TCP) (docs/feeds.md); unset: none."""
    analytics_rollup_s: float = Field(default=20.0, ge=0, le=3600)
    """Period (s) of the analytics roll-up on a node with the `history` role: closed minutes of the live hour, then closed hours (docs/analytics.md); the dashboard reads raw history only for what is not rolled yet. `0`: off."""
    history_retention_days: int = Field(default=0, ge=0, le=36500)
    """Days of raw track history kept before today (Beijing): older day partitions of `track_points` are dropped by the history node's upkeep (the analytics roll-up keeps their hours; docs/scale.md). `0`: keep all."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every field from ``LOWALT_<FIELD>`` (``os.environ``, or ``env`` when given); defaults otherwise.

        Raises ``pydantic.ValidationError`` naming the variable when a value is invalid."""
        source_env = dict(env) if env is not None else None
        loaded = _loader(source_env)()
        values = {f.name: getattr(loaded, f.name) for f in fields(cls)}
        if values["database_url"] is None:
            file_var = (source_env if source_env is not None else os.environ).get("LOWALT_DATABASE_URL_FILE")
            if file_var:  # docker secrets: keep the password out of the environment
                values["database_url"] = Path(file_var).read_text().strip()
        return cls(**values)

    def has_role(self, role: str) -> bool:
        """Whether this node has ``role`` (``monitor``, ``history``); every role without a bus."""
        return not self.nats_url or role in self.node_roles.split(",")

    def json_logs(self) -> bool:
        """Whether logs are JSON lines: ``log_json`` when set, else JSON unless stderr is a terminal."""
        return self.log_json if self.log_json is not None else not sys.stderr.isatty()


def _fields() -> dict[str, FieldInfo]:
    """Settings' fields as pydantic sees them (type, default, bounds, docstring as description)."""
    found: dict[str, FieldInfo] = getattr(Settings, "__pydantic_fields__")  # noqa: B009 (not in the stubs)
    return found


class _EnvBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore",
                                      case_sensitive=False, frozen=True)


def _loader(env: dict[str, str] | None) -> type[BaseSettings]:
    """A pydantic-settings model with Settings' fields (types, defaults, bounds, docs), read from ``env``."""
    specs: dict[str, Any] = {}
    for name, info in _fields().items():
        field = FieldInfo.merge_field_infos(info)
        aliases = _ENV_ALIASES.get(name)
        if aliases:
            field.validation_alias = AliasChoices(ENV_PREFIX + name.upper(), *aliases)
        specs[name] = (info.annotation, field)
    model = create_model("environment", __base__=_EnvBase, **specs)
    if env is None:
        return model

    mapping: Mapping[str, str | None] = env

    class _FromMapping(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return parse_env_vars(mapping, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    class environment(model):  # type: ignore[valid-type,misc]  # noqa: N801 (as pydantic's errors name it)  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (_FromMapping(settings_cls),)

    return environment


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("pathlib.", "").replace("NoneType", "None")
    return text.removeprefix("<class '").removesuffix("'>")


def settings_table() -> str:
    """The README's settings table (Markdown): variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in _fields().items():
        default = info.get_default(call_default_factory=True)
        if name == "airspace_dir":
            shown = "`airspace_data/fuliang`"
        elif default is None:
            shown = "unset"
        else:
            shown = f"`{str(default).lower() if isinstance(default, bool) else default}`"
        names = " / ".join(f"`{n}`" for n in (ENV_PREFIX + name.upper(), *_ENV_ALIASES.get(name, ())))
        doc = " ".join((info.description or "").split())
        rows.append(f"| {names} | {shown} | {doc} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_table())
