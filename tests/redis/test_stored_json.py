"""`stored_json` decodes what the functions write as `json.loads` does, errors included."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.redis_codec import stored_json

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_VALUES)
def test_decodes_as_json_loads(value: object) -> None:
    text = json.dumps(value, separators=(",", ":"))
    assert stored_json(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "[1,2", '["a"]x', "nope", '{"a":}'])
def test_rejects_what_json_loads_rejects(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        stored_json(text)


def test_surrounding_whitespace_is_an_error() -> None:
    # (cjson writes none; json.loads would skip it)
    for text in (" [1]", "[1] "):
        with pytest.raises(json.JSONDecodeError):
            stored_json(text)
