from __future__ import annotations

import pytest
from channels_support import request, settings

from channels import CtiVoiceAdapter, InboundKind, TwilioVoiceAdapter
from channels.errors import MalformedPayload, UnprocessablePayload
from channels.keys import interaction_id
from channels.request import InboundRequest
from router.interaction import Channel, Direction


def test_twilio_incoming_call_is_normalized() -> None:
    (item,) = TwilioVoiceAdapter(settings()).parse(request("voice/twilio_incoming.form"), now=100.0)
    call = item.interaction
    assert item.kind is InboundKind.MESSAGE
    assert call.channel is Channel.VOICE
    assert call.idempotency_key == "CA5a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d"
    assert call.id == interaction_id(Channel.VOICE, call.idempotency_key)
    assert call.address == "+14155550134"
    assert call.to == "+18005550100"
    assert call.created_at == 100.0
    assert call.direction is Direction.INBOUND
    assert call.summary == "I was charged twice for March"
    assert call.attributes["ivr_digits"] == "2"
    assert call.attributes["caller_name"] == "LOPEZ ANA"
    assert call.attributes["from_country"] == "US"
    assert call.attributes["speech_confidence"] == "0.91"
    assert item.addresses == ("+14155550134",)
    assert item.conversation_key == "voice:CA5a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d"


def test_twilio_completed_status_is_a_hangup_of_the_queued_call() -> None:
    adapter = TwilioVoiceAdapter(settings())
    (incoming,) = adapter.parse(request("voice/twilio_incoming.form"), now=1.0)
    (hangup,) = adapter.parse(request("voice/twilio_hangup.form"), now=30.0)
    assert hangup.kind is InboundKind.HANGUP
    assert hangup.target_id == incoming.interaction.id
    # Its own key differs, or the dedup gate would treat it as a redelivery.
    assert hangup.interaction.idempotency_key != incoming.interaction.idempotency_key


@pytest.mark.parametrize("status", ["completed", "canceled", "no-answer"])
def test_every_gone_status_is_a_hangup(status: str) -> None:
    body = f"CallSid=CA1&From=%2B14155550134&CallStatus={status}".encode()
    (item,) = TwilioVoiceAdapter(settings()).parse(InboundRequest.build(body), now=0.0)
    assert item.kind is InboundKind.HANGUP


def test_withheld_caller_has_no_address() -> None:
    (item,) = TwilioVoiceAdapter(settings()).parse(request("voice/twilio_anonymous.form"), now=0.0)
    assert item.interaction.address is None
    assert item.addresses == ()
    assert item.interaction.attributes["caller_withheld"] is True


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (b"From=%2B14155550134", MalformedPayload, "CallSid"),
        (b"CallSid=CA1", MalformedPayload, "From"),
        (b"CallSid=CA1&From=banana", UnprocessablePayload, "From"),
        (
            b"CallSid=CA1&From=%2B14155550134&CallStatus=exploded",
            UnprocessablePayload,
            "CallStatus",
        ),
        (b"CallSid=CA%201&From=%2B14155550134", MalformedPayload, "CallSid"),
        (b"CallSid=CA1&From=%FF", MalformedPayload, "body"),
    ],
)
def test_twilio_bad_forms_name_the_field(body: bytes, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as raised:
        TwilioVoiceAdapter(settings()).parse(InboundRequest.build(body), now=0.0)
    assert raised.value.field == field  # type: ignore[attr-defined]
    assert field in str(raised.value)


def test_cti_offered_call() -> None:
    (item,) = CtiVoiceAdapter(settings()).parse(request("voice/cti_offered.json"), now=5.0)
    call = item.interaction
    assert item.kind is InboundKind.MESSAGE
    assert call.address == "+16175550199"
    assert call.to == "+18005550100"
    assert call.language == "en"
    assert call.intent == "billing_dispute"
    assert call.attributes["ivr_path"] == ("main", "billing", "dispute")
    assert call.attributes["intent_confidence"] == 0.87
    assert call.attributes["account"] == "ACME-0099"
    assert call.summary.startswith("I'd like to dispute")


def test_cti_abandon_targets_the_offered_call() -> None:
    adapter = CtiVoiceAdapter(settings())
    (offered,) = adapter.parse(request("voice/cti_offered.json"), now=5.0)
    (abandoned,) = adapter.parse(request("voice/cti_abandoned.json"), now=9.0)
    assert abandoned.kind is InboundKind.HANGUP
    assert abandoned.target_id == offered.interaction.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[1, 2]", "body"),
        (b'{"ani": "+14155550134"}', "call_id"),
        (b'{"call_id": "x", "ani": "+14155550134", "ivr_path": "main"}', "ivr_path"),
        (b'{"call_id": "x", "ani": "+14155550134", "event": "call.exploded"}', "event"),
        (b'{"call_id": "x", "ani": "+1415555', "body"),
    ],
)
def test_cti_bad_json_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(MalformedPayload) as raised:
        CtiVoiceAdapter(settings()).parse(InboundRequest.build(body), now=0.0)
    assert raised.value.field == field
