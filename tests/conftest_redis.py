"""A private Redis server for the whole test session (never a fake, never 6379).

Import the fixtures into a conftest (`from tests.conftest_redis import ...`). If no
server binary exists the tests fail — not skip — with the install instructions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from router.devserver import DevServer, ServerNotFound

URL_ENV = "OMNIROUTE_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[DevServer]:
    try:
        server = DevServer().start()
    except ServerNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    os.environ[URL_ENV] = server.url
    yield server
    os.environ.pop(URL_ENV, None)
    server.stop()


@pytest.fixture
def redis_url(redis_server: DevServer) -> str:
    """The session server's URL, flushed: every test starts from an empty database."""
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url
