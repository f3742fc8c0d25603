"""Transitions a worker's coroutines issue in one event-loop turn share one FCALL (the
library's `batch` function): each still runs as if alone, its stream entry, status
counts and sequence numbers written once for the whole batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.exceptions import ResponseError

from agents.model import Presence
from router.api.stream import events_from_stream
from router.clock import VirtualClock
from router.errors import UnknownAgent
from router.events import Event
from router.interaction import Status
from router.plan import RoutingPlan
from router.redis_store import RedisStore, library, site_prefix
from tests.conftest import agent, make_interaction, small_topology
from tests.redis.helpers import status_counts

TOPOLOGY = small_topology(agent("ana"), agent("ben"))
PREFIX = site_prefix(TOPOLOGY.site)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(TOPOLOGY, VirtualClock(start=1_000.0), url=redis_url)
    try:
        await store.set_presence("ana", Presence.AVAILABLE, auto_offer=False)
        await store.set_presence("ben", Presence.AVAILABLE, auto_offer=False)
        yield store
    finally:
        await store.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


def fcalls(client: redis.Redis) -> int:
    """FCALLs the server has run so far."""
    return int(client.info("commandstats").get("cmdstat_fcall", {}).get("calls", 0))


async def test_a_turns_transitions_run_in_one_fcall_each_as_if_alone(
    store: RedisStore, client: redis.Redis,
) -> None:
    seen: list[Event] = []
    store.subscribe(seen.append)
    before = fcalls(client)
    created = await asyncio.gather(*(
        store.ingest(make_interaction(id=f"b{n}"), RoutingPlan("general"))
        for n in range(6)))
    got = await asyncio.gather(store.pull("ana"), store.pull("ben"))
    await asyncio.gather(*(store.accept(r.agent_id, r.interaction_id)
                           for r in got if r is not None))
    assert fcalls(client) - before == 3  # one batch a turn
    assert [c.interaction_id for c in created] == [f"b{n}" for n in range(6)]
    # in the order they were issued: the two oldest, one each
    assert [(r.agent_id, r.interaction_id) for r in got if r is not None] == [
        ("ana", "b0"), ("ben", "b1")]
    # arrival numbers kept increasing through the batch (one counter, set at its end)
    seqs = [int(client.hget(PREFIX + f"i:b{n}", "seq") or 0) for n in range(6)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    assert int(client.get(PREFIX + "seq") or 0) >= seqs[-1]
    # status counts: six arrived, two moved on to assigned
    counts = status_counts(client, PREFIX)
    assert (counts["queued"], counts["reserved"], counts["assigned"]) == (4, 0, 2)
    # the stream: a batch's events in one entry, in order, each as published
    entries = [fields for _, fields in client.xrange(PREFIX + "events")]
    assert any(fields["e"].startswith("[[") for fields in entries)
    streamed = [e for fields in entries
                for e in events_from_stream(fields, TOPOLOGY, offer_timeout=30.0)]
    interaction_events = [e for e in seen if e.kind.value != "agent_presence"]
    assert [e for e in streamed if e.kind.value != "agent_presence"] == interaction_events


async def test_a_transition_that_fails_in_a_batch_fails_alone(
    store: RedisStore, client: redis.Redis,
) -> None:
    await store.ingest(make_interaction(id="q1"), RoutingPlan("general"))
    client.set(PREFIX + "i:broken", "not a hash")  # a redis.call on it raises
    results = await asyncio.gather(
        store.ingest(make_interaction(id="q2"), RoutingPlan("general")),
        store.accept("ana", "broken"),
        store.pull("ana"),
        store.accept("nobody", "q1"),
        return_exceptions=True,
    )
    created, broken, pulled, unknown = results
    assert not isinstance(created, BaseException) and created.interaction_id == "q2"
    assert isinstance(broken, ResponseError) and "WRONGTYPE" in str(broken)
    assert not isinstance(pulled, BaseException) and pulled is not None
    assert pulled.interaction_id == "q1"
    assert isinstance(unknown, UnknownAgent)
    assert (await store.get("q1")).status is Status.RESERVED
    assert (await store.get("q2")).status is Status.QUEUED
    counts = status_counts(client, PREFIX)
    assert (counts["queued"], counts["reserved"]) == (1, 1)


async def test_a_malformed_batch_answers_with_an_error_and_runs_nothing_after(
    store: RedisStore, client: redis.Redis,
) -> None:
    name = library()[0] + "_batch"
    settings = store._common
    await store.ingest(make_interaction(id="m1"), RoutingPlan("general"))
    # an unknown transition, then a well-formed pull behind it: the pull does not run
    reply = client.fcall(name, 1, PREFIX, settings, "drop_tables", "0", "1000.0",
                         "pull", "2", "1000.0", "ana", "1030.0")
    assert len(reply) == 1 and isinstance(reply[0], ResponseError)
    assert "bad transition drop_tables" in str(reply[0])
    assert (await store.get("m1")).status is Status.QUEUED
    # a count past the end
    reply = client.fcall(name, 1, PREFIX, settings, "pull", "9", "1000.0", "ana")
    assert len(reply) == 1 and "bad transition pull" in str(reply[0])
    # a read-only function is no transition to batch
    reply = client.fcall(name, 1, PREFIX, settings, "get", "1", "1000.0", "x")
    assert "bad transition get" in str(reply[0])
