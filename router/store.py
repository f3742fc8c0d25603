"""The `Store` protocol: every routing transition a store must perform atomically.

Implementations sit next to it: `router.memory.MemoryStore` (embedded default) and the
Redis store (production). One contract suite (`tests/contract/`) runs against each.
Operations are coarse on purpose — one call is one routing transition — so that the
Redis store can make each one a single atomic script.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agents.model import AgentProfile, Presence, Queue, Team
from router.deadlines import DeadlinePolicy
from router.engine import IngestResult
from router.events import Subscriber
from router.interaction import Channel, Interaction
from router.plan import RoutingPlan
from router.snapshot import Snapshot
from router.work import AgentView, Reservation, WorkView


@runtime_checkable
class Store(Protocol):
    async def ingest(self, interaction: Interaction, plan: RoutingPlan) -> IngestResult:
        """Queue (and possibly offer) a new interaction; same idempotency key → same id."""
        ...

    async def pull(self, agent_id: str) -> Reservation | None:
        """Reserve the best interaction the agent is eligible for, or None."""
        ...

    async def accept(self, agent_id: str, interaction_id: str) -> WorkView: ...

    async def reject(
        self, agent_id: str, interaction_id: str, reason: str | None = None
    ) -> WorkView: ...

    async def wrap_up(self, agent_id: str, interaction_id: str) -> WorkView: ...

    async def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> WorkView: ...

    async def complete_and_pull(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> tuple[WorkView, Reservation | None]:
        """`complete`, then `pull` for the same agent, as one step: a desktop that finishes
        and asks for its next interaction (the Redis store makes it one call instead of
        two). An agent that is not available after completing, offline included, gets None
        rather than `AgentUnavailable`: the completion has happened either way."""
        ...

    async def abandon(self, interaction_id: str, reason: str | None = None) -> WorkView: ...

    async def cancel(self, interaction_id: str, reason: str | None = None) -> WorkView: ...

    async def transfer(
        self, interaction_id: str, plan: RoutingPlan, reason: str | None = None
    ) -> WorkView: ...

    async def set_presence(
        self, agent_id: str, presence: Presence, reason: str | None = None,
        auto_offer: bool | None = None,
    ) -> AgentView: ...

    async def upsert_team(self, team: Team) -> None:
        """Add or rename a team."""
        ...

    async def upsert_queue(self, queue: Queue) -> None:
        """Add or rename a queue (moving it to another team only while it is empty)."""
        ...

    async def upsert_agent(self, profile: AgentProfile) -> AgentView:
        """Add an agent (offline) or change its teams, queues, skills or capacity live."""
        ...

    async def remove_agent(self, agent_id: str) -> None:
        """Remove an agent that is offline and holds nothing (else `AgentBusy`)."""
        ...

    async def run_timers(self) -> int:
        """Fire every timer due now (escalations, offer expiry, SLA, max wait, wrap-up)."""
        ...

    async def next_timer_at(self) -> float | None: ...

    async def get(self, interaction_id: str) -> WorkView: ...

    async def find_by_key(self, channel: Channel, idempotency_key: str) -> str | None:
        """The interaction a provider id (scoped by channel) was ingested as, if any."""
        ...

    async def agent(self, agent_id: str) -> AgentView: ...

    async def snapshot(self) -> Snapshot: ...

    async def ping(self) -> bool:
        """Whether the store is reachable (readiness)."""
        ...

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every domain event this store's transitions produce."""
        ...

    def latest_snapshot(self) -> Snapshot:
        """The freshest snapshot to be had without waiting, for synchronous readers such
        as the Prometheus collector: exact in memory, a recent one from Redis."""
        ...

    def set_deadlines(self, deadlines: DeadlinePolicy) -> None:
        """Order interactions enqueued from now on by these SLA deadlines (a live SLA
        change); waiting work keeps the deadline it was ordered by."""
        ...

    async def close(self) -> None: ...
