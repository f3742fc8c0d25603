"""What a simulation is made of: distributions, traffic per channel, customers, staff.

Plain frozen records; building the routing objects from them happens in `runner`.
Every random draw takes an explicit `random.Random`, so a seed fixes a whole run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from router.interaction import Channel

HOUR = 3600.0
DAY = 24 * HOUR


class Shape(StrEnum):
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    FIXED = "fixed"
    NEVER = "never"  # e.g. infinite patience: the customer never abandons


@dataclass(frozen=True, slots=True)
class Dist:
    """A non-negative duration distribution given by its mean (and spread for lognormal).

    Lognormal is parametrised by mean and coefficient of variation because that is
    how handle times are reported (AHT and its spread), not by mu/sigma.
    """

    shape: Shape
    mean: float = 0.0
    cv: float = 1.0

    def sample(self, rng: random.Random) -> float:
        if self.shape is Shape.NEVER:
            return math.inf
        if self.shape is Shape.FIXED or self.mean <= 0:
            return max(0.0, self.mean)
        if self.shape is Shape.EXPONENTIAL:
            return rng.expovariate(1.0 / self.mean)
        sigma2 = math.log(1.0 + self.cv * self.cv)
        mu = math.log(self.mean) - sigma2 / 2.0
        return rng.lognormvariate(mu, math.sqrt(sigma2))


def exponential(mean: float) -> Dist:
    return Dist(Shape.EXPONENTIAL, mean)


def lognormal(mean: float, cv: float) -> Dist:
    return Dist(Shape.LOGNORMAL, mean, cv)


def fixed(value: float) -> Dist:
    return Dist(Shape.FIXED, value)


NEVER = Dist(Shape.NEVER)

#: Flat profile: the same rate every hour of the day.
FLAT: tuple[float, ...] = (1.0,) * 24


@dataclass(frozen=True, slots=True)
class ChannelTraffic:
    """Arrivals of one channel: Poisson with `per_hour` × the hour-of-day multiplier."""

    channel: Channel
    per_hour: float
    handle: Dist
    wrap_up: Dist = field(default_factory=lambda: fixed(0.0))
    patience: Dist = NEVER
    #: 24 multipliers, hour 0..23 of the contact center's local day
    profile: tuple[float, ...] = FLAT
    #: social only: share of public posts, reach and sentiment of authors
    public_share: float = 0.0
    negative_share: float = 0.0

    def rate(self, hour_of_day: int) -> float:
        """Arrivals per second in that hour."""
        return self.per_hour * self.profile[hour_of_day % 24] / HOUR


@dataclass(frozen=True, slots=True)
class CustomerMix:
    """The customer population interactions are drawn from (tiers, languages, intents)."""

    population: int = 5_000
    tiers: Mapping[str, float] = field(
        default_factory=lambda: {"standard": 0.88, "gold": 0.08, "platinum": 0.04}
    )
    spanish_share: float = 0.15
    billing_share: float = 0.25
    #: share of premium customers that have an account owner (a preferred agent)
    owned_share: float = 0.5


@dataclass(frozen=True, slots=True)
class Break:
    start: float  # seconds from the start of the shift
    length: float
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """One agent: its configuration (as in contact-center.yaml) and its working day."""

    spec: Mapping[str, Any]  # an `agents:` entry of the topology YAML
    shift_start: float  # seconds from the simulation start
    shift_end: float
    breaks: tuple[Break, ...] = ()

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    def available_periods(self) -> list[tuple[float, float]]:
        """(start, end) spans the agent is logged in and not on a break."""
        periods: list[tuple[float, float]] = []
        cursor = self.shift_start
        for brk in sorted(self.breaks, key=lambda b: b.start):
            start = self.shift_start + brk.start
            if start > cursor:
                periods.append((cursor, min(start, self.shift_end)))
            cursor = max(cursor, start + brk.length)
        if cursor < self.shift_end:
            periods.append((cursor, self.shift_end))
        return [(a, b) for a, b in periods if b > a]


@dataclass(frozen=True, slots=True)
class Spike:
    """Multiply one channel's arrivals for a while (a social storm, an outage)."""

    channel: Channel
    factor: float
    start: float  # seconds from the simulation start
    length: float = HOUR


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one run needs; two runs of the same scenario and seed are identical."""

    name: str
    topology: Mapping[str, Any]  # contact-center.yaml shape (teams, queues; agents from plans)
    sla: Mapping[str, Any]  # sla.yaml shape
    traffic: tuple[ChannelTraffic, ...]
    agents: tuple[AgentPlan, ...]
    hours: float = 24.0
    #: epoch seconds of the simulated day's 00:00 (rules' business hours see this time)
    start: float = 0.0
    customers: CustomerMix = field(default_factory=CustomerMix)
    #: push-mode agents accept an offer after this long
    think: Dist = field(default_factory=lambda: fixed(2.0))
    spikes: tuple[Spike, ...] = ()
    #: measured figures leave out this first stretch (empty system at start)
    warmup: float = 0.0
    interval: float = 900.0
