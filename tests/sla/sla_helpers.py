"""Builders for hand-written event sequences on virtual time."""

from __future__ import annotations

from typing import Any

from router.events import AgentEvent, EventKind, InteractionEvent
from router.interaction import Channel, Status

_STATUS = {
    EventKind.QUEUED: Status.QUEUED,
    EventKind.RESERVED: Status.RESERVED,
    EventKind.ASSIGNED: Status.ASSIGNED,
    EventKind.WRAP_UP: Status.WRAP_UP,
    EventKind.COMPLETED: Status.COMPLETED,
    EventKind.ABANDONED: Status.ABANDONED,
    EventKind.TRANSFERRED: Status.TRANSFERRED,
    EventKind.EXPIRED: Status.EXPIRED,
    EventKind.CANCELLED: Status.CANCELLED,
}


def ev(
    kind: EventKind,
    at: float,
    *,
    team: str = "csr",
    channel: Channel = Channel.VOICE,
    queue: str | None = None,
    waited: float = 0.0,
    handled: float | None = None,
    previous: Status | None = None,
    iid: str = "i-1",
    agent: str | None = None,
    threshold: float | None = None,
    **detail: Any,
) -> InteractionEvent:
    return InteractionEvent(
        kind=kind,
        at=at,
        interaction_id=iid,
        channel=channel,
        queue=queue or ("social" if team == "social_care" else "general"),
        team=team,
        status=_STATUS.get(kind, Status.QUEUED),
        previous=previous,
        agent_id=agent,
        waited=waited,
        handled=handled,
        detail=detail,
        threshold=threshold,
    )


def answered(at: float, waited: float, **kw: Any) -> InteractionEvent:
    return ev(EventKind.ASSIGNED, at, waited=waited, agent="alice", **kw)


def abandoned(at: float, waited: float, **kw: Any) -> InteractionEvent:
    return ev(EventKind.ABANDONED, at, waited=waited, **kw)


def expired(at: float, waited: float, **kw: Any) -> InteractionEvent:
    return ev(EventKind.EXPIRED, at, waited=waited, **kw)


def completed(at: float, handled: float, **kw: Any) -> InteractionEvent:
    return ev(EventKind.COMPLETED, at, handled=handled, agent="alice", **kw)


def presence(at: float, agent: str = "alice", now: str = "available") -> AgentEvent:
    return AgentEvent(
        kind=EventKind.AGENT_PRESENCE,
        at=at,
        agent_id=agent,
        teams=("csr",),
        presence=now,
        previous="offline",
    )
