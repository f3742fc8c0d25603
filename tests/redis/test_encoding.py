"""What the Redis store writes is what the shared definitions say, and it heals itself."""

from __future__ import annotations

import redis

from agents.model import Presence
from router.api.stream import events_from_stream
from router.clock import VirtualClock
from router.events import EventKind, InteractionEvent
from router.interaction import Channel, Status
from router.ordering import redis_member, redis_score
from router.plan import RoutingPlan
from router.redis_store import RedisStore, bucket_key, site_prefix
from tests.conftest import agent, make_interaction, small_topology

TOPOLOGY = small_topology(agent("ana"))
PREFIX = site_prefix(TOPOLOGY.site)


async def test_queue_entries_use_the_shared_ordering_encodings(redis_url: str) -> None:
    clock = VirtualClock(start=1_000.0)
    store = RedisStore(TOPOLOGY, clock, url=redis_url)
    try:
        await store.ingest(make_interaction(Channel.CHAT, id="c1"), RoutingPlan("general",
                                                                             priority=2))
        view = await store.get("c1")
        r = redis.Redis.from_url(redis_url, decode_responses=True)
        entries = r.zrange(PREFIX + "b:" + bucket_key("general", Channel.CHAT, ()), 0, -1,
                           withscores=True)
        assert entries == [(redis_member(1, "c1"), redis_score(2, view.due_at))]
        [(_, fields)] = r.xrange(PREFIX + "events")
        (event,) = events_from_stream(fields, TOPOLOGY, offer_timeout=30.0)
        assert isinstance(event, InteractionEvent)
        assert (event.kind, event.interaction_id, event.priority) == (EventKind.QUEUED, "c1", 2)
        r.close()
    finally:
        await store.close()


async def test_a_server_that_lost_its_functions_is_reloaded(redis_url: str) -> None:
    clock = VirtualClock(start=1_000.0)
    store = RedisStore(TOPOLOGY, clock, url=redis_url)
    try:
        await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
        r = redis.Redis.from_url(redis_url)
        r.flushall()
        r.function_flush()
        r.close()
        # functions and agents are registered again on the next call, by itself
        result = await store.ingest(make_interaction(Channel.SMS), RoutingPlan("billing"))
        assert result.status is Status.QUEUED
        assert (await store.agent("ana")).presence is Presence.OFFLINE  # state was lost
        flush = redis.Redis.from_url(redis_url)
        flush.flushall()  # data only, functions stay: agents are registered again too
        flush.close()
        view = await store.set_presence("ana", Presence.NOT_READY, "lunch")
        assert view.presence is Presence.NOT_READY
    finally:
        await store.close()


async def test_agent_hashes_are_hash_tables_older_ones_from_the_next_start(
    redis_url: str,
) -> None:
    # A pull reads 17 of an agent's ~30 fields at once: as a listpack each read would scan
    # the entries. The functions keep agent hashes as hash tables (a value longer than
    # hash-max-listpack-value), and a worker's start converts agents an older one made.
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    key = PREFIX + "a:ana"
    store = RedisStore(TOPOLOGY, VirtualClock(start=1_000.0), url=redis_url)
    try:
        await store.set_presence("ana", Presence.AVAILABLE)
        assert r.object("encoding", key) == "hashtable"
        # an agent hash as an older worker left it: small values only, so a listpack
        older = {k: v for k, v in r.hgetall(key).items() if k != "encoding"}
        r.delete(key)
        r.hset(key, mapping=older)
        assert r.object("encoding", key) == "listpack"
    finally:
        await store.close()
    restarted = RedisStore(TOPOLOGY, VirtualClock(start=1_000.0), url=redis_url)
    try:
        await restarted.set_presence("ana", Presence.AVAILABLE)
        assert r.object("encoding", key) == "hashtable"
        assert (await restarted.agent("ana")).presence is Presence.AVAILABLE
    finally:
        await restarted.close()
        r.close()
