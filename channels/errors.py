"""Typed errors for bad inbound payloads; each carries the HTTP status the API answers with.

Every malformed input an adapter can see ends in one of these, never in a stray
`KeyError` or `UnicodeDecodeError`, so the API maps errors to responses by type alone.
Messages name the field and (a shortened form of) the bad value.
"""

from __future__ import annotations

from router.errors import OmnirouteError

_VALUE_PREVIEW = 80


def preview(value: object) -> str:
    """A bounded repr of an offending value: enough to recognise it, never a whole body."""
    text = repr(value)
    if len(text) > _VALUE_PREVIEW:
        return text[:_VALUE_PREVIEW] + "…"
    return text


class ChannelError(OmnirouteError):
    """Base of every error raised by a channel adapter; `http_status` is the API's answer."""

    http_status: int = 400


class MalformedPayload(ChannelError):
    """Raised when a payload cannot be read: missing field, wrong shape, invalid UTF-8, bad MIME."""

    http_status = 400

    def __init__(self, field: str, problem: str, value: object = None) -> None:
        self.field = field
        self.problem = problem
        self.value = value
        shown = "" if value is None else f" (got {preview(value)})"
        super().__init__(f"malformed payload: {field}: {problem}{shown}")


class UnprocessablePayload(ChannelError):
    """Raised when a payload is well-formed but a value makes no sense (e.g. not a phone number)."""

    http_status = 422

    def __init__(self, field: str, problem: str, value: object = None) -> None:
        self.field = field
        self.problem = problem
        self.value = value
        shown = "" if value is None else f" (got {preview(value)})"
        super().__init__(f"unprocessable payload: {field}: {problem}{shown}")


class PayloadTooLarge(ChannelError):
    """Raised before parsing when a body exceeds the configured size cap."""

    http_status = 413

    def __init__(self, limit: int, size: int) -> None:
        self.limit = limit
        self.size = size
        super().__init__(f"payload of {size} bytes exceeds the limit of {limit} bytes")


class BadSignature(ChannelError):
    """Raised when a webhook signature is missing, malformed or does not match the secret."""

    http_status = 401

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: signature rejected: {reason}")


class VerificationFailed(ChannelError):
    """Raised when a provider's subscription handshake (Meta hub, X CRC) cannot be answered."""

    http_status = 403

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: verification handshake refused: {reason}")
