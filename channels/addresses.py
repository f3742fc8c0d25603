"""Canonical customer addresses, so the same person is the same string on every channel.

- phone numbers → E.164 (`+14155550123`) via `phonenumbers`, with a default region
  for national-format input;
- e-mail → lower-cased, trimmed, IDNA (punycode) domain; the local part is kept
  whole (no `+tag` stripping: `a+b@x` may be a different mailbox on some servers);
- social ids → `facebook:<psid>`, `instagram:<igsid>`, `x:<user id>`, handles `x:@name`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

import phonenumbers

from channels.errors import UnprocessablePayload

_E164 = phonenumbers.PhoneNumberFormat.E164
#: What carriers and Twilio put in From when the caller withholds their number.
WITHHELD_CALLERS = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "unavailable",
        "blocked",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+86282452253",
    }
)
#: Non-PSTN voice endpoints (Twilio Client, SIP) keep their own scheme.
_ENDPOINT_SCHEMES = ("client:", "sip:")


class Network(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    X = "x"


def normalize_phone(raw: str, region: str, field: str = "From") -> str:
    """E.164 form of `raw`; raises `UnprocessablePayload` naming `field` if it is no number."""
    return _normalize_phone_cached(raw.strip(), region, field)


# Repeat callers and texters dominate contact-center traffic and phonenumbers costs
# ~20 µs a parse, so memoise; failures raise and are therefore never cached.
@lru_cache(maxsize=65536)
def _normalize_phone_cached(raw: str, region: str, field: str) -> str:
    if not raw:
        raise UnprocessablePayload(field, "empty phone number", raw)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise UnprocessablePayload(field, f"not a phone number: {exc._msg}", raw) from None
    if not phonenumbers.is_possible_number(number):
        raise UnprocessablePayload(field, "impossible phone number for its region", raw)
    return phonenumbers.format_number(number, _E164)


def is_withheld(raw: str) -> bool:
    return raw.strip().lower() in WITHHELD_CALLERS


def voice_endpoint(raw: str, region: str, field: str = "From") -> str | None:
    """Canonical caller address: E.164, a `client:`/`sip:` endpoint, or None if withheld."""
    stripped = raw.strip()
    if is_withheld(stripped):
        return None
    lowered = stripped.lower()
    if lowered.startswith(_ENDPOINT_SCHEMES):
        return lowered
    return normalize_phone(stripped, region, field)


def normalize_email(raw: str, field: str = "From") -> str:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise UnprocessablePayload(field, "not an e-mail address", raw)
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnprocessablePayload(
                field, "e-mail domain is not a valid IDNA name", raw
            ) from None
    return f"{local}@{domain}"


def social_address(network: Network, user_id: str, field: str = "sender.id") -> str:
    cleaned = user_id.strip()
    if not cleaned or any(char.isspace() for char in cleaned):
        raise UnprocessablePayload(field, f"not a {network.value} user id", user_id)
    return f"{network.value}:{cleaned}"


def x_handle(handle: str) -> str:
    """`x:@name`; X handles are case-insensitive, so they are folded."""
    return f"{Network.X.value}:@{handle.strip().lstrip('@').lower()}"
