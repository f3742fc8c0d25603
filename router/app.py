"""The FastAPI application: `create_app(settings | runtime)`.

The app owns nothing but HTTP concerns — routes, auth dependencies, problem responses,
body caps, CORS. Everything else is the `Runtime`, started and stopped by the app's
lifespan. `app_from_env()` is the factory `omniroute serve` hands to uvicorn, so each
worker builds its own runtime from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from router.api import (
    agents,
    customers,
    ingest,
    interactions,
    ops,
    pages,
    problems,
    rules,
    supervisor,
    topology,
    whatif,
)
from router.api.ingest_lane import IngestLane
from router.api.limits import BodyLimit
from router.runtime import Runtime
from router.settings import Settings

DESCRIPTION = """\
Omnichannel universal-queue routing: ingest calls, e-mails, SMS and social messages,
classify them with supervisor rules, and match them to the best agent.

Authenticate with `Authorization: Bearer <token>`. Roles: `ingest` (webhooks,
`POST /interactions`), `agent` (its own desktop routes only), `supervisor`
(everything), `viewer` (read-only). Errors are `application/problem+json` (RFC 9457).
"""

TAGS = [
    {"name": "ingest", "description": "Provider webhooks and generic JSON ingest (202)."},
    {"name": "interactions", "description": "Look up, end or move one interaction."},
    {"name": "agents", "description": "Agent desktop protocol: presence, pull, push, handle."},
    {"name": "supervisors", "description": "Topology, SLA policies, live stats, event stream."},
    {"name": "rules", "description": "Validate, dry-run, what-if, publish (If-Match), diff,"
     " roll back."},
    {"name": "operations", "description": "Metrics, liveness, readiness."},
]


def create_app(source: Settings | Runtime | None = None) -> FastAPI:
    runtime = source if isinstance(source, Runtime) else Runtime.build(source)
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # FastAPI's native OpenTelemetry hooks are off: omniroute's observability is
    # Prometheus (/metrics) and the event stream, and the hooks look up the global OTel
    # providers on every request even when none is configured.
    app = FastAPI(title="omniroute", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    problems.install(app)
    for module in (ingest, interactions, customers, agents, supervisor, topology, rules,
                   whatif, ops):
        app.include_router(module.router)
    pages.install(app)  # /console, /desktop and their static files
    _document_problems(app)
    # Innermost of ours: inside CORS and the body cap, in front of FastAPI's router.
    app.add_middleware(IngestLane, runtime=runtime)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag"],
        )
    # Outermost, so an oversized body is refused before anything reads it.
    app.add_middleware(
        BodyLimit,
        rules=[("/webhooks/email", settings.max_email_bytes),
               ("/webhooks/", settings.max_webhook_bytes)],
        default=settings.max_json_bytes,
    )
    return app


def _document_problems(app: FastAPI) -> None:
    """Generate the OpenAPI document once, then fix its error responses (see
    `problems.document`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """uvicorn factory (`router.app:app_from_env`): settings from OMNIROUTE_* variables."""
    return create_app(Settings.load())
