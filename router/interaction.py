"""The normalized interaction: the immutable facts every channel adapter produces.

Mutable routing state (status, plan, holder) lives in `router.work.WorkItem`, so an
`Interaction` can be shared freely between adapters, rules and the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    SMS = "sms"
    SOCIAL = "social"
    CHAT = "chat"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Status(StrEnum):
    QUEUED = "queued"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    EXPIRED = "expired"


#: States in which an agent holds the interaction (and it counts against capacity).
HELD_STATUSES: frozenset[Status] = frozenset({Status.RESERVED, Status.ASSIGNED, Status.WRAP_UP})
#: States from which nothing moves any more.
FINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.COMPLETED, Status.ABANDONED, Status.CANCELLED, Status.EXPIRED}
)
#: States that are still being worked on or waited for.
OPEN_STATUSES: frozenset[Status] = frozenset(Status) - FINAL_STATUSES

#: The lifecycle. `transferred` is transient: a transfer ends the current leg and the
#: interaction is queued again on its new plan, keeping its history.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset(
        {Status.RESERVED, Status.ABANDONED, Status.CANCELLED, Status.TRANSFERRED, Status.EXPIRED}
    ),
    Status.RESERVED: frozenset(
        {Status.ASSIGNED, Status.QUEUED, Status.ABANDONED, Status.CANCELLED}
    ),
    Status.ASSIGNED: frozenset(
        {Status.WRAP_UP, Status.COMPLETED, Status.TRANSFERRED, Status.CANCELLED}
    ),
    Status.WRAP_UP: frozenset({Status.COMPLETED}),
    Status.TRANSFERRED: frozenset({Status.QUEUED}),
    Status.COMPLETED: frozenset(),
    Status.ABANDONED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """What arrived, from whom, on which channel — facts that never change.

    `idempotency_key` is the provider's own id (CallSid, Message-ID, MessageSid, mid,
    tweet id…); ingesting the same key twice yields the same interaction.
    `customer_id` is the resolved customer (identity index), `address` the raw
    channel address it came from (E.164 number, e-mail address, social handle).
    """

    id: str
    channel: Channel
    idempotency_key: str
    created_at: float
    direction: Direction = Direction.INBOUND
    customer_id: str | None = None
    address: str | None = None
    to: str | None = None
    conversation_id: str | None = None
    subject: str = ""
    summary: str = ""
    language: str | None = None
    intent: str | None = None
    sentiment: float | None = None
    public: bool = False
    reach: int = 0
    attachments: tuple[Attachment, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
