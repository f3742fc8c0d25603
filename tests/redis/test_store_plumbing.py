"""The Redis store's own plumbing: setup shared by concurrent first calls, pipelining."""

from __future__ import annotations

import asyncio

from agents.model import Presence
from router.clock import VirtualClock
from router.redis_store import RedisStore
from tests.conftest import agent, small_topology
from tests.redis.helpers import one_accepted

AGENTS = [agent(f"a{n}") for n in range(200)]


async def test_concurrent_first_calls_share_one_setup_and_one_connection(
    redis_url: str,
) -> None:
    store = RedisStore(small_topology(*AGENTS), VirtualClock(start=10.0), url=redis_url,
                       max_connections=4)
    try:
        views = await asyncio.gather(*(
            store.set_presence(a.id, Presence.AVAILABLE, auto_offer=False) for a in AGENTS
        ))
        assert {v.presence for v in views} == {Presence.AVAILABLE}
        # one FUNCTION LOAD and one registration, then one FCALL per agent
        assert store.round_trips == 2 + len(AGENTS)
        # the 200 concurrent calls left in a handful of writes, not one each
        assert store.socket_writes < 10
    finally:
        await store.close()


async def test_complete_and_pull_is_one_call(redis_url: str) -> None:
    store = RedisStore(small_topology(agent("ana")), VirtualClock(start=100.0), url=redis_url)
    try:
        got = await one_accepted(store, "ana", ["c0", "c1"])
        trips = store.round_trips
        view, following = await store.complete_and_pull("ana", got.interaction_id, "ok")
        assert store.round_trips == trips + 1
        assert view.interaction.id == got.interaction_id and following is not None
        assert following.interaction_id != got.interaction_id
    finally:
        await store.close()
