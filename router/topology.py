"""The contact center's shape — teams, queues, agents — loaded from YAML.

pydantic validates at this boundary; the core receives plain frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.model import DEFAULT_BLOCKING, DEFAULT_CAPACITY, AgentProfile, Queue, Team
from router.errors import ConfigError
from router.interaction import Channel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    social_care: bool = False


class QueueSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    team: str
    name: str = ""


class AgentSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str = ""
    teams: list[str] = Field(min_length=1)
    skills: dict[str, int] = Field(default_factory=dict)
    capacity: dict[Channel, int] = Field(default_factory=dict)
    blocking: list[Channel] | None = None
    queues: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ranges(self) -> AgentSpec:
        for skill, level in self.skills.items():
            if not 1 <= level <= 5:
                raise ValueError(f"skills.{skill}: proficiency must be 1..5, got {level}")
        for channel, slots in self.capacity.items():
            if not 0 <= slots <= 100:
                raise ValueError(f"capacity.{channel}: must be 0..100, got {slots}")
        return self


class TopologySpec(_Strict):
    site: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]+$")
    teams: list[TeamSpec] = Field(min_length=1)
    queues: list[QueueSpec] = Field(min_length=1)
    agents: list[AgentSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> TopologySpec:
        team_ids = _unique("teams", [t.id for t in self.teams])
        queue_ids = _unique("queues", [q.id for q in self.queues])
        _unique("agents", [a.id for a in self.agents])
        queue_team = {q.id: q.team for q in self.queues}
        for queue in self.queues:
            if queue.team not in team_ids:
                raise ValueError(f"queue {queue.id!r}: unknown team {queue.team!r}")
        for agent in self.agents:
            for team in agent.teams:
                if team not in team_ids:
                    raise ValueError(f"agent {agent.id!r}: unknown team {team!r}")
            for queue_id in agent.queues:
                if queue_id not in queue_ids:
                    raise ValueError(f"agent {agent.id!r}: unknown queue {queue_id!r}")
                if queue_team[queue_id] not in agent.teams:
                    raise ValueError(
                        f"agent {agent.id!r}: queue {queue_id!r} belongs to team"
                        f" {queue_team[queue_id]!r}, not one of {agent.teams}"
                    )
        return self


def _unique(what: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what}: duplicate id {item!r}")
        seen.add(item)
    return seen


@dataclass(frozen=True, slots=True)
class Topology:
    site: str
    teams: Mapping[str, Team]
    queues: Mapping[str, Queue]
    agents: Mapping[str, AgentProfile]

    def team_of(self, queue_id: str) -> str:
        return self.queues[queue_id].team

    def queues_of(self, agent: AgentProfile) -> tuple[str, ...]:
        """Queues the agent serves: its `queues`, or every queue of its teams."""
        if agent.queues:
            return agent.queues
        return tuple(q.id for q in self.queues.values() if q.team in agent.teams)

    def skills(self) -> frozenset[str]:
        return frozenset(s for a in self.agents.values() for s in a.skills)

    # -- live changes (each store applies them; these are the checks both share) --------
    def with_team(self, team: Team) -> Topology:
        return replace(self, teams={**self.teams, team.id: team})

    def queue_moves_team(self, queue: Queue) -> bool:
        """Check a queue change: its team must exist (ConfigError). True when it moves an
        existing queue to another team, which a store refuses while anything waits in
        the queue (`queue_move_refused`): that work was ordered by the old team's SLA."""
        if queue.team not in self.teams:
            raise ConfigError(f"queue {queue.id!r}: unknown team {queue.team!r}")
        existing = self.queues.get(queue.id)
        return existing is not None and existing.team != queue.team

    def queue_move_refused(self, queue: Queue) -> ConfigError:
        return ConfigError(
            f"queue {queue.id!r} has waiting interactions; it cannot move from team"
            f" {self.queues[queue.id].team!r} to {queue.team!r} until it is empty"
        )

    def with_queue(self, queue: Queue) -> Topology:
        return replace(self, queues={**self.queues, queue.id: queue})

    def with_agent(self, profile: AgentProfile) -> Topology:
        return replace(self, agents={**self.agents, profile.id: profile})

    def without_agent(self, agent_id: str) -> Topology:
        return replace(self, agents={k: v for k, v in self.agents.items() if k != agent_id})

    @staticmethod
    def from_spec(spec: TopologySpec) -> Topology:
        agents = {}
        for a in spec.agents:
            capacity = dict(DEFAULT_CAPACITY)
            capacity.update(a.capacity)
            agents[a.id] = AgentProfile(
                id=a.id,
                name=a.name,
                teams=tuple(a.teams),
                skills=dict(a.skills),
                capacity=capacity,
                blocking=DEFAULT_BLOCKING if a.blocking is None else frozenset(a.blocking),
                queues=tuple(a.queues),
            )
        return Topology(
            site=spec.site,
            teams={t.id: Team(t.id, t.name, t.social_care) for t in spec.teams},
            queues={q.id: Queue(q.id, q.team, q.name) for q in spec.queues},
            agents=agents,
        )

    @staticmethod
    def from_mapping(data: Any, source: str = "<mapping>") -> Topology:
        try:
            spec = TopologySpec.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_describe(exc)}") from None
        return Topology.from_spec(spec)

    @staticmethod
    def load(path: str | Path) -> Topology:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return Topology.from_mapping(data, str(path))


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        value = err.get("input")
        shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
        parts.append(f"{loc}: {err['msg']}{shown}")
    return "; ".join(parts)
