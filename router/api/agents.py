"""The agent desktop protocol: log in, set presence, pull or be pushed work, handle it.

Pull: `POST /agents/{id}/next?wait=20` long-polls until the best eligible interaction
is reserved to the caller (200) or the wait ends (204). Push: `GET
/agents/{id}/offers` is an SSE stream; an `offer` event carries each reservation made
for the agent, followed by its fate (`assigned`, `offer_expired`, …). Either way the
desktop then accepts or rejects, and later wraps up and completes. `POST
/agents/{id}/interactions/{iid}/complete-and-next` completes and reserves the agent's
next-best interaction in one step (one Redis call instead of two): a desktop that
handles work back to back asks for its next as it finishes the last.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from agents.model import Presence
from router.api.deps import ActingAgent, AgentId, AgentReader, RuntimeDep
from router.api.problems import problem_responses
from router.api.schemas import (
    AgentOut,
    CompleteIn,
    InteractionOut,
    LoginIn,
    PresenceIn,
    ReasonIn,
    ReservationOut,
    agent_out,
    interaction_out,
    reservation_out,
)
from router.api.stream import interaction_event_json
from router.events import Event, EventKind, InteractionEvent
from router.runtime import Runtime
from router.work import Reservation

router = APIRouter(prefix="/agents", tags=["agents"])

_ERRORS = problem_responses(401, 403, 404, 409, 422)


class NextOut(BaseModel):
    reservation: ReservationOut
    interaction: InteractionOut


class CompleteNextOut(BaseModel):
    completed: InteractionOut
    #: the agent's next reservation; null when nothing eligible waits (then long-poll
    #: `next`) or the agent is not available
    next: NextOut | None = None


async def _next_out(runtime: Runtime, reservation: Reservation) -> NextOut:
    view = await runtime.store.get(reservation.interaction_id)
    return NextOut(reservation=reservation_out(reservation), interaction=interaction_out(view))


async def _agent(runtime: Runtime, agent_id: str) -> AgentOut:
    view = await runtime.store.agent(agent_id)
    profile = runtime.topology.agents.get(agent_id)
    if profile is None:
        return agent_out(view)
    return agent_out(view, profile.name, dict(profile.skills),
                     runtime.topology.queues_of(profile), profile.blocking)


@router.get("/{agent_id}", response_model=AgentOut, responses=_ERRORS,
            summary="Presence, work held and capacity in use")
async def get_agent(agent_id: AgentId, runtime: RuntimeDep, _: AgentReader) -> AgentOut:
    return await _agent(runtime, agent_id)


@router.post("/{agent_id}/login", response_model=AgentOut, responses=_ERRORS,
             summary="Log in (available by default)")
async def login(agent_id: AgentId, runtime: RuntimeDep, _: ActingAgent,
                body: LoginIn | None = None) -> AgentOut:
    body = body or LoginIn()
    await runtime.store.set_presence(agent_id, Presence(body.presence), body.reason,
                                     body.auto_offer)
    return await _agent(runtime, agent_id)


@router.post("/{agent_id}/logout", response_model=AgentOut, responses=_ERRORS,
             summary="Log out (reservations go back to the queue)")
async def logout(agent_id: AgentId, runtime: RuntimeDep, _: ActingAgent) -> AgentOut:
    await runtime.store.set_presence(agent_id, Presence.OFFLINE)
    return await _agent(runtime, agent_id)


@router.put("/{agent_id}/presence", response_model=AgentOut, responses=_ERRORS,
            summary="Set presence with a reason code (not_ready: break, training…)")
async def presence(agent_id: AgentId, body: PresenceIn, runtime: RuntimeDep,
                   _: ActingAgent) -> AgentOut:
    await runtime.store.set_presence(agent_id, Presence(body.presence), body.reason,
                                     body.auto_offer)
    return await _agent(runtime, agent_id)


@router.post("/{agent_id}/next", response_model=NextOut,
             responses={204: {"description": "Nothing eligible within `wait` seconds"},
                        **_ERRORS},
             summary="Reserve the next-best interaction, long-polling up to `wait` seconds")
async def next_interaction(
    agent_id: AgentId, runtime: RuntimeDep, _: ActingAgent,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for work")] = 0.0,
) -> Any:
    wait = min(wait, runtime.settings.max_long_poll)
    reservation = await runtime.service.next(agent_id, wait)
    if reservation is None:
        return Response(status_code=204)
    return await _next_out(runtime, reservation)


@router.get("/{agent_id}/offers", responses=_ERRORS,
            summary="SSE: offers pushed to this agent and what became of them",
            response_description="text/event-stream; events `ready`, `offer`, and lifecycle "
                                 "kinds (`assigned`, `offer_expired`, `completed`…)")
async def offers(agent_id: AgentId, runtime: RuntimeDep, _: ActingAgent) -> EventSourceResponse:
    await runtime.store.agent(agent_id)  # 404 before the stream opens

    def mine(event: Event) -> bool:
        return isinstance(event, InteractionEvent) and event.agent_id == agent_id

    async def events() -> AsyncIterator[dict[str, str]]:
        yield {"event": "ready", "data": json.dumps({"agent_id": agent_id})}
        async for event in runtime.hub.stream(mine):
            if not isinstance(event, InteractionEvent):
                continue  # heartbeat: sse-starlette sends its own pings
            data = interaction_event_json(event)
            name = event.kind.value
            if event.kind is EventKind.RESERVED:
                name = "offer" if event.reason == "offer" else "reserved"
            yield {"event": name, "data": json.dumps(data), "id": f"{event.at:.6f}"}

    return EventSourceResponse(events(), ping=15)




@router.post("/{agent_id}/interactions/{interaction_id}/accept", response_model=InteractionOut,
             responses=_ERRORS, summary="Accept a reservation (it becomes assigned)")
async def accept(agent_id: AgentId, interaction_id: str, runtime: RuntimeDep,
                 _: ActingAgent) -> InteractionOut:
    return interaction_out(
        await runtime.service.decide(runtime.store.accept(agent_id, interaction_id)))


@router.post("/{agent_id}/interactions/{interaction_id}/reject", response_model=InteractionOut,
             responses=_ERRORS, summary="Reject a reservation (back to queue, original age)")
async def reject(agent_id: AgentId, interaction_id: str, runtime: RuntimeDep, _: ActingAgent,
                 body: ReasonIn | None = None) -> InteractionOut:
    reason = body.reason if body else None
    return interaction_out(
        await runtime.service.decide(runtime.store.reject(agent_id, interaction_id, reason)))


@router.post("/{agent_id}/interactions/{interaction_id}/wrap-up",
             response_model=InteractionOut, responses=_ERRORS,
             summary="End the conversation, start after-contact work")
async def wrap_up(agent_id: AgentId, interaction_id: str, runtime: RuntimeDep,
                  _: ActingAgent) -> InteractionOut:
    return interaction_out(await runtime.store.wrap_up(agent_id, interaction_id))


@router.post("/{agent_id}/interactions/{interaction_id}/complete",
             response_model=InteractionOut, responses=_ERRORS,
             summary="Complete with a disposition (frees the capacity)")
async def complete(agent_id: AgentId, interaction_id: str, runtime: RuntimeDep,
                   _: ActingAgent, body: CompleteIn | None = None) -> InteractionOut:
    disposition = body.disposition if body else None
    return interaction_out(
        await runtime.service.decide(
            runtime.store.complete(agent_id, interaction_id, disposition)))


@router.post("/{agent_id}/interactions/{interaction_id}/complete-and-next",
             response_model=CompleteNextOut, responses=_ERRORS,
             summary="Complete with a disposition and reserve the next-best interaction")
async def complete_and_next(agent_id: AgentId, interaction_id: str, runtime: RuntimeDep,
                            _: ActingAgent, body: CompleteIn | None = None) -> CompleteNextOut:
    disposition = body.disposition if body else None
    view, reservation = await runtime.service.decide(
        runtime.store.complete_and_pull(agent_id, interaction_id, disposition))
    following = None if reservation is None else await _next_out(runtime, reservation)
    return CompleteNextOut(completed=interaction_out(view), next=following)
