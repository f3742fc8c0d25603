from __future__ import annotations

import pytest

from sla.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (20, 20.0),
        (1.5, 1.5),
        ("20", 20.0),
        ("20s", 20.0),
        ("15m", 900.0),
        ("4h", 14400.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        (" 2.5M ", 150.0),
        ("0", 0.0),
    ],
)
def test_parse(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "invalid duration 'abc': use seconds or a number with an s, m, h or d suffix"),
        ("15 minutes", "invalid duration '15 minutes': use seconds"),
        ("m15", "invalid duration 'm15'"),
        (-1, "invalid duration -1: must be a finite number >= 0"),
        (float("inf"), "invalid duration inf: must be a finite number >= 0"),
        (True, "invalid duration True"),
        (None, "invalid duration None"),
    ],
)
def test_parse_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("seconds", "text"), [(20, "20s"), (900, "15m"), (14400, "4h"), (86400, "1d"), (1.5, "1.5s")]
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
