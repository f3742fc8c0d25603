"""API test fixtures: an app over the example config, clients per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
