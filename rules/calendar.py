"""Business-hours calendars: a time zone, weekly opening hours and holidays.

`Calendar.is_open(now)` converts `now` to the calendar's local wall clock (zoneinfo,
so daylight-saving shifts are the tz database's, not ours) and checks the local date
against holidays and the local time against that weekday's intervals. Intervals never
cross midnight; an overnight shift is written as two intervals on two days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Minutes since local midnight, end exclusive; `24:00` closes at midnight.
Interval = tuple[int, int]


def parse_clock(text: str) -> int:
    """Minutes since midnight of `HH:MM` (`24:00` allowed as an end); ValueError otherwise."""
    hours_text, sep, minutes_text = text.partition(":")
    if not sep or not hours_text.isdigit() or not minutes_text.isdigit() or len(minutes_text) != 2:
        raise ValueError(f"time must be HH:MM, got {text!r}")
    hours, minutes = int(hours_text), int(minutes_text)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"time must be 00:00..24:00, got {text!r}")
    return hours * 60 + minutes


def parse_interval(text: str) -> Interval:
    """`09:00-17:30` -> (540, 1050); the end must come after the start."""
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ValueError(f"hours must be HH:MM-HH:MM, got {text!r}")
    start, end = parse_clock(start_text.strip()), parse_clock(end_text.strip())
    if end <= start:
        raise ValueError(
            f"hours {text!r} end before they start; split an overnight shift over two days"
        )
    return start, end


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    zone: ZoneInfo
    weekly: Mapping[int, tuple[Interval, ...]]  # weekday (Monday = 0) -> intervals
    holidays: frozenset[dt.date]

    def is_open(self, now: dt.datetime) -> bool:
        """True when `now` (aware; naive means UTC) falls inside local opening hours."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        local = now.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.weekly.get(local.weekday(), ()))
