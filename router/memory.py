"""The embedded default store: the routing core in this process.

Each method is a thin async wrapper over one synchronous, atomic step of
`RoutingEngine` (anyio's `*_nowait` pattern): the step never awaits, so no other task
can observe or interleave with a half-done transition.
"""

from __future__ import annotations

from agents.model import AgentProfile, Presence, Queue, Team
from router.clock import Clock
from router.deadlines import DeadlinePolicy
from router.engine import EngineSettings, IngestResult, RoutingEngine
from router.errors import AgentUnavailable
from router.events import Subscriber
from router.interaction import Channel, Interaction
from router.plan import RoutingPlan
from router.snapshot import Snapshot
from router.topology import Topology
from router.work import AgentView, Reservation, WorkView


class MemoryStore:
    def __init__(
        self,
        topology: Topology,
        clock: Clock,
        deadlines: DeadlinePolicy | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.engine = RoutingEngine(topology, clock, deadlines, settings)

    # the synchronous core steps, usable directly by the simulator and benchmarks
    def ingest_nowait(self, interaction: Interaction, plan: RoutingPlan) -> IngestResult:
        return self.engine.ingest(interaction, plan)

    def pull_nowait(self, agent_id: str) -> Reservation | None:
        return self.engine.pull(agent_id)

    async def ingest(self, interaction: Interaction, plan: RoutingPlan) -> IngestResult:
        return self.engine.ingest(interaction, plan)

    async def pull(self, agent_id: str) -> Reservation | None:
        return self.engine.pull(agent_id)

    async def accept(self, agent_id: str, interaction_id: str) -> WorkView:
        self.engine.accept(agent_id, interaction_id)
        return self.engine.view(interaction_id)

    async def reject(
        self, agent_id: str, interaction_id: str, reason: str | None = None
    ) -> WorkView:
        self.engine.reject(agent_id, interaction_id, reason)
        return self.engine.view(interaction_id)

    async def wrap_up(self, agent_id: str, interaction_id: str) -> WorkView:
        self.engine.wrap_up(agent_id, interaction_id)
        return self.engine.view(interaction_id)

    async def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> WorkView:
        self.engine.complete(agent_id, interaction_id, disposition)
        return self.engine.view(interaction_id)

    async def complete_and_pull(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> tuple[WorkView, Reservation | None]:
        view = await self.complete(agent_id, interaction_id, disposition)
        try:
            return view, self.engine.pull(agent_id)
        except AgentUnavailable:  # offline: the completion stands, there is no next
            return view, None

    async def abandon(self, interaction_id: str, reason: str | None = None) -> WorkView:
        self.engine.abandon(interaction_id, reason)
        return self.engine.view(interaction_id)

    async def cancel(self, interaction_id: str, reason: str | None = None) -> WorkView:
        self.engine.cancel(interaction_id, reason)
        return self.engine.view(interaction_id)

    async def transfer(
        self, interaction_id: str, plan: RoutingPlan, reason: str | None = None
    ) -> WorkView:
        self.engine.transfer(interaction_id, plan, reason)
        return self.engine.view(interaction_id)

    async def set_presence(
        self, agent_id: str, presence: Presence, reason: str | None = None,
        auto_offer: bool | None = None,
    ) -> AgentView:
        return self.engine.set_presence(agent_id, presence, reason, auto_offer)

    async def upsert_team(self, team: Team) -> None:
        self.engine.upsert_team(team)

    async def upsert_queue(self, queue: Queue) -> None:
        self.engine.upsert_queue(queue)

    async def upsert_agent(self, profile: AgentProfile) -> AgentView:
        return self.engine.upsert_agent(profile)

    async def remove_agent(self, agent_id: str) -> None:
        self.engine.remove_agent(agent_id)

    async def run_timers(self) -> int:
        return self.engine.tick()

    async def next_timer_at(self) -> float | None:
        return self.engine.next_timer_at()

    async def get(self, interaction_id: str) -> WorkView:
        return self.engine.view(interaction_id)

    async def find_by_key(self, channel: Channel, idempotency_key: str) -> str | None:
        return self.engine.find_by_key(channel, idempotency_key)

    async def agent(self, agent_id: str) -> AgentView:
        return self.engine.agent(agent_id)

    async def snapshot(self) -> Snapshot:
        return self.engine.snapshot()

    async def ping(self) -> bool:
        return True

    def subscribe(self, subscriber: Subscriber) -> None:
        self.engine.subscribe(subscriber)

    def latest_snapshot(self) -> Snapshot:
        return self.engine.snapshot()

    def set_deadlines(self, deadlines: DeadlinePolicy) -> None:
        self.engine.deadlines = deadlines

    async def close(self) -> None:
        return None
