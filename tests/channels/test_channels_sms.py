from __future__ import annotations

import pytest
from channels_support import request, settings

from channels import InboundKind, TwilioSmsAdapter
from channels.errors import MalformedPayload, UnprocessablePayload
from channels.request import InboundRequest
from router.interaction import Attachment, Channel


def test_sms_is_normalized() -> None:
    (item,) = TwilioSmsAdapter(settings()).parse(request("sms/sms_single.form"), now=10.0)
    sms = item.interaction
    assert item.kind is InboundKind.MESSAGE
    assert sms.channel is Channel.SMS
    assert sms.idempotency_key == "SM8c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a"
    assert sms.address == "+12125550187"
    assert sms.to == "+18005550100"
    assert sms.summary == "Hi, my order #A-4471 never arrived"
    assert sms.attachments == ()
    assert sms.attributes["from_city"] == "NEW YORK"
    assert sms.attributes["from_country"] == "US"
    assert item.conversation_key == "sms:+12125550187>+18005550100"
    assert item.join_window == 30 * 60


def test_mms_media_become_attachments_with_urls() -> None:
    (item,) = TwilioSmsAdapter(settings()).parse(request("sms/mms_media.form"), now=10.0)
    mms = item.interaction
    assert mms.address == "+13125550166"  # national format normalized with the default region
    assert [a.content_type for a in mms.attachments] == ["image/jpeg", "application/pdf"]
    first = mms.attachments[0]
    assert isinstance(first, Attachment)
    assert first.name == "ME1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d.jpg"
    assert first.url is not None and first.url.startswith("https://api.twilio.com/")
    assert "MediaUrl0" not in mms.attributes


def test_window_is_configurable() -> None:
    adapter = TwilioSmsAdapter(settings(sms_window_seconds=120))
    (item,) = adapter.parse(request("sms/sms_single.form"), now=0.0)
    assert item.join_window == 120


def test_default_region_is_configurable() -> None:
    body = b"MessageSid=SM1&From=030+1234567&To=12345&Body=hallo"
    (item,) = TwilioSmsAdapter(settings(default_region="DE")).parse(InboundRequest.build(body), 0.0)
    assert item.interaction.address == "+49301234567"
    assert item.interaction.to == "12345"  # short codes stay as they are


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (b"From=%2B12125550187&Body=hi", MalformedPayload, "SmsSid"),
        (b"MessageSid=SM1&Body=hi", MalformedPayload, "From"),
        (b"MessageSid=SM1&From=hello&Body=hi", UnprocessablePayload, "From"),
        (b"MessageSid=SM1&From=%2B12125550187&NumMedia=two", MalformedPayload, "NumMedia"),
        (b"MessageSid=SM1&From=%2B12125550187&NumMedia=11", MalformedPayload, "NumMedia"),
        (b"MessageSid=SM1&From=%2B12125550187&NumMedia=1", MalformedPayload, "MediaUrl0"),
    ],
)
def test_bad_sms_forms(body: bytes, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as raised:
        TwilioSmsAdapter(settings()).parse(InboundRequest.build(body), now=0.0)
    assert raised.value.field == field  # type: ignore[attr-defined]
