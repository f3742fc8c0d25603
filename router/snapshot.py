"""A point-in-time view of the store: what `/stats` and scrape-time gauges read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queue: str
    team: str
    channel: str
    depth: int
    oldest_enqueued_at: float | None  # None when empty
    #: interactions whose first queue this was, ever (re-queues are not arrivals): a
    #: counter kept by the store, so it is exact site-wide and costs the routing no event
    received: int = 0

    def oldest_wait(self, now: float) -> float:
        return 0.0 if self.oldest_enqueued_at is None else max(0.0, now - self.oldest_enqueued_at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    queues: tuple[QueueDepth, ...]
    #: team -> presence -> number of logged-in agents (offline agents counted too)
    agents_by_presence: Mapping[str, Mapping[str, int]]
    #: team -> (capacity slots in use, capacity slots of agents not offline)
    occupancy: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: interaction status -> count of interactions in that status
    statuses: Mapping[str, int] = field(default_factory=dict)
