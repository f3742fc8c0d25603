"""The `Store` contract: what every store must do, written against the protocol only."""

from __future__ import annotations

import pytest

from agents.model import Presence
from router.clock import VirtualClock
from router.errors import IllegalTransition, NotHeldByAgent, UnknownInteraction
from router.events import Event, EventKind, InteractionEvent
from router.interaction import Channel, Status
from router.plan import RoutingPlan, SkillRequirement
from router.store import Store
from tests.conftest import make_interaction


async def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)
    assert await store.ping()


async def test_ingest_is_idempotent(store: Store, clock: VirtualClock) -> None:
    first = await store.ingest(make_interaction(Channel.SMS, key="SM1"), RoutingPlan("general"))
    again = await store.ingest(make_interaction(Channel.SMS, key="SM1"), RoutingPlan("general"))
    assert first.created and not again.created
    assert again.interaction_id == first.interaction_id
    assert await store.find_by_key(Channel.SMS, "SM1") == first.interaction_id
    assert await store.find_by_key(Channel.EMAIL, "SM1") is None
    other = await store.ingest(make_interaction(Channel.VOICE, key="SM1"), RoutingPlan("general"))
    assert other.created  # the same provider id on another channel is another interaction
    snapshot = await store.snapshot()
    assert snapshot.statuses["queued"] == 2


async def test_received_counts_first_arrivals_by_first_queue(store: Store) -> None:
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    voice = await store.ingest(make_interaction(Channel.VOICE, key="V1"), RoutingPlan("billing"))
    await store.ingest(make_interaction(Channel.VOICE, key="V1"), RoutingPlan("billing"))  # retry
    await store.ingest(make_interaction(Channel.SMS, key="S1"), RoutingPlan("general"))
    reservation = await store.pull("alice")
    assert reservation is not None and reservation.interaction_id == voice.interaction_id
    await store.reject("alice", voice.interaction_id)  # back in its queue: not an arrival
    await store.transfer(voice.interaction_id, RoutingPlan("vip"))  # nor is a transfer
    received = {(q.queue, q.channel): q.received for q in (await store.snapshot()).queues}
    assert {lane: n for lane, n in received.items() if n} == {
        ("billing", "voice"): 1, ("general", "sms"): 1}
    assert received.get(("vip", "voice"), 0) == 0


async def test_full_lifecycle(store: Store, clock: VirtualClock) -> None:
    events: list[Event] = []
    store.subscribe(events.append)
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.VOICE), RoutingPlan("billing"))
    reservation = await store.pull("alice")
    assert reservation is not None and reservation.interaction_id == result.interaction_id
    assert reservation.expires_at == clock.now + 10
    await store.accept("alice", result.interaction_id)
    await store.wrap_up("alice", result.interaction_id)
    view = await store.complete("alice", result.interaction_id, "resolved")
    assert view.status is Status.COMPLETED and view.disposition == "resolved"
    lifecycle = [e.kind for e in events if isinstance(e, InteractionEvent)]
    assert lifecycle == [
        EventKind.QUEUED, EventKind.RESERVED, EventKind.ASSIGNED, EventKind.WRAP_UP,
        EventKind.COMPLETED,
    ]


async def test_pull_respects_skills_and_order(store: Store, clock: VirtualClock) -> None:
    await store.set_presence("emil", Presence.AVAILABLE, auto_offer=False)  # spanish 2
    await store.ingest(make_interaction(Channel.EMAIL, id="mail"), RoutingPlan("general"))
    await store.ingest(
        make_interaction(Channel.VOICE, id="es-call"),
        RoutingPlan("general", skills=(SkillRequirement("spanish", 4),)),
    )
    await store.ingest(make_interaction(Channel.CHAT, id="chat"), RoutingPlan("general"))
    got = await store.pull("emil")
    assert got is not None and got.interaction_id == "chat"  # call needs spanish 4


async def test_push_offer_and_expiry_returns_with_age(store: Store, clock: VirtualClock) -> None:
    await store.set_presence("alice", Presence.AVAILABLE)
    result = await store.ingest(make_interaction(Channel.VOICE), RoutingPlan("billing"))
    assert (await store.get(result.interaction_id)).status is Status.RESERVED
    enqueued = (await store.get(result.interaction_id)).enqueued_at
    clock.advance(11)
    assert await store.run_timers() >= 1
    view = await store.get(result.interaction_id)
    assert view.status is Status.QUEUED and view.enqueued_at == enqueued
    assert await store.next_timer_at() is not None


