"""Data written by workers of the previous layout stays correct under this one."""

from __future__ import annotations

import json

import pytest
import redis

from router.clock import VirtualClock
from router.redis_store import LAYOUT, RedisStore, layout_of, library, site_prefix
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


def _older_library(name: str) -> str:
    """A library as a release of an older layout named it, whose functions write."""
    return (f"#!lua name={name}\n"
            f"redis.register_function('{name}_pull', function(keys, args)\n"
            f"  redis.call('SET', keys[1] .. 'older-wrote', '1') return 'ok' end)\n"
            f"redis.register_function{{function_name='{name}_get', callback=function()"
            f" return 'ok' end, flags={{'no-writes'}}}}\n")


async def test_a_starting_worker_fences_the_functions_of_older_layouts(
    redis_url: str,
) -> None:
    """Workers of an older layout would misread items this one writes (fields at their
    default are not kept): once a worker of this layout starts, their functions, same
    names and flags, answer OMNIROUTE_FENCED and write nothing; other libraries, this
    layout's and newer ones' stay."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    older, named_older = "omniroute_0123456789ab", f"omniroute_v{LAYOUT - 1}_0123456789ab"
    newer, other = f"omniroute_v{LAYOUT + 1}_0123456789ab", "omniroute_somethingelse"
    for name in (older, named_older, newer, other):
        client.function_load(_older_library(name), replace=True)
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    prefix = site_prefix(TOPOLOGY.site)
    try:
        await one_accepted(store, "ana", ["f1"])
        for name in (older, named_older):
            with pytest.raises(redis.ResponseError, match="OMNIROUTE_FENCED"):
                client.fcall(f"{name}_pull", 1, prefix)
            with pytest.raises(redis.ResponseError, match="OMNIROUTE_FENCED"):
                client.fcall_ro(f"{name}_get", 0)  # (its flags kept: FCALL_RO allowed)
        assert not client.exists(prefix + "older-wrote")
        for name in (newer, other):
            assert client.fcall(f"{name}_pull", 1, prefix) == "ok"
        # a fenced library is left as it is by the next worker (idempotent)
        code = client.function_list(library=older, withcode=True)[0][-1]
        other_store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
        await other_store.get("f1")
        await other_store.close()
        assert client.function_list(library=older, withcode=True)[0][-1] == code
    finally:
        for name in (older, named_older, newer, other):
            client.function_delete(name)
        client.close()
        await store.close()


def test_library_names_carry_their_layout() -> None:
    assert library()[0].startswith(f"omniroute_v{LAYOUT}_")
    assert layout_of(library()[0]) == LAYOUT
    assert layout_of("omniroute_0123456789ab") == 5  # before layouts were named
    assert layout_of("omniroute_floor") is None  # not a store library


async def test_items_keep_no_field_at_its_default(redis_url: str) -> None:
    """Layout 6: a new interaction keeps no field at its default value; read back, every
    such field has it (the views and a later transition see them)."""
    store = RedisStore(TOPOLOGY, VirtualClock(start=100.0), url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = site_prefix(TOPOLOGY.site)
    try:
        got = await one_accepted(store, "ana", ["d1"])
        kept = client.hgetall(prefix + "i:d1")
        assert not {"aat", "disp", "pref", "sapp", "risk", "brk", "ovf", "mw", "pa",
                    "ovq", "othr", "odue", "tgo"} - {"aat"} & set(kept)
        view = await store.get("d1")
        assert view.disposition is None and view.queue == "general"
        done = await store.complete("ana", got.interaction_id, None)
        assert done.status.value == "completed" and done.disposition is None
        assert "disp" not in client.hgetall(prefix + "i:d1")
    finally:
        client.close()
        await store.close()
