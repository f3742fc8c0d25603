"""Data written by workers of the previous layout stays correct under this one."""

from __future__ import annotations

from collections import Counter

import redis

from agents.model import Presence
from router.clock import VirtualClock
from router.plan import RoutingPlan
from router.redis_store import RedisStore, site_prefix
from tests.conftest import agent, make_interaction, small_topology

TOPOLOGY = small_topology(agent("ana"), agent("ben"))


async def test_status_counts_add_the_per_status_tallies_of_older_workers(
    redis_url: str,
) -> None:
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = site_prefix(TOPOLOGY.site)
    try:
        await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
        for n in range(3):
            await store.ingest(make_interaction(id=f"u{n}"), RoutingPlan("general"))
        got = await store.pull("ana")
        assert got is not None
        await store.accept("ana", got.interaction_id)
        await store.complete("ana", got.interaction_id)
        before = (await store.snapshot()).statuses
        assert (before["queued"], before["completed"]) == (2, 1)
        # What an older worker would have left: tallies per status in 'counts', no moves.
        tallies: Counter[str] = Counter()
        for move, n in client.hgetall(prefix + "cnt").items():
            source, target = move.split(">")
            if source:
                tallies[source] -= int(n)
            tallies[target] += int(n)
        client.delete(prefix + "cnt")
        client.hset(prefix + "counts", mapping={k: str(v) for k, v in tallies.items()})
        assert (await store.snapshot()).statuses == before
        # new transitions count on top of them
        got = await store.pull("ana")
        assert got is not None
        after = (await store.snapshot()).statuses
        assert (after["queued"], after["reserved"], after["completed"]) == (1, 1, 1)
    finally:
        client.close()
        await store.close()


async def test_complete_and_pull_is_one_call(redis_url: str) -> None:
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    try:
        await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
        for n in range(2):
            await store.ingest(make_interaction(id=f"c{n}"), RoutingPlan("general"))
        got = await store.pull("ana")
        assert got is not None
        await store.accept("ana", got.interaction_id)
        trips = store.round_trips
        view, following = await store.complete_and_pull("ana", got.interaction_id, "ok")
        assert store.round_trips == trips + 1
        assert view.interaction.id == got.interaction_id and following is not None
        assert following.interaction_id != got.interaction_id
    finally:
        await store.close()