async def test_errors_are_typed(store: Store) -> None:
    with pytest.raises(UnknownInteraction):
        await store.get("missing")
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    with pytest.raises(NotHeldByAgent):
        await store.accept("alice", result.interaction_id)
    await store.abandon(result.interaction_id)
    with pytest.raises(IllegalTransition):
        await store.cancel(result.interaction_id)


async def test_transfer_and_agent_view(store: Store) -> None:
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    await store.pull("alice")
    await store.accept("alice", result.interaction_id)
    assert (await store.agent("alice")).active == {Channel.CHAT: 1}
    view = await store.transfer(result.interaction_id, RoutingPlan("vip"), "vip customer")
    assert view.status is Status.QUEUED and view.queue == "vip"
    assert (await store.agent("alice")).held == {}


async def test_not_ready_with_reason_and_snapshot(store: Store) -> None:
    view = await store.set_presence("gus", Presence.NOT_READY, "lunch")
    assert view.presence is Presence.NOT_READY and view.reason == "lunch"
    snapshot = await store.snapshot()
    assert snapshot.agents_by_presence["social_care"]["not_ready"] == 1


async def test_upsert_agent_changes_eligibility_live(store: Store) -> None:
    from agents.model import AgentProfile

    await store.set_presence("emil", Presence.AVAILABLE, auto_offer=False)
    await store.ingest(
        make_interaction(Channel.CHAT, id="es-chat"),
        RoutingPlan("general", skills=(SkillRequirement("spanish", 4),)),
    )
    assert await store.pull("emil") is None  # spanish 2 only
    await store.upsert_agent(AgentProfile("emil", ("csr",), skills={"spanish": 4}))
    got = await store.pull("emil")
    assert got is not None and got.interaction_id == "es-chat"


async def test_new_agent_starts_offline_and_can_be_removed(store: Store) -> None:
    from agents.model import AgentProfile
    from router.errors import AgentBusy, UnknownAgent

    view = await store.upsert_agent(AgentProfile("zoe", ("social_care",), skills={"social": 3}))
    assert view.presence is Presence.OFFLINE
    await store.set_presence("zoe", Presence.AVAILABLE)
    with pytest.raises(AgentBusy, match="'zoe' is 'available'"):
        await store.remove_agent("zoe")
    await store.set_presence("zoe", Presence.OFFLINE)
    await store.remove_agent("zoe")
    with pytest.raises(UnknownAgent):
        await store.agent("zoe")


async def test_new_queue_is_served_by_its_teams_agents(store: Store) -> None:
    from agents.model import Queue, Team
    from router.errors import ConfigError

    await store.upsert_team(Team("sales", "Sales"))
    await store.upsert_queue(Queue("retention", "csr", "Retention"))
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    await store.ingest(make_interaction(Channel.CHAT, id="keep-me"), RoutingPlan("retention"))
    got = await store.pull("alice")
    assert got is not None and got.interaction_id == "keep-me"
    with pytest.raises(ConfigError, match="unknown team 'nope'"):
        await store.upsert_queue(Queue("x", "nope"))


async def test_complete_and_pull_completes_then_reserves_the_best_next(
    store: Store, clock: VirtualClock
) -> None:
    events: list[Event] = []
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    first = await store.ingest(make_interaction(Channel.CHAT, id="first"), RoutingPlan("general"))
    await store.pull("alice")
    await store.accept("alice", first.interaction_id)
    clock.advance(1)
    await store.ingest(make_interaction(Channel.EMAIL, id="mail"), RoutingPlan("general"))
    await store.ingest(
        make_interaction(Channel.CHAT, id="urgent"), RoutingPlan("general", priority=5)
    )
    store.subscribe(events.append)
    view, reservation = await store.complete_and_pull("alice", first.interaction_id, "solved")
    assert view.status is Status.COMPLETED and view.disposition == "solved"
    assert view.agent_id == "alice"
    # the same decision `pull` makes: highest priority first
    assert reservation is not None and reservation.interaction_id == "urgent"
    assert reservation.agent_id == "alice" and reservation.expires_at == clock.now + 10
    assert (await store.get("urgent")).status is Status.RESERVED
    assert (await store.get("mail")).status is Status.QUEUED
    assert [(e.kind, e.interaction_id) for e in events if isinstance(e, InteractionEvent)] == [
        (EventKind.COMPLETED, "first"), (EventKind.RESERVED, "urgent"),
    ]
    held = (await store.agent("alice")).held
    assert held == {"urgent": Channel.CHAT}


async def test_complete_and_pull_with_nothing_waiting_only_completes(store: Store) -> None:
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    await store.pull("alice")
    await store.accept("alice", result.interaction_id)
    view, reservation = await store.complete_and_pull("alice", result.interaction_id)
    assert view.status is Status.COMPLETED and reservation is None
    assert (await store.agent("alice")).held == {}
    assert (await store.snapshot()).statuses["completed"] == 1


