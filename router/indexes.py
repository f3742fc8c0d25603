"""The memory store's indexes: buckets of waiting work and of ready agents.

A bucket is one (queue, channel, skill requirement) combination. Interactions wait in
the buckets of their effective target, ordered by the universal ordering; agents that
could take a bucket's work right now (push mode, free capacity, skills met) wait in
the same bucket, ordered by the agent strategy. A decision therefore touches only the
heads of a few buckets: O(buckets × log n), never a scan of the queue or of all agents.

The number of buckets is bounded by queues × channels × distinct requirement sets,
which rules keep small; a new bucket is filled once, by scanning its queue's agents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from sortedcontainers import SortedList

from agents.model import AgentProfile
from router.interaction import Channel
from router.plan import SkillRequirement

Requirement = tuple[SkillRequirement, ...]
AgentKey = tuple[float, float, str]


class Strategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    HIGHEST_PROFICIENCY = "highest_proficiency"


def meets(profile: AgentProfile, requirement: Requirement) -> bool:
    return all(profile.skills.get(r.skill, 0) >= r.min_proficiency for r in requirement)


def proficiency_score(profile: AgentProfile, requirement: Requirement) -> int:
    return sum(profile.skills.get(r.skill, 0) for r in requirement)


@dataclass(slots=True, eq=False)
class Bucket:
    id: int
    queue: str
    channel: Channel
    requirement: Requirement
    items: SortedList = field(default_factory=SortedList)
    agents: SortedList = field(default_factory=SortedList)


class BucketRegistry:
    """Every bucket, found by (queue, channel, requirement) or by id."""

    __slots__ = ("_by_id", "_by_key", "_by_queue_channel")

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, Channel, Requirement], Bucket] = {}
        self._by_id: list[Bucket] = []
        self._by_queue_channel: dict[tuple[str, Channel], list[Bucket]] = {}

    def get(self, queue: str, channel: Channel, requirement: Requirement) -> Bucket | None:
        return self._by_key.get((queue, channel, requirement))

    def create(self, queue: str, channel: Channel, requirement: Requirement) -> Bucket:
        bucket = Bucket(len(self._by_id), queue, channel, requirement)
        self._by_key[(queue, channel, requirement)] = bucket
        self._by_id.append(bucket)
        self._by_queue_channel.setdefault((queue, channel), []).append(bucket)
        return bucket

    def by_id(self, bucket_id: int) -> Bucket:
        return self._by_id[bucket_id]

    def of(self, queue: str, channel: Channel) -> list[Bucket]:
        return self._by_queue_channel.get((queue, channel), [])

    def __iter__(self) -> Iterator[Bucket]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)
