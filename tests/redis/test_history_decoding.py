"""The client decodes a history it saw one entry shorter by decoding that entry only.

The functions keep an item's history as one JSON text and every transition appends an
entry; accept and complete both return it. `_history` remembers what it decoded and,
given a text that extends one it remembers, decodes the new entry alone. Whatever the
entries hold, the result must be what decoding the whole text gives.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from router import redis_store
from router.redis_store import _entries, _history

# (free text as reasons carry it: kept as '~' .. text, '' for none; the separators the
# shortcut looks for, quotes and brackets, are the interesting characters)
_TEXT = st.text(alphabet=st.sampled_from(list('ab,[]"\\/~é\n')), max_size=12)
_ENTRY = st.tuples(
    st.floats(min_value=0, max_value=2e9, allow_nan=False).map(repr),
    st.sampled_from(["queued", "reserved", "assigned", "completed"]),
    _TEXT, _TEXT, _TEXT.map(lambda text: "~" + text if text else ""),
)


def _texts(entries: list[tuple[str, ...]]) -> list[str]:
    """The history's text after each transition, as the functions append entries."""
    return [json.dumps(entries[: n + 1], separators=(",", ":")) for n in range(len(entries))]


@given(st.lists(_ENTRY, min_size=1, max_size=6))
def test_each_history_decodes_as_its_whole_text_does(entries: list[tuple[str, ...]]) -> None:
    redis_store._HISTORIES.clear()
    for text in _texts(entries):
        assert _history(text) == _entries(text)


@given(st.lists(_ENTRY, min_size=2, max_size=6))
def test_an_extended_history_reuses_the_shorter_one(entries: list[tuple[str, ...]]) -> None:
    redis_store._HISTORIES.clear()
    *earlier, last = _texts(entries)
    shorter = _history(earlier[-1])
    longer = _history(last)
    assert longer == _entries(last)
    assert longer[: len(shorter)] == shorter
    if last.count(',["') == len(entries) - 1:  # (else a reason ends with ',[': decoded whole)
        assert all(a is b for a, b in zip(longer, shorter, strict=False))  # not decoded again


def test_a_reason_that_ends_like_an_entry_boundary_is_decoded_whole() -> None:
    redis_store._HISTORIES.clear()
    entries = [("1.0", "queued", "", "q", ""), ("2.0", "reserved", "ana", "q", '~x"],[')]
    earlier, last = _texts(entries)
    _history(earlier)
    assert _history(last) == _entries(last)
    assert _history(last)[1].reason == 'x"],['
