"""Small validators for provider fields, shared by the adapters.

Each raises the typed payload errors naming the field, so adapters stay declarative.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from channels.errors import MalformedPayload

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
#: Provider ids (CallSid, mid, tweet id…) are short tokens; longer is not an id.
MAX_ID_LENGTH = 256


def required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if value is None:
        raise MalformedPayload(name, "required field is missing")
    stripped = value.strip()
    if not stripped:
        raise MalformedPayload(name, "required field is empty", value)
    return stripped


def optional(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def provider_id(value: str, name: str) -> str:
    """A provider's message/call id: a bounded token of visible ASCII characters."""
    if len(value) > MAX_ID_LENGTH:
        raise MalformedPayload(name, f"id longer than {MAX_ID_LENGTH} characters", value)
    if not _VISIBLE_ASCII.fullmatch(value):
        raise MalformedPayload(name, "id must be visible ASCII without spaces", value)
    return value


def bounded_int(form: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = form.get(name)
    if raw is None or not raw.strip():
        return low
    stripped = raw.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise MalformedPayload(name, "not a whole number", raw)
    value = int(stripped)
    if not low <= value <= high:
        raise MalformedPayload(name, f"must be between {low} and {high}", raw)
    return value


def clip(text: str, limit: int) -> str:
    """Collapse runs of whitespace and cut to `limit` characters (summaries, not bodies)."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= limit:
        return collapsed
    return collapsed[: limit - 1].rstrip() + "…"


def validation_problem(exc: ValidationError) -> MalformedPayload:
    """The first pydantic error as a MalformedPayload naming its dotted location."""
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return MalformedPayload(location, first["msg"], first.get("input"))
