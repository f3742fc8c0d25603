"""Erlang C: the M/M/N queue behind staffing estimates, in plain floats.

`traffic` A is offered load in Erlangs (arrival rate × average handle time); `agents`
N is the number of servers. The textbook formula uses A^N / N!, which overflows a
float near N = 170; instead Erlang B is built by its recursion
B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)), every term of which stays in [0, 1], and
Erlang C is derived from it: C = N·B / (N − A·(1 − B)). That is exact in real
arithmetic, costs O(N) and is stable for thousands of agents.

With A >= N the queue grows without bound: every interaction waits (C = 1), the
service level is 0 and the average speed of answer is infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def traffic_intensity(arrivals: float, period: float, handle_time: float) -> float:
    """Erlangs from `arrivals` per `period` seconds with `handle_time` seconds each."""
    if period <= 0:
        raise ValueError(f"period must be > 0 seconds, got {period!r}")
    _check_non_negative(arrivals=arrivals, handle_time=handle_time)
    return arrivals * handle_time / period


def erlang_b(agents: int, traffic: float) -> float:
    """Probability that an arrival finds all N servers busy in a loss system."""
    _check(agents, traffic)
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that an arrival has to wait (P(W > 0))."""
    _check(agents, traffic)
    if traffic >= agents:
        return 1.0
    if traffic == 0:
        return 0.0
    blocking = erlang_b(agents, traffic)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(agents: int, traffic: float, threshold: float, handle_time: float) -> float:
    """Fraction answered within `threshold` seconds: 1 − C·e^(−(N−A)·t/AHT)."""
    _check_non_negative(threshold=threshold)
    _check_handle_time(handle_time)
    if traffic >= agents:
        return 0.0
    waiting = erlang_c(agents, traffic)
    return 1.0 - waiting * math.exp(-(agents - traffic) * threshold / handle_time)


def average_speed_of_answer(agents: int, traffic: float, handle_time: float) -> float:
    """Mean wait over all arrivals (ASA) in seconds: C·AHT / (N − A)."""
    _check_handle_time(handle_time)
    if traffic >= agents:
        return math.inf
    return erlang_c(agents, traffic) * handle_time / (agents - traffic)


def occupancy(agents: int, traffic: float) -> float:
    """Share of agent time spent handling: A / N, at most 1 (a saturated queue)."""
    _check(agents, traffic)
    if agents == 0:
        return 1.0 if traffic > 0 else 0.0
    return min(1.0, traffic / agents)


def agents_required(
    traffic: float,
    threshold: float,
    handle_time: float,
    target: float,
    max_occupancy: float = 1.0,
    limit: int = 100_000,
) -> int:
    """Fewest agents meeting `target` service level (and at most `max_occupancy`)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target service level must be in (0, 1), got {target!r}")
    if not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    _check(0, traffic)
    if traffic == 0:
        return 0
    # Below A agents the queue is unstable, so start just above it; also start where
    # the occupancy cap is already met, since occupancy only falls as N grows.
    agents = max(math.floor(traffic) + 1, math.ceil(traffic / max_occupancy))
    while service_level(agents, traffic, threshold, handle_time) < target:
        agents += 1
        if agents > limit:
            raise ValueError(f"more than {limit} agents needed for {traffic!r} Erlangs")
    return agents


@dataclass(frozen=True, slots=True)
class Staffing:
    """What one staffing level gives for a given load (a row of a staffing table)."""

    agents: int
    traffic: float
    probability_of_wait: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float


def staffing(agents: int, traffic: float, threshold: float, handle_time: float) -> Staffing:
    return Staffing(
        agents=agents,
        traffic=traffic,
        probability_of_wait=erlang_c(agents, traffic),
        service_level=service_level(agents, traffic, threshold, handle_time),
        average_speed_of_answer=average_speed_of_answer(agents, traffic, handle_time),
        occupancy=occupancy(agents, traffic),
    )


def _check(agents: int, traffic: float) -> None:
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents!r}")
    _check_non_negative(traffic=traffic)


def _check_handle_time(handle_time: float) -> None:
    if not handle_time > 0:
        raise ValueError(f"handle_time must be > 0 seconds, got {handle_time!r}")


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
