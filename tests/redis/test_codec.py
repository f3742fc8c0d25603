"""The stored JSON of interactions and plans: keys at their default are left out, and
every text decodes to what was encoded, including texts written in full by older
workers."""

from __future__ import annotations

import json
from dataclasses import fields

from hypothesis import given
from hypothesis import strategies as st

from router import redis_codec
from router.interaction import Attachment, Channel, Direction, Interaction
from router.plan import EscalationStep, MaxWaitAction, RoutingPlan, SkillRequirement

_NAMES = st.text(min_size=1, max_size=8)
_OPTIONAL_TEXT = st.none() | st.text(max_size=8)
_TIMES = st.floats(min_value=0, max_value=2e9, allow_nan=False)

_INTERACTIONS = st.builds(
    Interaction,
    id=_NAMES, channel=st.sampled_from(Channel), idempotency_key=_NAMES, created_at=_TIMES,
    direction=st.sampled_from(Direction), customer_id=_OPTIONAL_TEXT, address=_OPTIONAL_TEXT,
    to=_OPTIONAL_TEXT, conversation_id=_OPTIONAL_TEXT, subject=st.text(max_size=8),
    summary=st.text(max_size=8), language=_OPTIONAL_TEXT, intent=_OPTIONAL_TEXT,
    sentiment=st.none() | st.floats(min_value=-1, max_value=1),
    public=st.booleans(), reach=st.integers(min_value=0, max_value=10**6),
    attachments=st.lists(st.builds(
        Attachment, name=_NAMES, content_type=_NAMES, size=st.integers(0, 10**6),
        url=_OPTIONAL_TEXT), max_size=2).map(tuple),
    attributes=st.dictionaries(_NAMES, st.none() | st.booleans() | st.integers()
                               | st.text(max_size=4), max_size=3),
)
_PLANS = st.builds(
    RoutingPlan,
    queue=_NAMES,
    skills=st.lists(st.builds(SkillRequirement, _NAMES, st.integers(1, 5)),
                    max_size=2).map(tuple),
    priority=st.integers(0, 9), sla_class=_OPTIONAL_TEXT,
    steps=st.lists(st.builds(
        EscalationStep, after=st.floats(0, 600), lower_proficiency_by=st.integers(0, 4),
        drop_skills=st.lists(_NAMES, max_size=2).map(tuple),
        add_queues=st.lists(_NAMES, max_size=2).map(tuple),
        raise_priority_by=st.integers(0, 3)), max_size=2).map(tuple),
    preferred_agent=_OPTIONAL_TEXT, preferred_timeout=st.sampled_from([0.0, 5.0, 30.5]),
    max_wait=st.none() | st.floats(1, 600), max_wait_action=st.sampled_from(MaxWaitAction),
    overflow_queue=_OPTIONAL_TEXT, rule=_OPTIONAL_TEXT,
    rule_version=st.none() | st.integers(0, 100),
    tags=st.lists(_NAMES, max_size=2).map(tuple),
)


def _decoded_afresh(text: str) -> Interaction:
    redis_codec._DECODED.pop(text, None)  # (not the object remembered when encoding)
    return redis_codec.decode_interaction(text)


@given(_INTERACTIONS)
def test_an_interaction_decodes_as_encoded(interaction: Interaction) -> None:
    decoded = _decoded_afresh(redis_codec.encode_interaction(interaction))
    assert decoded == interaction
    for f in fields(Interaction):  # the same types too (0.0 stays a float, False a bool)
        assert type(getattr(decoded, f.name)) is type(getattr(interaction, f.name))


@given(_PLANS)
def test_a_plan_decodes_as_encoded(plan: RoutingPlan) -> None:
    decoded = redis_codec.decode_plan(redis_codec.encode_plan(plan))
    assert decoded == plan
    for f in fields(RoutingPlan):
        assert type(getattr(decoded, f.name)) is type(getattr(plan, f.name))


def test_defaults_are_left_out() -> None:
    interaction = Interaction(id="k1", channel=Channel.CHAT, idempotency_key="k1",
                              created_at=1.5)
    assert json.loads(redis_codec.encode_interaction(interaction)) == {
        "id": "k1", "channel": "chat", "idempotency_key": "k1", "created_at": 1.5}
    assert redis_codec.encode_plan(RoutingPlan("general")) == '{"queue":"general"}'
    plan = RoutingPlan("general", priority=3, preferred_timeout=0.0, tags=("vip",))
    assert json.loads(redis_codec.encode_plan(plan)) == {
        "queue": "general", "priority": 3, "tags": ["vip"]}


def test_texts_written_in_full_still_decode() -> None:
    # (what workers wrote before defaults were left out)
    full_interaction = (
        '{"id":"k1","channel":"chat","idempotency_key":"k1","created_at":1795444250.1065207,'
        '"direction":"inbound","customer_id":null,"address":null,"to":null,'
        '"conversation_id":null,"subject":"","summary":"","language":null,"intent":null,'
        '"sentiment":null,"public":false,"reach":0,"attachments":[],"attributes":{}}')
    assert _decoded_afresh(full_interaction) == Interaction(
        id="k1", channel=Channel.CHAT, idempotency_key="k1", created_at=1795444250.1065207)
    full_plan = (
        '{"queue":"general","skills":[],"priority":0,"sla_class":null,"steps":[],'
        '"preferred_agent":null,"preferred_timeout":0.0,"max_wait":null,'
        '"max_wait_action":"expire","overflow_queue":null,"rule":null,"rule_version":null,'
        '"tags":[]}')
    assert redis_codec.decode_plan(full_plan) == RoutingPlan("general")


def test_decoded_interactions_do_not_share_their_attributes() -> None:
    first = _decoded_afresh('{"id":"a","channel":"chat","idempotency_key":"a","created_at":1.0}')
    second = _decoded_afresh('{"id":"b","channel":"chat","idempotency_key":"b","created_at":1.0}')
    assert first.attributes == {} and first.attributes is not second.attributes
