"""The straight-line versions of ingest, pull, accept and complete leave Redis exactly as
the general path does, on the lifecycles they are for (the differential state machine
covers them among random operations; these walk each case on purpose).

Two stores share one server on sites of their own, one with the straight lines off
(`fast_paths=False`); after the same calls, on one virtual clock, their replies, their
events and every key each keeps must be equal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
import redis

from agents.model import Presence
from router.clock import VirtualClock
from router.events import Event
from router.interaction import Channel
from router.plan import RoutingPlan
from router.redis_store import RedisStore
from tests.conftest import agent, make_interaction, small_topology
from tests.redis.helpers import stored_state

TOPOLOGY = small_topology(agent("ana"), agent("ben"))
Call = Callable[[RedisStore], Awaitable[Any]]


class Pair:
    """The same calls through a store with the straight lines and one without."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = VirtualClock(start=1_000.0)
        self.fast = RedisStore(TOPOLOGY, self.clock, url=url)
        self.general = RedisStore(replace(TOPOLOGY, site="general-path"), self.clock,
                                  url=url, fast_paths=False)
        self.events: dict[str, list[Event]] = {"fast": [], "general": []}
        self.fast.subscribe(self.events["fast"].append)
        self.general.subscribe(self.events["general"].append)

    async def both(self, call: Call) -> Any:
        fast, general = await call(self.fast), await call(self.general)
        assert fast == general
        assert self.events["fast"] == self.events["general"]
        assert stored_state(self.url, self.fast.prefix) == stored_state(
            self.url, self.general.prefix)
        return fast

    async def ingest(self, interaction_id: str) -> None:
        interaction = make_interaction(Channel.CHAT, id=interaction_id)
        await self.both(lambda s: s.ingest(interaction, RoutingPlan("general")))

    async def close(self) -> None:
        await self.fast.close()
        await self.general.close()


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[Pair]:
    both = Pair(redis_url)
    try:
        yield both
    finally:
        await both.close()


async def test_a_pulled_lifecycle(pair: Pair) -> None:
    await pair.both(lambda s: s.set_presence("ana", Presence.AVAILABLE, auto_offer=False))
    assert await pair.both(lambda s: s.pull("ana")) is None  # nothing waits
    for n in range(3):
        await pair.ingest(f"p{n}")
        pair.clock.advance(1)
    got = await pair.both(lambda s: s.pull("ana"))
    assert got.interaction_id == "p0"
    pair.clock.advance(2)
    await pair.both(lambda s: s.accept("ana", "p0"))
    pair.clock.advance(30)
    await pair.both(lambda s: s.complete("ana", "p0", "resolved"))
    # completing and taking the next in one call
    await pair.both(lambda s: s.pull("ana"))
    await pair.both(lambda s: s.accept("ana", "p1"))
    view, following = await pair.both(lambda s: s.complete_and_pull("ana", "p1", None))
    assert (view.status.value, following.interaction_id) == ("completed", "p2")


async def test_completing_from_wrap_up_announces_the_presence(pair: Pair) -> None:
    await pair.both(lambda s: s.set_presence("ben", Presence.AVAILABLE, auto_offer=False))
    for n in range(2):
        await pair.ingest(f"w{n}")
    for interaction_id in ("w0", "w1"):
        await pair.both(lambda s: s.pull("ben"))
        await pair.both(lambda s, i=interaction_id: s.accept("ben", i))
        await pair.both(lambda s, i=interaction_id: s.wrap_up("ben", i))
    pair.clock.advance(5)
    # the first of two wrap-ups ends: still wrapping up; the last: available again
    await pair.both(lambda s: s.complete("ben", "w0", "resolved"))
    await pair.both(lambda s: s.complete("ben", "w1", "resolved"))
    kinds = [e.kind.value for e in pair.events["fast"]]
    assert kinds.count("agent_presence") >= 3  # available, wrap-up, available


