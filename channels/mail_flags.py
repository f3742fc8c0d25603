"""Recognising machine-generated mail that must not become work for an agent.

Out-of-office replies and bulk mail would otherwise each open an interaction and, worse,
an auto-acknowledgement from us could loop with their auto-reply. RFC 3834 says how
auto-responders should mark themselves; the subject patterns catch the ones that don't.
"""

from __future__ import annotations

import re

from channels.mail_headers import RawHeaders

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")
_OUT_OF_OFFICE = re.compile(
    r"\b(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response"
    r"|vacation reply|away from (the )?office|fuera de (la )?oficina|respuesta autom[áa]tica"
    r"|abwesenheitsnotiz|r[ée]ponse automatique)\b",
    re.IGNORECASE,
)


def auto_reply_reason(headers: RawHeaders, content_type: str, subject: str) -> str | None:
    """Why a message is machine-generated, or None if a person wrote it."""
    auto_submitted = headers.token("Auto-Submitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = headers.token("Precedence")
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in _AUTOREPLY_HEADERS:
        if header in headers:
            return f"{header} present"
    if content_type == "multipart/report":
        return "delivery status report"
    if headers.raw("Return-Path") == "<>":
        return "null return path (bounce)"
    if _OUT_OF_OFFICE.search(subject):
        return "out-of-office subject"
    return None
