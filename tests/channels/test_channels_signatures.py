from __future__ import annotations

import logging

import pytest
from channels_support import (
    CTI_SECRET,
    SMS_URL,
    VOICE_URL,
    fixture,
    meta_sign,
    request,
    settings,
    twilio_sign,
    x_sign,
)

from channels import (
    BadSignature,
    CtiVoiceAdapter,
    EmailAdapter,
    MetaAdapter,
    PayloadTooLarge,
    TwilioSmsAdapter,
    TwilioVoiceAdapter,
    XAdapter,
)
from channels.request import InboundRequest
from channels.signatures import hex_sha256_signature, twilio_signature


def test_twilio_signature_matches_a_hand_computed_value() -> None:
    # Worked by hand: URL + "CallSid" + "CA1" + "From" + "+14155550134", keys sorted.
    import base64
    import hashlib
    import hmac

    data = "https://h.test/v" + "CallSidCA1" + "From+14155550134"
    expected = base64.b64encode(hmac.new(b"tok", data.encode(), hashlib.sha1).digest()).decode()
    params = [("From", "+14155550134"), ("CallSid", "CA1")]
    assert twilio_signature("tok", "https://h.test/v", params) == expected


@pytest.mark.parametrize(
    ("adapter", "fixture_name", "url"),
    [
        (TwilioVoiceAdapter, "voice/twilio_incoming.form", VOICE_URL),
        (TwilioSmsAdapter, "sms/mms_media.form", SMS_URL),
    ],
)
def test_twilio_signed_requests_pass_and_tampered_fail(
    adapter: type, fixture_name: str, url: str
) -> None:
    body = fixture(fixture_name)
    good = {"X-Twilio-Signature": twilio_sign(url, body)}
    adapter(settings()).verify(InboundRequest.build(body, headers=good, url=url))
    with pytest.raises(BadSignature):
        adapter(settings()).verify(InboundRequest.build(body + b"&Extra=1", headers=good, url=url))
    with pytest.raises(BadSignature):
        adapter(settings()).verify(InboundRequest.build(body, headers=good, url=url + "?x=1"))
    with pytest.raises(BadSignature) as missing:
        adapter(settings()).verify(InboundRequest.build(body, url=url))
    assert missing.value.http_status == 401
    assert "X-Twilio-Signature" in str(missing.value)


def test_meta_signature() -> None:
    body = fixture("social/messenger_text.json")
    adapter = MetaAdapter(settings())
    adapter.verify(InboundRequest.build(body, headers={"x-hub-signature-256": meta_sign(body)}))
    with pytest.raises(BadSignature):
        adapter.verify(
            InboundRequest.build(body, headers={"X-Hub-Signature-256": meta_sign(body, "other")})
        )


def test_x_signature() -> None:
    body = fixture("social/x_tweet_quote.json")
    adapter = XAdapter(settings())
    adapter.verify(
        InboundRequest.build(body, headers={"X-Twitter-Webhooks-Signature": x_sign(body)})
    )
    with pytest.raises(BadSignature):
        adapter.verify(
            InboundRequest.build(body[:-2], headers={"x-twitter-webhooks-signature": x_sign(body)})
        )


def test_cti_signature() -> None:
    body = fixture("voice/cti_offered.json")
    adapter = CtiVoiceAdapter(settings())
    adapter.verify(
        InboundRequest.build(
            body, headers={"X-Signature-256": hex_sha256_signature(CTI_SECRET, body)}
        )
    )
    with pytest.raises(BadSignature):
        adapter.verify(InboundRequest.build(body, headers={"X-Signature-256": "sha256=00"}))


def test_no_secret_configured_fails_closed() -> None:
    body = fixture("social/messenger_text.json")
    with pytest.raises(BadSignature) as raised:
        MetaAdapter(settings(meta_app_secret="")).verify(
            InboundRequest.build(body, headers={"X-Hub-Signature-256": meta_sign(body, "")})
        )
    assert "meta_app_secret" in str(raised.value)


def test_verification_is_disabled_only_explicitly_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="omniroute.channels"):
        adapter = XAdapter(settings(verify_x=False))
    assert "DISABLED" in caplog.text and "'x'" in caplog.text
    adapter.verify(request("social/x_dm_media.json"))  # unsigned, accepted
    with pytest.raises(BadSignature):  # the other channels still check
        MetaAdapter(settings(verify_x=False)).verify(request("social/messenger_text.json"))


def test_size_cap_applies_before_parsing() -> None:
    big = b"From: a@b.test\n\n" + b"x" * 2048
    with pytest.raises(PayloadTooLarge) as raised:
        EmailAdapter(settings(max_payload_bytes=1024)).parse(InboundRequest.build(big), now=0.0)
    assert raised.value.http_status == 413
    assert raised.value.limit == 1024 and raised.value.size == len(big)
    with pytest.raises(PayloadTooLarge):
        MetaAdapter(settings(max_payload_bytes=10)).verify(request("social/messenger_text.json"))


def test_default_cap_is_one_mebibyte() -> None:
    assert settings().max_payload_bytes == 1024 * 1024
