"""Supervisor and wallboard reads: topology, live stats, the event stream.

Changes to teams, queues, agents and SLA policies are in `router.api.topology`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from router.api.agents import _agent
from router.api.deps import Reader, RuntimeDep
from router.api.problems import problem_responses
from router.api.schemas import AgentOut
from router.api.stream import event_json
from sla.figures import Figures

router = APIRouter(tags=["supervisors"])
_ERRORS = problem_responses(401, 403)


@router.get("/teams", responses=_ERRORS, summary="Teams and their queues")
async def teams(runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    topology = runtime.topology
    return [
        {"id": t.id, "name": t.name, "social_care": t.social_care,
         "queues": [q.id for q in topology.queues.values() if q.team == t.id],
         "agents": [a.id for a in topology.agents.values() if t.id in a.teams]}
        for t in topology.teams.values()
    ]


@router.get("/queues", responses=_ERRORS, summary="Queues with live depth per channel")
async def queues(runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    snapshot = await runtime.store.snapshot()
    out = []
    for queue in runtime.topology.queues.values():
        depths = [d for d in snapshot.queues if d.queue == queue.id]
        out.append({
            "id": queue.id, "team": queue.team, "name": queue.name,
            "depth": sum(d.depth for d in depths),
            "oldest_wait": max((d.oldest_wait(snapshot.at) for d in depths), default=0.0),
            "channels": {d.channel: d.depth for d in depths},
        })
    return out


@router.get("/agents", response_model=list[AgentOut], responses=_ERRORS,
            summary="Every agent: presence, work held, capacity")
async def agents(runtime: RuntimeDep, _: Reader) -> list[AgentOut]:
    return [await _agent(runtime, agent_id) for agent_id in runtime.topology.agents]


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "offered": f.offered, "answered": f.answered, "answered_within": f.answered_within,
        "abandoned": f.abandoned, "short_abandoned": f.short_abandoned, "expired": f.expired,
        "completed": f.completed, "breaches": f.breaches, "at_risk": f.at_risk,
        "service_level": f.service_level, "asa": f.asa, "aht": f.aht,
        "abandon_rate": f.abandon_rate,
    }


@router.get("/stats", responses=_ERRORS,
            summary="Depth and oldest wait per team × queue × channel, SL now and per "
                    "interval, agents by presence")
async def stats(runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    snapshot, sl = await runtime.stats()
    return {
        "at": snapshot.at,
        "queues": [
            {"team": q.team, "queue": q.queue, "channel": q.channel, "depth": q.depth,
             "oldest_wait": round(q.oldest_wait(snapshot.at), 3)}
            for q in snapshot.queues
        ],
        "service_levels": [
            {"team": s.team, "channel": s.channel.value, "threshold": s.threshold,
             "target": s.target, "service_level_now": s.service_level_now,
             "service_level_interval": s.service_level_interval,
             "meets_target": s.meets_target, "now": _figures(s.now),
             "interval": _figures(s.interval)}
            for s in sl.team_channels
        ],
        "interval": {"start": sl.interval_start, "length": sl.interval_length,
                     "formula": str(sl.formula)},
        "agents_by_presence": {t: dict(p) for t, p in snapshot.agents_by_presence.items()},
        "occupancy": dict(sl.occupancy),
        "statuses": dict(snapshot.statuses),
    }


@router.get("/events", responses=_ERRORS,
            summary="SSE: every lifecycle and presence event, for wallboards",
            response_description="text/event-stream; event name = event kind")
async def events(runtime: RuntimeDep, _: Reader) -> EventSourceResponse:
    async def stream() -> AsyncIterator[dict[str, str]]:
        yield {"event": "ready", "data": "{}"}
        async for event in runtime.hub.stream():
            if event is not None:
                yield {"event": event.kind.value, "data": json.dumps(event_json(event))}

    return EventSourceResponse(stream(), ping=15)
