"""A server of the simulator's own (no ``--url``): ``lowalt serve`` on the managed PostGIS.

This is the only place the simulator touches the store directly, and only to bootstrap: an
admin token is written before the server starts (there is no other way to get the first
token), exactly as ``lowalt bench pipeline`` seeds its fleet. Everything after that goes
through the public API.

``sim_policy``: the real Fuliang policy (airspace_data/fuliang/policy.yaml) requires eVTOL,
helicopter and G-layer drone flights to be filed by 12:00/15:00 the day before, so a live
simulation cannot fly them. For a self-started server the simulator can use a copy of the
airspace folder whose policy shortens those cut-offs to same-day (a "local agreement", which
the policy file supports for the standard pathway). It is never applied to a server given
with ``--url``. The same copy opens vertiports and releases routes round the clock (their
opening hours / release schedules are cleared), because a demo may run at 3 a.m. local time.
Volumes (including their schedules) are untouched. The server seeds its store from this folder
only when the store is empty, so a simulation-policy server always gets a data folder of its own
(``policy_data_dir``) and never shares a store seeded with the real hours.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from lowalt.launch import ServerProcess, start_serve

AIRSPACE_DIR = Path(__file__).resolve().parent.parent / "airspace_data" / "fuliang"


def policy_data_dir(data_dir: Path) -> Path:
    """The data folder for a simulation-policy server next to ``data_dir`` (a store of its own)."""
    return data_dir.parent / f"{data_dir.name}-policy"


def sim_policy_dir(data_dir: Path, source: Path = AIRSPACE_DIR) -> Path:
    """Copy of the airspace folder with same-day filing cut-offs (see module docstring)."""
    out = data_dir / "airspace-sim"
    out.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        if f.is_file() and f.name not in ("policy.yaml", "points.geojson", "routes.geojson"):
            shutil.copy2(f, out / f.name)
    for name, key in (("points.geojson", "opening_hours"), ("routes.geojson", "schedule")):
        fc = json.loads((source / name).read_text(encoding="utf-8"))
        for feat in fc["features"]:
            feat["properties"][key] = None  # round the clock: a demo may run at 3 a.m. local time
        (out / name).write_text(json.dumps(fc, ensure_ascii=False, indent=1), encoding="utf-8")
    pol = yaml.safe_load((source / "policy.yaml").read_text(encoding="utf-8"))
    note = "SIMULATION ONLY (simulators/server.py): same-day cut-off so live simulated flights can be filed"
    for key in ("long_term_corridor", "crewed_ga", "standard"):
        sect = pol["pathways"][key]
        sect["cutoff_days_before"] = 0
        sect["cutoff_local"] = "23:59"
        sect["article"] = f"{sect.get('article', '')} [{note}]"
    pol["pathways"]["standard"]["local_lead_time_min"] = None
    pol["pathways"]["crewed_ga"]["urgent_lead_time_min"] = 0
    if isinstance(pol.get("night"), dict):  # round the clock: day-only missions (spraying, survey) fly at night too
        pol["night"]["day_only_missions"] = []
    (out / "policy.yaml").write_text(yaml.safe_dump(pol, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


async def seed_admin(data_dir: Path, name: str = "sim-admin") -> str:
    """Start the managed cluster (if needed), migrate, and issue an admin token."""
    from lowalt.identity.model import Role
    from lowalt.settings import Settings
    from lowalt.store import identity_repo
    from lowalt.store.db import open_database

    db = await open_database(Settings(data_dir=data_dir))
    try:
        async with db.unit_of_work() as uow:
            try:
                uid = await identity_repo.user_id_by_name(uow.conn, name)
            except identity_repo.UnknownUser:
                uid = await identity_repo.add_user(uow.conn, name, Role.ADMIN, None)
            token = await identity_repo.issue_token(uow.conn, uid, label="simulator bootstrap")
            await uow.commit()
        return str(token)
    finally:
        await db.close(stop_cluster=False)


@dataclass
class LocalServer:
    server: ServerProcess
    admin_token: str
    data_dir: Path
    cluster_started: bool

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    def stop(self, *, stop_cluster: bool = True) -> None:
        """SIGTERM the server (graceful), then stop the cluster if this run started it."""
        self.server.stop()
        if stop_cluster and self.cluster_started:
            from lowalt.store.cluster import ManagedCluster

            ManagedCluster(self.data_dir).stop()


def start_local_server(data_dir: Path, *, port: int | None = None, host: str = "127.0.0.1",
                       sim_policy: bool = False, quiet: bool = True, tick_s: float | None = None) -> LocalServer:
    from lowalt.store.cluster import ManagedCluster

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    was_running = ManagedCluster(data_dir).running()
    token = asyncio.run(seed_admin(data_dir))
    env = {"LOWALT_DATA_DIR": str(data_dir), "LOWALT_LOG_LEVEL": "WARNING"}
    if sim_policy:
        env["LOWALT_AIRSPACE_DIR"] = str(sim_policy_dir(data_dir))
    if tick_s:
        env["LOWALT_TICK_S"] = str(tick_s)
    # its own session: a terminal's Ctrl-C reaches the simulator, which stops the server in order
    server = start_serve(env, port=port, host=host, quiet=quiet, own_session=True)
    return LocalServer(server, token, data_dir, not was_running)
