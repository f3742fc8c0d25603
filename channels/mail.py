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


def _own_message_id(message: EmailMessage, raw: bytes) -> str:
    found = _message_ids(str(message.get("Message-ID", "") or ""))
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


def _utf8_header(text: str) -> str:
    """Raw 8-bit header bytes (RFC 6532 UTF-8 mail) arrive as surrogate escapes; undo that."""
    if text.isascii() or not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", errors="replace")


def _first_address(message: EmailMessage, header: str) -> tuple[str, str] | None:
    value = message.get(header)
    addresses = getattr(value, "addresses", ()) if value is not None else ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return _utf8_header(address.addr_spec), _utf8_header(address.display_name)
    return None


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
        if not isinstance(message, EmailMessage) or not message.keys():
            raise MalformedPayload("body", "not an RFC 5322 message: no header fields", raw[:40])
        sender = _first_address(message, "From")
        if sender is None:
            raise MalformedPayload("From", "no sender address", str(message.get("From", "")))
        address = normalize_email(sender[0], "From")
        recipient = _first_address(message, "To")
        message_id = _own_message_id(message, raw)
        subject = " ".join(_utf8_header(str(message.get("Subject", "") or "")).split())
        body = message.get_body(preferencelist=("plain", "html"))
        text = self._body_text(body)
        reason = auto_reply_reason(message, subject)
        attributes = self._attributes(message, sender[1], body, reason)
        interaction = Interaction(
            id=interaction_id(Channel.EMAIL, message_id),
            channel=Channel.EMAIL,
            idempotency_key=message_id,
            created_at=now,
            address=address,
            to=self._recipient(recipient),
            subject=subject,
            summary=clip(strip_quoted(text), self.settings.summary_max_chars),
            language=self._language(message),
            attachments=_attachments(message, body),
            attributes=attributes,
        )
        return Inbound(
            kind=InboundKind.AUTO_REPLY if reason else InboundKind.MESSAGE,
            interaction=interaction,
            addresses=(address,),
            conversation_key=f"email:{message_id}",
            thread_keys=self._thread_keys(message),
            join_window=None,
        )

    @staticmethod
    def _body_text(body: Message | None) -> str:
        if body is None:
            return ""
        text = _decoded_text(body)
        return html_to_text(text) if body.get_content_subtype() == "html" else text

    @staticmethod
    def _recipient(recipient: tuple[str, str] | None) -> str | None:
        if recipient is None:
            return None
        try:
            return normalize_email(recipient[0], "To")
        except UnprocessablePayload:
            return recipient[0]

    @staticmethod
    def _language(message: EmailMessage) -> str | None:
        value = str(message.get("Content-Language", "") or "").strip()
        return value.split(",")[0].strip().lower()[:16] or None

    @staticmethod
    def _thread_keys(message: EmailMessage) -> tuple[str, ...]:
        # Most specific first: the message replied to, then References newest → oldest.
        in_reply_to = _message_ids(str(message.get("In-Reply-To", "") or ""))
        references = _message_ids(str(message.get("References", "") or ""))[-MAX_REFERENCES:]
        ordered = dict.fromkeys([*in_reply_to, *reversed(references)])
        return tuple(f"email:{message_id}" for message_id in ordered)

    @staticmethod
    def _attributes(
        message: EmailMessage,
        display_name: str,
        body: Message | None,
        reason: str | None,
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if display_name:
            attributes["from_name"] = display_name
        sent = message.get("Date")
        if sent is not None:
            attributes["sent_at"] = str(sent)
        if body is not None and body.get_content_subtype() == "html":
            attributes["html_only"] = True
        if reason:
            attributes["auto_reply"] = reason
        cc = message.get("Cc")
        if cc is not None:
            attributes["cc"] = tuple(a.addr_spec.lower() for a in getattr(cc, "addresses", ()))
        return attributes
