"""Agents, teams and queues: who can take which work, and how much of it at once."""

from agents.model import (
    DEFAULT_BLOCKING,
    DEFAULT_CAPACITY,
    AgentProfile,
    Presence,
    Queue,
    Team,
)

__all__ = [
    "DEFAULT_BLOCKING",
    "DEFAULT_CAPACITY",
    "AgentProfile",
    "Presence",
    "Queue",
    "Team",
]
