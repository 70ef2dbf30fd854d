"""One ``Settings`` object, built once at start-up from the environment and overridden in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_AIRSPACE = Path(__file__).resolve().parent.parent / "airspace_data" / "fuliang"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    """External database (``LOWALT_DATABASE_URL``); ``None`` means the managed local PostGIS."""
    data_dir: Path = field(default_factory=lambda: Path(".lowalt"))
    """Where the managed cluster and other local state live (``LOWALT_DATA_DIR``)."""
    host: str = "127.0.0.1"
    port: int = 8000
    airspace_dir: Path = DEFAULT_AIRSPACE
    """Airspace data set loaded into the store at start-up when the store is empty."""
    dem_path: Path | None = None
    """A GeoTIFF DEM (``LOWALT_DEM``) for AGL/AMSL; default: the approximate built-in grid."""
    log_level: str = "INFO"
    log_json: bool = True
    tick_s: float = 1.0
    """Period of the surveillance/conflict tick loop in seconds."""
    lookahead_s: float = 60.0
    coast_after_s: float = 3.0
    """A track with no report for this long (report time) is shown as coasting (``LOWALT_COAST_AFTER_S``)."""
    lost_after_s: float = 10.0
    """A track whose latest report is this old ends: landed, or lost contact (``LOWALT_LOST_AFTER_S``)."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        s = cls()
        updates: dict[str, object] = {}
        if e.get("LOWALT_DATABASE_URL"):
            updates["database_url"] = e["LOWALT_DATABASE_URL"]
        elif e.get("LOWALT_DATABASE_URL_FILE"):  # docker secrets: keep the password out of the environment
            updates["database_url"] = Path(e["LOWALT_DATABASE_URL_FILE"]).read_text().strip()
        if e.get("LOWALT_DATA_DIR"):
            updates["data_dir"] = Path(e["LOWALT_DATA_DIR"])
        if e.get("LOWALT_HOST"):
            updates["host"] = e["LOWALT_HOST"]
        if e.get("LOWALT_PORT"):
            updates["port"] = int(e["LOWALT_PORT"])
        if e.get("LOWALT_AIRSPACE_DIR"):
            updates["airspace_dir"] = Path(e["LOWALT_AIRSPACE_DIR"])
        if e.get("LOWALT_DEM"):
            updates["dem_path"] = Path(e["LOWALT_DEM"])
        if e.get("LOWALT_LOG_LEVEL"):
            updates["log_level"] = e["LOWALT_LOG_LEVEL"].upper()
        if e.get("LOWALT_LOG_JSON"):
            updates["log_json"] = e["LOWALT_LOG_JSON"].lower() not in ("0", "false", "no")
        for name in ("tick_s", "lookahead_s", "coast_after_s", "lost_after_s"):
            if e.get(f"LOWALT_{name.upper()}"):
                updates[name] = float(e[f"LOWALT_{name.upper()}"])
        return replace(s, **updates)  # type: ignore[arg-type]
