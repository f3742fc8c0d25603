"""Business hours with explicit time zones, holidays and DST edges."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from rules.calendar import parse_interval
from rules.duration import format_duration, parse_duration
from rules.model import CalendarSpec

NY = ZoneInfo("America/New_York")

SUPPORT = CalendarSpec.model_validate({
    "timezone": "America/New_York",
    "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "sat": ["00:00-24:00"],
              "sun": ["01:00-04:00"]},
    "holidays": ["2026-01-19"],
}).build("support")


@pytest.mark.parametrize(("local", "expected"), [
    (dt.datetime(2026, 3, 2, 8, 59), False),
    (dt.datetime(2026, 3, 2, 9, 0), True),
    (dt.datetime(2026, 3, 2, 12, 30), False),  # lunch gap
    (dt.datetime(2026, 3, 2, 16, 59), True),
    (dt.datetime(2026, 3, 2, 17, 0), False),  # end is exclusive
    (dt.datetime(2026, 3, 3, 10, 0), False),  # Tuesday: closed
    (dt.datetime(2026, 1, 19, 10, 0), False),  # holiday Monday
    (dt.datetime(2026, 3, 7, 23, 59), True),  # Saturday open all day
])
def test_local_hours(local: dt.datetime, expected: bool) -> None:
    assert SUPPORT.is_open(local.replace(tzinfo=NY)) is expected


def test_same_instant_in_other_zones() -> None:
    # 14:30 UTC on Monday 2 March 2026 is 09:30 in New York (EST, UTC-5).
    assert SUPPORT.is_open(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC))
    assert not SUPPORT.is_open(dt.datetime(2026, 3, 2, 13, 30, tzinfo=dt.UTC))
    tokyo = dt.datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert SUPPORT.is_open(tokyo)
    assert SUPPORT.is_open(dt.datetime(2026, 3, 2, 14, 30))  # naive means UTC


def test_dst_spring_forward() -> None:
    # Monday 9 March 2026 is after the US switch (8 March): New York is UTC-4.
    assert SUPPORT.is_open(dt.datetime(2026, 3, 9, 13, 0, tzinfo=dt.UTC))  # 09:00 EDT
    assert not SUPPORT.is_open(dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC))  # 08:00 EST
    # Sunday 8 March: 01:00-04:00 local, but 02:00-03:00 does not exist that night.
    assert SUPPORT.is_open(dt.datetime(2026, 3, 8, 6, 59, tzinfo=dt.UTC))  # 01:59 EST
    assert SUPPORT.is_open(dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC))  # 03:00 EDT
    assert not SUPPORT.is_open(dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC))  # 04:00 EDT


def test_dst_fall_back() -> None:
    # Sunday 1 November 2026: 01:00-02:00 happens twice; both are inside 01:00-04:00.
    assert SUPPORT.is_open(dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC))  # 01:30 EDT
    assert SUPPORT.is_open(dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC))  # 01:30 EST
    assert SUPPORT.is_open(dt.datetime(2026, 11, 1, 8, 59, tzinfo=dt.UTC))  # 03:59 EST
    assert not SUPPORT.is_open(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC))  # 04:00 EST


@pytest.mark.parametrize(("data", "message"), [
    ({"timezone": "Mars/Olympus"}, "unknown IANA time zone 'Mars/Olympus'"),
    ({"timezone": "UTC", "hours": {"funday": []}}, "unknown weekday 'funday'"),
    ({"timezone": "UTC", "hours": {"mon": ["18:00-09:00"]}}, "split an overnight shift"),
    ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "time must be HH:MM"),
])
def test_invalid_calendars(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CalendarSpec.model_validate(data)


def test_intervals_and_durations() -> None:
    assert parse_interval("09:00-24:00") == (540, 1440)
    assert [parse_duration(d) for d in ("30s", "2m", "1h", "1h30m", "250ms", 45)] == [
        30.0, 120.0, 3600.0, 5400.0, 0.25, 45.0]
    assert [format_duration(s) for s in (30, 120, 3600, 5400, 0.25, 0)] == [
        "30s", "2m", "1h", "1h30m", "250ms", "0s"]
    with pytest.raises(ValueError, match="duration must be like"):
        parse_duration("2 minutes")
