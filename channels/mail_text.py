"""Turning e-mail bodies into a readable summary: HTML → text, quoted history removed.

Agents and rules need what the customer wrote *this time*, not the whole thread that
mail clients quote underneath, nor markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Elements whose text is never shown to a reader.
_INVISIBLE = frozenset({"script", "style", "head", "title", "template", "noscript"})
#: Elements that start a new line when rendered.
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "section",
        "article",
        "header",
        "footer",
        "hr",
        "pre",
    }
)

# Attribution lines mail clients put above the quoted message, in the languages our
# customers write in. Anchored at line start; matched on the stripped line.
_ATTRIBUTION = re.compile(
    r"^(on\s.+\swrote:|el\s.+\sescribi[óo]:|le\s.+\sa\s[ée]crit\s?:|am\s.+\sschrieb.*:"
    r"|-{2,}\s*original message\s*-{2,}|-{2,}\s*mensaje original\s*-{2,}"
    r"|_{10,}|begin forwarded message:)$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(on|el|le|am)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|escribi[óo]|a\s[ée]crit\s?|schrieb)\s*:$", re.IGNORECASE)
#: RFC 3676 signature separator.
_SIGNATURE = "-- "


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag == "blockquote":
            # HTML mail clients put the quoted thread in a blockquote.
            self._quoted += 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE and self._hidden:
            self._hidden -= 1
        elif tag == "blockquote" and self._quoted:
            self._quoted -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden and not self._quoted:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)


def strip_quoted(text: str) -> str:
    """What the sender wrote above the quoted history and signature."""
    kept: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line == _SIGNATURE or _ATTRIBUTION.match(stripped):
            break
        if _wrapped_attribution(stripped, lines, index):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _wrapped_attribution(stripped: str, lines: list[str], index: int) -> bool:
    # Gmail wraps long attributions: "On Tue, 4 Mar 2025 at 10:02, Ana <" / "ana@x> wrote:".
    if not _ATTRIBUTION_START.match(stripped) or index + 1 >= len(lines):
        return False
    return bool(_ATTRIBUTION_END.search(lines[index + 1].strip()))
