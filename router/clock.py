"""Clocks: the core never reads the time itself, it is given one of these."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (may be virtual)."""
        ...


class SystemClock:
    """Wall-clock time, for production."""

    __slots__ = ()

    def __call__(self) -> float:
        return time.time()


class VirtualClock:
    """Time that moves only when told to: tests and the simulator drive it."""

    __slots__ = ("now",)

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (advance by {seconds!r})")
        self.now += seconds
        return self.now

    def set(self, at: float) -> float:
        if at < self.now:
            raise ValueError(f"cannot move a clock backwards (from {self.now!r} to {at!r})")
        self.now = at
        return self.now
