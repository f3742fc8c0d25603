"""The raw inbound HTTP request as an adapter sees it, and the first checks on its body.

The API layer builds one `InboundRequest` per webhook call; adapters never touch the
web framework, so they can be tested and benchmarked with plain bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from channels.errors import MalformedPayload, PayloadTooLarge

#: Twilio sends ~40 fields; anything far beyond that is not a Twilio webhook.
MAX_FORM_FIELDS = 500
#: Real webhook JSON is shallow; deep nesting is an attack on the recursive decoder.
MAX_JSON_DEPTH = 64


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """Body bytes plus the request facts signatures depend on (URL, headers, query)."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    method: str = "POST"
    query: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        url: str = "",
        method: str = "POST",
        query: Mapping[str, str] | None = None,
    ) -> InboundRequest:
        """Lower-case header names once, so lookups are case-insensitive like HTTP's."""
        lowered = {name.lower(): value for name, value in (headers or {}).items()}
        return cls(body=body, headers=lowered, url=url, method=method.upper(), query=query or {})

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise PayloadTooLarge(limit=limit, size=len(body))


def decode_utf8(body: bytes, what: str = "body") -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(
            what, f"invalid UTF-8 at byte {exc.start}", body[exc.start : exc.end]
        ) from None


def parse_form(body: bytes) -> dict[str, str]:
    """application/x-www-form-urlencoded → dict; the last value of a repeated key wins."""
    return dict(parse_form_pairs(body))


def parse_form_pairs(body: bytes) -> list[tuple[str, str]]:
    """All pairs in order (the Twilio signature covers repeated keys too)."""
    try:
        return parse_qsl(
            decode_utf8(body),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise MalformedPayload(
            "body", "percent-encoded bytes are not UTF-8", exc.object[:40]
        ) from None
    except ValueError as exc:
        raise MalformedPayload("body", str(exc)) from None


def parse_json(body: bytes) -> Any:
    text = decode_utf8(body)
    if _nesting_depth_exceeds(text, MAX_JSON_DEPTH):
        raise MalformedPayload("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(
            "body", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise MalformedPayload("body", "JSON nested too deeply") from None


def _nesting_depth_exceeds(text: str, limit: int) -> bool:
    # A cheap upper bound: brackets inside strings count too, which only errs on the
    # side of rejecting absurd payloads, never of accepting a recursion bomb.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
