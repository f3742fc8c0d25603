"""X (Twitter) Account Activity API: public mentions and direct messages.

A mention is public and networked: the interaction carries `public=True` and the
author's follower count as `reach`, so rules can send influential complaints to the
social-care team. Events authored by the subscribed account itself (our replies, our
outgoing DMs) are skipped. The CRC handshake is answered by `crc_response`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.adapter import AdapterBase
from channels.addresses import Network, social_address, x_handle
from channels.errors import VerificationFailed
from channels.fields import clip, provider_id, validation_problem
from channels.inbound import Inbound, InboundKind
from channels.keys import interaction_id
from channels.request import InboundRequest, parse_json
from channels.settings import ChannelSettings
from channels.signatures import base64_sha256_signature, require_match, require_secret
from router.interaction import Attachment, Channel, Interaction

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_Id = Field(min_length=1, max_length=64)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class XUser(_Model):
    id_str: str = _Id
    screen_name: str | None = Field(default=None, max_length=64)
    name: str | None = None
    followers_count: int = Field(default=0, ge=0)
    verified: bool = False


class XMedia(_Model):
    id_str: str | None = None
    media_url_https: str | None = None
    type: str = "photo"


class XEntities(_Model):
    media: list[XMedia] = Field(default_factory=list, max_length=20)


class ExtendedTweet(_Model):
    full_text: str | None = None


class QuotedTweet(_Model):
    id_str: str = _Id
    text: str | None = None
    user: XUser | None = None


class Tweet(_Model):
    id_str: str = _Id
    text: str | None = None
    extended_tweet: ExtendedTweet | None = None
    user: XUser
    in_reply_to_status_id_str: str | None = None
    in_reply_to_screen_name: str | None = None
    quoted_status: QuotedTweet | None = None
    retweeted_status: dict[str, Any] | None = None
    extended_entities: XEntities | None = None
    entities: XEntities | None = None
    lang: str | None = Field(default=None, max_length=16)
    timestamp_ms: str | None = None

    @property
    def full_text(self) -> str:
        if self.extended_tweet is not None and self.extended_tweet.full_text:
            return self.extended_tweet.full_text
        return self.text or ""


class DmAttachment(_Model):
    type: str = "media"
    media: XMedia | None = None


class MessageData(_Model):
    text: str | None = None
    attachment: DmAttachment | None = None


class DmTarget(_Model):
    recipient_id: str = _Id


class MessageCreate(_Model):
    target: DmTarget
    sender_id: str = _Id
    message_data: MessageData = Field(default_factory=MessageData)


class DmEvent(_Model):
    type: str
    id: str = _Id
    created_timestamp: str | None = None
    message_create: MessageCreate | None = None


class ActivityDelivery(_Model):
    for_user_id: str = _Id
    tweet_create_events: list[Tweet] = Field(default_factory=list, max_length=1000)
    direct_message_events: list[DmEvent] = Field(default_factory=list, max_length=1000)
    users: dict[str, XUser] = Field(default_factory=dict)


def _tweet_media(tweet: Tweet) -> tuple[Attachment, ...]:
    entities = tweet.extended_entities or tweet.entities
    if entities is None:
        return ()
    return tuple(_attachment(media, index) for index, media in enumerate(entities.media))


def _attachment(media: XMedia, index: int) -> Attachment:
    return Attachment(
        name=media.id_str or f"media-{index}",
        content_type=media.type,
        size=0,
        url=media.media_url_https,
    )


class XAdapter(AdapterBase):
    """X Account Activity API webhook deliveries."""

    name = "x"
    channel = Channel.SOCIAL

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings, settings.verify_x)

    def _check_signature(self, request: InboundRequest) -> None:
        secret = require_secret(
            self.name, self.settings.x_consumer_secret.get_secret_value(), "x_consumer_secret"
        )
        expected = base64_sha256_signature(secret, request.body)
        require_match(self.name, SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), expected)

    def crc_response(self, crc_token: str) -> dict[str, str]:
        """GET ?crc_token=… → {"response_token": "sha256=<base64 HMAC>"}."""
        secret = self.settings.x_consumer_secret.get_secret_value()
        if not secret:
            raise VerificationFailed(self.name, "no x_consumer_secret configured")
        if not crc_token:
            raise VerificationFailed(self.name, "crc_token is missing")
        return {"response_token": base64_sha256_signature(secret, crc_token.encode("utf-8"))}

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        document = parse_json(self.body(request))
        try:
            delivery = ActivityDelivery.model_validate(document)
        except ValidationError as exc:
            raise validation_problem(exc) from None
        items = [
            self._mention(delivery.for_user_id, tweet, now)
            for tweet in delivery.tweet_create_events
            if tweet.user.id_str != delivery.for_user_id and tweet.retweeted_status is None
        ]
        for event in delivery.direct_message_events:
            create = event.message_create
            if event.type != "message_create" or create is None:
                continue
            if create.sender_id == delivery.for_user_id:
                continue  # our own outgoing DM
            items.append(self._direct_message(delivery, event, create, now))
        return tuple(items)

    def _mention(self, account_id: str, tweet: Tweet, now: float) -> Inbound:
        tweet_id = provider_id(tweet.id_str, "tweet_create_events.id_str")
        author = tweet.user
        addresses = self._addresses(author)
        attributes: dict[str, Any] = {
            "network": Network.X.value,
            "tweet_id": tweet_id,
            "verified": author.verified,
            "followers_count": author.followers_count,
            "account_id": account_id,
        }
        if author.screen_name:
            attributes["handle"] = author.screen_name
        if tweet.in_reply_to_status_id_str:
            attributes["in_reply_to_tweet_id"] = tweet.in_reply_to_status_id_str
        if tweet.quoted_status is not None:
            quoted = tweet.quoted_status
            attributes["quoted_tweet_id"] = quoted.id_str
            attributes["quoted_text"] = clip(quoted.text or "", self.settings.summary_max_chars)
            if quoted.user is not None:
                attributes["quoted_author"] = quoted.user.screen_name or quoted.user.id_str
        if tweet.timestamp_ms:
            attributes["sent_at_ms"] = tweet.timestamp_ms
        interaction = Interaction(
            id=interaction_id(Channel.SOCIAL, f"tweet:{tweet_id}"),
            channel=Channel.SOCIAL,
            idempotency_key=f"tweet:{tweet_id}",
            created_at=now,
            address=addresses[0],
            to=social_address(Network.X, account_id, "for_user_id"),
            summary=clip(tweet.full_text, self.settings.summary_max_chars),
            language=tweet.lang if tweet.lang and tweet.lang != "und" else None,
            public=True,
            reach=author.followers_count,
            attachments=_tweet_media(tweet),
            attributes=attributes,
        )
        replied = tweet.in_reply_to_status_id_str
        return Inbound(
            kind=InboundKind.MESSAGE,
            interaction=interaction,
            addresses=addresses,
            conversation_key=f"x:tweet:{tweet_id}",
            thread_keys=(f"x:tweet:{replied}",) if replied else (),
            join_window=None,
        )

    def _direct_message(
        self,
        delivery: ActivityDelivery,
        event: DmEvent,
        create: MessageCreate,
        now: float,
    ) -> Inbound:
        dm_id = provider_id(event.id, "direct_message_events.id")
        sender = delivery.users.get(create.sender_id)
        addresses = (
            self._addresses(sender)
            if sender is not None
            else (social_address(Network.X, create.sender_id, "message_create.sender_id"),)
        )
        attributes: dict[str, Any] = {"network": Network.X.value, "dm_id": dm_id}
        if sender is not None:
            attributes.update(verified=sender.verified, followers_count=sender.followers_count)
            if sender.screen_name:
                attributes["handle"] = sender.screen_name
        if event.created_timestamp:
            attributes["sent_at_ms"] = event.created_timestamp
        media = create.message_data.attachment.media if create.message_data.attachment else None
        interaction = Interaction(
            id=interaction_id(Channel.SOCIAL, f"dm:{dm_id}"),
            channel=Channel.SOCIAL,
            idempotency_key=f"dm:{dm_id}",
            created_at=now,
            address=addresses[0],
            to=social_address(Network.X, create.target.recipient_id, "target.recipient_id"),
            summary=clip(create.message_data.text or "", self.settings.summary_max_chars),
            public=False,
            reach=sender.followers_count if sender is not None else 0,
            attachments=(_attachment(media, 0),) if media is not None else (),
            attributes=attributes,
        )
        return Inbound(
            kind=InboundKind.MESSAGE,
            interaction=interaction,
            addresses=addresses,
            conversation_key=f"x-dm:{create.target.recipient_id}:{create.sender_id}",
            join_window=self.settings.dm_window_seconds,
        )

    @staticmethod
    def _addresses(user: XUser) -> tuple[str, ...]:
        by_id = social_address(Network.X, user.id_str, "user.id_str")
        if user.screen_name and user.screen_name.strip():
            return (by_id, x_handle(user.screen_name))
        return (by_id,)
