"""The OpenAPI document types every answer: no untyped (``{}`` or bare-object) response schema, and every
route declares the error responses it can give, with the one error model.

Generated from the app's document, so a new route without a response model or without its error
responses fails here (the bounded schemathesis run then checks that answers match what is declared)."""

from __future__ import annotations

from typing import Any

import pytest

from lowalt.api import authz
from lowalt.api.app import create_app
from lowalt.settings import Settings

META = {"title", "description", "examples", "example", "default", "format"}
WITH_BODY = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def untyped(schema: dict[str, Any] | None, components: dict[str, Any], depth: int = 0) -> bool:
    """Whether a schema says nothing a client could check: ``{}``, an object without properties that
    admits anything, or an array of such."""
    if schema is None:
        return True
    if "$ref" in schema:
        return depth < 5 and untyped(components[schema["$ref"].rsplit("/", 1)[1]], components, depth + 1)
    if not set(schema) - META:
        return True
    if schema.get("type") == "object" and not schema.get("properties"):
        extra = schema.get("additionalProperties", True)
        return extra is True or extra == {} or (isinstance(extra, dict) and untyped(extra, components, depth + 1))
    if schema.get("type") == "array":
        return untyped(schema.get("items"), components, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return any(untyped(s, components, depth + 1) for s in schema[key] if s.get("type") != "null")
    return False


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_response_is_typed(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    problems = []
    for method, path, op in _operations(document):
        for status, response in op.get("responses", {}).items():
            content = response.get("content") or {}
            if not content and status.startswith("2") and status != "204":
                problems.append(f"{method.upper()} {path} {status}: no content declared")
            for media, body in content.items():
                if untyped(body.get("schema"), components):
                    problems.append(f"{method.upper()} {path} {status} {media}: untyped {body.get('schema')}")
    assert not problems, "\n".join(problems)


def expected_errors(method: str, path: str, op: dict[str, Any]) -> set[str]:
    """The error responses a route must declare: what the guard and the handlers can answer."""
    rule = authz.rule_for(method.upper(), path)
    if rule is not None and rule.public:
        return set()
    codes = {"401", "403", "422", "503"}  # token, role, validation, database away
    if "{" in path:
        codes.add("404")  # the named thing may not exist (or not be the caller's: the same answer)
    if method in WITH_BODY:
        codes |= {"400", "409", "413"}  # malformed JSON; a change can conflict with the state; bodies have a limit
    return codes


def test_every_route_declares_its_error_responses_with_the_error_model(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    problems = []
    for method, path, op in _operations(document):
        declared = op.get("responses", {})
        missing = sorted(expected_errors(method, path, op) - set(declared))
        if missing:
            problems.append(f"{method.upper()} {path}: no {', '.join(missing)} declared")
        for status, response in declared.items():
            if status in ("400", "401", "403", "404", "409", "413", "422") or (status == "503" and path != "/healthz"):
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if "$ref" in schema:
                    schema = components[schema["$ref"].rsplit("/", 1)[1]]
                if "error" not in schema.get("properties", {}):
                    problems.append(f"{method.upper()} {path} {status}: not the error model ({schema})")
    assert not problems, "\n".join(problems)


def test_the_checks_can_fail() -> None:
    """The walker is not vacuous: it flags what FastAPI emits for an untyped ``dict`` answer."""
    assert untyped({}, {})
    assert untyped({"type": "object", "additionalProperties": True, "title": "Response"}, {})
    assert untyped({"type": "array", "items": {"type": "object"}}, {})
    assert untyped({"$ref": "#/components/schemas/X"}, {"X": {"title": "X"}})
    assert not untyped({"type": "object", "properties": {"id": {"type": "string"}}}, {})
    assert not untyped({"type": "string"}, {})
    assert expected_errors("post", "/plans/{plan_id}/cancel", {}) == {"400", "401", "403", "404", "409", "413", "422",
                                                                      "503"}
    assert expected_errors("get", "/healthz", {}) == set()
