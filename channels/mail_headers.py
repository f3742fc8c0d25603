"""Top-level e-mail header fields read from their raw values, decoded once.

`email.policy.default` parses a header into a rich object on every access, which
for address lists costs ~0.2 ms each — more than parsing the whole MIME structure.
Routing needs only a few plain values (sender address and name, subject, a handful
of flag headers), so they are read here from `EmailMessage.raw_items()` with the
stdlib's RFC 2047 decoder and address-list splitter.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses

_FOLD = re.compile(r"\r?\n[ \t]*")


def utf8_header(text: str) -> str:
    """Raw 8-bit header bytes (RFC 6532 UTF-8 mail) arrive as surrogate escapes; undo that."""
    if text.isascii() or not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", errors="replace")


def decode_words(value: str) -> str:
    """RFC 2047 encoded-words → text; undecodable words are kept as they were sent."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


class RawHeaders:
    """The first occurrence of each top-level header, unfolded, by lower-cased name."""

    def __init__(self, message: EmailMessage) -> None:
        fields: dict[str, str] = {}
        for name, value in message.raw_items():
            key = name.lower()
            if key not in fields:
                fields[key] = utf8_header(_FOLD.sub(" ", str(value))).strip()
        self._fields = fields

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._fields

    def raw(self, name: str) -> str:
        return self._fields.get(name.lower(), "")

    def text(self, name: str) -> str:
        """A header's human-readable text, encoded-words decoded and whitespace collapsed."""
        return " ".join(decode_words(self.raw(name)).split())

    def token(self, name: str) -> str:
        return self.raw(name).lower()

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, address) pairs that look like mailboxes, in order."""
        value = self.raw(name)
        if not value:
            return []
        return [
            (decode_words(display).strip(), address.strip())
            for display, address in getaddresses([value])
            if "@" in address
        ]
