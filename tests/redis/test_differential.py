"""The same random operations through MemoryStore and RedisStore, on one virtual clock.

Both stores must agree on everything observable after every step: what each call
returned (or raised), every event published, every interaction's view and every agent's
view, and the snapshot. The memory store is the reference: any difference is a bug in
the Redis functions (or a documented encoding limit, which these operations avoid).

A second Redis store, on a site of its own in the same server, takes the functions'
general path only (`fast_paths=False`): its outcomes, its events and everything it keeps
in Redis, key by key, must equal the first store's, which takes the straight-line
versions of accept, complete and pull where they apply.

A third, on a site of its own too, makes every call in company: in the same event-loop
turn it also issues a transition that changes nothing (an unknown agent accepting), so
the two travel in one batch (`batch` in omniroute.lua), where the call's stream entry,
status counts and sequence numbers are written at the batch's end. Its outcomes, events
and stored state must equal the first store's too.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import hypothesis.strategies as st
import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from agents.model import Presence, Queue, Team
from router.clock import VirtualClock
from router.engine import EngineSettings
from router.events import Event
from router.indexes import Strategy
from router.interaction import Channel, Status
from router.memory import MemoryStore
from router.plan import EscalationStep, MaxWaitAction, RoutingPlan
from router.redis_store import RedisStore
from router.store import Store
from router.work import Reservation
from tests.conftest import make_interaction, small_topology
from tests.core import test_state_machine as core
from tests.redis.helpers import stored_state

SETTINGS = EngineSettings(offer_timeout=15, missed_offers_limit=3, wrap_up_timeout=40)
Outcome = tuple[str, Any]
#: comparisons made and events compared, over all examples (the test checks it ran)
SEEN: dict[str, Any] = {"calls": 0, "events": 0, "reserved": 0, "kinds": set(), "keys": 0,
                        "grouped": 0}


async def in_company(call: Callable[[Store], Awaitable[Any]], store: Store) -> Any:
    """`call`, issued with a transition that changes nothing in the same event-loop turn
    (an unknown agent accepting unknown work: a typed error), so that both share one
    batch; `call`'s result or error."""
    results = await asyncio.gather(call(store), store.accept("nobody", "missing"),
                                   return_exceptions=True)
    first = results[0]
    if isinstance(first, BaseException):
        raise first
    return first


