"""The universal ordering across channels: priority, then SLA deadline, then arrival."""

from __future__ import annotations

import pytest

from agents.model import Presence
from router.clock import VirtualClock
from router.engine import RoutingEngine
from router.interaction import Channel
from router.ordering import order_key, redis_member, redis_score
from router.plan import RoutingPlan
from tests.conftest import agent, make_interaction, small_topology


def engine(clock: VirtualClock) -> RoutingEngine:
    return RoutingEngine(small_topology(agent("a1")), clock)


def test_voice_near_breach_goes_before_email_far_from_breach(clock: VirtualClock) -> None:
    e = engine(clock)
    e.ingest(make_interaction(Channel.EMAIL, id="email"), RoutingPlan("general"))
    clock.advance(5)
    e.ingest(make_interaction(Channel.VOICE, id="call"), RoutingPlan("general"))
    # voice deadline = now + 20 s; email deadline = 4 h after its earlier arrival
    assert e.queued_ids() == ["call", "email"]


def test_priority_tier_beats_deadline(clock: VirtualClock) -> None:
    e = engine(clock)
    e.ingest(make_interaction(Channel.VOICE, id="call"), RoutingPlan("general", priority=1))
    e.ingest(make_interaction(Channel.EMAIL, id="vip-email"), RoutingPlan("general", priority=5))
    assert e.queued_ids() == ["vip-email", "call"]


def test_same_deadline_keeps_arrival_order(clock: VirtualClock) -> None:
    e = engine(clock)
    for name in ("first", "second", "third"):
        e.ingest(make_interaction(Channel.CHAT, id=name), RoutingPlan("general"))
    assert e.queued_ids() == ["first", "second", "third"]


def test_after_breach_most_overdue_first(clock: VirtualClock) -> None:
    e = engine(clock)
    e.ingest(make_interaction(Channel.CHAT, id="chat"), RoutingPlan("general"))  # T = 60
    clock.advance(45)
    e.ingest(make_interaction(Channel.VOICE, id="call"), RoutingPlan("general"))  # T = 20
    clock.advance(85)
    e.tick()
    # both breached at t=130: the chat (due t=60) is 70 s overdue, the call (due t=65)
    # 65 s: the chat goes first although the call has the shorter threshold
    assert e.queued_ids() == ["chat", "call"]
    clock.advance(1)
    assert e.queued_ids() == ["chat", "call"]


def test_pull_takes_the_head_of_the_universal_order(clock: VirtualClock) -> None:
    e = engine(clock)
    e.set_presence("a1", Presence.AVAILABLE, auto_offer=False)
    e.ingest(make_interaction(Channel.EMAIL, id="email"), RoutingPlan("general"))
    e.ingest(make_interaction(Channel.SMS, id="sms"), RoutingPlan("general"))
    e.ingest(make_interaction(Channel.VOICE, id="call"), RoutingPlan("billing"))
    reservation = e.pull("a1")
    assert reservation is not None and reservation.interaction_id == "call"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((5, 100.0, 1), (4, 50.0, 0)),  # higher priority first whatever the deadline
        ((1, 50.0, 9), (1, 60.0, 1)),  # then earlier deadline
        ((1, 50.0, 1), (1, 50.0, 2)),  # then arrival
    ],
)
def test_order_key_and_redis_encoding_agree(
    a: tuple[int, float, int], b: tuple[int, float, int]
) -> None:
    key_a, key_b = order_key(*a, "x"), order_key(*b, "y")
    assert key_a < key_b
    score_a, score_b = redis_score(a[0], a[1]), redis_score(b[0], b[1])
    member_a, member_b = redis_member(a[2], "x"), redis_member(b[2], "y")
    assert (score_a, member_a) < (score_b, member_b)
