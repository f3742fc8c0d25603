"""The store contract fixture: every store implementation runs the same suite.

Add a store here (its factory taking topology and clock) and the whole contract
suite runs against it unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from router.clock import VirtualClock
from router.engine import EngineSettings
from router.memory import MemoryStore
from router.store import Store
from router.topology import Topology

StoreFactory = Callable[[Topology, VirtualClock], Store]


def _memory(topology: Topology, clock: VirtualClock) -> Store:
    return MemoryStore(topology, clock, settings=EngineSettings(offer_timeout=10))


FACTORIES: dict[str, StoreFactory] = {"memory": _memory}


@pytest.fixture(params=sorted(FACTORIES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    return FACTORIES[request.param]


@pytest.fixture
async def store(
    store_factory: StoreFactory, example_topology: Topology, clock: VirtualClock
) -> AsyncIterator[Store]:
    instance = store_factory(example_topology, clock)
    yield instance
    await instance.close()
