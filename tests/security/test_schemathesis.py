"""A bounded schemathesis run over the served OpenAPI document: no server errors, every response's status
code, content type and body conform to what the document declares (error model included)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from tests.conftest import Server
from tests.security.conftest import User, UserFactory

EXAMPLES = int(os.environ.get("LOWALT_SCHEMATHESIS_EXAMPLES", "20"))
"""Examples per operation (about a minute in all at 20); raise it for a longer hunt."""


async def test_openapi_fuzz_no_server_errors_and_conforming_responses(server: Server, new_user: UserFactory) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    admin, operator = await new_user("admin"), await new_user("operator", "org-fuzz")
    document = (await server.http.get("/openapi.json")).json()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    failures: list[str] = []
    calls = 0

    def fuzz_operation(operation: Any, user: User) -> None:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            nonlocal calls
            calls += 1
            try:
                case.call_and_validate(base_url=server.url, headers=user.headers, checks=checks, timeout=30)
            except (Exception, BaseExceptionGroup) as exc:  # collect; fuzz the other operations
                if len(failures) < 50:
                    failures.append(f"{operation.label} as {user.role}: {str(exc)[:600]}")

        fuzz()

    def run() -> None:
        for result in schemathesis.openapi.from_dict(document).get_all_operations():
            for user in (admin, operator):
                fuzz_operation(result.ok(), user)

    await asyncio.to_thread(run)
    assert calls > 100
    assert not failures, "\n\n".join(failures)
