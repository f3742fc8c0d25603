"""RFC 9457 problem details: every error the API answers, one shape, no stack traces.

Errors are mapped by type: the core's, the channels' (which carry `http_status`), the
rules', authentication, and request validation. Each problem names the field and
value involved where there is one, so a client can fix its request without logs.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from channels import ChannelError
from channels.errors import preview
from router.auth import Forbidden, Unauthenticated
from router.errors import (
    AgentBusy,
    AgentUnavailable,
    ConfigError,
    IllegalTransition,
    NotHeldByAgent,
    OmnirouteError,
    StoreUnavailable,
    UnknownAgent,
    UnknownInteraction,
    UnknownQueue,
)
from router.runtime import ChangeRefused, InvalidReference
from rules import (
    NoDraft,
    NothingPublished,
    RulesetInvalid,
    UnknownVersion,
    VersionConflict,
)

log = logging.getLogger("omniroute.api")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://omniroute.dev/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details (plus `errors` for field-level validation findings)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://omniroute.dev/problems/unknown-interaction",
                    "title": "Unknown interaction",
                    "status": 404,
                    "detail": "unknown interaction 'email-0f3a'",
                    "instance": "/interactions/email-0f3a",
                    "interaction_id": "email-0f3a",
                }
            ]
        },
    )

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int = Field(ge=400, le=599, description="The HTTP status, repeated")
    detail: str
    instance: str | None = Field(default=None, description="The request path")
    # Extension members (RFC 9457 §3.2): present when the problem has them.
    field: str | None = Field(default=None, description="The offending field: a body "
                              "path like `skills.billing` or `0.team`, or a parameter")
    value: str | None = Field(default=None, description="The offending value, shown "
                              "(repr, truncated)")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Every finding: field-level validation errors "
        "(`in`, `field`, `message`, `value`) or ruleset findings (`kind`, `rule`, `line`…)")
    warnings: list[dict[str, Any]] | None = Field(default=None,
                                                  description="Ruleset warnings")
    limit: int | None = Field(default=None, description="The body cap in bytes (413)")


def problem(
    status: int, slug: str, title: str, detail: str, instance: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses a route may answer."""
    titles = {
        400: "Malformed request", 401: "Missing or invalid token",
        403: "Not allowed for this token", 404: "Not found", 409: "Conflicting state",
        412: "Stale version (If-Match)", 413: "Body too large", 415: "Unsupported media type",
        422: "Invalid field", 428: "If-Match required",
    }
    return {
        status: {
            "model": Problem,
            "description": titles.get(status, "Problem"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


#: Core and rules errors: (status, slug, title, fields to copy onto the problem).
_MAPPED: Sequence[tuple[type[Exception], int, str, str, tuple[str, ...]]] = (
    (UnknownInteraction, 404, "unknown-interaction", "Unknown interaction",
     ("interaction_id",)),
    (UnknownAgent, 404, "unknown-agent", "Unknown agent", ("agent_id",)),
    (UnknownQueue, 422, "unknown-queue", "Unknown queue", ("queue",)),
    (UnknownVersion, 404, "unknown-version", "Unknown ruleset version", ("version",)),
    (NoDraft, 404, "no-draft", "No draft ruleset", ()),
    (NothingPublished, 409, "nothing-published", "No ruleset published", ()),
    (IllegalTransition, 409, "illegal-transition", "Illegal transition",
     ("interaction_id", "current", "target")),
    (NotHeldByAgent, 409, "not-held-by-agent", "Not held by this agent",
     ("interaction_id", "agent_id", "holder")),
    (AgentUnavailable, 409, "agent-unavailable", "Agent unavailable",
     ("agent_id", "presence")),
    (AgentBusy, 409, "agent-busy", "Agent busy", ("agent_id", "presence", "held")),
    (VersionConflict, 412, "version-conflict", "Stale ruleset version",
     ("base_version", "current_version")),
)


def _omniroute_error(request: Request, exc: Exception) -> JSONResponse:
    path = request.url.path
    for kind, status, slug, title, fields in _MAPPED:
        if isinstance(exc, kind):
            extra = {name: getattr(exc, name, None) for name in fields}
            return problem(status, slug, title, str(exc), path, **extra)
    if isinstance(exc, StoreUnavailable):
        # Transient: the client retries; the store recovers by itself (no state changed).
        return problem(503, "store-unavailable", "Store unavailable", str(exc), path,
                       headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, Unauthenticated):
        return problem(401, "unauthenticated", "Unauthenticated", exc.reason, path,
                       headers={"WWW-Authenticate": 'Bearer realm="omniroute"'})
    if isinstance(exc, Forbidden):
        return problem(403, "forbidden", "Forbidden", str(exc), path)
    if isinstance(exc, InvalidReference):
        return problem(422, "invalid-field", "Invalid field", str(exc), path,
                       field=exc.field, value=_shown(exc.value))
    if isinstance(exc, ChangeRefused):
        return problem(409, "change-refused", "Change refused", str(exc), path,
                       errors=[problem_json(p) for p in exc.errors] or None)
    if isinstance(exc, RulesetInvalid):
        return problem(422, "ruleset-invalid", "Invalid ruleset", str(exc).splitlines()[0],
                       path, errors=[problem_json(p) for p in exc.problems],
                       warnings=[problem_json(p) for p in exc.warnings])
    if isinstance(exc, ChannelError):
        return _channel_error(exc, path)
    if isinstance(exc, ConfigError):
        return problem(422, "config-error", "Invalid configuration", str(exc), path)
    return problem(400, "bad-request", "Bad request", str(exc), path)


def _channel_error(exc: ChannelError, path: str) -> JSONResponse:
    status = exc.http_status
    slug = type(exc).__name__
    slug = "".join("-" + c.lower() if c.isupper() else c for c in slug).lstrip("-")
    extra: dict[str, Any] = {
        "field": getattr(exc, "field", None),
        "value": _shown(getattr(exc, "value", None)),
        "channel": getattr(exc, "channel", None),
        "limit": getattr(exc, "limit", None),
    }
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Signature realm="webhooks"'}
    title = type(exc).__doc__ or "Channel error"
    return problem(status, slug, title.split(" when ")[0].removeprefix("Raised").strip()
                   or "Channel error", str(exc), path, headers=headers, **extra)


def problem_json(p: Any) -> dict[str, Any]:
    """A rules `Problem` finding as JSON."""
    return {
        "kind": str(p.kind), "severity": str(p.severity), "message": p.message,
        "rule": p.rule, "field": p.field, "value": p.value, "line": p.line,
        "column": p.column,
    }


def _shown(value: object) -> str | None:
    return None if value is None else preview(value)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        # pydantic marks a bad dict key with a trailing "[key]": the key is the field.
        loc = [str(p) for p in err.get("loc", ()) if p != "[key]"]
        # Drop the "body"/"query" prefix from the field path, keep where it came from.
        where = loc[0] if loc else "body"
        field = ".".join(loc[1:]) or where
        value = err.get("input")
        errors.append({
            "in": where,
            "field": field,
            "message": str(err.get("msg", "invalid")),
            "value": None if isinstance(value, dict | list) else _shown(value),
        })
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if first.get("value") is not None:
        detail += f" (got {first['value']})"
    return problem(422, "invalid-field", "Invalid field", detail, request.url.path,
                   field=first["field"], value=first.get("value"), errors=errors)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        # Starlette's Allow names only the first route matching the path; a path
        # served by several routes (GET and PUT /sla/policies) allows them all.
        headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
    slug = {404: "not-found", 405: "method-not-allowed", 406: "not-acceptable",
            413: "payload-too-large", 415: "unsupported-media-type",
            428: "precondition-required"}.get(exc.status_code, "http-error")
    title = slug.replace("-", " ").capitalize()
    return problem(exc.status_code, slug, title, str(exc.detail), request.url.path,
                   headers=headers)


def _allowed(request: Request) -> list[str]:
    """Methods of every operation whose path template matches (from the OpenAPI paths:
    included routers are not flat `Route`s to walk)."""
    methods: set[str] = set()
    path = request.url.path
    for template, item in request.app.openapi().get("paths", {}).items():
        if _template(template).fullmatch(path):
            methods.update(m.upper() for m in item if m in _HTTP_METHODS)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


@functools.lru_cache(maxsize=256)
def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged with the trace for operators; the client only learns that it failed.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal-error", "Internal error",
                   "the server failed to handle this request; it has been logged",
                   request.url.path)


_REF = {"$ref": "#/components/schemas/Problem"}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the handlers above really answer.

    FastAPI documents request-validation failures as `application/json`
    `HTTPValidationError`; ours are `application/problem+json` `Problem`s. Every
    operation that takes parameters or a body may answer 422; every one that takes a
    body may also answer 400 (unparsable) and 413 (over the cap, from `BodyLimit`).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                _document_operation(operation)
    return schema


def _document_operation(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    extra = []
    if operation.get("parameters") or operation.get("requestBody"):
        extra.append("422")
    if operation.get("requestBody"):
        extra += ["400", "413"]
    for status in extra:
        documented = responses.get(status)
        if documented is None or "HTTPValidationError" in str(documented):
            responses[status] = {
                "description": {"400": "Malformed request", "413": "Body too large",
                                "422": "Invalid field"}[status],
                "content": {PROBLEM_JSON: {"schema": _REF}},
            }


#: Exception type → handler, most specific first (Starlette picks by the MRO; none of
#: these types derives from another but `Exception`).
_HANDLERS: Sequence[tuple[type[Exception], Callable[[Request, Exception], JSONResponse]]] = (
    (OmnirouteError, _omniroute_error),
    (RequestValidationError, _validation_error),
    (StarletteHTTPException, _http_error),
    (Exception, _unexpected),
)


def answer(request: Request, exc: Exception) -> JSONResponse:
    """The problem a handler installed by `install` would answer for `exc` — for code
    that serves a route outside FastAPI's exception handling (`ingest_lane`)."""
    for kind, handler in _HANDLERS:
        if isinstance(exc, kind):
            return handler(request, exc)
    raise AssertionError("unreachable: Exception matches every exception")


def install(app: FastAPI) -> None:
    for kind, handler in _HANDLERS:
        app.add_exception_handler(kind, handler)
