"""Data written by workers of the previous layout stays correct under this one."""

from __future__ import annotations

import redis

from router.clock import VirtualClock
from router.redis_store import RedisStore, site_prefix
from tests.conftest import agent, small_topology
from tests.redis.helpers import one_accepted, status_counts

TOPOLOGY = small_topology(agent("ana"), agent("ben"))


async def test_status_counts_add_the_per_status_tallies_of_older_workers(
    redis_url: str,
) -> None:
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = site_prefix(TOPOLOGY.site)
    try:
        got = await one_accepted(store, "ana", [f"u{n}" for n in range(3)])
        await store.complete("ana", got.interaction_id)
        before = (await store.snapshot()).statuses
        assert (before["queued"], before["completed"]) == (2, 1)
        # What an older worker would have left: tallies per status in 'counts', no moves.
        tallies = status_counts(client, prefix)
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
