from __future__ import annotations

import pytest
from channels_support import META_VERIFY, X_SECRET, request, settings, x_sign

from channels import InboundKind, MetaAdapter, XAdapter
from channels.errors import MalformedPayload, VerificationFailed
from channels.request import InboundRequest
from router.interaction import Channel


def test_messenger_text() -> None:
    (item,) = MetaAdapter(settings()).parse(request("social/messenger_text.json"), now=3.0)
    dm = item.interaction
    assert item.kind is InboundKind.MESSAGE
    assert dm.channel is Channel.SOCIAL
    assert dm.idempotency_key == "m_AbC123xYz-fb-0001"
    assert dm.address == "facebook:6123456789012345"
    assert dm.to == "facebook:104857361928374"
    assert dm.public is False
    assert dm.summary == "Hi! Is the Berlin store open on Sunday?"
    assert dm.attributes["network"] == "facebook"
    assert item.conversation_key == "facebook-dm:104857361928374:6123456789012345"


def test_messenger_batch_returns_every_customer_message_and_skips_echoes_and_receipts() -> None:
    items = MetaAdapter(settings()).parse(request("social/messenger_batch.json"), now=3.0)
    assert [i.interaction.idempotency_key for i in items] == ["m_batch-0001", "m_batch-0003"]
    first, second = items
    assert first.interaction.attachments[0].content_type == "image"
    assert first.interaction.attachments[0].url == "https://scontent.example.test/v/t1/broken.jpg"
    assert second.interaction.attributes["reply_to_mid"] == "m_echo-0002"
    assert first.conversation_key == second.conversation_key


def test_instagram_story_reply() -> None:
    (item,) = MetaAdapter(settings()).parse(request("social/instagram_story_reply.json"), now=0.0)
    dm = item.interaction
    assert dm.address == "instagram:17841400000000001"
    assert dm.attributes["story_reply"] is True
    assert dm.attributes["story_id"] == "18022334455667788"
    assert dm.attributes["story_url"].endswith("8812.mp4")
    assert dm.public is False


def test_instagram_comment_is_public() -> None:
    (item,) = MetaAdapter(settings()).parse(request("social/instagram_comment.json"), now=0.0)
    comment = item.interaction
    assert comment.public is True
    assert comment.address == "instagram:17841400000000002"
    assert comment.attributes["post_id"] == "18011122233344455"
    assert comment.attributes["handle"] == "lindbakery"


def test_tweet_with_quote() -> None:
    (item,) = XAdapter(settings()).parse(request("social/x_tweet_quote.json"), now=0.0)
    tweet = item.interaction
    assert tweet.public is True
    assert tweet.reach == 48210
    assert tweet.idempotency_key == "tweet:1899512345678901234"
    assert item.addresses == ("x:998877665544", "x:@erinobriencto")
    assert tweet.attributes["verified"] is True
    assert tweet.attributes["quoted_tweet_id"] == "1899500000000000001"
    assert tweet.attributes["quoted_author"] == "acme"
    assert tweet.attributes["quoted_text"].startswith("We're investigating")
    assert tweet.language == "en"
    assert tweet.attachments[0].url == "https://pbs.example.test/media/err.jpg"


def test_tweet_reply_threads_to_the_tweet_it_answers() -> None:
    (item,) = XAdapter(settings()).parse(request("social/x_tweet_reply.json"), now=0.0)
    assert item.thread_keys == ("x:tweet:1899512345678901234",)
    assert item.interaction.attributes["in_reply_to_tweet_id"] == "1899512345678901234"


def test_dm_with_media() -> None:
    (item,) = XAdapter(settings()).parse(request("social/x_dm_media.json"), now=0.0)
    dm = item.interaction
    assert dm.public is False
    assert dm.idempotency_key == "dm:1899600000000000077"
    assert dm.reach == 2140
    assert item.addresses == ("x:55501234", "x:@lindbakery")
    assert dm.attachments[0].name == "1899600000000000088"
    assert dm.attachments[0].url == "https://ton.example.test/dm/shot.png"
    assert item.conversation_key == "x-dm:3001234567:55501234"


def test_own_tweets_and_dms_are_skipped() -> None:
    body = (
        b'{"for_user_id": "1", "tweet_create_events": [{"id_str": "9", "text": "hi",'
        b' "user": {"id_str": "1"}}], "direct_message_events": [{"type": "message_create",'
        b' "id": "8", "message_create": {"target": {"recipient_id": "2"}, "sender_id": "1"}}]}'
    )
    assert XAdapter(settings()).parse(InboundRequest.build(body), now=0.0) == ()


def test_meta_handshake() -> None:
    adapter = MetaAdapter(settings())
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": META_VERIFY,
        "hub.challenge": "1158201444",
    }
    assert adapter.handshake(query) == "1158201444"
    with pytest.raises(VerificationFailed) as raised:
        adapter.handshake({**query, "hub.verify_token": "wrong"})
    assert raised.value.http_status == 403


def test_x_crc_response() -> None:
    response = XAdapter(settings()).crc_response("challenge-abc")
    assert response == {"response_token": x_sign(b"challenge-abc", X_SECRET)}


@pytest.mark.parametrize(
    ("adapter", "body", "field"),
    [
        (MetaAdapter, b'{"object": "whatsapp_business_account", "entry": []}', "object"),
        (MetaAdapter, b'{"object": "page"}', "entry"),
        (
            MetaAdapter,
            b'{"object": "page", "entry": [{"id": "1", "messaging": [{"sender": {},'
            b' "recipient": {"id": "2"}}]}]}',
            "entry.0.messaging.0.sender.id",
        ),
        (XAdapter, b'{"tweet_create_events": []}', "for_user_id"),
        (
            XAdapter,
            b'{"for_user_id": "1", "tweet_create_events": [{"id_str": "5"}]}',
            "tweet_create_events.0.user",
        ),
    ],
)
def test_bad_social_payloads_name_the_field(adapter: type, body: bytes, field: str) -> None:
    with pytest.raises(MalformedPayload) as raised:
        adapter(settings()).parse(InboundRequest.build(body), now=0.0)
    assert raised.value.field == field
