"""What another worker reads from the site's event stream is the event this worker saw."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from agents.model import Presence
from router.api.stream import events_from_stream
from router.clock import VirtualClock
from router.events import AgentEvent, Event, EventKind, InteractionEvent
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
    await store.set_presence("ana", Presence.NOT_READY, reason="lunch")
    rebuilt = [event for fields in stream_entries(redis_url)
               for event in events_from_stream(fields, TOPOLOGY, offer_timeout=20.0)]
    # every event, presence changes included, exactly as this worker published it
    assert {e.kind for e in seen} >= {EventKind.AGENT_PRESENCE, EventKind.COMPLETED}
    assert rebuilt == seen
    assert all(set(fields) == {"e"} for fields in stream_entries(redis_url))


async def test_entries_of_the_older_layout_are_still_read(redis_url: str) -> None:
    """Workers before the one-field entries wrote an attribute per field, leaving empty
    ones out; a stream can hold both kinds while workers are upgraded."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    key = site_prefix(TOPOLOGY.site) + "events"
    try:
        client.xadd(key, {"k": "queued", "at": "10.5", "id": "o1", "ch": "chat",
                          "q": "general", "st": "queued", "enq": "10.5", "thr": "60.0"})
        client.xadd(key, {"k": "agent_presence", "at": "11.0", "agent": "ana",
                          "presence": "not_ready", "prev": "available", "reason": "lunch"})
        old = [event for _, fields in client.xrange(key)
               for event in events_from_stream(fields, TOPOLOGY, offer_timeout=20.0)]
    finally:
        client.close()
    queued, presence = old
    assert isinstance(queued, InteractionEvent)
    assert (queued.kind, queued.interaction_id, queued.priority, queued.previous,
            queued.agent_id, queued.reason, queued.waited, queued.threshold) == (
        EventKind.QUEUED, "o1", 0, None, None, None, 0.0, 60.0)
    assert isinstance(presence, AgentEvent)
    assert (presence.presence, presence.previous, presence.reason) == (
        "not_ready", "available", "lunch")


async def test_text_that_json_escapes_comes_back_as_given(
    store: RedisStore, clock: VirtualClock, redis_url: str,
) -> None:
    # Events and history entries are joined from JSON texts in the functions (not encoded
    # from tables): quotes, slashes, backslashes, control and non-ASCII characters must
    # come back exactly, locally and through the stream.
    seen = recorded(store)
    odd = 'said "hi" / back\\slash\n\ttab é 😀 \x7f'
    iid = 'odd "id" /\\ é'
    await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
    await store.ingest(make_interaction(Channel.CHAT, id=iid), RoutingPlan("general"))
    got = await store.pull("ana")
    assert got is not None and got.interaction_id == iid
    await store.accept("ana", iid)
    clock.advance(5)
    view = await store.complete("ana", iid, odd)
    await store.set_presence("ana", Presence.NOT_READY, reason=odd)
    assert [(e.event, e.reason) for e in view.history] == [
        ("queued", None), ("reserved", "pull"), ("assigned", None), ("completed", odd)]
    assert (await store.get(iid)).history == view.history
    completed = [e for e in seen if e.kind is EventKind.COMPLETED]
    assert [(e.interaction_id, e.reason) for e in completed] == [(iid, odd)]
    presence = [e for e in seen if isinstance(e, AgentEvent)]
    assert presence[-1].reason == odd
    rebuilt = [event for fields in stream_entries(redis_url)
               for event in events_from_stream(fields, TOPOLOGY, offer_timeout=20.0)]
    assert rebuilt == seen
