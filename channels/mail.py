"""E-mail: raw RFC 5322 bytes → Interaction, with threading and auto-reply detection.

Parsing uses the stdlib `email` package with `email.policy.default` semantics. The
only change is a memo in front of the header registry for the MIME structure headers:
the feed parser asks a part for its Content-Type a dozen times, and re-parsing the
header each time made parsing ~5x slower than everything else put together.
"""

from __future__ import annotations

import email.errors
import hashlib
import re
from collections.abc import Iterator
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default as default_policy
from functools import lru_cache
from typing import Any

from channels.adapter import AdapterBase
from channels.addresses import normalize_email
from channels.errors import ChannelError, MalformedPayload, UnprocessablePayload
from channels.fields import clip
from channels.inbound import Inbound, InboundKind
from channels.keys import interaction_id
from channels.mail_flags import auto_reply_reason
from channels.mail_headers import RawHeaders
from channels.mail_text import html_to_text, strip_quoted
from channels.request import InboundRequest
from channels.settings import ChannelSettings
from router.interaction import Attachment, Channel, Interaction

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
#: A thread rarely needs more than its most recent references to be found.
MAX_REFERENCES = 50
_STRUCTURE_HEADERS = frozenset(
    {"content-type", "content-transfer-encoding", "content-disposition", "mime-version"}
)
_REGISTRY = HeaderRegistry()
# The stdlib email package has known crash paths on hostile input (it was written to
# be lenient, not total); every one of them is a malformed payload to us.
_PARSER_FAILURES = (
    email.errors.MessageError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    AssertionError,
    RecursionError,
    UnicodeError,
)


@lru_cache(maxsize=4096)
def _structure_header(name: str, value: str) -> Any:
    return _REGISTRY(name, value)


class _MemoHeaderFactory:
    """`email.policy.default`'s header registry, memoised for MIME structure headers only.

    Header objects are immutable, so sharing them is safe; personal headers (From,
    Subject) are not memoised, so nothing about a customer stays in the cache.
    """

    def __call__(self, name: str, value: str) -> Any:
        if name.lower() in _STRUCTURE_HEADERS:
            return _structure_header(name, value)
        return _REGISTRY(name, value)


_POLICY = default_policy.clone(header_factory=_MemoHeaderFactory())


def _message_ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value) if value else []


def _own_message_id(headers: RawHeaders, raw: bytes) -> str:
    found = _message_ids(headers.raw("Message-ID"))
    if found:
        return found[0]
    # No usable Message-ID: a hash of the bytes is still stable across redelivery.
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: keep what is readable
        return data.decode("utf-8", errors="replace")


def _leaf_parts(message: Message) -> Iterator[Message]:
    """Every non-multipart part; an attached message counts as one part, not its insides."""
    if message.is_multipart() and message.get_content_maintype() != "message":
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _leaf_parts(part)
    else:
        yield message


def _attachments(message: EmailMessage, body: Message | None) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for index, part in enumerate(_leaf_parts(message)):
        if part is body or part is message:
            continue
        filename = part.get_filename()
        content_type = part.get_content_type()
        if filename is None and part.get_content_maintype() == "text" and not _is_attachment(part):
            continue  # the other alternative of the body (e.g. the HTML twin of the text)
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(
            Attachment(name=filename or f"part-{index}", content_type=content_type, size=size)
        )
    return tuple(found)


def _is_attachment(part: Message) -> bool:
    return str(part.get("Content-Disposition", "")).lower().startswith("attachment")


class EmailAdapter(AdapterBase):
    """Raw RFC 5322 message bytes (inbound-parse webhook, IMAP fetch, SMTP pipe)."""

    name = "email"
    channel = Channel.EMAIL

    def __init__(self, settings: ChannelSettings) -> None:
        # Raw mail carries no webhook signature (DKIM is checked by the MTA upstream).
        super().__init__(settings, verify_enabled=True)

    def _check_signature(self, request: InboundRequest) -> None:
        return None

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        raw = self.body(request)
        try:
            return (self._parse(raw, now),)
        except ChannelError:
            raise
        except _PARSER_FAILURES as exc:
            raise MalformedPayload(
                "body", f"unparsable MIME message ({type(exc).__name__}: {exc})"
            ) from None

    def _parse(self, raw: bytes, now: float) -> Inbound:
        message = BytesParser(policy=_POLICY).parsebytes(raw)
        if not isinstance(message, EmailMessage):
            raise MalformedPayload("body", "not an RFC 5322 message", raw[:40])
        headers = RawHeaders(message)
        if not len(headers):
            raise MalformedPayload("body", "not an RFC 5322 message: no header fields", raw[:40])
        senders = headers.addresses("From")
        if not senders:
            raise MalformedPayload("From", "no sender address", headers.raw("From"))
        display_name, sender = senders[0]
        address = normalize_email(sender, "From")
        message_id = _own_message_id(headers, raw)
        subject = headers.text("Subject")
        body = message.get_body(preferencelist=("plain", "html"))
        reason = auto_reply_reason(headers, message.get_content_type(), subject)
        interaction = Interaction(
            id=interaction_id(Channel.EMAIL, message_id),
            channel=Channel.EMAIL,
            idempotency_key=message_id,
            created_at=now,
            address=address,
            to=self._recipient(headers),
            subject=subject,
            summary=clip(strip_quoted(self._body_text(body)), self.settings.summary_max_chars),
            language=self._language(headers),
            attachments=_attachments(message, body),
            attributes=self._attributes(headers, display_name, body, reason),
        )
        return Inbound(
            kind=InboundKind.AUTO_REPLY if reason else InboundKind.MESSAGE,
            interaction=interaction,
            addresses=(address,),
            conversation_key=f"email:{message_id}",
            thread_keys=self._thread_keys(headers),
            join_window=None,
        )

    @staticmethod
    def _body_text(body: Message | None) -> str:
        if body is None:
            return ""
        text = _decoded_text(body)
        return html_to_text(text) if body.get_content_subtype() == "html" else text

    @staticmethod
    def _recipient(headers: RawHeaders) -> str | None:
        recipients = headers.addresses("To")
        if not recipients:
            return None
        try:
            return normalize_email(recipients[0][1], "To")
        except UnprocessablePayload:
            return recipients[0][1]

    @staticmethod
    def _language(headers: RawHeaders) -> str | None:
        return headers.token("Content-Language").split(",")[0].strip()[:16] or None

    @staticmethod
    def _thread_keys(headers: RawHeaders) -> tuple[str, ...]:
        # Most specific first: the message replied to, then References newest → oldest.
        in_reply_to = _message_ids(headers.raw("In-Reply-To"))
        references = _message_ids(headers.raw("References"))[-MAX_REFERENCES:]
        ordered = dict.fromkeys([*in_reply_to, *reversed(references)])
        return tuple(f"email:{message_id}" for message_id in ordered)

    @staticmethod
    def _attributes(
        headers: RawHeaders,
        display_name: str,
        body: Message | None,
        reason: str | None,
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if display_name:
            attributes["from_name"] = display_name
        if "Date" in headers:
            attributes["sent_at"] = headers.raw("Date")
        if body is not None and body.get_content_subtype() == "html":
            attributes["html_only"] = True
        if reason:
            attributes["auto_reply"] = reason
        cc = headers.addresses("Cc")
        if cc:
            attributes["cc"] = tuple(address.lower() for _, address in cc)
        return attributes
