"""Domain events: every lifecycle transition and presence change, as plain records.

The core publishes them to subscribers (SLA tracking, metrics, the event stream);
it never calls those inline, so they can be added or removed without touching routing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from router.interaction import Channel, Status


class EventKind(StrEnum):
    QUEUED = "queued"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    REJECTED = "rejected"
    OFFER_EXPIRED = "offer_expired"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    OVERFLOWED = "overflowed"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"
    AGENT_PRESENCE = "agent_presence"


# Events are not `frozen`: a frozen dataclass pays object.__setattr__ per field on
# construction, and one event is built per transition. Treat them as immutable.
@dataclass(slots=True)
class InteractionEvent:
    """Something happened to one interaction.

    `waited` is seconds since it was (last) enqueued; `handled` is seconds since it was
    accepted (only on wrap_up/completed). `queue`/`team` are where it waits or waited.
    """

    kind: EventKind
    at: float
    interaction_id: str
    channel: Channel
    queue: str
    team: str
    status: Status
    previous: Status | None = None
    agent_id: str | None = None
    priority: int = 0
    enqueued_at: float = 0.0
    waited: float = 0.0
    handled: float | None = None
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AgentEvent:
    """An agent's presence changed (including the derived wrap_up presence)."""

    kind: EventKind
    at: float
    agent_id: str
    teams: tuple[str, ...]
    presence: str
    previous: str
    reason: str | None = None


Event = InteractionEvent | AgentEvent
Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out to subscribers; a failing subscriber never breaks routing."""

    __slots__ = ("_subscribers", "errors")

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.errors = 0

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def active(self) -> bool:
        """Whether anybody listens (the core skips building events nobody reads)."""
        return bool(self._subscribers)

    def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken observer must not stop routing
                self.errors += 1
