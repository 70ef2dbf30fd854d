"""Assemble the live service from settings: registry from PostGIS, terrain, airspace, monitor."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from lowalt.bus import Bus
from lowalt.conflict.intrusion import IntrusionVolumes
from lowalt.live.monitor import ConflictMonitor, category_code
from lowalt.live.monitor_process import MonitorParams, ProcessMonitor
from lowalt.live.service import AircraftInfo, LiveConfig, LiveService
from lowalt.live.shards import halo_m
from lowalt.metrics import Metrics
from lowalt.settings import Settings
from lowalt.store.db import Database
from lowalt.store.tables import aircraft

log = logging.getLogger(__name__)


class IntrusionCache:
    """Active no-fly/restricted volumes for the monitor, rebuilt once a minute or when restrictions change."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self._key: tuple[int, int] | None = None
        self._value: IntrusionVolumes | None = None
        self.version = 0

    def invalidate(self) -> None:
        self.version += 1

    def __call__(self, now: float) -> IntrusionVolumes | None:
        key = (int(now // 60), self.version)
        if key != self._key:
            iv = self.index.intrusion_volumes(datetime.fromtimestamp(now, tz=UTC))
            self._value = iv if len(iv.ids) else None
            self._key = key
        return self._value


async def load_registry(db: Database) -> list[AircraftInfo]:
    async with db.unit_of_work() as uow:
        rows = (await uow.conn.execute(select(aircraft))).mappings().all()
    return [AircraftInfo(r["id"], r["category"], r["organisation"], r["device_user_id"], bool(r["suspended"]))
            for r in rows]


async def build_live_service(
    settings: Settings, db: Database, metrics: Metrics, *, airspace: Any | None = None, bus: Bus | None = None,
) -> LiveService:
    """The live service on ``bus`` (None: the in-process one) with this node's roles from the settings."""
    intrusion = IntrusionCache(airspace) if airspace is not None else None
    monitor: ConflictMonitor | ProcessMonitor
    if settings.monitor_process:
        monitor = ProcessMonitor(MonitorParams(lookahead_s=settings.lookahead_s, predict_max_s=settings.lost_after_s),
                                 intrusion_source=intrusion)
    else:
        monitor = ConflictMonitor(lookahead_s=settings.lookahead_s, intrusion_source=intrusion,
                                  predict_max_s=settings.lost_after_s)
    terrain = airspace.terrain if airspace is not None else None
    if terrain is None:
        from lowalt.geo.terrain import default_terrain

        terrain = default_terrain()
    from lowalt.airspace.validate import SERVICE_AREA_BBOX

    monitor.terrain = terrain
    live = LiveService(db, metrics, monitor=monitor, terrain=terrain,
                       config=LiveConfig(tick_s=settings.tick_s, service_bbox=SERVICE_AREA_BBOX,
                                         coast_after_s=settings.coast_after_s, lost_after_s=settings.lost_after_s),
                       category_code=category_code, bus=bus, node_id=settings.node_id,
                       monitor_role=settings.has_role("monitor"), history_role=settings.has_role("history"),
                       shards=settings.monitor_shards, halo=halo_m(settings.lookahead_s))
    live.intrusion_cache = intrusion  # type: ignore[attr-defined]
    for info in await load_registry(db):
        live.register_aircraft(info, announce=False)
    return live
