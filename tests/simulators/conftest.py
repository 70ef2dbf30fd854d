"""Reuse the live tests' real-server fixture (uvicorn in this loop, fresh PostGIS database)."""

from tests.live.conftest import server  # noqa: F401
