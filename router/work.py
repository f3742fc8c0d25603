"""Mutable routing state: one `WorkItem` per interaction, one `AgentState` per agent.

These live inside a store; callers receive `WorkView`/`AgentView` copies so nobody
outside the core can change routing state behind its back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from agents.model import AgentProfile, Presence
from router.deadlines import Deadline
from router.interaction import Channel, Interaction, Status
from router.ordering import OrderKey
from router.plan import RoutingPlan, Target


class HistoryEntry(NamedTuple):
    """One line of an interaction's history (a tuple: cheap on the hot path)."""

    at: float
    event: str
    agent_id: str | None = None
    queue: str | None = None
    reason: str | None = None


@dataclass(slots=True, eq=False)
class WorkItem:
    interaction: Interaction
    plan: RoutingPlan
    status: Status
    seq: int
    enqueued_at: float
    deadline: Deadline
    due_at: float
    target: Target
    #: where the leg overflows at max wait and that queue's deadline, both fixed when the
    #: leg starts (as its own deadline is) so a live policy change cannot move the
    #: goalposts of work already waiting, and as the Redis store fixes them; None when
    #: the leg expires at max wait instead
    overflow: tuple[str, Deadline] | None = None
    steps_applied: int = 0
    key: OrderKey | None = None
    #: ids of the buckets the item is indexed in while queued
    buckets: list[int] = field(default_factory=list)
    in_preferred: str | None = None
    agent_id: str | None = None
    reserved_at: float | None = None
    assigned_at: float | None = None
    offer_token: int = 0
    at_risk: bool = False
    breached: bool = False
    #: agents that handed this interaction back (created on first rejection: an empty
    #: set per queued interaction would cost ~200 bytes for nothing)
    rejected_by: set[str] | None = None
    disposition: str | None = None
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.interaction.id

    @property
    def channel(self) -> Channel:
        return self.interaction.channel

    @property
    def queue(self) -> str:
        return self.plan.queue


@dataclass(slots=True, eq=False)
class AgentState:
    profile: AgentProfile
    queues: tuple[str, ...]
    presence: Presence = Presence.OFFLINE
    reason: str | None = None
    auto_offer: bool = True
    presence_since: float = 0.0
    held: dict[str, Channel] = field(default_factory=dict)
    active: dict[Channel, int] = field(default_factory=dict)
    blocking_held: int = 0
    wrapping: int = 0
    idle_since: dict[Channel, float] = field(default_factory=dict)
    missed_offers: int = 0
    #: bucket id -> the agent's entry in that bucket's ready index
    indexed: dict[int, tuple[float, float, str]] = field(default_factory=dict)
    #: channel -> (bucket registry size when computed, buckets the agent may serve)
    bucket_cache: dict[Channel, tuple[int, list[Any], frozenset[int]]] = field(
        default_factory=dict
    )

    @property
    def id(self) -> str:
        return self.profile.id

    @property
    def shown_presence(self) -> Presence:
        """Presence as supervisors see it: wrap-up is derived from the work held."""
        if self.presence is not Presence.OFFLINE and self.wrapping:
            return Presence.WRAP_UP
        return self.presence

    def can_take(self, channel: Channel) -> bool:
        """Free capacity on `channel` now, honouring cross-channel blocking."""
        if self.presence is not Presence.AVAILABLE or self.blocking_held:
            return False
        if channel in self.profile.blocking and self.held:
            return False
        return self.active.get(channel, 0) < self.profile.capacity.get(channel, 0)

    def load(self) -> float:
        """Share of the agent's capacity in use, summed over channels (least-occupied)."""
        total = 0.0
        for channel, count in self.active.items():
            slots = self.profile.capacity.get(channel, 0)
            if slots:
                total += count / slots
        return total


@dataclass(frozen=True, slots=True)
class WorkView:
    """A read-only copy of one interaction's routing state."""

    interaction: Interaction
    plan: RoutingPlan
    status: Status
    queue: str
    team: str
    priority: int
    enqueued_at: float
    due_at: float
    agent_id: str | None
    disposition: str | None
    history: tuple[HistoryEntry, ...]

    @property
    def id(self) -> str:
        return self.interaction.id


@dataclass(frozen=True, slots=True)
class AgentView:
    """A read-only copy of one agent's state: presence, work held, capacity in use."""

    id: str
    teams: tuple[str, ...]
    presence: Presence
    reason: str | None
    auto_offer: bool
    held: dict[str, Channel]
    active: dict[Channel, int]
    capacity: dict[Channel, int]
    missed_offers: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """An interaction reserved to an agent (pulled or offered) until `expires_at`."""

    interaction_id: str
    agent_id: str
    channel: Channel
    queue: str
    reserved_at: float
    expires_at: float
