"""The airspace service: PostGIS is the record, an ``AirspaceIndex`` in memory answers queries.

At start-up an empty store is seeded from the data files (``airspace_data/<area>``); from then on
the store is loaded, so restrictions issued by the centre survive restarts. A restriction is
committed first and only then put into the index, and listeners (the live monitor's intrusion
cache, the filing service) are told at once: "temporary restrictions take effect immediately".
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import Restriction
from lowalt.airspace.validate import validate_airspace
from lowalt.geo.terrain import TerrainModel, default_terrain, load_geotiff
from lowalt.store import airspace_repo
from lowalt.store.db import Database

log = logging.getLogger(__name__)


class AirspaceDataInvalid(RuntimeError):
    pass


class DuplicateRestriction(ValueError):
    pass


def load_terrain(dem_path: Path | None) -> TerrainModel:
    """The user's GeoTIFF DEM when configured, else the approximate default grid."""
    return load_geotiff(dem_path) if dem_path else default_terrain()


@dataclass
class AirspaceService:
    db: Database
    index: AirspaceIndex
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    async def open(cls, db: Database, data_dir: Path, terrain: TerrainModel) -> AirspaceService:
        now = datetime.now(UTC)
        async with db.unit_of_work() as uow:
            if await airspace_repo.feature_count(uow.conn) == 0:
                problems = validate_airspace(data_dir)
                if problems:
                    raise AirspaceDataInvalid("; ".join(f"{p.file}:{p.feature_id}: {p.message}" for p in problems[:10]))
                n = await airspace_repo.replace_airspace(uow.conn, load_airspace(data_dir))
                await uow.commit()
                log.info("airspace_seeded", extra={"features": n, "from": str(data_dir)})
        async with db.unit_of_work() as uow:
            aset = await airspace_repo.load_airspace_set(uow.conn, data_dir.name,
                                                         restrictions_after=now - timedelta(days=1))
        return cls(db, AirspaceIndex(aset, terrain))

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    async def add_restriction(self, r: Restriction) -> Restriction:
        async with self.db.unit_of_work() as uow:
            if await airspace_repo.restriction_exists(uow.conn, r.id):
                raise DuplicateRestriction(f"restriction {r.id!r} already exists")
            await airspace_repo.insert_restriction(uow.conn, r)
            await uow.commit()
        self.index.add_restriction(r)
        self._changed()
        log.info("restriction_added", extra={"id": r.id, "by": r.created_by, "start": r.start.isoformat()})
        return r

    async def remove_restriction(self, restriction_id: str) -> bool:
        async with self.db.unit_of_work() as uow:
            found = await airspace_repo.delete_restriction(uow.conn, restriction_id, datetime.now(UTC))
            await uow.commit()
        if found:
            self.index.remove_restriction(restriction_id)
            self._changed()
        return found

    @staticmethod
    def new_restriction_id() -> str:
        return f"TR-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
