"""Shared fixtures: the example topology, a virtual clock, small hand-built centers."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from agents.model import AgentProfile, Queue, Team
from router.clock import VirtualClock
from router.interaction import Channel, Interaction
from router.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"

_ids = itertools.count(1)


def make_interaction(
    channel: Channel = Channel.VOICE, at: float = 0.0, key: str | None = None, **fields: Any
) -> Interaction:
    n = next(_ids)
    return Interaction(
        id=fields.pop("id", f"int-{n}"), channel=channel, idempotency_key=key or f"key-{n}",
        created_at=at, **fields,
    )


def small_topology(*agents: AgentProfile) -> Topology:
    """Two teams, three queues; agents as given."""
    return Topology(
        site="test",
        teams={"csr": Team("csr"), "social_care": Team("social_care", social_care=True)},
        queues={
            "general": Queue("general", "csr"),
            "billing": Queue("billing", "csr"),
            "social": Queue("social", "social_care"),
        },
        agents={a.id: a for a in agents},
    )


def agent(agent_id: str, teams: tuple[str, ...] = ("csr",), **fields: Any) -> AgentProfile:
    return AgentProfile(id=agent_id, teams=teams, **fields)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1_000_000.0)


@pytest.fixture
def example_topology() -> Topology:
    return Topology.load(CONFIG / "contact-center.yaml")
