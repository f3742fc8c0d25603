"""Data written by workers of the previous layout stays correct under this one."""

from __future__ import annotations

import json

import redis

from router.clock import VirtualClock
from router.redis_store import RedisStore, site_prefix
from tests.conftest import agent, small_topology
from tests.redis.helpers import history, one_accepted, status_counts

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
        # What an older worker would have left: tallies per status in 'counts', no moves
        # and no arrivals per lane ('recv' came later).
        tallies = status_counts(client, prefix)
        client.delete(prefix + "cnt", prefix + "recv")
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


async def test_a_history_kept_as_a_list_moves_into_the_item(redis_url: str) -> None:
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = site_prefix(TOPOLOGY.site)
    try:
        got = await one_accepted(store, "ana", ["h1"])
        written = (await store.get("h1")).history
        # What an older worker would have left: the entries in a list beside the item.
        entries = history(client, prefix, "h1")
        client.hdel(prefix + "i:h1", "hist")
        client.rpush(prefix + "h:h1", *(json.dumps(e) for e in entries))
        assert (await store.get("h1")).history == written  # read as it was
        view = await store.complete("ana", got.interaction_id, "done")
        assert [e.event for e in view.history] == ["queued", "reserved", "assigned",
                                                    "completed"]
        assert view.history[:3] == written
        assert not client.exists(prefix + "h:h1")  # moved, not copied
        assert history(client, prefix, "h1")[-1][1] == "completed"
    finally:
        client.close()
        await store.close()


async def test_timers_set_after_an_upgrade_come_after_those_older_workers_set(
    redis_url: str,
) -> None:
    # Older workers numbered their timers from a counter of their own ('tseq'); timers due
    # at the same instant fire in the order of these numbers, so newer ones must be higher.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = site_prefix(TOPOLOGY.site)
    client.set(prefix + "tseq", "5000")
    client.zadd(prefix + "timers", {"0000000000500099:3:0:old": 1e9})
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    try:
        await one_accepted(store, "ana", ["t1"])
        newer = [int(m.split(":")[0]) for m in client.zrange(prefix + "timers", 0, -1)
                 if not m.endswith(":old")]
        assert len(newer) == 2  # t1's at-risk timer and its offer's expiry
        assert min(newer) > 500099
    finally:
        client.close()
        await store.close()
