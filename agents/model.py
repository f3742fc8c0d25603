"""Agent, team and queue records (configuration, not runtime state).

Runtime state — presence, what an agent holds, since when it is idle — belongs to the
routing core (`router.engine`), because it changes with every routing decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from router.interaction import Channel


class Presence(StrEnum):
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    OFFLINE = "offline"
    #: Derived, never set directly: the agent is wrapping up at least one interaction.
    WRAP_UP = "wrap_up"


#: Presences an agent (or supervisor) may set; `wrap_up` is derived from the work held.
SETTABLE_PRESENCES: frozenset[Presence] = frozenset(
    {Presence.AVAILABLE, Presence.NOT_READY, Presence.OFFLINE}
)

DEFAULT_CAPACITY: Mapping[Channel, int] = MappingProxyType(
    {Channel.VOICE: 1, Channel.CHAT: 3, Channel.SMS: 3, Channel.SOCIAL: 3, Channel.EMAIL: 5}
)

#: Channels whose active work blocks every other channel (a call in progress ⇒ nothing else).
DEFAULT_BLOCKING: frozenset[Channel] = frozenset({Channel.VOICE})


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str = ""
    social_care: bool = False


@dataclass(frozen=True, slots=True)
class Queue:
    """A routing target owned by one team."""

    id: str
    team: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """An agent's configuration: teams, skills (proficiency 1–5) and capacity.

    `queues` restricts the agent to some of its teams' queues; empty means all of them.
    """

    id: str
    teams: tuple[str, ...]
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: Mapping[Channel, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    blocking: frozenset[Channel] = DEFAULT_BLOCKING
    queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for skill, level in self.skills.items():
            if not 1 <= level <= 5:
                raise ValueError(
                    f"agent {self.id!r}: skill {skill!r} proficiency must be 1..5, got {level!r}"
                )
        for channel, slots in self.capacity.items():
            if slots < 0:
                raise ValueError(
                    f"agent {self.id!r}: capacity for {channel!s} must be >= 0, got {slots!r}"
                )

    def proficiency(self, skill: str) -> int:
        return self.skills.get(skill, 0)
