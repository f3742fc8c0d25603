"""Request dependencies: the runtime, the caller's identity, role checks.

Roles are checked here, once per route family, so endpoints never repeat them:
`reader` (supervisor, viewer), `supervisor`, `ingest`, and `acting_agent` (an agent
token for that very agent, or a supervisor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from channels.adapter import AdapterBase
from router.auth import READERS, Forbidden, Principal, Role, Unauthenticated
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


def require_ingest(who: Principal) -> Principal:
    """Ingest is for ingest tokens (and supervisors); shared with `ingest_lane`."""
    if not who.has(Role.INGEST, Role.SUPERVISOR):
        raise Forbidden(who.name, "ingest interactions (needs ingest)")
    return who


async def ingest(who: PrincipalDep) -> Principal:
    return require_ingest(who)


#: Adapters whose deliveries carry a provider signature (raw e-mail carries none).
SIGNED_ADAPTERS = frozenset({"twilio-voice", "twilio-sms", "meta", "x", "cti"})


def signature_suffices(runtime: Runtime, adapter_name: str) -> bool:
    """May a delivery to this adapter authenticate with its provider signature alone?

    Only when the operator allows it (`OMNIROUTE_WEBHOOK_AUTH=false`, the default) and
    the adapter really verifies a signature: a webhook whose check is off (or that has
    none, like raw e-mail) must still present a token, so nothing gets in with neither.
    """
    if runtime.settings.webhook_auth or adapter_name not in SIGNED_ADAPTERS:
        return False
    adapter = runtime.adapters.get(adapter_name)
    return isinstance(adapter, AdapterBase) and adapter.verify_enabled


def webhook_caller(adapter_name: str) -> Callable[[Request], Awaitable[Principal | None]]:
    """Token or signature: a presented token must be a valid ingest/supervisor token;
    without one, the route is open only if `signature_suffices` — the adapter then
    verifies the signature inside `Runtime.ingest` before anything is parsed.
    """

    async def caller(request: Request) -> Principal | None:
        runtime: Runtime = request.app.state.runtime
        header = request.headers.get("authorization")
        if header or not signature_suffices(runtime, adapter_name):
            if not header:
                raise Unauthenticated(
                    "missing Authorization header: this webhook is not authenticated by a"
                    " provider signature, so it needs an ingest token ('Bearer <token>')"
                )
            return require_ingest(runtime.tokens.from_header(header))
        return None

    return caller


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