async def test_the_general_path_takes_what_the_straight_lines_do_not(pair: Pair) -> None:
    # push mode (an offer made by ingest), a rejection, a wrong agent, a finished item
    await pair.both(lambda s: s.set_presence("ana", Presence.AVAILABLE, auto_offer=True))
    await pair.ingest("g0")
    await pair.both(lambda s: s.reject("ana", "g0", "busy"))
    await pair.both(lambda s: s.set_presence("ana", Presence.OFFLINE))
    await pair.both(lambda s: s.set_presence("ben", Presence.AVAILABLE, auto_offer=False))
    await pair.both(lambda s: s.pull("ben"))
    with pytest.raises(Exception) as wrong:
        await pair.fast.accept("ana", "g0")
    with pytest.raises(type(wrong.value)):
        await pair.general.accept("ana", "g0")
    await pair.both(lambda s: s.accept("ben", "g0"))
    await pair.both(lambda s: s.complete("ben", "g0", None))
    with pytest.raises(Exception) as again:
        await pair.fast.complete("ben", "g0", None)
    with pytest.raises(type(again.value)):
        await pair.general.complete("ben", "g0", None)
    assert stored_state(pair.url, pair.fast.prefix) == stored_state(
        pair.url, pair.general.prefix)


def _zadd_calls(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.info("commandstats").get("cmdstat_zadd", {}).get("calls", 0))


def _commands_run_by_functions(url: str) -> int:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items()
               if k not in ("cmdstat_fcall", "cmdstat_info"))


async def test_work_offered_at_once_to_a_ready_agent(pair: Pair) -> None:
    # the bucket comes into use with nobody ready, then push-mode agents log in: each new
    # arrival is offered at once, until both are full (3 chats each)
    await pair.ingest("q0")
    await pair.both(lambda s: s.set_presence("ana", Presence.AVAILABLE, auto_offer=False))
    await pair.both(lambda s: s.pull("ana"))
    pair.clock.advance(1)
    await pair.both(lambda s: s.set_presence("ben", Presence.AVAILABLE, auto_offer=True))
    pair.clock.advance(1)
    await pair.both(lambda s: s.set_presence("ana", Presence.AVAILABLE, auto_offer=True))
    for n in range(6):
        pair.clock.advance(1)
        interaction = make_interaction(Channel.CHAT, id=f"o{n}")
        before = _zadd_calls(pair.url)
        await pair.fast.ingest(interaction, RoutingPlan("general"))
        middle = _zadd_calls(pair.url)
        await pair.general.ingest(interaction, RoutingPlan("general"))
        # (the general path adds it to its bucket and the arrival index, and takes it out
        # again when it matches; the straight line does neither. o5 finds both full.)
        gap = 2 if n < 5 else 0
        assert middle - before == _zadd_calls(pair.url) - middle - gap, f"o{n}: general path"
        assert pair.events["fast"] == pair.events["general"]
        assert stored_state(pair.url, pair.fast.prefix) == stored_state(
            pair.url, pair.general.prefix)
    offers = {e.interaction_id: e.agent_id for e in pair.events["fast"]
              if e.kind.value == "reserved" and e.interaction_id.startswith("o")}
    assert sorted(offers) == [f"o{n}" for n in range(5)]  # ana 2 more, ben 3: o5 waits
    assert sorted(offers.values()) == ["ana", "ana", "ben", "ben", "ben"]
    for interaction_id, holder in offers.items():
        await pair.both(lambda s, i=interaction_id, a=holder: s.accept(a, i))
        pair.clock.advance(1)
        before = _commands_run_by_functions(pair.url)
        fast = await pair.fast.complete(holder, interaction_id, "resolved")
        middle = _commands_run_by_functions(pair.url)
        general = await pair.general.complete(holder, interaction_id, "resolved")
        # (the straight line: the item in one read and one write, not the record cache's)
        assert middle - before < _commands_run_by_functions(pair.url) - middle
        assert fast == general
        assert pair.events["fast"] == pair.events["general"]
        assert stored_state(pair.url, pair.fast.prefix) == stored_state(
            pair.url, pair.general.prefix)
    # o5, waiting, went to whoever freed first, at their completion
    assert [e.agent_id for e in pair.events["fast"]
            if e.kind.value == "reserved" and e.interaction_id == "o5"] == [offers["o0"]]
