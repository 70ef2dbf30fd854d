"""Errors and log hygiene: an unexpected error is answered 500 and logged once with its traceback; a
handled condition (database away) is answered 503 and logged once at WARNING without a traceback, its
repeats rate-limited; the OpenAPI document declares the error responses."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from lowalt.api import authz
from lowalt.identity.model import Role
from lowalt.logging_setup import _LIMITED, log_limited
from lowalt.store.db import DatabaseUnavailable
from tests.conftest import auth


@pytest.fixture
def failing_routes(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> httpx.AsyncClient:
    app = client.app  # type: ignore[attr-defined]

    async def boom() -> None:
        raise RuntimeError("something nobody expected")

    async def db_gone() -> None:
        raise DatabaseUnavailable("connection refused")

    app.add_api_route("/test/boom", boom, methods=["GET"])
    app.add_api_route("/test/db-gone", db_gone, methods=["GET"])
    for path in ("/test/boom", "/test/db-gone"):
        monkeypatch.setitem(authz.RULES, ("GET", path), authz.Rule({Role.VIEWER: authz.Access.ALL}))
    return client


async def test_unexpected_error_is_500_json_and_logged_once(failing_routes: httpx.AsyncClient, make_token,  # type: ignore[no-untyped-def]
                                                            caplog: pytest.LogCaptureFixture) -> None:
    viewer = await make_token("viewer")
    caplog.set_level(logging.INFO)
    r = await failing_routes.get("/test/boom", headers=auth(viewer))
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert "nobody expected" not in r.text  # no internals to the client
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1, [rec.getMessage() for rec in errors]
    assert errors[0].exc_info is not None and errors[0].getMessage() == "unhandled_error"


async def test_database_loss_is_503_logged_once_without_traceback(failing_routes: httpx.AsyncClient, make_token,  # type: ignore[no-untyped-def]
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    viewer = await make_token("viewer")
    caplog.set_level(logging.INFO)
    _LIMITED.pop("database_unavailable", None)  # as if this were the first outage in a minute
    for _ in range(20):
        r = await failing_routes.get("/test/db-gone", headers=auth(viewer))
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
    logged = [rec for rec in caplog.records if rec.getMessage() == "database_unavailable"]
    assert len(logged) == 1
    assert all(rec.levelno == logging.WARNING and rec.exc_info is None for rec in logged)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_log_limited_logs_once_then_counts(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("lowalt.test")
    event = f"flaky_{uuid.uuid4().hex[:6]}"
    caplog.set_level(logging.INFO)
    results = [log_limited(log, logging.WARNING, event, detail="x") for _ in range(100)]
    assert results[0] and not any(results[1:])
    assert [rec.getMessage() for rec in caplog.records].count(event) == 1
    assert log_limited(log, logging.WARNING, event, every_s=0.0)  # the interval passed: logged, with the count
    last = caplog.records[-1]
    assert last.getMessage() == event and last.suppressed == 99  # type: ignore[attr-defined]


async def test_openapi_declares_error_responses(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    op = doc["paths"]["/aircraft"]["post"]
    for status in ("401", "403", "404", "409", "413", "422"):
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        assert schema["properties"]["error"]["properties"]["code"]["type"] == "string"
    assert "401" in doc["paths"]["/plans"]["get"]["responses"]
