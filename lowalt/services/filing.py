"""Composition of the filing service: filing's use cases (``lowalt.filing``) on the store's repositories.

``lowalt.store.filing_repo`` builds filing's domain objects (plans, bookings, warnings), so filing must
not import the store: the repositories are handed to :class:`~lowalt.filing.service.FilingService`
here, where both parts may be imported (no ``lowalt.filing <-> lowalt.store`` import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import AirspaceSet
from lowalt.filing.policy import Policy, load_policy
from lowalt.filing.service import FilingService
from lowalt.geo.terrain import TerrainModel
from lowalt.store import coordination_repo, filing_repo, pilot_repo
from lowalt.store.db import Database

_AIRSPACE_CACHE: dict[str, AirspaceSet] = {}


def filing_service(db: Database, airspace: AirspaceSet, policy: Policy, *, terrain: TerrainModel | None = None,
                   index: AirspaceIndex | None = None) -> FilingService:
    """A filing service on ``db`` with PostGIS's repositories (not started); government fleets' standing
    approvals and the preemption audit from ``coordination_repo`` (issue #19)."""
    return FilingService(db, airspace, policy, repo=filing_repo, pilots=pilot_repo, terrain=terrain, index=index,
                         fleets=coordination_repo)


async def build_filing_service(settings: Any, db: Database, airspace: Any = None) -> FilingService:
    """The area's airspace and policy (``settings.airspace_dir``), started on ``db``.

    ``airspace``: the airspace service, if running: filing then shares its index (and so its
    live restrictions) and listens for changes to withdraw plans a new restriction forbids.
    """
    path = Path(settings.airspace_dir)
    index = getattr(airspace, "index", None)
    if index is not None:
        aset = index.airspace
    else:
        key = str(path.resolve())
        if key not in _AIRSPACE_CACHE:  # immutable data: load once per process
            _AIRSPACE_CACHE[key] = load_airspace(path)
        aset = _AIRSPACE_CACHE[key]
    svc = filing_service(db, aset, load_policy(path / "policy.yaml"), index=index)
    await svc.start()
    listeners = getattr(airspace, "listeners", None)
    if isinstance(listeners, list):
        listeners.append(svc.on_airspace_changed)
        svc.airspace_listeners = listeners
    return svc
