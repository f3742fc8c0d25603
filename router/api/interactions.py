"""Interaction endpoints: look one up (with its explanation), and end or move it."""

from __future__ import annotations

from fastapi import APIRouter, Path

from router.api.customers import may_see_customer
from router.api.deps import InteractionReader, RuntimeDep, Supervisor
from router.api.problems import problem_responses
from router.api.schemas import InteractionOut, ReasonIn, TransferIn, interaction_out

router = APIRouter(prefix="/interactions", tags=["interactions"])

InteractionId = Path(description="Interaction id as answered by ingest",
                     examples=["email-7beef340182a52439d8d9d714e7f75de"])
_CHANGE_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.get("/{interaction_id}", response_model=InteractionOut,
            responses=problem_responses(401, 403, 404),
            summary="State, plan, matched rule and version, history, and rule explanation")
async def get_interaction(runtime: RuntimeDep, who: InteractionReader,
                          interaction_id: str = InteractionId) -> InteractionOut:
    view = await runtime.store.get(interaction_id)
    customer = (runtime.profile(view.interaction.customer_id)
                if may_see_customer(who, view) else None)
    return interaction_out(view, runtime.follow_ups.get(interaction_id), runtime.explain(view),
                           customer)


@router.post("/{interaction_id}/abandon", response_model=InteractionOut,
             responses=_CHANGE_ERRORS, summary="The customer left (hung up, closed the chat)")
async def abandon(runtime: RuntimeDep, _: Supervisor, body: ReasonIn | None = None,
                  interaction_id: str = InteractionId) -> InteractionOut:
    reason = body.reason if body else None
    return interaction_out(await runtime.store.abandon(interaction_id, reason))


@router.post("/{interaction_id}/cancel", response_model=InteractionOut,
             responses=_CHANGE_ERRORS, summary="Withdraw the interaction (duplicate, spam…)")
async def cancel(runtime: RuntimeDep, _: Supervisor, body: ReasonIn | None = None,
                 interaction_id: str = InteractionId) -> InteractionOut:
    reason = body.reason if body else None
    return interaction_out(await runtime.store.cancel(interaction_id, reason))


@router.post("/{interaction_id}/transfer", response_model=InteractionOut,
             responses=_CHANGE_ERRORS, summary="Move to another queue (keeps its history)")
async def transfer(body: TransferIn, runtime: RuntimeDep, _: Supervisor,
                   interaction_id: str = InteractionId) -> InteractionOut:
    view = await runtime.transfer(interaction_id, body.queue, skills=body.skills,
                                  priority=body.priority, agent_id=body.agent_id,
                                  reason=body.reason)
    return interaction_out(view)


@router.post("/{interaction_id}/replan", response_model=InteractionOut,
             responses=_CHANGE_ERRORS,
             summary="Classify again with the live rules and apply the new plan")
async def replan(runtime: RuntimeDep, _: Supervisor, body: ReasonIn | None = None,
                 interaction_id: str = InteractionId) -> InteractionOut:
    view = await runtime.replan(interaction_id, body.reason if body else None)
    return interaction_out(view, runtime.follow_ups.get(interaction_id), runtime.explain(view))
