"""API test fixtures: an app over the example config, clients per role."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from router.app import create_app
from router.auth import demo_token
from router.runtime import Runtime
from router.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
FIXTURES = ROOT / "tests" / "channels" / "fixtures"

TOKENS = {
    "ingest": demo_token("demo-ingest"),
    "supervisor": demo_token("demo-supervisor"),
    "viewer": demo_token("demo-viewer"),
    "alice": demo_token("demo-agent-alice"),
    "bruno": demo_token("demo-agent-bruno"),
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"config_dir": CONFIG, "verify_signatures": False,
                                 "twilio_auth_token": "test-twilio-secret"}
    values.update(overrides)
    return Settings.load(**values)


@pytest.fixture
def runtime() -> Runtime:
    return Runtime.build(settings())


def problem_hook(app: FastAPI, checked: list[tuple[int, str]],
                 ) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook: a 4xx/5xx must be `application/problem+json` conforming
    to the `Problem` schema this app declares in its own `/openapi.json`. Each checked
    problem is appended to `checked` (`client.checked_problems`)."""
    schema = app.openapi()["components"]["schemas"]["Problem"]
    validator = jsonschema_rs.validator_for(schema)

    async def check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        where = f"{response.request.method} {response.request.url.path}"
        assert response.headers.get("content-type") == "application/problem+json", where
        body = response.json()
        errors = [e.message for e in validator.iter_errors(body)]
        assert not errors, (where, errors, body)
        assert body["status"] == response.status_code, where
        assert body["type"].startswith("https://omniroute.dev/problems/"), where
        checked.append((response.status_code, body["type"]))

    return check


@asynccontextmanager
async def api_client(app: FastAPI, base_url: str = "http://test",
                     ) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client over the app's lifespan, with the Problem contract hook."""
    checked: list[tuple[int, str]] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [problem_hook(app, checked)]}
        async with httpx.AsyncClient(transport=transport, base_url=base_url,
                                     event_hooks=hooks) as c:
            c.checked_problems = checked  # type: ignore[attr-defined]
            yield c


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(runtime)) as c:
        yield c


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


async def first_offer(client: httpx.AsyncClient, ready: asyncio.Event) -> dict[str, object]:
    """The first offer pushed to bruno's desktop stream (sets `ready` once subscribed)."""
    async with client.stream("GET", "/agents/bruno/offers", headers=auth("bruno")) as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                if event == "ready":
                    ready.set()
            elif line.startswith("data:") and event == "offer":
                return dict(json.loads(line.split(":", 1)[1]))
    raise AssertionError("stream ended without an offer")
