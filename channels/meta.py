"""Meta webhooks: Messenger (`object: page`) and Instagram (`object: instagram`).

Private messages arrive under `entry[].messaging[]`; Instagram comments, which are
public, under `entry[].changes[]`. One delivery may batch many events, so `parse`
returns every message in it. Receipts, reads and our own echoes carry nothing to
route and are skipped. The GET subscription handshake is answered by `handshake`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.adapter import AdapterBase
from channels.addresses import Network, social_address
from channels.errors import VerificationFailed
from channels.fields import clip, provider_id, validation_problem
from channels.inbound import Inbound, InboundKind
from channels.keys import interaction_id
from channels.request import InboundRequest, parse_json
from channels.settings import ChannelSettings
from channels.signatures import hex_sha256_signature, require_match, require_secret
from router.interaction import Attachment, Channel, Interaction

SIGNATURE_HEADER = "X-Hub-Signature-256"
_Id = Field(min_length=1, max_length=256)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Party(_Model):
    id: str = _Id
    username: str | None = None


class MediaPayload(_Model):
    url: str | None = None
    title: str | None = None


class MetaAttachment(_Model):
    type: str = "file"
    payload: MediaPayload | None = None


class Story(_Model):
    id: str | None = None
    url: str | None = None


class ReplyTo(_Model):
    mid: str | None = None
    story: Story | None = None


class Message(_Model):
    mid: str = _Id
    text: str | None = None
    is_echo: bool = False
    attachments: list[MetaAttachment] = Field(default_factory=list, max_length=50)
    reply_to: ReplyTo | None = None


class Postback(_Model):
    mid: str | None = None
    title: str | None = None
    payload: str | None = None


class MessagingEvent(_Model):
    sender: Party
    recipient: Party
    timestamp: int | None = None
    message: Message | None = None
    postback: Postback | None = None


class CommentValue(_Model):
    id: str = _Id
    text: str | None = None
    from_: Party = Field(alias="from")
    media: Party | None = None
    parent_id: str | None = None


class Change(_Model):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Model):
    id: str = _Id
    time: int | None = None
    messaging: list[MessagingEvent] = Field(default_factory=list, max_length=1000)
    changes: list[Change] = Field(default_factory=list, max_length=1000)


class MetaDelivery(_Model):
    object: Literal["page", "instagram"]
    entry: list[Entry] = Field(max_length=1000)


def _attachments(message: Message) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            name=(
                item.payload.title
                if item.payload and item.payload.title
                else f"{item.type}-{index}"
            ),
            content_type=item.type,
            size=0,
            url=item.payload.url if item.payload else None,
        )
        for index, item in enumerate(message.attachments)
    )


def _reply_attributes(message: Message) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    reply = message.reply_to
    if reply is not None and reply.mid:
        attributes["reply_to_mid"] = reply.mid
    if reply is not None and reply.story is not None:
        attributes["story_reply"] = True
        attributes["story_id"] = reply.story.id
        attributes["story_url"] = reply.story.url
    if any(item.type == "story_mention" for item in message.attachments):
        attributes["story_mention"] = True
    return attributes


class MetaAdapter(AdapterBase):
    """Messenger and Instagram messaging webhooks."""

    name = "meta"
    channel = Channel.SOCIAL

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings, settings.verify_meta)

    def _check_signature(self, request: InboundRequest) -> None:
        secret = require_secret(
            self.name, self.settings.meta_app_secret.get_secret_value(), "meta_app_secret"
        )
        expected = hex_sha256_signature(secret, request.body)
        require_match(self.name, SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), expected)

    def handshake(self, query: Mapping[str, str]) -> str:
        """GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=… → the challenge."""
        token = self.settings.meta_verify_token.get_secret_value()
        if not token:
            raise VerificationFailed(self.name, "no meta_verify_token configured")
        if query.get("hub.mode") != "subscribe":
            raise VerificationFailed(
                self.name, f"hub.mode is {query.get('hub.mode')!r}, not 'subscribe'"
            )
        presented = query.get("hub.verify_token", "")
        if not _same(presented, token):
            raise VerificationFailed(self.name, "hub.verify_token does not match")
        challenge = query.get("hub.challenge", "")
        if not challenge:
            raise VerificationFailed(self.name, "hub.challenge is missing")
        return challenge

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        document = parse_json(self.body(request))
        try:
            delivery = MetaDelivery.model_validate(document)
        except ValidationError as exc:
            raise validation_problem(exc) from None
        network = Network.FACEBOOK if delivery.object == "page" else Network.INSTAGRAM
        items: list[Inbound] = []
        for entry in delivery.entry:
            for event in entry.messaging:
                item = self._private_message(network, entry.id, event, now)
                if item is not None:
                    items.append(item)
            for change in entry.changes:
                comment = self._public_comment(network, entry.id, change, now)
                if comment is not None:
                    items.append(comment)
        return tuple(items)

    def _private_message(
        self,
        network: Network,
        page_id: str,
        event: MessagingEvent,
        now: float,
    ) -> Inbound | None:
        message = event.message
        if message is not None and message.is_echo:
            return None  # our own outbound message, echoed back
        if message is not None:
            mid, text = message.mid, message.text or ""
            attachments, attributes = _attachments(message), _reply_attributes(message)
        elif event.postback is not None and event.postback.mid:
            mid, text = event.postback.mid, event.postback.title or ""
            attachments, attributes = (), {"postback_payload": event.postback.payload}
        else:
            return None  # delivery / read receipts and the like
        mid = provider_id(mid, "message.mid")
        sender = social_address(network, event.sender.id, "sender.id")
        attributes.update(network=network.value, page_id=page_id, recipient_id=event.recipient.id)
        if event.timestamp is not None:
            attributes["sent_at_ms"] = event.timestamp
        interaction = Interaction(
            id=interaction_id(Channel.SOCIAL, mid),
            channel=Channel.SOCIAL,
            idempotency_key=mid,
            created_at=now,
            address=sender,
            to=social_address(network, event.recipient.id, "recipient.id"),
            summary=clip(text, self.settings.summary_max_chars),
            public=False,
            attachments=attachments,
            attributes=attributes,
        )
        return Inbound(
            kind=InboundKind.MESSAGE,
            interaction=interaction,
            addresses=(sender,),
            conversation_key=f"{network.value}-dm:{event.recipient.id}:{event.sender.id}",
            join_window=self.settings.dm_window_seconds,
        )

    def _public_comment(
        self,
        network: Network,
        account_id: str,
        change: Change,
        now: float,
    ) -> Inbound | None:
        if change.field not in ("comments", "feed") or "from" not in change.value:
            return None
        try:
            comment = CommentValue.model_validate(change.value)
        except ValidationError as exc:
            raise validation_problem(exc) from None
        if comment.from_.id == account_id:
            return None  # our own reply
        comment_id = provider_id(comment.id, "changes.value.id")
        author = social_address(network, comment.from_.id, "changes.value.from.id")
        addresses = (author,)
        attributes: dict[str, Any] = {"network": network.value, "comment_id": comment_id}
        if comment.from_.username:
            attributes["handle"] = comment.from_.username
        if comment.media is not None:
            attributes["post_id"] = comment.media.id
        if comment.parent_id:
            attributes["parent_comment_id"] = comment.parent_id
        interaction = Interaction(
            id=interaction_id(Channel.SOCIAL, comment_id),
            channel=Channel.SOCIAL,
            idempotency_key=comment_id,
            created_at=now,
            address=author,
            summary=clip(comment.text or "", self.settings.summary_max_chars),
            public=True,
            attributes=attributes,
        )
        # Only a reply to a comment continues it; other comments on the same post are
        # other people's conversations.
        thread = comment.parent_id
        return Inbound(
            kind=InboundKind.MESSAGE,
            interaction=interaction,
            addresses=addresses,
            conversation_key=f"{network.value}-comment:{comment_id}",
            thread_keys=(f"{network.value}-comment:{thread}",) if thread else (),
            join_window=None,
        )


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())
