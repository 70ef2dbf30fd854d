"""Every error leaves as JSON: ``{"error": {"status", "code", "message", "fields"?}}``.

Validation errors name each offending field (``body.altitude.value``), so a
client can fix the request without reading server logs.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from lowalt.logging_setup import log_limited
from lowalt.store.db import DatabaseUnavailable

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 422: "invalid", 429: "too_many_requests", 500: "internal",
          503: "unavailable"}


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    message_zh: str | None = None
    fields: list[FieldError] | None = None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorDetail


_DESCRIPTIONS = {400: "The body is not well-formed JSON", 401: "No, invalid, expired or revoked token",
                 403: "The role (or a suspended account) may not do this",
                 404: "Not found (or not yours: the same answer)", 409: "Conflicts with the current state",
                 413: "Request body over the size limit", 422: "Invalid request; `fields` names each problem",
                 503: "Database unavailable; retry after `Retry-After`"}


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (usable anywhere in an OpenAPI document)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.rsplit("/", 1)[1]]))
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)  # type: ignore[no-any-return]


_ERROR_SCHEMA = inline_defs(ErrorBody.model_json_schema())
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    for status, text in _DESCRIPTIONS.items()}
"""The error responses every protected route may give, for OpenAPI (``responses=`` on routers)."""


class ApiError(StarletteHTTPException):
    """A refusal with a stable ``code``, the field it is about and a Chinese message (the map and the portal
    show ``message_zh`` first)."""

    def __init__(self, status: int, message: str, message_zh: str, *, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(status, message)
        self.message, self.message_zh, self.code, self.field = message, message_zh, code, field


def error_body(status: int, message: str, *, code: str | None = None,
               fields: list[dict[str, str]] | None = None) -> dict[str, object]:
    err: dict[str, object] = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    if fields:
        err["fields"] = fields
    return {"error": err}


def _field_path(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(p) for p in loc)


NUL_FREE = "^[^\\u0000]*$"
"""JSON Schema pattern of a string without NUL: the guard refuses NUL anywhere in a request (PostgreSQL
text cannot hold it), so the document says so for every string a client sends."""


def declare_nul_free(document: dict[str, Any]) -> dict[str, Any]:
    """Every string in a request (path, query, header, body) declared NUL-free: a ``pattern`` added to
    string schemas that have no pattern, enum or format of their own (the patterns of our own already
    refuse NUL). Component schemas are shared by requests and answers; answers hold no NUL either."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
                node["pattern"] = NUL_FREE
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for ops in document.get("paths", {}).values():
        for op in ops.values():
            if isinstance(op, dict):
                walk(op.get("parameters"))
                walk(op.get("requestBody"))
    walk(document.get("components", {}).get("schemas"))  # shared by requests and answers: NUL in neither
    return document


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for every status, and an OpenAPI document that declares request strings NUL-free."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_nul_free(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, ApiError):
            body = error_body(exc.status_code, exc.message, code=exc.code,
                              fields=[{"field": exc.field, "message": exc.message}] if exc.field else None)
            body["error"]["message_zh"] = exc.message_zh  # type: ignore[index]
            return JSONResponse(body, status_code=exc.status_code)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": _field_path(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return JSONResponse(error_body(422, f"invalid request: {summary}", fields=fields), status_code=422)

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log_limited(log, logging.WARNING, "database_unavailable", detail=str(exc)[:200])
        return JSONResponse(error_body(503, "database unavailable; try again shortly"), status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        from lowalt.store.db import _is_connection_error

        if _is_connection_error(exc):
            return await _db_down(_, DatabaseUnavailable(str(exc)))
        log.exception("unhandled_error")
        return JSONResponse(error_body(500, "internal server error"), status_code=500)
