"""Feeds tests: an app with a feeds file, aircraft registered through the API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from lowalt.settings import Settings
from lowalt.store.db import Database
from tests.conftest import Server, auth, serving

os.environ.setdefault("MAVLINK20", "1")  # before any pymavlink import (mavutil reads it once)

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
ORG = "fleet-mav"


async def register(server: Server, make_token: Any, org: str, ids: dict[str, str]) -> None:
    """Register ``ids`` (id -> category) for ``org`` through the API, as its operator."""
    op = await make_token("operator", organisation=org)
    for aid, category in ids.items():
        r = await server.http.post("/aircraft", headers=auth(op), json={"id": aid, "category": category})
        assert r.status_code == 201, r.text


@pytest.fixture
def feeds_server(database: Database, settings: Settings, tmp_path: Path
                 ) -> Callable[[dict[str, Any]], AbstractAsyncContextManager[Server]]:
    """``async with feeds_server(doc) as srv``: the app with ``doc`` as its feeds file, tick 0.5 s,
    tracks ending 3 s after their last report."""

    @asynccontextmanager
    async def _serve(doc: dict[str, Any]) -> AsyncIterator[Server]:
        from lowalt.api.app import create_app

        path = tmp_path / "feeds.yaml"
        path.write_text(yaml.safe_dump(doc))
        app = create_app(replace(settings, tick_s=0.5, lost_after_s=3.0, feeds_file=path), db=database)
        async with serving(app) as srv:
            yield srv

    return _serve


def mavlink_doc(port: int = 0) -> dict[str, Any]:
    return {"mavlink": [{"gateway": "gw1", "listen": f"127.0.0.1:{port}", "organisation": ORG, "systems": {
        7: {"aircraft": "MAV-07", "key_hex": KEY_A.hex()},
        8: {"aircraft": "MAV-08", "key_hex": KEY_B.hex()}}}]}
