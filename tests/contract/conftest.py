"""The store contract fixture: every store implementation runs the same suite.

Add a store here (its factory taking topology and clock) and the whole contract
suite runs against it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import pytest

from router.clock import VirtualClock
from router.engine import EngineSettings
from router.memory import MemoryStore
from router.redis_store import RedisStore
from router.store import Store
from router.topology import Topology
from tests.conftest_redis import URL_ENV, redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

StoreFactory = Callable[[Topology, VirtualClock], Store]


def _memory(topology: Topology, clock: VirtualClock) -> Store:
    return MemoryStore(topology, clock, settings=EngineSettings(offer_timeout=10))


def _redis(topology: Topology, clock: VirtualClock) -> Store:
    # The URL of the session's private server, flushed for this test (see below).
    return RedisStore(topology, clock, settings=EngineSettings(offer_timeout=10),
                      url=os.environ[URL_ENV])


FACTORIES: dict[str, StoreFactory] = {"memory": _memory, "redis": _redis}
#: Factories that need the session's Redis server running (and flushed) first.
NEEDS_REDIS = frozenset({"redis"})


@pytest.fixture(params=sorted(FACTORIES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    if request.param in NEEDS_REDIS:
        request.getfixturevalue("redis_url")
    return FACTORIES[request.param]


@pytest.fixture
async def store(
    store_factory: StoreFactory, example_topology: Topology, clock: VirtualClock
) -> AsyncIterator[Store]:
    instance = store_factory(example_topology, clock)
    yield instance
    await instance.close()
