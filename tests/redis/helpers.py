"""Shared by the Redis tests: a store holding accepted work, and a site's raw Redis
state (as the Lua library keeps it) read back for assertions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from agents.model import Presence
from router.plan import RoutingPlan
from router.redis_codec import event_arrays
from router.redis_store import RedisStore
from router.work import Reservation
from tests.conftest import make_interaction


async def one_accepted(store: RedisStore, agent_id: str, ids: list[str]) -> Reservation:
    """Make `agent_id` available (pull mode), queue `ids` in general, and have the agent
    pull and accept the first: the others stay queued."""
    await store.set_presence(agent_id, Presence.AVAILABLE, auto_offer=False)
    for interaction_id in ids:
        await store.ingest(make_interaction(id=interaction_id), RoutingPlan("general"))
    got = await store.pull(agent_id)
    assert got is not None
    await store.accept(agent_id, got.interaction_id)
    return got


def status_counts(client: redis.Redis, prefix: str) -> Counter[str]:
    """Interactions per status: the per-status tallies older workers kept ('counts'), the
    arrivals ('recv', all queued first) and the 'from>to' moves this layout records
    ('cnt'), folded the way `op_snapshot` does."""
    counts: Counter[str] = Counter(
        {status: int(n) for status, n in client.hgetall(prefix + "counts").items()})
    counts["queued"] += sum(int(n) for n in client.hgetall(prefix + "recv").values())
    for move, n in client.hgetall(prefix + "cnt").items():
        source, target = move.split(">")
        if source:  # ('>queued': arrivals as older workers counted them, in 'recv' too)
            counts[source] -= int(n)
            counts[target] += int(n)
    return counts


def history(client: redis.Redis, prefix: str, interaction_id: str) -> list[list[str]]:
    """An interaction's history as the functions keep it: [at, event, agent, queue,
    reason] entries in its hash's 'hist' field."""
    raw = client.hget(prefix + "i:" + interaction_id, "hist")
    return list(json.loads(raw)) if raw else []


def stream_events(entries: list[dict[str, str]]) -> list[Any]:
    """The events of stream entries, in order: an entry holds one event ('["…') or, when a
    batch of transitions made several, the array of them ('[[…')."""
    events: list[Any] = []
    for fields in entries:
        raw = fields.get("e")
        if raw is None:  # an entry of the older layout, a field per attribute
            events.append(fields)
        else:
            events += event_arrays(raw)
    return events


def stored_state(url: str, prefix: str) -> dict[str, Any]:
    """Everything one site keeps in Redis, by key less its prefix (a stream as the events
    its entries hold, without the entries' ids, which are times, or how the events were
    grouped into entries)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    readers: dict[str, Callable[[str], Any]] = {
        "hash": client.hgetall, "set": client.smembers, "string": client.get,
        "list": lambda k: client.lrange(k, 0, -1),
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "stream": lambda k: stream_events([fields for _, fields in client.xrange(k)]),
    }
    try:
        return {key[len(prefix):]: readers[client.type(key)](key)
                for key in client.scan_iter(prefix + "*", count=1000)}
    finally:
        client.close()
