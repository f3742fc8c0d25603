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
        # one FUNCTION LOAD, one FUNCTION LIST (fencing older layouts) and one
        # registration, then one FCALL per agent
        assert store.round_trips == 3 + len(AGENTS)
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


async def test_first_call_paces_the_functions_collector(redis_url: str) -> None:
    """The functions' Lua collector runs at step multiplier 50 once the store has made a
    call (omniroute.lua, `setup`): the default (200) cost 2.5 % of a lifecycle's server
    work. A probe library in the same VM reads the multiplier, putting back what it found."""
    import redis as sync_redis

    probe = ("#!lua name=omniroute_test_gc_probe\n"
             "redis.register_function('omniroute_test_gc_probe', function()\n"
             "  local was = collectgarbage('setstepmul', 200)\n"
             "  collectgarbage('setstepmul', was)\n"
             "  return was\n"
             "end)\n")
    client = sync_redis.Redis.from_url(redis_url)
    client.function_load(probe, replace=True)
    store = RedisStore(small_topology(agent("ana")), VirtualClock(start=100.0), url=redis_url)
    try:
        client.fcall("omniroute_test_gc_probe", 0)  # (the default, were it the first)
        await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
        assert client.fcall("omniroute_test_gc_probe", 0) == 50
    finally:
        await store.close()
        client.function_delete("omniroute_test_gc_probe")
        client.close()
