"""Request dependencies: the runtime, the caller's identity, role checks.

Roles are checked here, once per route family, so endpoints never repeat them:
`reader` (supervisor, viewer), `supervisor`, `ingest`, and `acting_agent` (an agent
token for that very agent, or a supervisor).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from router.auth import READERS, Forbidden, Principal, Role
from router.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def principal(request: Request) -> Principal:
    runtime: Runtime = request.app.state.runtime
    return runtime.tokens.from_header(request.headers.get("authorization"))


PrincipalDep = Annotated[Principal, Depends(principal)]


async def reader(who: PrincipalDep) -> Principal:
    if not who.has(*READERS):
        raise Forbidden(who.name, "read supervisor data (needs supervisor or viewer)")
    return who


async def supervisor(who: PrincipalDep) -> Principal:
    if not who.has(Role.SUPERVISOR):
        raise Forbidden(who.name, "change routing (needs supervisor)")
    return who


async def ingest(who: PrincipalDep) -> Principal:
    if not who.has(Role.INGEST, Role.SUPERVISOR):
        raise Forbidden(who.name, "ingest interactions (needs ingest)")
    return who


async def interaction_reader(who: PrincipalDep) -> Principal:
    # Agents look up the interactions they are offered; ingest clients the ones they sent.
    if not who.has(*READERS, Role.AGENT, Role.INGEST):
        raise Forbidden(who.name, "read interactions")
    return who


AgentId = Annotated[str, Path(description="Agent id from the topology", examples=["alice"])]


async def acting_agent(agent_id: AgentId, who: PrincipalDep) -> Principal:
    if not who.may_act_for(agent_id):
        raise Forbidden(who.name, f"act for agent {agent_id!r}")
    return who


async def agent_reader(agent_id: AgentId, who: PrincipalDep) -> Principal:
    if who.may_act_for(agent_id) or who.has(*READERS):
        return who
    raise Forbidden(who.name, f"read agent {agent_id!r}")


Reader = Annotated[Principal, Depends(reader)]
Supervisor = Annotated[Principal, Depends(supervisor)]
Ingest = Annotated[Principal, Depends(ingest)]
InteractionReader = Annotated[Principal, Depends(interaction_reader)]
ActingAgent = Annotated[Principal, Depends(acting_agent)]
AgentReader = Annotated[Principal, Depends(agent_reader)]
