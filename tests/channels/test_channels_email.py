from __future__ import annotations

import pytest
from channels_support import request, settings

from channels import EmailAdapter, InboundKind
from channels.errors import MalformedPayload
from channels.mail_text import html_to_text, strip_quoted
from channels.request import InboundRequest
from router.interaction import Attachment, Channel


def parse(relative: str):  # type: ignore[no-untyped-def]
    (item,) = EmailAdapter(settings()).parse(request(relative), now=50.0)
    return item


@pytest.mark.parametrize(
    ("fixture", "address", "subject", "summary_start", "language"),
    [
        (
            "email/multipart_alternative.eml",
            "ben@carter-plumbing.test",
            "Invoice 2025-0117 shows the wrong VAT number",
            "Hello, Our invoice 2025-0117",
            "en-us",
        ),
        (
            "email/html_only.eml",
            "chloe.martin@mail.test",
            "App crashes on payment",
            "Hi team, The app crashes when I tap Pay now — every time",
            None,
        ),
        (
            "email/encoded_subject_es.eml",
            "diego@correo.test",
            "¿Por qué no puedo entrar? (cuenta bloqueada)",
            "Hola, No puedo acceder",
            "es",
        ),
        (
            "email/quoted_reply.eml",
            "ben@carter-plumbing.test",
            "Re: Invoice 2025-0117 shows the wrong VAT number",
            "Thanks, but the reissued one still shows GB123.",
            None,
        ),
    ],
)
def test_email_table(
    fixture: str,
    address: str,
    subject: str,
    summary_start: str,
    language: str | None,
) -> None:
    item = parse(fixture)
    mail = item.interaction
    assert item.kind is InboundKind.MESSAGE
    assert mail.channel is Channel.EMAIL
    assert mail.address == address
    assert mail.to == "support@acme.test" or mail.to == "soporte@acme.test"
    assert mail.subject == subject
    assert mail.summary.startswith(summary_start)
    assert mail.language == language


def test_quoted_history_and_signature_are_not_in_the_summary() -> None:
    assert parse("email/quoted_reply.eml").interaction.summary == (
        "Thanks, but the reissued one still shows GB123."
    )
    summary = parse("email/multipart_alternative.eml").interaction.summary
    assert "since 1987" not in summary  # below the "-- " signature separator


def test_html_only_mail_becomes_text_without_script_or_style() -> None:
    mail = parse("email/html_only.eml").interaction
    assert "<" not in mail.summary and "track()" not in mail.summary and "color" not in mail.summary
    assert "Chloé" in mail.summary
    assert mail.attributes["html_only"] is True
    assert mail.attributes["from_name"] == "Chloé Martin"


def test_attachments_are_metadata_not_inline() -> None:
    mail = parse("email/attachments.eml").interaction
    assert mail.attachments == (
        Attachment(name="receipt-0117.pdf", content_type="application/pdf", size=9 + 256 * 8),
        Attachment(name="tapa rota ñ.png", content_type="image/png", size=208),
    )
    assert mail.summary == "Please find the receipt and a photo of the cracked lid attached."


def test_threading_keys_come_from_in_reply_to_and_references() -> None:
    item = parse("email/quoted_reply.eml")
    assert item.interaction.idempotency_key == "CAB7x1q=2025030410400.ben@carter-plumbing.test"
    assert item.conversation_key == "email:CAB7x1q=2025030410400.ben@carter-plumbing.test"
    assert item.thread_keys == (
        "email:reply-88231@support.acme.test",
        "email:CAB7x1q=2025030409124.ben@carter-plumbing.test",
    )
    assert item.join_window is None


def test_auto_reply_is_flagged() -> None:
    item = parse("email/auto_reply.eml")
    assert item.kind is InboundKind.AUTO_REPLY
    assert item.interaction.attributes["auto_reply"] == "Auto-Submitted: auto-replied"


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ("Auto-Submitted: auto-generated\n", True),
        ("Auto-Submitted: no\n", False),
        ("Precedence: bulk\n", True),
        ("Precedence: junk\n", True),
        ("Precedence: list\n", True),
        ("X-Autoreply: yes\n", True),
        ("Subject: Out of Office: back Monday\n", True),
        ("Subject: Respuesta automática: fuera de la oficina\n", True),
        ("Subject: My office chair broke\n", False),
        ("Return-Path: <>\n", True),
    ],
)
def test_auto_reply_signals(headers: str, auto: bool) -> None:
    raw = (
        "From: someone@example.test\nTo: support@acme.test\nMessage-ID: <x1@example.test>\n"
        + headers
        + "\nbody text\n"
    ).encode()
    (item,) = EmailAdapter(settings()).parse(InboundRequest.build(raw), now=0.0)
    assert (item.kind is InboundKind.AUTO_REPLY) is auto


def test_missing_message_id_gets_a_stable_key() -> None:
    raw = b"From: a@example.test\nSubject: hi\n\nhello\n"
    adapter = EmailAdapter(settings())
    (first,) = adapter.parse(InboundRequest.build(raw), now=0.0)
    (again,) = adapter.parse(InboundRequest.build(raw), now=9.0)
    assert first.interaction.idempotency_key.startswith("sha256:")
    assert first.interaction.id == again.interaction.id


def test_idna_domain_and_case_folding() -> None:
    raw = "From: Hiro <Hiro.Tanaka@MÜNCHEN-mail.test>\nMessage-ID: <h@x>\n\nhi\n".encode()
    (item,) = EmailAdapter(settings()).parse(InboundRequest.build(raw), now=0.0)
    assert item.interaction.address == "hiro.tanaka@xn--mnchen-mail-thb.test"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"just some text without headers", "body"),
        (b"Subject: no sender\n\nbody\n", "From"),
        (b"From: not an address\n\nbody\n", "From"),
    ],
)
def test_unusable_mail_is_malformed(raw: bytes, field: str) -> None:
    with pytest.raises(MalformedPayload) as raised:
        EmailAdapter(settings()).parse(InboundRequest.build(raw), now=0.0)
    assert raised.value.field == field


def test_strip_quoted_handles_other_languages() -> None:
    text = "Gracias!\n\nEl mar, 4 mar 2025 a las 10:05, Soporte <s@a.test> escribió:\n> hola\n"
    assert strip_quoted(text) == "Gracias!"
    assert strip_quoted("new text\n> old\nmore new") == "new text\nmore new"


def test_html_blockquote_is_quoted_history() -> None:
    html = "<div>Yes please</div><blockquote><p>Shall we refund?</p></blockquote>"
    assert html_to_text(html) == "Yes please"
