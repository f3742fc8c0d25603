"""SMS/MMS: Twilio's Messaging webhook.

Texters send one thought over several messages; consecutive messages from the same
number to the same number within `sms_window_seconds` share one conversation key and
a join window, so ingest folds them into the open interaction instead of queueing
each one.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from channels.addresses import normalize_phone
from channels.errors import UnprocessablePayload
from channels.fields import bounded_int, clip, optional, provider_id, required
from channels.inbound import Inbound, InboundKind
from channels.keys import interaction_id
from channels.request import InboundRequest, parse_form
from channels.twilio import TwilioFormAdapter, twilio_attributes
from router.interaction import Attachment, Channel, Interaction

#: Short codes (5–6 digits, no country code) are kept as they are, not read as numbers.
SHORT_CODE_DIGITS = 6
#: Twilio caps an MMS at 10 media items.
MAX_MEDIA = 10
_CONSUMED_BASE = frozenset(
    {"MessageSid", "SmsSid", "SmsMessageSid", "From", "To", "Body", "NumMedia"}
)


_ALL_MEDIA_FIELDS = frozenset(
    name for index in range(MAX_MEDIA) for name in (f"MediaUrl{index}", f"MediaContentType{index}")
)


def _media(form: dict[str, str], count: int) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for index in range(count):
        url = required(form, f"MediaUrl{index}")
        content_type = (
            optional(form, f"MediaContentType{index}") or "application/octet-stream"
        ).lower()
        # Twilio media URLs end in the media sid; an extension makes the name useful to agents.
        stem = url.rstrip("/").rsplit("/", 1)[-1] or f"media{index}"
        extension = mimetypes.guess_extension(content_type) or ""
        # Twilio does not say how big the media is; size 0 means "unknown until fetched".
        found.append(Attachment(name=stem + extension, content_type=content_type, size=0, url=url))
    return tuple(found)


class TwilioSmsAdapter(TwilioFormAdapter):
    """Twilio Messaging webhook (SMS and MMS), form-urlencoded."""

    name = "twilio-sms"
    channel = Channel.SMS

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        form = parse_form(self.body(request))
        sid_field = "MessageSid" if "MessageSid" in form else "SmsSid"
        message_sid = provider_id(required(form, sid_field), sid_field)
        region = self.settings.default_region
        sender = normalize_phone(required(form, "From"), region, "From")
        recipient = self._recipient(optional(form, "To"), region)
        media_count = bounded_int(form, "NumMedia", 0, MAX_MEDIA)
        body = form.get("Body", "")
        attributes: dict[str, Any] = twilio_attributes(form, _CONSUMED_BASE | _ALL_MEDIA_FIELDS)
        key = f"sms:{sender}>{recipient or '-'}"
        interaction = Interaction(
            id=interaction_id(Channel.SMS, message_sid),
            channel=Channel.SMS,
            idempotency_key=message_sid,
            created_at=now,
            address=sender,
            to=recipient,
            conversation_id=None,
            summary=clip(body, self.settings.summary_max_chars),
            attachments=_media(form, media_count),
            attributes=attributes,
        )
        return (
            Inbound(
                kind=InboundKind.MESSAGE,
                interaction=interaction,
                addresses=(sender,),
                conversation_key=key,
                join_window=self.settings.sms_window_seconds,
            ),
        )

    @staticmethod
    def _recipient(raw: str | None, region: str) -> str | None:
        # Our own number may be a short code ("12345"), which is no E.164 number.
        if raw is None:
            return None
        if raw.isdigit() and len(raw) <= SHORT_CODE_DIGITS:
            return raw
        try:
            return normalize_phone(raw, region, "To")
        except UnprocessablePayload:
            return raw
