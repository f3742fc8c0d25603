"""The async service: long-poll pulls wake when work arrives; timers fire on time."""

from __future__ import annotations

import asyncio

from agents.model import Presence
from router.clock import SystemClock, VirtualClock
from router.engine import EngineSettings
from router.interaction import Channel, Status
from router.memory import MemoryStore
from router.plan import RoutingPlan
from router.service import RoutingService
from router.topology import Topology
from tests.conftest import make_interaction


async def test_next_waits_for_work(example_topology: Topology) -> None:
    store = MemoryStore(example_topology, SystemClock())
    decisions: list[float] = []
    async with RoutingService(store, SystemClock(), on_decision=decisions.append) as service:
        await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
        waiter = asyncio.create_task(service.next("alice", wait=5))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
        reservation = await asyncio.wait_for(waiter, 2)
        assert reservation is not None and reservation.interaction_id == result.interaction_id
        assert decisions  # every pull was timed


async def test_next_times_out_empty(example_topology: Topology) -> None:
    store = MemoryStore(example_topology, SystemClock())
    service = RoutingService(store, SystemClock())
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    assert await service.next("alice", wait=0.1) is None


async def test_timer_task_expires_offers(example_topology: Topology) -> None:
    clock = SystemClock()
    store = MemoryStore(example_topology, clock, settings=EngineSettings(offer_timeout=0.1))
    async with RoutingService(store, clock, max_timer_sleep=0.05):
        await store.set_presence("alice", Presence.AVAILABLE)
        result = await store.ingest(make_interaction(Channel.VOICE), RoutingPlan("billing"))
        assert (await store.get(result.interaction_id)).status is Status.RESERVED
        for _ in range(50):
            await asyncio.sleep(0.02)
            if (await store.get(result.interaction_id)).status is Status.QUEUED:
                break
        assert (await store.get(result.interaction_id)).status is Status.QUEUED


async def test_virtual_clock_timers_run_on_demand(example_topology: Topology) -> None:
    clock = VirtualClock()
    store = MemoryStore(example_topology, clock)
    await store.ingest(make_interaction(Channel.VOICE), RoutingPlan("general", max_wait=30))
    clock.advance(31)
    await store.run_timers()
    assert (await store.snapshot()).statuses["expired"] == 1
