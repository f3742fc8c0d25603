"""What another worker reads from the site's event stream is the event this worker saw."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from agents.model import Presence
from router.api.stream import event_from_stream
from router.clock import VirtualClock
from router.events import Event, InteractionEvent
from router.interaction import Channel
from router.plan import RoutingPlan
from router.redis_store import RedisStore, site_prefix
from tests.conftest import agent, make_interaction, small_topology

TOPOLOGY = small_topology(agent("ana"))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=5_000.0)


@pytest.fixture
async def store(redis_url: str, clock: VirtualClock) -> AsyncIterator[RedisStore]:
    store = RedisStore(TOPOLOGY, clock, url=redis_url)
    try:
        yield store
    finally:
        await store.close()


def recorded(store: RedisStore) -> list[Event]:
    """The events `store` publishes locally from now on."""
    seen: list[Event] = []
    store.subscribe(seen.append)
    return seen


def stream_entries(redis_url: str) -> list[dict[str, str]]:
    """The fields of every entry of the site's event stream, oldest first."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [fields for _, fields in client.xrange(site_prefix(TOPOLOGY.site) + "events")]
    finally:
        client.close()


async def test_stream_entries_rebuild_the_local_events(
    store: RedisStore, clock: VirtualClock, redis_url: str,
) -> None:
    seen = recorded(store)
    await store.set_presence("ana", Presence.AVAILABLE)
    await store.ingest(make_interaction(Channel.CHAT, id="s1"),
                       RoutingPlan("general", priority=3))
    clock.advance(4)
    await store.accept("ana", "s1")
    clock.advance(30)
    await store.complete("ana", "s1", "done")
    rebuilt = [event_from_stream(fields, TOPOLOGY, offer_timeout=20.0)
               for fields in stream_entries(redis_url)]
    local = [e for e in seen if isinstance(e, InteractionEvent)]
    remote = [e for e in rebuilt if isinstance(e, InteractionEvent)]
    assert [e.kind for e in remote] == [e.kind for e in local]
    for mine, theirs in zip(local, remote, strict=True):
        assert (theirs.priority, theirs.enqueued_at, theirs.waited, theirs.handled) == (
            mine.priority, mine.enqueued_at, mine.waited, mine.handled
        )
        assert (theirs.detail, theirs.threshold) == (mine.detail, mine.threshold)


async def test_empty_fields_are_left_out_and_read_back_as_empty(
    store: RedisStore, redis_url: str,
) -> None:
    seen = recorded(store)
    await store.ingest(make_interaction(Channel.CHAT, id="e1"), RoutingPlan("general"))
    [fields] = stream_entries(redis_url)
    assert not {"prev", "agent", "reason", "aat", "detail", "pri"} & set(fields)
    [local] = [e for e in seen if isinstance(e, InteractionEvent)]
    remote = event_from_stream(fields, TOPOLOGY, offer_timeout=20.0)
    assert isinstance(remote, InteractionEvent)
    assert (remote.priority, remote.previous, remote.agent_id, remote.reason) == (
        local.priority, local.previous, local.agent_id, local.reason) == (0, None, None,
                                                                           None)