@pytest.mark.parametrize("presence", [Presence.NOT_READY, Presence.OFFLINE])
async def test_complete_and_pull_gives_an_unavailable_agent_nothing(
    store: Store, presence: Presence
) -> None:
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    await store.pull("alice")
    await store.accept("alice", result.interaction_id)
    await store.ingest(make_interaction(Channel.CHAT, id="waiting"), RoutingPlan("general"))
    await store.set_presence("alice", presence, "break")
    # an offline agent gets None, not AgentUnavailable: the completion has happened
    view, reservation = await store.complete_and_pull("alice", result.interaction_id)
    assert view.status is Status.COMPLETED and reservation is None
    assert (await store.get("waiting")).status is Status.QUEUED


async def test_complete_and_pull_errors_leave_the_queue_alone(store: Store) -> None:
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    await store.set_presence("bruno", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    await store.pull("alice")
    await store.ingest(make_interaction(Channel.CHAT, id="waiting"), RoutingPlan("general"))
    with pytest.raises(NotHeldByAgent):
        await store.complete_and_pull("bruno", result.interaction_id)
    with pytest.raises(IllegalTransition):  # reserved, not yet accepted
        await store.complete_and_pull("alice", result.interaction_id)
    assert (await store.get("waiting")).status is Status.QUEUED
    assert (await store.get(result.interaction_id)).status is Status.RESERVED


async def test_a_finished_interaction_is_held_by_nobody(store: Store) -> None:
    # (the agent that completed it is still on record, as the view's agent_id)
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    result = await store.ingest(make_interaction(Channel.CHAT), RoutingPlan("general"))
    await store.pull("alice")
    await store.accept("alice", result.interaction_id)
    view = await store.complete("alice", result.interaction_id)
    assert view.agent_id == "alice"
    with pytest.raises(NotHeldByAgent):
        await store.accept("alice", result.interaction_id)
    with pytest.raises(NotHeldByAgent):
        await store.complete("alice", result.interaction_id)
    with pytest.raises(NotHeldByAgent):
        await store.complete_and_pull("alice", result.interaction_id)


async def test_overflow_keeps_the_deadline_in_force_when_the_leg_started(
    store: Store, clock: VirtualClock
) -> None:
    # The overflow leg's SLA threshold is fixed when the queue leg starts, like the
    # leg's own: a live policy change must not move the goalposts of work already
    # waiting, and both stores must agree on which policy that work is measured by.
    from router.deadlines import Deadline
    from router.plan import MaxWaitAction

    class TeamDeadlines:
        def __init__(self, social_care: float) -> None:
            self.social_care = social_care

        def deadline(
            self, team: str, channel: Channel, sla_class: str | None, public: bool
        ) -> Deadline:
            return Deadline(threshold=self.social_care if team == "social_care" else 300.0)

    events: list[Event] = []
    store.subscribe(events.append)
    store.set_deadlines(TeamDeadlines(social_care=900.0))
    plan = RoutingPlan("general", max_wait=60, max_wait_action=MaxWaitAction.OVERFLOW,
                       overflow_queue="social")
    result = await store.ingest(make_interaction(Channel.CHAT, id="waits"), plan)
    enqueued = (await store.get(result.interaction_id)).enqueued_at
    store.set_deadlines(TeamDeadlines(social_care=120.0))  # live SLA change
    clock.advance(61)
    assert await store.run_timers() >= 1
    view = await store.get(result.interaction_id)
    assert view.status is Status.QUEUED and view.queue == "social"
    assert view.team == "social_care" and view.enqueued_at == enqueued
    assert view.due_at == enqueued + 900.0
    overflowed = [e for e in events
                  if isinstance(e, InteractionEvent) and e.kind is EventKind.OVERFLOWED]
    assert len(overflowed) == 1 and overflowed[0].threshold == 900.0
    # work that starts its leg after the change gets the new policy
    later = await store.ingest(make_interaction(Channel.CHAT, id="later"), plan)
    clock.advance(61)
    await store.run_timers()
    assert (await store.get(later.interaction_id)).due_at == clock.now - 61 + 120.0


async def test_overflow_to_a_queue_unknown_when_the_leg_started_expires(
    store: Store, clock: VirtualClock
) -> None:
    # Where a leg overflows is decided when it starts: to a queue the topology does not
    # know then it expires at max wait instead, even if that queue is configured later.
    from agents.model import Queue
    from router.plan import MaxWaitAction

    events: list[Event] = []
    store.subscribe(events.append)
    for interaction_id, queue in (("lost", "nowhere"), ("early", "retention")):
        plan = RoutingPlan("general", max_wait=60, max_wait_action=MaxWaitAction.OVERFLOW,
                           overflow_queue=queue)
        await store.ingest(make_interaction(Channel.CHAT, id=interaction_id), plan)
    await store.upsert_queue(Queue("retention", "csr", "Retention"))
    clock.advance(61)
    await store.run_timers()
    for interaction_id in ("lost", "early"):
        view = await store.get(interaction_id)
        assert view.status is Status.EXPIRED and view.queue == "general"
    ends = (EventKind.EXPIRED, EventKind.OVERFLOWED)
    assert sorted((e.interaction_id, e.kind, e.reason) for e in events
                  if isinstance(e, InteractionEvent) and e.kind in ends) == [
        ("early", EventKind.EXPIRED, "max_wait"), ("lost", EventKind.EXPIRED, "max_wait")]
    # the same plan, for a leg started once the queue is configured, overflows to it
    await store.ingest(make_interaction(Channel.CHAT, id="late"), plan)
    clock.advance(61)
    await store.run_timers()
    view = await store.get("late")
    assert view.status is Status.QUEUED and view.queue == "retention"


async def test_many_timers_due_at_once_fire_in_order_and_skip_finished_work(
    store: Store, clock: VirtualClock
) -> None:
    # More timers than the Redis store reads in one page (64), a third of them left
    # behind by cancelled interactions: one run fires the rest in due order.
    events: list[Event] = []
    store.subscribe(events.append)
    plan = RoutingPlan("general", max_wait=60)
    ids = [f"t{n:03d}" for n in range(150)]
    for interaction_id in ids:
        await store.ingest(make_interaction(Channel.CHAT, id=interaction_id), plan)
        clock.advance(0.25)
    cancelled = set(ids[::3])
    for interaction_id in sorted(cancelled):
        await store.cancel(interaction_id, "test")
    events.clear()
    clock.advance(86_400)
    assert await store.run_timers() > 0
    expired = [e.interaction_id for e in events
               if isinstance(e, InteractionEvent) and e.kind is EventKind.EXPIRED]
    assert expired == [i for i in ids if i not in cancelled]
    assert not [e for e in events
                if isinstance(e, InteractionEvent) and e.interaction_id in cancelled]
    for interaction_id in ids:
        status = (await store.get(interaction_id)).status
        assert status is (Status.CANCELLED if interaction_id in cancelled else Status.EXPIRED)
    assert await store.run_timers() == 0


async def test_breach_follows_at_risk_on_work_still_unanswered(
    store: Store, clock: VirtualClock
) -> None:
    # At-risk comes at near_breach x threshold and breach at the threshold, to work not
    # yet answered then; work answered before gets neither. Both stores set the breach
    # timer only when at-risk fires, so work reserved at that moment and handed back
    # later must still breach on time.
    from router.deadlines import Deadline

    class Deadlines:
        def deadline(
            self, team: str, channel: Channel, sla_class: str | None, public: bool
        ) -> Deadline:
            return Deadline(threshold=100.0, near_breach_fraction=0.8)

    events: list[Event] = []
    store.subscribe(events.append)
    store.set_deadlines(Deadlines())
    start = clock.now
    await store.set_presence("alice", Presence.AVAILABLE, auto_offer=False)
    for interaction_id in ("answered", "handed_back", "waiting"):
        await store.ingest(make_interaction(Channel.VOICE, id=interaction_id),
                           RoutingPlan("billing"))
    first = await store.pull("alice")
    assert first is not None and first.interaction_id == "answered"
    await store.accept("alice", "answered")
    await store.complete("alice", "answered", "resolved")
    clock.advance(75)
    second = await store.pull("alice")
    assert second is not None and second.interaction_id == "handed_back"
    clock.advance(5)
    await store.run_timers()
    clock.advance(2)
    await store.reject("alice", "handed_back", "wrong queue")
    clock.advance(18)
    await store.run_timers()
    sla = sorted((e.interaction_id, e.kind.value, e.at - start) for e in events
                 if isinstance(e, InteractionEvent)
                 and e.kind in (EventKind.SLA_AT_RISK, EventKind.SLA_BREACHED))
    assert sla == [
        ("handed_back", "sla_at_risk", 80.0), ("handed_back", "sla_breached", 100.0),
        ("waiting", "sla_at_risk", 80.0), ("waiting", "sla_breached", 100.0),
    ]
    clock.advance(3600)
    await store.run_timers()
    assert not [e for e in events if isinstance(e, InteractionEvent)
                and e.interaction_id == "answered" and e.kind.value.startswith("sla_")]
