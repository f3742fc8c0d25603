from __future__ import annotations

from channels_support import request, settings
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from channels import (
    ConversationTracker,
    DecisionKind,
    IdentityIndex,
    IngestGate,
    Ingestor,
    TwilioSmsAdapter,
    decide,
    default_adapters,
)
from channels.request import InboundRequest


def ingestor(**overrides: object) -> Ingestor:
    unsigned = {
        "verify_twilio": False,
        "verify_meta": False,
        "verify_x": False,
        "verify_cti": False,
    }
    return Ingestor(default_adapters(settings(**{**unsigned, **overrides})), IdentityIndex())


def sms(sid: str, sender: str = "%2B12125550187", body: str = "hi") -> InboundRequest:
    return InboundRequest.build(
        f"MessageSid={sid}&From={sender}&To=%2B18005550100&Body={body}".encode()
    )


def test_same_payload_twice_is_one_interaction() -> None:
    pipeline = ingestor()
    (first,) = pipeline.ingest("twilio-sms", request("sms/sms_single.form"), now=0.0)
    (again,) = pipeline.ingest("twilio-sms", request("sms/sms_single.form"), now=5.0)
    assert first.kind is DecisionKind.NEW
    assert again.kind is DecisionKind.DUPLICATE
    assert again.target_id == first.target_id == first.interaction.id


@hyp_settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=40))
def test_redeliveries_never_duplicate(deliveries: list[int]) -> None:
    # Any interleaving of retries: exactly one routed decision per distinct provider key.
    pipeline = ingestor()
    routed: list[str] = []
    for step, n in enumerate(deliveries):
        sender = f"%2B1212555{n:04d}"
        for decision in pipeline.ingest("twilio-sms", sms(f"SM{n}", sender), now=float(step)):
            if decision.kind is not DecisionKind.DUPLICATE:
                routed.append(decision.interaction.idempotency_key)
    assert sorted(routed) == sorted({f"SM{n}" for n in deliveries})


def test_sms_within_window_joins_the_open_conversation() -> None:
    pipeline = ingestor(sms_window_seconds=1800)
    (first,) = pipeline.ingest("twilio-sms", request("sms/sms_single.form"), now=0.0)
    (second,) = pipeline.ingest("twilio-sms", request("sms/sms_followup.form"), now=600.0)
    assert second.kind is DecisionKind.FOLLOW_UP
    assert second.target_id == first.interaction.id
    assert second.interaction.conversation_id == first.interaction.conversation_id
    # The window is measured from the last message: 600 s + 1500 s is still inside it.
    (third,) = pipeline.ingest("twilio-sms", sms("SM3"), now=2100.0)
    assert third.kind is DecisionKind.FOLLOW_UP


def test_sms_after_the_window_is_new_work_in_the_same_conversation() -> None:
    pipeline = ingestor(sms_window_seconds=1800)
    (first,) = pipeline.ingest("twilio-sms", request("sms/sms_single.form"), now=0.0)
    (late,) = pipeline.ingest("twilio-sms", request("sms/sms_followup.form"), now=1801.0)
    assert late.kind is DecisionKind.NEW
    assert late.target_id == late.interaction.id != first.interaction.id
    assert late.interaction.conversation_id == first.interaction.conversation_id


def test_sms_from_another_number_is_separate() -> None:
    pipeline = ingestor()
    pipeline.ingest("twilio-sms", sms("SM1"), now=0.0)
    (other,) = pipeline.ingest("twilio-sms", sms("SM2", sender="%2B13125550166"), now=1.0)
    assert other.kind is DecisionKind.NEW


def test_closed_conversation_is_not_joined() -> None:
    pipeline = ingestor()
    (first,) = pipeline.ingest("twilio-sms", sms("SM1"), now=0.0)
    assert pipeline.close(first.interaction.id)
    (second,) = pipeline.ingest("twilio-sms", sms("SM2"), now=10.0)
    assert second.kind is DecisionKind.NEW


def test_email_reply_joins_its_thread() -> None:
    pipeline = ingestor()
    (original,) = pipeline.ingest("email", request("email/multipart_alternative.eml"), now=0.0)
    (reply,) = pipeline.ingest("email", request("email/quoted_reply.eml"), now=5000.0)
    assert original.kind is DecisionKind.NEW
    assert reply.kind is DecisionKind.FOLLOW_UP
    assert reply.target_id == original.interaction.id
    assert reply.interaction.conversation_id == original.interaction.conversation_id


def test_x_reply_joins_the_mention_it_answers() -> None:
    pipeline = ingestor()
    (mention,) = pipeline.ingest("x", request("social/x_tweet_quote.json"), now=0.0)
    (reply,) = pipeline.ingest("x", request("social/x_tweet_reply.json"), now=60.0)
    assert reply.kind is DecisionKind.FOLLOW_UP and reply.target_id == mention.interaction.id


def test_meta_batch_follow_up_inside_one_delivery() -> None:
    (first, second) = ingestor().ingest("meta", request("social/messenger_batch.json"), now=0.0)
    assert first.kind is DecisionKind.NEW
    assert second.kind is DecisionKind.FOLLOW_UP and second.target_id == first.interaction.id


def test_hangup_abandons_the_queued_call() -> None:
    pipeline = ingestor()
    (call,) = pipeline.ingest("twilio-voice", request("voice/twilio_incoming.form"), now=0.0)
    (gone,) = pipeline.ingest("twilio-voice", request("voice/twilio_hangup.form"), now=40.0)
    assert call.kind is DecisionKind.NEW
    assert gone.kind is DecisionKind.HANGUP
    assert gone.target_id == call.interaction.id
    (again,) = pipeline.ingest("twilio-voice", request("voice/twilio_hangup.form"), now=41.0)
    assert again.kind is DecisionKind.DUPLICATE


def test_auto_reply_is_not_routed() -> None:
    (decision,) = ingestor().ingest("email", request("email/auto_reply.eml"), now=0.0)
    assert decision.kind is DecisionKind.AUTO_REPLY


def test_decide_is_pure() -> None:
    (item,) = TwilioSmsAdapter(settings()).parse(request("sms/sms_single.form"), now=0.0)
    identity, tracker, gate = IdentityIndex(), ConversationTracker(), IngestGate()
    first = decide(item, identity=identity, conversations=tracker, gate=gate, now=0.0)
    second = decide(item, identity=identity, conversations=tracker, gate=gate, now=0.0)
    assert first == second and first.kind is DecisionKind.NEW
    assert len(gate) == 0 and len(tracker) == 0 and len(identity) == 0


def test_gate_forgets_after_retention() -> None:
    gate = IngestGate(retention_seconds=10, max_keys=2)
    assert gate.admit("a", "id-a", now=0.0)
    assert not gate.admit("a", "id-a", now=5.0)
    assert gate.admit("a", "id-a", now=11.0)
    gate.admit("b", "id-b", now=11.0)
    gate.admit("c", "id-c", now=11.0)
    assert len(gate) == 2