class Differential(RuleBasedStateMachine):
    url = ""
    engine_settings = SETTINGS

    def __init__(self) -> None:
        super().__init__()
        flush = redis.Redis.from_url(self.url)
        flush.flushall()
        flush.close()
        self.loop = asyncio.new_event_loop()
        self.clock = VirtualClock(start=0.0)
        topology = small_topology(*core.AGENTS.values())
        self.memory = MemoryStore(topology, self.clock, settings=self.engine_settings)
        self.redis = RedisStore(topology, self.clock, settings=self.engine_settings,
                                url=self.url)
        self.general = RedisStore(replace(topology, site=topology.site + "-general"),
                                  self.clock, settings=self.engine_settings, url=self.url,
                                  fast_paths=False)
        self.batched = RedisStore(replace(topology, site=topology.site + "-batched"),
                                  self.clock, settings=self.engine_settings, url=self.url)
        self.events: dict[str, list[Event]] = {
            "memory": [], "redis": [], "general": [], "batched": []}
        self.memory.subscribe(self.events["memory"].append)
        self.redis.subscribe(self.events["redis"].append)
        self.general.subscribe(self.events["general"].append)
        self.batched.subscribe(self.events["batched"].append)
        self.ids = itertools.count()
        self.ingested: list[str] = []

    def teardown(self) -> None:
        self.loop.run_until_complete(self.redis.close())
        self.loop.run_until_complete(self.general.close())
        self.loop.run_until_complete(self.batched.close())
        self.loop.close()

    # ------------------------------------------------------------ driving both
    def _outcome(self, call: Callable[[Store], Awaitable[Any]], store: Store) -> Outcome:
        try:
            return ("ok", self.loop.run_until_complete(call(store)))
        except Exception as exc:  # the error is part of the outcome
            return ("error", (type(exc).__name__, str(exc)))

    def both(self, call: Callable[[Store], Awaitable[Any]]) -> Any:
        expected = self._outcome(call, self.memory)
        got = self._outcome(call, self.redis)
        assert got == expected, f"redis {got!r} != memory {expected!r}"
        assert self.events["redis"] == self.events["memory"]
        general = self._outcome(call, self.general)
        assert general == got, f"general path {general!r} != fast paths {got!r}"
        assert self.events["general"] == self.events["redis"]
        batched = self._outcome(lambda s: in_company(call, s), self.batched)
        assert batched == got, f"in a batch {batched!r} != alone {got!r}"
        assert self.events["batched"] == self.events["redis"]
        SEEN["calls"] += 1
        SEEN["events"] = max(SEEN["events"], len(self.events["memory"]))
        SEEN["kinds"].update(e.kind.value for e in self.events["memory"])
        if expected[0] == "ok" and isinstance(expected[1], Reservation):
            SEEN["reserved"] += 1
        return expected[1] if expected[0] == "ok" else None

    def _held(self, agent_id: str, statuses: tuple[Status, ...]) -> list[str]:
        view = self.memory.engine.agent(agent_id)
        return sorted(i for i in view.held if self.memory.engine.view(i).status in statuses)

    # ------------------------------------------------------------ operations
    @rule(
        channel=st.sampled_from(list(Channel)), queue=st.sampled_from(core.QUEUES),
        requirement=st.sampled_from(core.REQUIREMENTS), priority=st.integers(0, 3),
        escalate=st.booleans(), preferred=st.sampled_from([None, "ana", "ben"]),
        retry=st.booleans(), overflow=st.booleans(),
    )
    def arrive(self, channel: Channel, queue: str, requirement: Any, priority: int,
               escalate: bool, preferred: str | None, retry: bool, overflow: bool) -> None:
        n = next(self.ids)
        key = f"k{n - 1}" if retry and n else f"k{n}"
        steps = (EscalationStep(after=20, lower_proficiency_by=2, add_queues=("general",),
                                raise_priority_by=1),) if escalate else ()
        plan = RoutingPlan(
            queue, skills=requirement, priority=priority, steps=steps,
            preferred_agent=preferred, preferred_timeout=10 if preferred else 0,
            max_wait=200 if escalate or overflow else None,
            max_wait_action=MaxWaitAction.OVERFLOW if overflow else MaxWaitAction.EXPIRE,
            overflow_queue="general" if overflow else None,
        )
        interaction = make_interaction(channel, at=self.clock.now, id=f"i{n}", key=key,
                                       public=overflow)
        result = self.both(lambda s: s.ingest(interaction, plan))
        if result is not None and result.created:
            self.ingested.append(result.interaction_id)

    @rule(agent_id=st.sampled_from(list(core.AGENTS)),
          # biased towards logged-in pull-mode agents, so pulls find work
          presence=st.sampled_from([Presence.AVAILABLE, Presence.AVAILABLE,
                                    Presence.NOT_READY, Presence.OFFLINE]),
          auto_offer=st.sampled_from([False, False, True]))
    def presence(self, agent_id: str, presence: Presence, auto_offer: bool) -> None:
        self.both(lambda s: s.set_presence(agent_id, presence, "break", auto_offer=auto_offer))

    @rule(agent_id=st.sampled_from(list(core.AGENTS)), login=st.booleans())
    def pull(self, agent_id: str, login: bool) -> None:
        if login:  # a pull-mode desktop logging in first, so pulls often find work
            self.both(lambda s: s.set_presence(agent_id, Presence.AVAILABLE, auto_offer=False))
        self.both(lambda s: s.pull(agent_id))

    @rule(agent_id=st.sampled_from(list(core.AGENTS)), data=st.data(),
          move=st.sampled_from(["forward", "forward", "back", "wrap", "next"]))
    def work(self, agent_id: str, data: st.DataObject, move: str) -> None:
        """The agent moves one interaction it holds on: accept/reject, wrap up, complete."""
        held = self._held(agent_id, (Status.RESERVED, Status.ASSIGNED, Status.WRAP_UP))
        if not held:
            return
        target = data.draw(st.sampled_from(held))
        status = self.memory.engine.view(target).status
        if status is Status.RESERVED:
            if move == "back":
                self.both(lambda s: s.reject(agent_id, target, "busy"))
            else:
                self.both(lambda s: s.accept(agent_id, target))
        elif move == "wrap":  # an error when it is wrapping up already
            self.both(lambda s: s.wrap_up(agent_id, target))
        elif move == "next":  # a desktop completing and asking for the next at once
            self.both(lambda s: s.complete_and_pull(agent_id, target, "done"))
        else:
            self.both(lambda s: s.complete(agent_id, target, "done"))

    @precondition(lambda self: bool(self.ingested))
    @rule(data=st.data(), how=st.sampled_from(["abandon", "cancel", "transfer"]),
          queue=st.sampled_from([*core.QUEUES, "nowhere"]))
    def end_or_move(self, data: st.DataObject, how: str, queue: str) -> None:
        target = data.draw(st.sampled_from(self.ingested))
        if how == "abandon":
            self.both(lambda s: s.abandon(target, "hung up"))
        elif how == "cancel":
            self.both(lambda s: s.cancel(target))
        else:
            self.both(lambda s: s.transfer(target, RoutingPlan(queue)))

    @rule(agent_id=st.sampled_from([*core.AGENTS, "nobody"]), data=st.data())
    def wrong_agent(self, agent_id: str, data: st.DataObject) -> None:
        target = data.draw(st.sampled_from([*self.ingested, "missing"]))
        self.both(lambda s: s.accept(agent_id, target))

    @rule(agent_id=st.sampled_from(list(core.AGENTS)), spanish=st.integers(0, 5),
          chat=st.integers(0, 3), voice=st.integers(0, 1), blocking=st.booleans(),
          only_general=st.booleans(), remove=st.booleans())
    def reconfigure(self, agent_id: str, spanish: int, chat: int, voice: int,
                    blocking: bool, only_general: bool, remove: bool) -> None:
        """A supervisor edits an agent live (skills, capacity, queues) or removes it."""
        base = core.AGENTS[agent_id]
        skills = {k: v for k, v in base.skills.items() if k != "spanish"}
        if spanish:
            skills["spanish"] = spanish
        capacity = {**base.capacity, Channel.CHAT: chat, Channel.VOICE: voice}
        profile = replace(
            base, skills=skills, capacity=capacity,
            blocking=frozenset({Channel.VOICE}) if blocking else frozenset(),
            queues=("general",) if only_general and "csr" in base.teams else (),
        )
        if remove:  # refused unless offline and holding nothing; then back as configured
            self.both(lambda s: s.remove_agent(agent_id))
            if agent_id in self.memory.engine.topology.agents:
                return  # refused (AgentBusy), in both stores alike
        self.both(lambda s: s.upsert_agent(profile))

    @rule(seconds=st.sampled_from([1, 1, 5, 11, 25, 90, 250]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.both(lambda s: s.run_timers())
        self.both(lambda s: s.next_timer_at())

    # ------------------------------------------------------------ same state
    @invariant()
    def same_views(self) -> None:
        for agent_id in core.AGENTS:
            self.both(lambda s, a=agent_id: s.agent(a))
        for item_id in self.ingested:
            self.both(lambda s, i=item_id: s.get(i))
        self.both(lambda s: s.snapshot())

    @invariant()
    def preferred_counts_match(self) -> None:
        """Layout 6: an agent's count of work waiting for it as preferred agent ('npref')
        is the size of that set, which a pull reads only when the count is not '0'."""
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            for store in (self.redis, self.general, self.batched):
                for agent_id in core.AGENTS:
                    key = store.prefix + "a:" + agent_id
                    if client.exists(key):
                        waiting = client.zcard(store.prefix + "pref:" + agent_id)
                        assert client.hget(key, "npref") == str(waiting), (agent_id, waiting)
        finally:
            client.close()

    @invariant()
    def same_redis_state(self) -> None:
        fast, general, batched = (stored_state(self.url, store.prefix)
                                  for store in (self.redis, self.general, self.batched))
        assert fast == general
        assert batched == fast
        # events that shared a stream entry in a batch (the check that batches formed)
        client = redis.Redis.from_url(self.url)
        try:
            entries = client.xlen(self.batched.prefix + "events")
        finally:
            client.close()
        SEEN["grouped"] = max(SEEN["grouped"], len(batched.get("events", [])) - entries)
        SEEN["keys"] = max(SEEN["keys"], len(fast))


def test_memory_and_redis_agree(redis_url: str) -> None:
    Differential.url = redis_url
    run_state_machine_as_test(
        Differential,
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
    # the random runs must have exercised the interesting paths, not only errors
    assert SEEN["calls"] > 1000, SEEN
    assert SEEN["kinds"] >= {"queued", "reserved", "escalated"}, SEEN
    assert SEEN["grouped"] > 0, SEEN


@pytest.mark.parametrize("strategy", [Strategy.LEAST_OCCUPIED, Strategy.HIGHEST_PROFICIENCY])
def test_other_strategies_agree(redis_url: str, strategy: Strategy) -> None:
    class Machine(Differential):
        url = redis_url
        engine_settings = replace(SETTINGS, strategy=strategy)

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=15, stateful_step_count=30, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )


def test_every_transition_agrees(redis_url: str) -> None:
    """A fixed walk through every transition and timer kind, compared step by step."""
    Differential.url = redis_url
    m = Differential()
    try:
        m.presence("ana", Presence.AVAILABLE, auto_offer=False)
        m.presence("ben", Presence.AVAILABLE, auto_offer=True)
        for n in range(6):
            m.arrive(list(Channel)[n % 5], "general" if n % 2 else "billing",
                     core.REQUIREMENTS[n % 3], n % 3, escalate=n % 2 == 0,
                     preferred="ana" if n == 3 else None, retry=n == 5, overflow=n == 4)
        m.pull("ana", login=False)
        for agent_id in ("ana", "ben"):
            held = m._held(agent_id, (Status.RESERVED,))
            for item_id in held[:1]:
                m.both(lambda s, a=agent_id, i=item_id: s.accept(a, i))
                m.both(lambda s, a=agent_id, i=item_id: s.wrap_up(a, i))
            for item_id in held[1:]:
                m.both(lambda s, a=agent_id, i=item_id: s.reject(a, i, "busy"))
        m.advance(11)
        m.advance(25)  # offers expire, missed offers, escalations, at-risk
        m.pull("dee", login=True)
        for item_id in m._held("dee", (Status.RESERVED,)):
            m.both(lambda s, i=item_id: s.reject("dee", i, "wrong language"))
        m.advance(90)  # wrap-up timeouts complete, breaches
        movable = [i for i in m.ingested
                   if m.memory.engine.view(i).status in (Status.QUEUED, Status.ASSIGNED)]
        m.both(lambda s: s.transfer(movable[0], RoutingPlan("social")))
        m.both(lambda s: s.abandon(movable[-1], "hung up"))
        m.advance(250)  # max wait: overflow and expiry
        m.presence("ana", Presence.OFFLINE, auto_offer=True)
        # live configuration: a team, a queue, a queue that may not move while in use
        m.both(lambda s: s.upsert_team(Team("back_office")))
        m.both(lambda s: s.upsert_queue(Queue("claims", "csr")))
        m.arrive(Channel.EMAIL, "general", (), 0, escalate=False, preferred=None,
                 retry=False, overflow=False)
        m.both(lambda s: s.upsert_queue(Queue("general", "back_office")))  # refused
        m.reconfigure("dee", spanish=4, chat=2, voice=1, blocking=True, only_general=True,
                      remove=False)
        m.reconfigure("cy", spanish=0, chat=3, voice=0, blocking=False, only_general=False,
                      remove=True)
        m.pull("dee", login=True)
        m.same_views()
        # nobody logged in: a call waits out its max wait and overflows
        for agent_id in core.AGENTS:
            m.presence(agent_id, Presence.OFFLINE, auto_offer=True)
        m.arrive(Channel.CHAT, "billing", (), 1, escalate=False, preferred=None, retry=False,
                 overflow=True)
        m.advance(250)
        m.same_views()
        kinds = {e.kind.value for e in m.events["memory"]}
        assert kinds >= {"queued", "reserved", "assigned", "wrap_up", "completed", "rejected",
                         "offer_expired", "escalated", "sla_at_risk", "sla_breached",
                         "transferred", "agent_presence", "overflowed", "expired"}, kinds
    finally:
        m.teardown()
