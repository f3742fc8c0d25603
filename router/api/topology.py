"""Live topology and SLA changes (supervisors): teams, queues, agents, SLA policies.

`PUT` creates (201) or replaces (200) one team, queue or agent; `DELETE /agents/{id}`
removes an agent that is logged out and holds nothing. Every change is checked against
the published ruleset first: one that would make it invalid (a queue moving away from
the team a rule names, the last agent with a skill a rule requires) is refused with 409
and the ruleset's findings; warnings (a skill now unstaffed at that level) are
answered with the change. Changes live in memory: a restart reloads `config/`. With
the Redis store every change is announced to the site's other workers, which apply it.

`PUT /sla/policies` replaces the whole policy set; interactions enqueued afterwards get
its deadlines (waiting ones keep theirs). SLA targets on `/stats` and in Prometheus
follow after a restart. With the Redis store the set is announced and every worker
applies it to the deadlines of what it enqueues.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from agents.model import DEFAULT_BLOCKING, DEFAULT_CAPACITY, AgentProfile, Queue, Team
from router.api.agents import _agent
from router.api.deps import Reader, RuntimeDep, Supervisor
from router.api.problems import problem_json, problem_responses
from router.api.schemas import (
    AgentChange,
    AgentIn,
    QueueChange,
    QueueIn,
    QueueOut,
    RuleFinding,
    SlaPolicyIn,
    SlaPolicyOut,
    TeamChange,
    TeamIn,
    TeamOut,
)
from router.interaction import Channel
from router.runtime import Change, InvalidReference, Runtime
from router.topology import Topology
from rules import Problem
from sla.policy import SlaPolicy

router = APIRouter(tags=["supervisors"])

_ID = r"^[A-Za-z0-9_.-]+$"
TeamId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID, examples=["csr"])]
QueueId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID, examples=["returns"])]
NewAgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$",
                                 examples=["iris"])]
_CHANGE_ERRORS = problem_responses(401, 403, 409, 413, 422)


def _created(response: Response, change: Change) -> None:
    response.status_code = 201 if change.created else 200


def _findings(warnings: tuple[Problem, ...]) -> list[RuleFinding]:
    return [RuleFinding(**problem_json(p)) for p in warnings]


def _team_out(topology: Topology, team_id: str) -> TeamOut:
    team = topology.teams[team_id]
    return TeamOut(
        id=team.id, name=team.name, social_care=team.social_care,
        queues=[q.id for q in topology.queues.values() if q.team == team.id],
        agents=[a.id for a in topology.agents.values() if team.id in a.teams],
    )


@router.put("/teams/{team_id}", response_model=TeamChange, responses={
    201: {"model": TeamChange, "description": "Created"}, **_CHANGE_ERRORS},
    summary="Create or replace a team")
async def put_team(team_id: TeamId, body: TeamIn, runtime: RuntimeDep, _: Supervisor,
                   response: Response) -> TeamChange:
    change = await runtime.upsert_team(Team(team_id, body.name, body.social_care))
    _created(response, change)
    return TeamChange(team=_team_out(runtime.topology, team_id), created=change.created,
                      rule_warnings=_findings(change.warnings))


@router.put("/queues/{queue_id}", response_model=QueueChange, responses={
    201: {"model": QueueChange, "description": "Created"}, **_CHANGE_ERRORS},
    summary="Create or replace a queue (a queue with waiting work keeps its team)")
async def put_queue(queue_id: QueueId, body: QueueIn, runtime: RuntimeDep, _: Supervisor,
                    response: Response) -> QueueChange:
    change = await runtime.upsert_queue(Queue(queue_id, body.team, body.name))
    _created(response, change)
    return QueueChange(queue=QueueOut(id=queue_id, team=body.team, name=body.name),
                       created=change.created, rule_warnings=_findings(change.warnings))


def agent_profile(agent_id: str, body: AgentIn) -> AgentProfile:
    capacity = dict(DEFAULT_CAPACITY)
    capacity.update({Channel(c): slots for c, slots in body.capacity.items()})
    blocking = (DEFAULT_BLOCKING if body.blocking is None
                else frozenset(Channel(c) for c in body.blocking))
    return AgentProfile(id=agent_id, teams=tuple(dict.fromkeys(body.teams)), name=body.name,
                        skills=dict(body.skills), capacity=capacity, blocking=blocking,
                        queues=tuple(dict.fromkeys(body.queues)))


@router.put("/agents/{agent_id}", response_model=AgentChange, responses={
    201: {"model": AgentChange, "description": "Created (offline)"}, **_CHANGE_ERRORS},
    summary="Create or replace an agent: teams, skills, capacity, blocking, queues (live)")
async def put_agent(agent_id: NewAgentId, body: AgentIn, runtime: RuntimeDep, _: Supervisor,
                    response: Response) -> AgentChange:
    change, _view = await runtime.upsert_agent(agent_profile(agent_id, body))
    _created(response, change)
    return AgentChange(agent=await _agent(runtime, agent_id), created=change.created,
                       rule_warnings=_findings(change.warnings))


@router.delete("/agents/{agent_id}", status_code=204, response_class=Response,
               responses=problem_responses(401, 403, 404, 409),
               summary="Remove an agent (409 while logged in or holding work)")
async def delete_agent(agent_id: NewAgentId, runtime: RuntimeDep, _: Supervisor) -> Response:
    await runtime.remove_agent(agent_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------- SLA policies
def policy_out(p: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut(
        team=p.team, channel=p.channel.value, sla_class=p.sla_class, public=p.public,
        threshold=p.threshold, target=p.target, near_breach=p.near_breach,
        short_abandon=p.short_abandon, max_wait=p.max_wait,
        max_wait_action=p.max_wait_action.value, overflow_queue=p.overflow_queue,
    )


@router.get("/sla/policies", response_model=list[SlaPolicyOut],
            responses=problem_responses(401, 403), summary="Configured SLA policies")
async def sla_policies(runtime: RuntimeDep, _: Reader) -> list[SlaPolicyOut]:
    return [policy_out(p) for p in runtime.policies.policies()]


def check_policies(items: list[SlaPolicyIn], runtime: Runtime) -> None:
    """Cross-field and topology checks, each naming `<index>.<field>` and the value."""
    topology = runtime.topology
    seen: dict[tuple[object, ...], int] = {}
    for i, p in enumerate(items):
        if p.team not in topology.teams:
            raise InvalidReference(f"{i}.team", p.team, f"policy {i}: unknown team {p.team!r}")
        key = (p.team, p.channel, p.sla_class, p.public)
        if key in seen:
            raise InvalidReference(f"{i}", f"{p.team}/{p.channel}",
                                   f"policy {i}: duplicate of policy {seen[key]} (same team,"
                                   " channel, sla_class and public)")
        seen[key] = i
        if p.max_wait_action == "overflow":
            if p.overflow_queue is None:
                raise InvalidReference(f"{i}.overflow_queue", None,
                                       f"policy {i}: max_wait_action 'overflow' needs an"
                                       " overflow_queue")
            if p.max_wait is None:
                raise InvalidReference(f"{i}.max_wait", None, f"policy {i}: max_wait_action"
                                       " 'overflow' needs a max_wait")
        elif p.overflow_queue is not None:
            raise InvalidReference(f"{i}.overflow_queue", p.overflow_queue,
                                   f"policy {i}: overflow_queue is set but max_wait_action"
                                   " is 'expire'")
        if p.overflow_queue is not None and p.overflow_queue not in topology.queues:
            raise InvalidReference(f"{i}.overflow_queue", p.overflow_queue,
                                   f"policy {i}: unknown queue {p.overflow_queue!r}")


_POLICIES_EXAMPLE = [
    {"team": "csr", "channel": "voice", "threshold": 20, "target": 0.8, "max_wait": 600},
    {"team": "csr", "channel": "email", "threshold": 14400, "target": 0.9},
    {"team": "social_care", "channel": "social", "public": True, "threshold": 900,
     "target": 0.9, "max_wait": 7200, "max_wait_action": "overflow",
     "overflow_queue": "general"},
]


@router.put("/sla/policies", response_model=list[SlaPolicyOut],
            responses=problem_responses(401, 403, 409, 413, 422),
            summary="Replace the whole SLA policy set (new interactions use it)")
async def put_sla_policies(
    body: Annotated[list[SlaPolicyIn], Body(min_length=1, max_length=500,
                                            examples=[_POLICIES_EXAMPLE])],
    runtime: RuntimeDep, _: Supervisor,
) -> list[SlaPolicyOut]:
    check_policies(body, runtime)
    data = {"policies": [p.model_dump(exclude_none=True) for p in body]}
    # sla/policy.py stays the authority; anything it still refuses is a ConfigError (422).
    policies = await runtime.change_policies(data)
    return [policy_out(p) for p in policies.policies()]
