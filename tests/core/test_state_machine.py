"""Random operation sequences against the routing core, checking the invariants after
every step: one state per interaction, at most one holder, no agent over capacity,
nothing lost, and a pull always gets the best eligible interaction."""

from __future__ import annotations

import itertools
from dataclasses import replace

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agents.model import Presence
from router.clock import VirtualClock
from router.engine import EngineSettings, RoutingEngine
from router.errors import AgentUnavailable
from router.indexes import meets
from router.interaction import HELD_STATUSES, Channel, Status
from router.plan import EscalationStep, RoutingPlan, SkillRequirement
from tests.conftest import agent, make_interaction, small_topology

AGENTS = {
    "ana": agent("ana", skills={"spanish": 4, "billing": 2}),
    "ben": agent("ben", skills={"billing": 5}, capacity={
        Channel.VOICE: 1, Channel.CHAT: 2, Channel.SMS: 1, Channel.SOCIAL: 0, Channel.EMAIL: 2}),
    "cy": agent("cy", teams=("social_care",), skills={"social": 3}),
    "dee": agent("dee", teams=("csr", "social_care"), skills={"spanish": 2},
                 blocking=frozenset()),
}
QUEUES = ["general", "billing", "social"]
REQUIREMENTS = [(), (SkillRequirement("spanish", 3),), (SkillRequirement("billing", 2),)]


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock(start=0.0)
        self.engine = RoutingEngine(
            small_topology(*AGENTS.values()), self.clock,
            settings=EngineSettings(offer_timeout=15, missed_offers_limit=3, wrap_up_timeout=40),
        )
        self.ingested: set[str] = set()
        self.profiles = dict(AGENTS)
        self.grandfathered: dict[tuple[str, Channel], int] = {}
        self.ids = itertools.count()

    # ------------------------------------------------------------ operations
    @rule(
        channel=st.sampled_from(list(Channel)), queue=st.sampled_from(QUEUES),
        requirement=st.sampled_from(REQUIREMENTS), priority=st.integers(0, 3),
        escalate=st.booleans(), preferred=st.sampled_from([None, "ana", "ben"]),
        retry=st.booleans(),
    )
    def arrive(self, channel: Channel, queue: str, requirement: tuple[SkillRequirement, ...],
               priority: int, escalate: bool, preferred: str | None, retry: bool) -> None:
        n = next(self.ids)
        key = f"k{n - 1}" if retry and n else f"k{n}"  # sometimes a provider retry
        steps = (EscalationStep(after=20, lower_proficiency_by=2, add_queues=("general",),
                                raise_priority_by=1),) if escalate else ()
        plan = RoutingPlan(queue, skills=requirement, priority=priority, steps=steps,
                           preferred_agent=preferred, preferred_timeout=10 if preferred else 0,
                           max_wait=200 if escalate else None)
        result = self.engine.ingest(
            make_interaction(channel, at=self.clock.now, id=f"i{n}", key=key), plan
        )
        if result.created:
            self.ingested.add(result.interaction_id)
        else:
            assert result.interaction_id in self.ingested

    @rule(agent_id=st.sampled_from(list(AGENTS)),
          presence=st.sampled_from([Presence.AVAILABLE, Presence.NOT_READY, Presence.OFFLINE]),
          auto_offer=st.booleans())
    def presence(self, agent_id: str, presence: Presence, auto_offer: bool) -> None:
        self.engine.set_presence(agent_id, presence, "break", auto_offer=auto_offer)

    @rule(agent_id=st.sampled_from(list(AGENTS)), spanish=st.integers(1, 5),
          chat_slots=st.integers(0, 3))
    def reconfigure(self, agent_id: str, spanish: int, chat_slots: int) -> None:
        """A supervisor edits skills and capacity while the agent works."""
        old = self.profiles[agent_id]
        capacity = dict(old.capacity)
        capacity[Channel.CHAT] = chat_slots
        profile = replace(old, skills={**old.skills, "spanish": spanish}, capacity=capacity)
        self.profiles[agent_id] = profile
        held = self.engine.agent(agent_id).active.get(Channel.CHAT, 0)
        self.grandfathered[agent_id, Channel.CHAT] = held
        self.engine.upsert_agent(profile)

    @rule(agent_id=st.sampled_from(list(AGENTS)))
    def pull(self, agent_id: str) -> None:
        expected = self._best_by_brute_force(agent_id)
        try:
            reservation = self.engine.pull(agent_id)
        except AgentUnavailable:
            assert self.engine.agent(agent_id).presence is Presence.OFFLINE
            return
        got = reservation.interaction_id if reservation else None
        assert got == expected, f"{agent_id} pulled {got}, best eligible was {expected}"

    def _held(self, agent_id: str, status: Status) -> list[str]:
        return sorted(
            i for i in self.engine.agent(agent_id).held if self.engine.view(i).status is status
        )

    @rule(agent_id=st.sampled_from(list(AGENTS)), data=st.data())
    def accept(self, agent_id: str, data: st.DataObject) -> None:
        held = self._held(agent_id, Status.RESERVED)
        if held:
            self.engine.accept(agent_id, data.draw(st.sampled_from(held)))

    @rule(agent_id=st.sampled_from(list(AGENTS)), data=st.data())
    def reject(self, agent_id: str, data: st.DataObject) -> None:
        held = self._held(agent_id, Status.RESERVED)
        if held:
            self.engine.reject(agent_id, data.draw(st.sampled_from(held)), "busy")

    @rule(agent_id=st.sampled_from(list(AGENTS)), data=st.data(), wrap=st.booleans())
    def finish(self, agent_id: str, data: st.DataObject, wrap: bool) -> None:
        held = self._held(agent_id, Status.ASSIGNED) + self._held(agent_id, Status.WRAP_UP)
        if not held:
            return
        target = data.draw(st.sampled_from(held))
        if wrap and self.engine.view(target).status is Status.ASSIGNED:
            self.engine.wrap_up(agent_id, target)
        else:
            self.engine.complete(agent_id, target, "done")

    @precondition(lambda self: bool(self.engine.open_ids()))
    @rule(data=st.data(), how=st.sampled_from(["abandon", "cancel", "transfer"]))
    def end_or_move(self, data: st.DataObject, how: str) -> None:
        target = data.draw(st.sampled_from(sorted(self.engine.open_ids())))
        status = self.engine.view(target).status
        if how == "abandon" and status in (Status.QUEUED, Status.RESERVED):
            self.engine.abandon(target)
        elif how == "cancel" and status in (Status.QUEUED, Status.RESERVED, Status.ASSIGNED):
            self.engine.cancel(target)
        elif how == "transfer" and status in (Status.QUEUED, Status.ASSIGNED):
            self.engine.transfer(target, RoutingPlan(data.draw(st.sampled_from(QUEUES))))

    @rule(seconds=st.sampled_from([1, 5, 11, 25, 90, 250]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.engine.tick()

    # ------------------------------------------------------------ reference
    def _best_by_brute_force(self, agent_id: str) -> str | None:
        """The best queued interaction `agent_id` may take, by scanning everything."""
        engine = self.engine
        state = engine._agents[agent_id]
        if state.presence is not Presence.AVAILABLE:
            return None
        best = None
        for item in engine._items.values():
            if item.status is not Status.QUEUED or not state.can_take(item.channel):
                continue
            if item.in_preferred is not None:
                eligible = item.in_preferred == agent_id
            else:
                eligible = any(q in state.queues for q in item.target.queues) and meets(
                    state.profile, item.target.skills
                )
            if eligible:
                key = (-item.target.priority, item.due_at, item.seq)
                if best is None or key < best[0]:
                    best = (key, item.id)
        return None if best is None else best[1]

    # ------------------------------------------------------------ invariants
    @invariant()
    def nothing_lost_one_state_each(self) -> None:
        counts = self.engine.counts()
        assert sum(counts.values()) == len(self.ingested)
        seen = {i: self.engine.view(i).status for i in self.ingested}
        for status in Status:
            assert counts[status] == sum(1 for s in seen.values() if s is status)

    @invariant()
    def held_by_at_most_one_agent_within_capacity(self) -> None:
        holders: dict[str, str] = {}
        for agent_id, profile in self.profiles.items():
            view = self.engine.agent(agent_id)
            for item_id, channel in view.held.items():
                assert item_id not in holders, f"{item_id} held twice ({agent_id})"
                holders[item_id] = agent_id
                work = self.engine.view(item_id)
                assert work.status in HELD_STATUSES and work.agent_id == agent_id
                assert work.interaction.channel is channel
            for channel in Channel:
                # Lowering capacity never takes work away; it only stops new work, so
                # what was held then is allowed until it has drained below the limit.
                count = view.active.get(channel, 0)
                held_then = self.grandfathered.get((agent_id, channel), 0)
                assert count <= max(profile.capacity.get(channel, 0), held_then)
                self.grandfathered[agent_id, channel] = min(held_then, count)
            blocking = [c for c in view.held.values() if c in profile.blocking]
            if blocking:
                assert len(view.held) == 1, f"{agent_id} holds {view.held} during a call"
        for item_id in self.engine.open_ids():
            view = self.engine.view(item_id)
            if view.status in HELD_STATUSES:
                assert holders.get(item_id) == view.agent_id

    @invariant()
    def queue_index_matches_states(self) -> None:
        queued = {i for i in self.engine.open_ids() if self.engine.view(i).status is Status.QUEUED}
        assert set(self.engine.queued_ids()) == queued
        snapshot_depth = sum(q.depth for q in self.engine.snapshot().queues)
        assert snapshot_depth == len(queued)


TestRoutingMachine = RoutingMachine.TestCase
TestRoutingMachine.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
