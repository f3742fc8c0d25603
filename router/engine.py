"""The routing core: one universal queue, matching in both directions, the lifecycle.

Pure and synchronous: no asyncio, no Redis, no HTTP. Time comes from an injected
clock; every transition is published as a domain event. `MemoryStore` wraps this class
for the async world; the Redis store implements the same decisions in Lua, sharing the
ordering (`router.ordering`) and eligibility (`router.indexes`) definitions.

Matching runs in both directions:
- an interaction arrives, returns or escalates → the best ready (push-mode) agent among
  the eligible ones, by the agent strategy;
- an agent frees capacity or pulls → the best waiting interaction it is eligible for,
  by the universal ordering.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import IntEnum
from types import MappingProxyType

from sortedcontainers import SortedList

from agents.model import SETTABLE_PRESENCES, AgentProfile, Presence, Queue, Team
from router.clock import Clock
from router.deadlines import Deadline, DeadlinePolicy, FixedDeadlines, overflow_queue
from router.errors import (
    AgentBusy,
    AgentUnavailable,
    ConfigError,
    IllegalTransition,
    NotHeldByAgent,
    UnknownAgent,
    UnknownInteraction,
    UnknownQueue,
)
from router.events import (
    HANDLED_KINDS,
    AgentEvent,
    EventBus,
    EventKind,
    InteractionEvent,
    Subscriber,
)
from router.indexes import (
    AgentKey,
    Bucket,
    BucketRegistry,
    Requirement,
    Strategy,
    meets,
    proficiency_score,
)
from router.interaction import TRANSITIONS, Channel, Interaction, Status
from router.ordering import OrderKey, order_key
from router.plan import RoutingPlan, target_after
from router.snapshot import QueueDepth, Snapshot
from router.topology import Topology
from router.work import (
    AgentState,
    AgentView,
    HistoryEntry,
    Reservation,
    WorkItem,
    WorkView,
)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout: float = 20.0
    #: offers an agent may let expire in a row before it is set not_ready/missed_offers
    missed_offers_limit: int = 2
    wrap_up_timeout: float = 120.0
    #: finished interactions kept for look-up (GET /interactions/{id}) before eviction
    retain_finished: int = 100_000
    #: how long a provider retry with the same idempotency key maps to the same id
    idempotency_ttl: float = 24 * 3600.0


_CHANNELS = tuple(Channel)
#: The `detail` of events that have none (shared: events are treated as immutable).
_NO_DETAIL: Mapping[str, object] = MappingProxyType({})

#: Not answered yet: SLA at-risk and breach still apply (a ringing offer is unanswered).
_UNANSWERED = frozenset({Status.QUEUED, Status.RESERVED})


class _Timer(IntEnum):
    OFFER_EXPIRY = 1
    STEP = 2
    AT_RISK = 3
    BREACH = 4
    MAX_WAIT = 5
    PREFERRED = 6
    WRAP_UP = 7


@dataclass(frozen=True, slots=True)
class IngestResult:
    interaction_id: str
    created: bool
    status: Status


class RoutingEngine:
    """Universal queue + agent state for one site. Not thread-safe: one owner drives it."""

    def __init__(
        self,
        topology: Topology,
        clock: Clock,
        deadlines: DeadlinePolicy | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.topology = topology
        self.clock = clock
        self.deadlines: DeadlinePolicy = deadlines or FixedDeadlines()
        self.settings = settings or EngineSettings()
        self.bus = EventBus()
        self._seq = itertools.count(1)
        self._timer_seq = itertools.count(1)
        self._items: dict[str, WorkItem] = {}
        self._finished: OrderedDict[str, WorkItem] = OrderedDict()
        self._by_key: dict[str, str] = {}
        self._key_expiry: deque[tuple[float, str]] = deque()
        self._buckets = BucketRegistry()
        #: channel -> (head key, bucket id) of every non-empty bucket, best first: a pull
        #: walks this instead of every bucket the agent may serve.
        self._heads: dict[Channel, SortedList] = {c: SortedList() for c in Channel}
        self._preferred: dict[str, SortedList] = {}
        self._arrivals: dict[tuple[str, Channel], SortedList] = {}
        #: (first queue, channel) -> interactions that arrived there (`QueueDepth.received`)
        self._received: dict[tuple[str, Channel], int] = {}
        self._status_counts: dict[Status, int] = dict.fromkeys(Status, 0)
        self._timers: list[tuple[float, int, _Timer, str, int]] = []
        self._agents: dict[str, AgentState] = {}
        self._agents_by_queue: dict[str, list[AgentState]] = {q: [] for q in topology.queues}
        for profile in topology.agents.values():
            self._add_agent_state(profile.id)

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, subscriber: Subscriber) -> None:
        self.bus.subscribe(subscriber)

    # ------------------------------------------------------------------ ingest
    def ingest(self, interaction: Interaction, plan: RoutingPlan) -> IngestResult:
        """Queue a new interaction (and offer it at once if a ready agent fits).

        A second ingest with the same idempotency key returns the first interaction's id
        and changes nothing, so provider retries never duplicate.
        """
        now = self.clock()
        self._expire_idempotency_keys(now)
        # Provider ids are unique per provider only: scope the key by channel.
        dedup_key = f"{interaction.channel.value}:{interaction.idempotency_key}"
        existing = self._by_key.get(dedup_key)
        if existing is not None:
            item = self._items.get(existing) or self._finished.get(existing)
            status = item.status if item is not None else Status.COMPLETED
            return IngestResult(existing, False, status)
        if interaction.id in self._items or interaction.id in self._finished:
            raise IllegalTransition(interaction.id, "existing", Status.QUEUED)
        self._check_queue(plan.queue)
        item = self._new_item(interaction, plan, now)
        self._items[item.id] = item
        self._by_key[dedup_key] = item.id
        self._key_expiry.append((now + self.settings.idempotency_ttl, dedup_key))
        self._status_counts[Status.QUEUED] += 1
        lane = (plan.queue, interaction.channel)
        self._received[lane] = self._received.get(lane, 0) + 1
        self._record(item, now, EventKind.QUEUED, None, None)
        self._emit(EventKind.QUEUED, item, now, None)
        self._schedule_leg(item, now)
        self._enter_queue(item, now)
        return IngestResult(item.id, True, item.status)

    def _new_item(self, interaction: Interaction, plan: RoutingPlan, now: float) -> WorkItem:
        """A new queue leg (ingest or transfer), its deadlines fixed by the policy now."""
        deadline = self.deadlines.deadline(
            self.topology.team_of(plan.queue), interaction.channel, plan.sla_class,
            interaction.public,
        )
        # The overflow queue's deadline too, not at max wait: work already waiting keeps
        # the SLA it started under across a live policy change, as in the Redis store.
        overflow = overflow_queue(plan, deadline, self.topology.queues)
        return WorkItem(
            interaction=interaction,
            plan=plan,
            status=Status.QUEUED,
            seq=next(self._seq),
            enqueued_at=now,
            deadline=deadline,
            due_at=now + deadline.threshold,
            target=target_after(plan, 0),
            overflow=None if overflow is None else (overflow, self.deadlines.deadline(
                self.topology.team_of(overflow), interaction.channel, plan.sla_class,
                interaction.public,
            )),
        )

    def _schedule_leg(self, item: WorkItem, now: float) -> None:
        """Timers for one queue leg: escalation steps, SLA at-risk/breach, max wait."""
        token = item.seq
        start = item.enqueued_at
        for index, step in enumerate(item.plan.steps):
            self._timer(start + step.after, _Timer.STEP, item.id, token * 100 + index)
        threshold = item.deadline.threshold
        # (the breach timer is set when this one fires on unanswered work: _on_at_risk)
        self._timer(start + threshold * item.deadline.near_breach_fraction, _Timer.AT_RISK,
                    item.id, token)
        max_wait = self._max_wait(item)
        if max_wait is not None:
            self._timer(start + max_wait, _Timer.MAX_WAIT, item.id, token)
        if item.plan.preferred_agent and item.plan.preferred_timeout > 0:
            self._timer(now + item.plan.preferred_timeout, _Timer.PREFERRED, item.id, token)

    def _max_wait(self, item: WorkItem) -> float | None:
        if item.plan.max_wait is not None:
            return item.plan.max_wait
        return item.deadline.max_wait

    # ------------------------------------------------------------------ agents
    def _add_agent_state(self, agent_id: str) -> AgentState:
        profile = self.topology.agents[agent_id]
        state = AgentState(profile=profile, queues=self.topology.queues_of(profile))
        self._agents[agent_id] = state
        for queue in state.queues:
            self._agents_by_queue[queue].append(state)
        return state

    def agent(self, agent_id: str) -> AgentView:
        state = self._agent(agent_id)
        return AgentView(
            id=state.id,
            teams=state.profile.teams,
            presence=state.shown_presence,
            reason=state.reason,
            auto_offer=state.auto_offer,
            held=dict(state.held),
            active={c: n for c, n in state.active.items() if n},
            capacity=dict(state.profile.capacity),
            missed_offers=state.missed_offers,
        )

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def set_presence(
        self, agent_id: str, presence: Presence, reason: str | None = None,
        auto_offer: bool | None = None,
    ) -> AgentView:
        """Log in (available / not_ready), go not ready with a reason, or log out.

        Going offline hands back any reservation the agent still holds; interactions
        already accepted stay with the agent until it completes them.
        """
        if presence not in SETTABLE_PRESENCES:
            raise ValueError(
                f"presence {presence!s} cannot be set; use one of"
                f" {sorted(p.value for p in SETTABLE_PRESENCES)}"
            )
        state = self._agent(agent_id)
        now = self.clock()
        if auto_offer is not None:
            state.auto_offer = auto_offer
        previous = state.shown_presence
        became_available = presence is Presence.AVAILABLE and state.presence is not presence
        state.presence = presence
        state.reason = reason if presence is Presence.NOT_READY else None
        state.presence_since = now
        if became_available:
            state.missed_offers = 0
            for channel in Channel:
                state.idle_since[channel] = now
        if presence is Presence.OFFLINE:
            for item_id, _channel in list(state.held.items()):
                item = self._items[item_id]
                if item.status is Status.RESERVED:
                    self._return_reservation(item, state, now, "agent_offline", offer=False)
        self._emit_presence(state, previous, now)
        self._reindex_agent(state, None)
        if presence is Presence.AVAILABLE:
            self._match_agent(state, now)
        return self.agent(agent_id)

    def upsert_team(self, team: Team) -> None:
        """Add a team or rename one (teams carry no routing state of their own)."""
        self.topology = self.topology.with_team(team)

    def upsert_queue(self, queue: Queue) -> None:
        """Add a queue, or rename one. Moving a queue to another team is refused while
        anything waits in it, since its waiting work was ordered by the old team's SLA.
        """
        if self.topology.queue_moves_team(queue) and any(
            self._arrivals.get((queue.id, channel)) for channel in Channel
        ):
            raise self.topology.queue_move_refused(queue)
        self.topology = self.topology.with_queue(queue)
        self._agents_by_queue.setdefault(queue.id, [])
        # Agents that serve "every queue of their teams" may gain or lose this one.
        for state in list(self._agents.values()):
            if not state.profile.queues:
                self.upsert_agent(state.profile)

    def upsert_agent(self, profile: AgentProfile) -> AgentView:
        """Add an agent (offline) or change one's teams, queues, skills or capacity live.

        Work the agent holds stays with it; lowering capacity below what it holds only
        means it gets nothing new until it is under the new limit.
        """
        for team in profile.teams:
            if team not in self.topology.teams:
                raise ConfigError(f"agent {profile.id!r}: unknown team {team!r}")
        for queue in profile.queues:
            self._check_queue(queue)
        self.topology = self.topology.with_agent(profile)
        state = self._agents.get(profile.id)
        if state is None:
            self._add_agent_state(profile.id)
            return self.agent(profile.id)
        self._unindex_agent(state)
        for queue in state.queues:
            self._agents_by_queue[queue].remove(state)
        state.profile = profile
        state.queues = self.topology.queues_of(profile)
        for queue in state.queues:
            self._agents_by_queue[queue].append(state)
        state.blocking_held = sum(1 for c in state.held.values() if c in profile.blocking)
        self._reindex_agent(state, None)
        if state.presence is Presence.AVAILABLE:
            self._match_agent(state, self.clock())
        return self.agent(profile.id)

    def remove_agent(self, agent_id: str) -> None:
        """Remove an agent that is offline and holds nothing."""
        state = self._agent(agent_id)
        if state.presence is not Presence.OFFLINE or state.held:
            raise AgentBusy(agent_id, state.shown_presence, len(state.held))
        self._unindex_agent(state)
        for queue in state.queues:
            self._agents_by_queue[queue].remove(state)
        del self._agents[agent_id]
        self.topology = self.topology.without_agent(agent_id)

    def _unindex_agent(self, state: AgentState) -> None:
        for bucket_id, key in state.indexed.items():
            self._buckets.by_id(bucket_id).agents.remove(key)
        state.indexed.clear()
        state.bucket_cache.clear()

    def _agent(self, agent_id: str) -> AgentState:
        state = self._agents.get(agent_id)
        if state is None:
            raise UnknownAgent(agent_id)
        return state

    def _agent_key(self, state: AgentState, bucket: Bucket) -> AgentKey:
        idle = state.idle_since.get(bucket.channel, 0.0)
        strategy = self.settings.strategy
        if strategy is Strategy.LONGEST_IDLE:
            return (0.0, idle, state.id)
        if strategy is Strategy.LEAST_OCCUPIED:
            return (state.load(), idle, state.id)
        return (float(-proficiency_score(state.profile, bucket.requirement)), idle, state.id)

    def _agent_buckets(self, state: AgentState, channel: Channel) -> list[Bucket]:
        """Buckets of `channel` whose work this agent may take (cached per registry size)."""
        return self._eligibility(state, channel)[1]

    def _eligible_ids(self, state: AgentState, channel: Channel) -> frozenset[int]:
        return self._eligibility(state, channel)[2]

    def _eligibility(
        self, state: AgentState, channel: Channel
    ) -> tuple[int, list[Bucket], frozenset[int]]:
        version = len(self._buckets)
        cached = state.bucket_cache.get(channel)
        if cached is not None and cached[0] == version:
            return cached
        found = [
            bucket
            for queue in state.queues
            for bucket in self._buckets.of(queue, channel)
            if meets(state.profile, bucket.requirement)
        ]
        entry = (version, found, frozenset(b.id for b in found))
        state.bucket_cache[channel] = entry
        return entry

    def _reindex_agent(self, state: AgentState, channel: Channel | None) -> None:
        """Refresh the agent's entries in the ready index of the affected buckets.

        Only `channel` changes unless blocking or the strategy makes every channel
        depend on this change (then `channel` is None).
        """
        if not state.auto_offer and not state.indexed:
            return  # a pull-mode agent sits in no ready index: nothing to refresh
        if (
            channel is not None
            and self.settings.strategy is Strategy.LEAST_OCCUPIED
        ) or (channel is not None and channel in state.profile.blocking):
            channel = None
        # Blocking channels open or close whenever anything at all is held.
        channels: Iterable[Channel] = (
            Channel if channel is None else {channel, *state.profile.blocking}
        )
        ready_for_push = state.auto_offer
        indexed = state.indexed
        for ch in channels:
            takes = ready_for_push and state.can_take(ch)
            for bucket in self._agent_buckets(state, ch):
                old = indexed.get(bucket.id)
                if takes:
                    key = self._agent_key(state, bucket)
                    if key == old:
                        continue  # e.g. longest idle while a chat slot is still free
                    if old is not None:
                        bucket.agents.remove(old)
                    bucket.agents.add(key)
                    indexed[bucket.id] = key
                elif old is not None:
                    bucket.agents.remove(old)
                    del indexed[bucket.id]

    def _bucket(self, queue: str, channel: Channel, requirement: Requirement) -> Bucket:
        bucket = self._buckets.get(queue, channel, requirement)
        if bucket is not None:
            return bucket
        bucket = self._buckets.create(queue, channel, requirement)
        # A new requirement set: admit every ready agent of the queue that meets it, once.
        for state in self._agents_by_queue.get(queue, ()):
            if (
                state.auto_offer
                and state.can_take(channel)
                and meets(state.profile, bucket.requirement)
            ):
                key = self._agent_key(state, bucket)
                bucket.agents.add(key)
                state.indexed[bucket.id] = key
        return bucket

    # ------------------------------------------------------------------ queueing
    def _enter_queue(self, item: WorkItem, now: float) -> None:
        """Index a queued item (preferred phase or its target buckets), then try to offer."""
        item.key = order_key(item.target.priority, item.due_at, item.seq, item.id)
        arrivals = self._arrivals.get((item.queue, item.channel))
        if arrivals is None:
            arrivals = self._arrivals[(item.queue, item.channel)] = SortedList()
        arrivals.add((item.enqueued_at, item.seq, item.id))
        preferred = self._preferred_agent(item, now)
        if preferred is not None:
            item.in_preferred = preferred
            self._preferred.setdefault(preferred, SortedList()).add(item.key)
        else:
            for queue in item.target.queues:
                bucket = self._bucket(queue, item.channel, item.target.skills)
                self._bucket_add(bucket, item.key)
                item.buckets.append(bucket.id)
        self._match_item(item, now)

    def _preferred_agent(self, item: WorkItem, now: float) -> str | None:
        agent_id = item.plan.preferred_agent
        if not agent_id or item.plan.preferred_timeout <= 0:
            return None
        if now >= item.enqueued_at + item.plan.preferred_timeout:
            return None
        state = self._agents.get(agent_id)
        if state is None or state.presence is Presence.OFFLINE:
            return None
        return agent_id

    def _leave_queue(self, item: WorkItem) -> None:
        key = item.key
        if key is None:
            return
        if item.in_preferred is not None:
            self._preferred[item.in_preferred].remove(key)
            item.in_preferred = None
        for bucket_id in item.buckets:
            self._bucket_remove(self._buckets.by_id(bucket_id), key)
        item.buckets.clear()
        self._arrivals[(item.queue, item.channel)].remove((item.enqueued_at, item.seq, item.id))
        item.key = None

    def _match_item(self, item: WorkItem, now: float) -> None:
        """Offer a queued item to the best ready agent, if any (push direction)."""
        best: tuple[AgentKey, AgentState] | None = None
        if item.in_preferred is not None:
            state = self._agents[item.in_preferred]
            if state.auto_offer and state.can_take(item.channel) and (
                item.rejected_by is None or state.id not in item.rejected_by
            ):
                self._reserve(item, state, now, offer=True)
            return
        for bucket_id in item.buckets:
            for key in self._buckets.by_id(bucket_id).agents:
                if item.rejected_by is not None and key[2] in item.rejected_by:
                    continue
                if best is None or key < best[0]:
                    best = (key, self._agents[key[2]])
                break
        if best is not None:
            self._reserve(item, best[1], now, offer=True)

    def _bucket_add(self, bucket: Bucket, key: OrderKey) -> None:
        waiting = bucket.items
        old_head = waiting._lists[0][0] if waiting else None
        waiting.add(key)
        if old_head is None or key < old_head:
            heads = self._heads[bucket.channel]
            if old_head is not None:
                heads.remove((old_head, bucket.id))
            heads.add((key, bucket.id))

    def _bucket_remove(self, bucket: Bucket, key: OrderKey) -> None:
        waiting = bucket.items
        was_head = waiting._lists[0][0] == key
        waiting.remove(key)
        if was_head:
            heads = self._heads[bucket.channel]
            heads.remove((key, bucket.id))
            if waiting:
                heads.add((waiting._lists[0][0], bucket.id))

    def _best_for(self, state: AgentState, skip_rejected: bool) -> WorkItem | None:
        """The best waiting item this agent may take now (pull direction).

        Walks each channel's bucket heads best first and stops at the first bucket the
        agent may serve, so the usual cost is a handful of comparisons whatever the
        number of buckets. Only when a head was rejected by this agent (push) does it
        look further down that bucket, and then it keeps walking the heads until they
        can no longer beat what it found.
        """
        best: OrderKey | None = None
        preferred = self._preferred.get(state.id)
        if preferred:
            best = self._first_takeable(preferred, state, skip_rejected, check_channel=True)
        items = self._items
        for channel in _CHANNELS:
            heads = self._heads[channel]
            if not heads or not state.can_take(channel):
                continue
            eligible = self._eligible_ids(state, channel)
            for key, bucket_id in heads:
                if best is not None and key >= best:
                    break
                if bucket_id not in eligible:
                    continue
                rejected = items[key[3]].rejected_by
                if skip_rejected and rejected is not None and state.id in rejected:
                    found = self._first_takeable(
                        self._buckets.by_id(bucket_id).items, state, True, False
                    )
                    if found is not None and (best is None or found < best):
                        best = found
                    continue
                best = key
                break
        return None if best is None else items[best[3]]

    def _first_takeable(
        self, keys: SortedList, state: AgentState, skip_rejected: bool, check_channel: bool
    ) -> OrderKey | None:
        """First entry the agent may take: usually the head, so this is O(1) in practice.

        Entries it rejected (push only) or, in its preferred list, on channels it has no
        room for right now, are passed over.
        """
        for key in keys:
            item = self._items[key[3]]
            rejected = item.rejected_by
            if skip_rejected and rejected is not None and state.id in rejected:
                continue
            if check_channel and not state.can_take(item.channel):
                continue
            return key  # type: ignore[no-any-return]
        return None

    def _match_agent(self, state: AgentState, now: float) -> None:
        """Offer a ready agent the best waiting work until its capacity is used."""
        if not state.auto_offer:
            return
        while state.presence is Presence.AVAILABLE:
            item = self._best_for(state, skip_rejected=True)
            if item is None:
                return
            self._reserve(item, state, now, offer=True)

    # ------------------------------------------------------------------ reservations
    def pull(self, agent_id: str) -> Reservation | None:
        """`next`: reserve the best interaction the agent is eligible for, or None."""
        state = self._agent(agent_id)
        if state.presence is Presence.OFFLINE:
            raise AgentUnavailable(agent_id, state.presence)
        if state.presence is not Presence.AVAILABLE:
            return None
        now = self.clock()
        item = self._best_for(state, skip_rejected=False)
        if item is None:
            return None
        return self._reserve(item, state, now, offer=False)

    def _reserve(self, item: WorkItem, state: AgentState, now: float, offer: bool) -> Reservation:
        self._leave_queue(item)
        self._set_status(item, Status.RESERVED)
        item.agent_id = state.id
        item.reserved_at = now
        item.offer_token += 1
        self._hold(state, item)
        expires = now + self.settings.offer_timeout
        self._timer(expires, _Timer.OFFER_EXPIRY, item.id, item.offer_token)
        self._record(item, now, EventKind.RESERVED, state.id, "offer" if offer else "pull")
        self._emit(EventKind.RESERVED, item, now, Status.QUEUED, agent_id=state.id,
                   reason="offer" if offer else "pull", detail={"expires_at": expires})
        return Reservation(item.id, state.id, item.channel, item.queue, now, expires)

    def _hold(self, state: AgentState, item: WorkItem) -> None:
        channel = item.channel
        state.held[item.id] = channel
        state.active[channel] = state.active.get(channel, 0) + 1
        if channel in state.profile.blocking:
            state.blocking_held += 1
        self._reindex_agent(state, channel)

    def _release(self, state: AgentState, item: WorkItem, now: float, idle: bool) -> None:
        channel = state.held.pop(item.id)
        state.active[channel] -= 1
        if channel in state.profile.blocking:
            state.blocking_held -= 1
        if idle:
            state.idle_since[channel] = now
        item.agent_id = None
        self._reindex_agent(state, channel)

    def _held_item(self, agent_id: str, interaction_id: str) -> tuple[AgentState, WorkItem]:
        state = self._agent(agent_id)
        item = self._items.get(interaction_id)
        if item is None:
            if interaction_id in self._finished:
                raise NotHeldByAgent(interaction_id, agent_id, None)
            raise UnknownInteraction(interaction_id)
        if item.agent_id != agent_id:
            raise NotHeldByAgent(interaction_id, agent_id, item.agent_id)
        return state, item

    def accept(self, agent_id: str, interaction_id: str) -> None:
        state, item = self._held_item(agent_id, interaction_id)
        self._check(item, Status.ASSIGNED)
        now = self.clock()
        self._set_status(item, Status.ASSIGNED)
        item.assigned_at = now
        item.offer_token += 1  # the pending offer expiry no longer applies
        state.missed_offers = 0
        self._record(item, now, EventKind.ASSIGNED, agent_id, None)
        self._emit(EventKind.ASSIGNED, item, now, Status.RESERVED, agent_id=agent_id)
        return None

    def reject(self, agent_id: str, interaction_id: str, reason: str | None = None) -> None:
        """Hand a reservation back; the interaction keeps its place (original age)."""
        state, item = self._held_item(agent_id, interaction_id)
        self._check(item, Status.QUEUED)
        now = self.clock()
        self._return_reservation(item, state, now, reason or "rejected", offer=True)
        self._match_agent(state, now)
        return None

    def _return_reservation(
        self, item: WorkItem, state: AgentState, now: float, reason: str, offer: bool,
        kind: EventKind = EventKind.REJECTED,
    ) -> None:
        if item.rejected_by is None:
            item.rejected_by = set()
        item.rejected_by.add(state.id)
        item.offer_token += 1
        self._release(state, item, now, idle=False)
        self._set_status(item, Status.QUEUED)
        self._record(item, now, kind, state.id, reason)
        self._emit(kind, item, now, Status.RESERVED, agent_id=state.id, reason=reason)
        # Escalations that fell due while reserved apply now; max wait too.
        self._catch_up_steps(item, now)
        max_wait = self._max_wait(item)
        if max_wait is not None and now >= item.enqueued_at + max_wait:
            self._on_max_wait(item, now)
            return
        self._enter_queue(item, now)

    def wrap_up(self, agent_id: str, interaction_id: str) -> None:
        state, item = self._held_item(agent_id, interaction_id)
        self._check(item, Status.WRAP_UP)
        now = self.clock()
        previous = state.shown_presence
        self._set_status(item, Status.WRAP_UP)
        state.wrapping += 1
        item.offer_token += 1
        self._timer(now + self.settings.wrap_up_timeout, _Timer.WRAP_UP, item.id, item.offer_token)
        self._record(item, now, EventKind.WRAP_UP, agent_id, None)
        self._emit(EventKind.WRAP_UP, item, now, Status.ASSIGNED, agent_id=agent_id)
        if previous is not state.shown_presence:
            self._emit_presence(state, previous, now)
        return None

    def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> None:
        state, item = self._held_item(agent_id, interaction_id)
        self._check(item, Status.COMPLETED)
        now = self.clock()
        previous_presence = state.shown_presence
        previous = item.status
        if previous is Status.WRAP_UP:
            state.wrapping -= 1
        item.disposition = disposition
        self._set_status(item, Status.COMPLETED)
        self._release(state, item, now, idle=True)
        item.agent_id = agent_id  # keep who handled it, for look-up and explain
        self._record(item, now, EventKind.COMPLETED, agent_id, disposition)
        self._emit(EventKind.COMPLETED, item, now, previous, agent_id=agent_id,
                   reason=disposition)
        self._finish(item)
        if previous_presence is not state.shown_presence:
            self._emit_presence(state, previous_presence, now)
        self._match_agent(state, now)
        return None

    # ------------------------------------------------------------------ ending early
    def abandon(self, interaction_id: str, reason: str | None = None) -> None:
        """The customer left (hung up, closed the chat) before being answered."""
        self._end_early(interaction_id, Status.ABANDONED, reason)

    def cancel(self, interaction_id: str, reason: str | None = None) -> None:
        """The system or a supervisor withdrew the interaction."""
        self._end_early(interaction_id, Status.CANCELLED, reason)

    def _end_early(self, interaction_id: str, target: Status, reason: str | None) -> None:
        item = self._live(interaction_id)
        self._check(item, target)
        now = self.clock()
        previous = item.status
        holder = self._agents.get(item.agent_id) if item.agent_id else None
        if previous is Status.QUEUED:
            self._leave_queue(item)
        self._set_status(item, target)
        item.offer_token += 1
        if holder is not None:
            self._release(holder, item, now, idle=previous is not Status.RESERVED)
            item.agent_id = holder.id if previous is not Status.RESERVED else None
        kind = EventKind.ABANDONED if target is Status.ABANDONED else EventKind.CANCELLED
        self._record(item, now, kind, holder.id if holder else None, reason)
        self._emit(kind, item, now, previous, agent_id=holder.id if holder else None,
                   reason=reason)
        self._finish(item)
        if holder is not None:
            self._match_agent(holder, now)
        return None

    def transfer(
        self, interaction_id: str, plan: RoutingPlan, reason: str | None = None
    ) -> None:
        """Re-plan to another queue (from queued or assigned), keeping the history.

        The new leg starts its own SLA clock; the interaction keeps its creation time.
        """
        item = self._live(interaction_id)
        self._check(item, Status.TRANSFERRED)
        self._check_queue(plan.queue)
        now = self.clock()
        previous = item.status
        holder = self._agents.get(item.agent_id) if item.agent_id else None
        if previous is Status.QUEUED:
            self._leave_queue(item)
        self._set_status(item, Status.TRANSFERRED)
        if holder is not None:
            self._release(holder, item, now, idle=True)
        self._record(item, now, EventKind.TRANSFERRED, holder.id if holder else None,
                     reason or f"to {plan.queue}")
        self._emit(EventKind.TRANSFERRED, item, now, previous,
                   agent_id=holder.id if holder else None, reason=reason,
                   detail={"to_queue": plan.queue})
        fresh = self._new_item(item.interaction, plan, now)
        item.plan, item.seq, item.enqueued_at = fresh.plan, fresh.seq, now
        item.deadline, item.due_at, item.target = fresh.deadline, fresh.due_at, fresh.target
        item.overflow = fresh.overflow
        item.steps_applied, item.at_risk, item.breached = 0, False, False
        # never push a transfer back to its sender
        item.rejected_by = None if holder is None else {holder.id}
        item.offer_token += 1
        self._set_status(item, Status.QUEUED)
        self._record(item, now, EventKind.QUEUED, None, None)
        self._emit(EventKind.QUEUED, item, now, Status.TRANSFERRED)
        self._schedule_leg(item, now)
        self._enter_queue(item, now)
        if holder is not None:
            self._match_agent(holder, now)
        return None

    def _live(self, interaction_id: str) -> WorkItem:
        item = self._items.get(interaction_id)
        if item is None:
            finished = self._finished.get(interaction_id)
            if finished is not None:
                raise IllegalTransition(interaction_id, finished.status, "(any)")
            raise UnknownInteraction(interaction_id)
        return item

    def _finish(self, item: WorkItem) -> None:
        del self._items[item.id]
        self._finished[item.id] = item
        while len(self._finished) > self.settings.retain_finished:
            self._finished.popitem(last=False)

    def _expire_idempotency_keys(self, now: float) -> None:
        expiry = self._key_expiry
        while expiry and expiry[0][0] <= now:
            _, key = expiry.popleft()
            item_id = self._by_key.get(key)
            if item_id is not None and item_id not in self._items:
                del self._by_key[key]

    # ------------------------------------------------------------------ timers
    def _timer(self, due: float, kind: _Timer, item_id: str, token: int) -> None:
        heapq.heappush(self._timers, (due, next(self._timer_seq), kind, item_id, token))

    def next_timer_at(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def tick(self) -> int:
        """Fire every timer due by now; returns how many fired (stale ones included)."""
        now = self.clock()
        fired = 0
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, kind, item_id, token = heapq.heappop(timers)
            fired += 1
            item = self._items.get(item_id)
            if item is not None:
                self._fire(kind, item, token, now)
        return fired

    def _fire(self, kind: _Timer, item: WorkItem, token: int, now: float) -> None:
        if kind is _Timer.OFFER_EXPIRY:
            if item.status is Status.RESERVED and token == item.offer_token:
                self._expire_offer(item, now)
        elif kind is _Timer.WRAP_UP:
            if item.status is Status.WRAP_UP and token == item.offer_token and item.agent_id:
                self.complete(item.agent_id, item.id, "wrap_up_timeout")
        elif kind is _Timer.STEP:
            if token // 100 == item.seq and item.status is Status.QUEUED:
                self._catch_up_steps(item, now, upto=token % 100 + 1)
        elif token == item.seq:  # the other timers belong to one queue leg
            self._fire_leg_timer(kind, item, now)

    def _fire_leg_timer(self, kind: _Timer, item: WorkItem, now: float) -> None:
        if item.status not in _UNANSWERED:
            return  # answered (or gone): SLA timers no longer apply
        if kind is _Timer.AT_RISK:
            self._on_at_risk(item, now)
        elif kind is _Timer.BREACH:
            self._on_breach(item, now)
        elif item.status is not Status.QUEUED:
            return  # max wait and preferred timeouts apply when it is back in the queue
        elif kind is _Timer.MAX_WAIT:
            self._on_max_wait(item, now)
        elif kind is _Timer.PREFERRED and item.in_preferred is not None:
            self._leave_queue(item)
            self._enter_queue(item, now)

    def _expire_offer(self, item: WorkItem, now: float) -> None:
        state = self._agents[item.agent_id or ""]
        state.missed_offers += 1
        self._return_reservation(item, state, now, "offer_timeout", offer=True,
                                 kind=EventKind.OFFER_EXPIRED)
        if (
            state.missed_offers >= self.settings.missed_offers_limit
            and state.presence is Presence.AVAILABLE
        ):
            self.set_presence(state.id, Presence.NOT_READY, "missed_offers")
        else:
            self._match_agent(state, now)

    def _catch_up_steps(self, item: WorkItem, now: float, upto: int | None = None) -> None:
        """Apply escalation steps whose time has come (or `upto` a count, early)."""
        waited = now - item.enqueued_at
        due = sum(1 for step in item.plan.steps if step.after <= waited)
        if upto is not None:
            due = max(due, upto)
        due = min(due, len(item.plan.steps))
        if due <= item.steps_applied:
            return
        self._escalate(item, due, now)

    def _escalate(self, item: WorkItem, applied: int, now: float) -> None:
        indexed = item.key is not None
        if indexed:
            self._leave_queue(item)
        item.steps_applied = applied
        item.target = target_after(item.plan, applied)
        self._record(item, now, EventKind.ESCALATED, None, f"step {applied}")
        self._emit(EventKind.ESCALATED, item, now, item.status,
                   detail={"step": applied, "queues": list(item.target.queues),
                           "priority": item.target.priority})
        if indexed:
            self._enter_queue(item, now)

    def _on_at_risk(self, item: WorkItem, now: float) -> None:
        if item.at_risk:
            return
        item.at_risk = True
        # Breach follows at-risk (near_breach is a fraction in (0, 1]) and matters only to
        # work still unanswered then, so its timer is set here rather than at leg start:
        # most work is answered before it is at risk, and a timer per arrival would mostly
        # fire on finished work.
        self._timer(item.enqueued_at + item.deadline.threshold, _Timer.BREACH, item.id,
                    item.seq)
        self._emit(EventKind.SLA_AT_RISK, item, now, item.status)
        # Near breach: bring the plan's next escalation step forward.
        if item.steps_applied < len(item.plan.steps):
            self._escalate(item, item.steps_applied + 1, now)

    def _on_breach(self, item: WorkItem, now: float) -> None:
        if item.breached:
            return
        item.breached = True
        self._emit(EventKind.SLA_BREACHED, item, now, item.status)

    def _on_max_wait(self, item: WorkItem, now: float) -> None:
        if item.status is Status.QUEUED and item.key is not None:
            self._leave_queue(item)
        # Whether (and where) it overflows was decided when the leg started.
        if item.overflow is not None:
            self._overflow(item, *item.overflow, now)
            return
        previous = item.status
        self._set_status(item, Status.EXPIRED)
        self._record(item, now, EventKind.EXPIRED, None, "max_wait")
        self._emit(EventKind.EXPIRED, item, now, previous, reason="max_wait")
        self._finish(item)

    def _overflow(self, item: WorkItem, queue: str, deadline: Deadline, now: float) -> None:
        """Move to the overflow queue keeping the interaction's age and place in line.

        `deadline` is the overflow queue's, fixed when the leg started (`_new_item`).
        """
        old_queue = item.queue
        item.plan = replace(item.plan, queue=queue, max_wait=None)
        item.deadline = replace(deadline, max_wait=None)
        item.overflow = None  # a leg overflows once (Redis: its 'ovf' flag)
        item.due_at = item.enqueued_at + item.deadline.threshold
        item.target = target_after(item.plan, item.steps_applied)
        self._record(item, now, EventKind.OVERFLOWED, None, f"{old_queue} -> {queue}")
        self._emit(EventKind.OVERFLOWED, item, now, item.status, reason="max_wait",
                   detail={"from_queue": old_queue, "to_queue": queue})
        self._enter_queue(item, now)

    # ------------------------------------------------------------------ bookkeeping
    def _check(self, item: WorkItem, target: Status) -> None:
        if target not in TRANSITIONS[item.status]:
            raise IllegalTransition(item.id, item.status, target)

    def _check_queue(self, queue: str) -> None:
        if queue not in self.topology.queues:
            raise UnknownQueue(queue)

    def _set_status(self, item: WorkItem, status: Status) -> None:
        if status not in TRANSITIONS[item.status]:
            raise IllegalTransition(item.id, item.status, status)
        counts = self._status_counts
        counts[item.status] -= 1
        counts[status] += 1
        item.status = status

    def _record(
        self, item: WorkItem, now: float, kind: EventKind, agent_id: str | None,
        reason: str | None,
    ) -> None:
        item.history.append(HistoryEntry(now, kind.value, agent_id, item.queue, reason))

    def _emit(
        self, kind: EventKind, item: WorkItem, now: float, previous: Status | None,
        agent_id: str | None = None, reason: str | None = None,
        detail: Mapping[str, object] = _NO_DETAIL,
    ) -> None:
        route = self.bus.routes.get(kind)
        if route is None:
            return  # nobody handles this kind: do not even build the event
        assigned_at = item.assigned_at
        handled = (now - assigned_at
                   if assigned_at is not None and kind in HANDLED_KINDS else None)
        queue = item.plan.queue
        # Positional: one event per transition, and keyword passing costs ~40% more.
        # The threshold travels with the event so SLA measurement needs no look-up.
        interaction = item.interaction
        self.bus.deliver(route, InteractionEvent(
            kind, now, interaction.id, interaction.channel, queue,
            self.topology.queues[queue].team, item.status, previous, agent_id,
            item.target.priority, item.enqueued_at, now - item.enqueued_at, handled,
            reason, detail, item.deadline.threshold,
        ))

    def _emit_presence(self, state: AgentState, previous: Presence, now: float) -> None:
        if previous is state.shown_presence:
            return
        route = self.bus.routes.get(EventKind.AGENT_PRESENCE)
        if route is None:
            return
        self.bus.deliver(
            route,
            AgentEvent(
                kind=EventKind.AGENT_PRESENCE, at=now, agent_id=state.id,
                teams=state.profile.teams, presence=state.shown_presence.value,
                previous=previous.value, reason=state.reason,
            ),
        )

    # ------------------------------------------------------------------ reading
    def view(self, interaction_id: str) -> WorkView:
        item = self._items.get(interaction_id) or self._finished.get(interaction_id)
        if item is None:
            raise UnknownInteraction(interaction_id)
        return WorkView(
            interaction=item.interaction, plan=item.plan, status=item.status,
            queue=item.queue, team=self.topology.team_of(item.queue),
            priority=item.target.priority, enqueued_at=item.enqueued_at, due_at=item.due_at,
            agent_id=item.agent_id, disposition=item.disposition,
            history=tuple(item.history),
        )

    def find_by_key(self, channel: Channel, idempotency_key: str) -> str | None:
        return self._by_key.get(f"{channel.value}:{idempotency_key}")

    def open_ids(self) -> list[str]:
        return list(self._items)

    def queued_ids(self) -> list[str]:
        """Queued interactions in universal order (for inspection and tests)."""
        keys = sorted(i.key for i in self._items.values() if i.key is not None)
        return [k[3] for k in keys]

    def snapshot(self) -> Snapshot:
        now = self.clock()
        queues = []
        for queue, channel in sorted(self._arrivals.keys() | self._received.keys()):
            arrivals = self._arrivals.get((queue, channel)) or ()
            queues.append(
                QueueDepth(
                    queue=queue, team=self.topology.team_of(queue), channel=channel.value,
                    depth=len(arrivals),
                    oldest_enqueued_at=arrivals[0][0] if arrivals else None,
                    received=self._received.get((queue, channel), 0),
                )
            )
        by_presence: dict[str, dict[str, int]] = {
            team: dict.fromkeys((p.value for p in Presence), 0) for team in self.topology.teams
        }
        occupancy: dict[str, tuple[int, int]] = {}
        for state in self._agents.values():
            for team in state.profile.teams:
                by_presence[team][state.shown_presence.value] += 1
                if state.presence is not Presence.OFFLINE:
                    used, slots = occupancy.get(team, (0, 0))
                    occupancy[team] = (
                        used + len(state.held), slots + sum(state.profile.capacity.values())
                    )
        return Snapshot(
            at=now, queues=tuple(queues), agents_by_presence=by_presence,
            occupancy=occupancy,
            statuses={s.value: n for s, n in self._status_counts.items()},
        )

    def counts(self) -> dict[Status, int]:
        """Interactions per status, including finished ones ever seen (never evicted)."""
        return dict(self._status_counts)

