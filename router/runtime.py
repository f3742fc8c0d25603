"""The composition root: one object that owns every part of a running omniroute.

`Runtime.build(settings)` reads the config directory (topology, SLA policies, rules,
customers, tokens), wires the channel adapters, the store, the routing service and the
event subscribers (service-level tracker, Prometheus recorder, live event hub), and
offers the few operations the HTTP layer needs beyond the store's own. Endpoints stay
thin: they authenticate, translate JSON, and call one method here or on the store.

One ingest path serves every entry point (webhooks and the generic JSON endpoint):

    adapter.verify/parse → identity + profile → channels.decide → act → channels.apply

where *act* is: NEW → classify with the live rules, store.ingest; FOLLOW_UP → append to
the open interaction; HANGUP → abandon it if it still waits; AUTO_REPLY → record only;
DUPLICATE → answer the first delivery's id. The indexes are only updated (`apply`)
after the store accepted the decision, so a failed ingest can be retried by the
provider and is not mistaken for a duplicate.

On the Redis store several workers serve one site (`shared`). Published rule versions
then live in Redis (`router.redis_rules`), and every rules publish/rollback, topology
change and SLA policy set is announced on the store's config channel as JSON naming
the announcing worker; each worker watches that channel from `start` and applies what
others announced: the announced rules version (loaded from Redis, then swapped in),
the changed team/queue/agent (its local topology view; Redis already holds the agent),
the SLA policy set. The live event hub (SSE) is then fed from the site's Redis event
stream (`StreamFeed`) instead of this worker's store events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from agents.model import AgentProfile, Queue, Team
from channels import (
    ChannelAdapter,
    ConversationTracker,
    DecisionKind,
    IdentityIndex,
    Inbound,
    InboundKind,
    InboundRequest,
    IngestDecision,
    IngestGate,
    InMemoryCustomerDirectory,
    UnprocessablePayload,
    apply,
    decide,
    default_adapters,
)
from channels.addresses import normalize_email, voice_endpoint
from channels.keys import interaction_id as make_interaction_id
from router.api.stream import EventHub, StreamFeed
from router.auth import TokenRegistry, demo_digests
from router.clock import Clock, SystemClock
from router.customer import CustomerProfile
from router.engine import EngineSettings
from router.errors import (
    ConfigError,
    OmnirouteError,
    UnknownAgent,
    UnknownInteraction,
    UnknownQueue,
)
from router.events import Event, EventKind, InteractionEvent
from router.interaction import FINAL_STATUSES, Channel, Interaction, Status
from router.interaction_in import InteractionIn
from router.memory import MemoryStore
from router.metrics import MetricsRecorder
from router.plan import RoutingPlan, SkillRequirement
from router.service import RoutingService
from router.settings import Settings
from router.snapshot import Snapshot
from router.store import Store
from router.topology import Topology
from router.work import AgentView, WorkView
from rules import (
    Classification,
    DryRun,
    InMemoryRuleRepository,
    NothingPublished,
    Problem,
    Published,
    RuleEngine,
    RulesetInvalid,
    RulesetSpec,
    SourceMap,
    VersionConflict,
    compile_ruleset,
    load_ruleset,
)
from sla.measure import ServiceLevelTracker, SlaStats
from sla.policy import SlaPolicies

log = logging.getLogger("omniroute.runtime")

_FINISHED_KINDS = frozenset(
    {EventKind.COMPLETED, EventKind.ABANDONED, EventKind.CANCELLED, EventKind.EXPIRED}
)
#: A hang-up only abandons work nobody has answered yet.
_ABANDONABLE = frozenset({Status.QUEUED, Status.RESERVED})


class InvalidReference(OmnirouteError):
    """Raised when a topology change names a team or queue that does not exist, or a
    queue outside the agent's teams; `field` and `value` say which."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(message)


class ChangeRefused(OmnirouteError):
    """Raised when a valid change would break what depends on it: the published ruleset
    (`errors` lists its findings against the changed topology), another agent's queues,
    or work waiting in a queue that would change team."""

    def __init__(self, message: str, errors: tuple[Problem, ...] = ()) -> None:
        self.errors = errors
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Change:
    """What a live topology change did: created or replaced, and the published ruleset's
    warnings against the new topology (e.g. a skill no agent now has at that level)."""

    created: bool
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What ingest did with one inbound item; `interaction_id` is what the caller gets."""

    interaction_id: str
    decision: DecisionKind
    created: bool
    status: Status | None = None
    rule: str | None = None
    rule_version: int | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A message that joined an open interaction (shown with the interaction)."""

    at: float
    channel: Channel
    idempotency_key: str
    summary: str


class Runtime:
    def __init__(
        self,
        settings: Settings,
        topology: Topology,
        policies: SlaPolicies,
        rules: RuleEngine,
        directory: InMemoryCustomerDirectory,
        tokens: TokenRegistry,
        clock: Clock | None = None,
        engine_settings: EngineSettings | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.topology = topology
        self.policies = policies
        self.rules = rules
        self.directory = directory
        self.tokens = tokens
        channel_settings = settings.channel_settings()
        self.identity = IdentityIndex.from_directory(directory, channel_settings.default_region)
        self.conversations = ConversationTracker()
        self.gate = IngestGate()
        self.adapters: dict[str, ChannelAdapter] = default_adapters(channel_settings)
        self.store = open_store(settings.store_url, topology, self.clock, policies,
                                engine_settings)
        self.tracker = ServiceLevelTracker(policies)
        self.metrics = MetricsRecorder.from_policies(policies, snapshot=self.store.latest_snapshot)
        self.hub = EventHub()
        self.service = RoutingService(self.store, self.clock,
                                      on_decision=self.metrics.observe_decision)
        #: Several workers share the store: announce changes, watch, read the event stream.
        self.shared = settings.store_url.startswith(("redis://", "rediss://"))
        self.worker_id = uuid.uuid4().hex[:12]
        # Shared: the hub hears every worker's events from the Redis stream instead.
        local = (self.tracker, self.metrics, self._on_event)
        for subscriber in local if self.shared else (*local, self.hub):
            self.store.subscribe(subscriber)
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._feed: StreamFeed | None = None
        self.follow_ups: dict[str, list[FollowUp]] = {}
        self._ingest_lock = asyncio.Lock()
        self._change_lock = asyncio.Lock()
        self.started = False

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls, settings: Settings | None = None, clock: Clock | None = None,
        engine_settings: EngineSettings | None = None,
    ) -> Runtime:
        """Everything from `settings.config_dir`; ConfigError names the file and key."""
        settings = settings or Settings.load()
        config = settings.config_dir
        if not config.is_dir():
            raise ConfigError(f"OMNIROUTE_CONFIG_DIR: {str(config)!r} is not a directory")
        topology = Topology.load(config / "contact-center.yaml")
        sla_file = config / "sla.yaml"
        policies = (SlaPolicies.load(sla_file, topology) if sla_file.exists()
                    else SlaPolicies.defaults())
        if settings.store_url.startswith(("redis://", "rediss://")):
            rules = shared_rules(settings.store_url, config / "rules.yaml", topology)
        else:
            rules = seed_rules(config / "rules.yaml", topology)
        customers_file = config / "customers.yaml"
        directory = (InMemoryCustomerDirectory.from_yaml(customers_file)
                     if customers_file.exists() else InMemoryCustomerDirectory({}))
        tokens = load_tokens(settings.tokens_path, frozenset(topology.agents))
        return cls(settings, topology, policies, rules, directory, tokens, clock, engine_settings)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.started:
            return
        if not self.settings.verify_signatures:
            log.warning("provider signature verification is DISABLED for every webhook "
                        "(OMNIROUTE_VERIFY_SIGNATURES=false): demo use only")
        demo = self.tokens.uses_any(demo_digests())
        if demo:
            log.warning("demo tokens are configured (%s): replace %s before exposing "
                        "this server", ", ".join(demo), self.settings.tokens_path)
        if self.shared:
            await self._start_sharing()
        await self.service.start()
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        await self.service.stop()  # its stop flag ends the timer loop even if a
        # library on the way swallows the cancellation (3.11 `wait_for`)
        await self.store.close()
        close = getattr(self.rules.repository, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------------ other workers
    async def _start_sharing(self) -> None:
        """Watch the config channel and feed the hub from the site's event stream. The
        first subscription is made before `start` returns (no later announcement is
        missed); if it or a later one fails, the watch loop subscribes again."""
        store: Any = self.store
        first: asyncio.Task[None] | None = None
        try:
            first = await store.watch_config(self._inbox.put_nowait)
        except Exception as exc:
            log.warning("config channel not watched yet: %s", exc)
        self._tasks += [
            asyncio.create_task(self._watch_loop(first), name="omniroute-config-loop"),
            asyncio.create_task(self._apply_loop(), name="omniroute-config-apply"),
        ]
        self._feed = StreamFeed(store.client, store.events_key, self.hub,
                                lambda: self.topology, store.settings.offer_timeout)
        await self._feed.start()

    async def _watch_loop(self, first: asyncio.Task[None] | None) -> None:
        store: Any = self.store
        task = first
        while True:
            try:
                if task is None:
                    task = await store.watch_config(self._inbox.put_nowait)
                    # Announcements may have been missed meanwhile: catch up on rules.
                    self._inbox.put_nowait(json.dumps({"kind": "rules"}))
                await task
            except asyncio.CancelledError:
                if task is not None:
                    task.cancel()
                raise
            except Exception as exc:
                log.warning("config channel watch failed, subscribing again: %s", exc)
            task = None
            await asyncio.sleep(1.0)

    async def _apply_loop(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self.apply_announcement(message)
            except Exception:
                log.exception("config announcement not applied: %.300s", message)

    async def announce(self, kind: str, **payload: Any) -> None:
        """Tell the other workers of a shared store about a change made here."""
        if not self.shared:
            return
        message = json.dumps({"origin": self.worker_id, "kind": kind, **payload},
                             separators=(",", ":"))
        store: Any = self.store
        await store.publish_config(message)

    async def publish_rules(
        self, ruleset: RulesetSpec, *, base_version: int | None, author: str, comment: str,
        source: SourceMap | None,
    ) -> Published:
        """Publish a ruleset version (`RuleEngine.publish`) and announce it to the other
        workers, which load that version from the shared repository."""
        result = self.rules.publish(ruleset, base_version=base_version, author=author,
                                    comment=comment, source=source)
        await self.announce("rules", version=result.version.number)
        return result

    async def rollback_rules(
        self, to_version: int, *, base_version: int | None, author: str, comment: str,
    ) -> Published:
        """`RuleEngine.rollback`, announced like a publish."""
        result = self.rules.rollback(to_version, base_version=base_version, author=author,
                                     comment=comment)
        await self.announce("rules", version=result.version.number)
        return result


    async def apply_announcement(self, message: str) -> None:
        """Apply a change another worker announced (this worker's own are skipped)."""
        if not message.startswith("{"):
            return  # not ours (older workers also sent bare `topology:<what>` notes)
        data = json.loads(message)
        if data.get("origin") == self.worker_id:
            return
        kind = data.get("kind")
        if kind == "rules":
            await self._adopt_rules(data.get("version"))
        elif kind == "sla":
            self.set_policies(SlaPolicies.from_mapping(data["policies"], "<announcement>",
                                                       self.topology))
        else:
            async with self._change_lock:
                candidate = announced_topology(self.topology, kind, data)
                if candidate is None:
                    log.warning("unknown config announcement %r", kind)
                    return
                self._adopt(candidate)
                adopt = getattr(self.store, "adopt_topology", None)
                if adopt is not None:
                    adopt(candidate)

    async def _adopt_rules(self, number: int | None) -> None:
        repository = self.rules.repository
        if number is None:
            version = await asyncio.to_thread(repository.current)
            if version is None:
                return
        else:
            version = await asyncio.to_thread(repository.get, int(number))
        # RuleEngine has no public "install this stored version" yet (rules/engine.py).
        self.rules._install(self.rules._compiled(version))

    # ------------------------------------------------------------------ ingest
    async def ingest(self, adapter_name: str, request: InboundRequest) -> list[IngestOutcome]:
        """One webhook delivery (possibly a batch) through the single ingest path."""
        adapter = self.adapters[adapter_name]
        adapter.verify(request)
        now = self.clock()
        return [await self.ingest_item(item, now) for item in adapter.parse(request, now)]

    async def ingest_normalized(self, data: InteractionIn) -> IngestOutcome:
        """The generic JSON endpoint: a pre-normalized interaction, same path as webhooks."""
        now = self.clock()
        item = normalized_inbound(data, now, self.settings.default_region)
        return await self.ingest_item(item, now, customer_id=data.customer_id)

    async def ingest_item(
        self, item: Inbound, now: float, customer_id: str | None = None
    ) -> IngestOutcome:
        # Serialised: decide → act → apply must not interleave for one key, and with
        # the memory store nothing inside awaits for long.
        async with self._ingest_lock:
            decision = decide(item, identity=self.identity, conversations=self.conversations,
                              gate=self.gate, now=now)
            # A caller-given customer id overrides the one resolved from the addresses.
            if customer_id is not None and decision.interaction.customer_id != customer_id:
                decision = replace(
                    decision, interaction=replace(decision.interaction, customer_id=customer_id)
                )
            decision, outcome = await self._act(decision, now)
            apply(decision, identity=self.identity, conversations=self.conversations,
                  gate=self.gate, now=now)
            return outcome

    async def _act(
        self, decision: IngestDecision, now: float
    ) -> tuple[IngestDecision, IngestOutcome]:
        kind = decision.kind
        if kind is DecisionKind.DUPLICATE:
            return decision, await self._duplicate(decision)
        if kind is DecisionKind.HANGUP:
            return decision, await self._hangup(decision)
        if kind is DecisionKind.AUTO_REPLY:
            return decision, IngestOutcome(decision.target_id, kind, False)
        if kind is DecisionKind.FOLLOW_UP:
            outcome = await self._follow_up(decision, now)
            if outcome is not None:
                return decision, outcome
            # The open interaction is gone from the store: this message is new work.
            decision = replace(decision, kind=DecisionKind.NEW,
                               target_id=decision.interaction.id)
        return decision, await self._new(decision, now)

    async def _new(self, decision: IngestDecision, now: float) -> IngestOutcome:
        interaction = decision.interaction
        classification = self.classify(interaction, now)
        result = await self.service.decide(self.store.ingest(interaction, classification.plan))
        if result.created:
            self.metrics.count_rule(classification.rule)
        return IngestOutcome(result.interaction_id, DecisionKind.NEW, result.created,
                             result.status, classification.rule, classification.version)

    async def _duplicate(self, decision: IngestDecision) -> IngestOutcome:
        status: Status | None = None
        # An auto-reply or hang-up id, or one long evicted, is not in the store: the id
        # still stands.
        with contextlib.suppress(UnknownInteraction):
            status = (await self.store.get(decision.target_id)).status
        return IngestOutcome(decision.target_id, DecisionKind.DUPLICATE, False, status)

    async def _hangup(self, decision: IngestDecision) -> IngestOutcome:
        target = decision.target_id
        try:
            view = await self.store.get(target)
        except UnknownInteraction:
            return IngestOutcome(target, DecisionKind.HANGUP, False)
        if view.status in _ABANDONABLE:
            view = await self.store.abandon(target, "caller_hangup")
        return IngestOutcome(target, DecisionKind.HANGUP, False, view.status)

    async def _follow_up(self, decision: IngestDecision, now: float) -> IngestOutcome | None:
        target = decision.target_id
        try:
            view = await self.store.get(target)
        except UnknownInteraction:
            return None
        if view.status in FINAL_STATUSES:
            return None
        message = decision.interaction
        self.follow_ups.setdefault(target, []).append(
            FollowUp(now, message.channel, message.idempotency_key, message.summary)
        )
        return IngestOutcome(target, DecisionKind.FOLLOW_UP, False, view.status,
                             view.plan.rule, view.plan.rule_version)

    # ------------------------------------------------------------------ rules
    def profile(self, customer_id: str | None) -> CustomerProfile:
        return self.directory.profile(customer_id or "anonymous")

    def classify(self, interaction: Interaction, now: float) -> Classification:
        return self.rules.classify(interaction, self.profile(interaction.customer_id), now)

    def explain(self, view: WorkView) -> DryRun | None:
        """Re-evaluate the rules version that routed `view`, with every rule's outcome."""
        try:
            return self.rules.dry_run(view.interaction, self.profile(view.interaction.customer_id),
                                      self.clock(), version=view.plan.rule_version)
        except Exception:  # explain is best effort: a view must still render
            log.debug("explain failed for %s", view.id, exc_info=True)
            return None

    # ------------------------------------------------------------------ routing changes
    async def replan(self, interaction_id: str, reason: str | None = None) -> WorkView:
        """Classify again with the live rules and move the interaction to the new plan."""
        view = await self.store.get(interaction_id)
        plan = self.classify(view.interaction, self.clock()).plan
        return await self.store.transfer(interaction_id, plan, reason or "replan")

    async def transfer(
        self, interaction_id: str, queue: str, *, skills: Mapping[str, int] | None = None,
        priority: int | None = None, agent_id: str | None = None, reason: str | None = None,
    ) -> WorkView:
        """Move to another queue, keeping the plan's other terms unless given."""
        if queue not in self.topology.queues:
            raise UnknownQueue(queue)
        view = await self.store.get(interaction_id)
        plan = transfer_plan(view.plan, queue, skills, priority, agent_id)
        return await self.store.transfer(interaction_id, plan, reason or "transfer")

    # ------------------------------------------------------------------ live changes
    # Each change is checked against a candidate topology first (references, other
    # agents' queues, the published ruleset), then applied to the store, and only then
    # adopted here and by the rule engine, so a refused or failed change leaves all
    # three as they were. Changes live in memory: a restart reloads config/.
    async def upsert_team(self, team: Team) -> Change:
        async with self._change_lock:
            created = team.id not in self.topology.teams
            candidate = self.topology.with_team(team)
            warnings = self._check_candidate(candidate)
            await self.store.upsert_team(team)
            self._adopt(candidate)
            await self.announce("team", team=asdict(team))
            return Change(created, warnings)

    async def upsert_queue(self, queue: Queue) -> Change:
        async with self._change_lock:
            if queue.team not in self.topology.teams:
                raise InvalidReference("team", queue.team, f"queue {queue.id!r}: unknown team"
                                       f" {queue.team!r} (teams: {_known(self.topology.teams)})")
            created = queue.id not in self.topology.queues
            candidate = self.topology.with_queue(queue)
            warnings = self._check_candidate(candidate)
            try:
                await self.store.upsert_queue(queue)
            except ConfigError as exc:  # work waits in it: it cannot change team now
                raise ChangeRefused(str(exc)) from None
            self._adopt(candidate)
            await self.announce("queue", queue=asdict(queue))
            return Change(created, warnings)

    async def upsert_agent(self, profile: AgentProfile) -> tuple[Change, AgentView]:
        async with self._change_lock:
            check_agent_references(profile, self.topology)
            created = profile.id not in self.topology.agents
            candidate = self.topology.with_agent(profile)
            warnings = self._check_candidate(candidate)
            view = await self.store.upsert_agent(profile)
            self._adopt(candidate)
            await self.announce("agent", agent=agent_data(profile))
            return Change(created, warnings), view

    async def remove_agent(self, agent_id: str) -> Change:
        """Raises UnknownAgent, ChangeRefused (the ruleset needs it) or AgentBusy."""
        async with self._change_lock:
            if agent_id not in self.topology.agents:
                raise UnknownAgent(agent_id)
            candidate = self.topology.without_agent(agent_id)
            warnings = self._check_candidate(candidate)
            await self.store.remove_agent(agent_id)
            self._adopt(candidate)
            await self.announce("agent_removed", id=agent_id)
            return Change(False, warnings)

    async def change_policies(self, data: Mapping[str, Any]) -> SlaPolicies:
        """Replace the SLA policy set with the one `data` describes (the mapping
        `SlaPolicies.from_mapping` reads; a ConfigError names what it refuses), here and,
        through the announcement, on every other worker."""
        policies = SlaPolicies.from_mapping(data, "<request body>", self.topology)
        self.set_policies(policies)
        await self.announce("sla", policies=dict(data))
        return policies

    def set_policies(self, policies: SlaPolicies) -> None:
        """Swap the SLA policy set: interactions enqueued from now on get its deadlines.

        Waiting work keeps the deadline it was ordered by. `/stats` targets, short
        abandons and the Prometheus target gauges follow at once; the wait histogram's
        bucket edges are fixed per process (a running series cannot change buckets), so a
        new threshold that is not an edge is logged and becomes one at the next restart.
        `change_policies` calls it and announces the set; every other worker of a shared
        store applies the announcement here too.
        """
        self.store.set_deadlines(policies)
        self.policies = policies
        self.tracker.set_policies(policies)
        off_edge = self.metrics.set_policies(policies)
        if off_edge:
            log.warning("SLA thresholds %s s are not wait-histogram bucket edges until a"
                        " restart: PromQL service level for them is approximate", off_edge)

    def _check_candidate(self, candidate: Topology) -> tuple[Problem, ...]:
        check_serving_queues(candidate)
        current = self.rules.repository.current()
        if current is None:
            return ()
        try:
            compiled = compile_ruleset(current.ruleset, candidate, version=current.number)
        except RulesetInvalid as invalid:
            first = invalid.problems[0]
            raise ChangeRefused(
                f"the published ruleset (version {current.number}) would become invalid:"
                f" rule {first.rule!r}: {first.message}; publish a ruleset that does not"
                " depend on it first", invalid.problems,
            ) from None
        return compiled.warnings

    def _adopt(self, candidate: Topology) -> None:
        self.topology = candidate
        self.rules.topology = candidate

    # ------------------------------------------------------------------ reading
    async def stats(self) -> tuple[Snapshot, SlaStats]:
        snapshot = await self.store.snapshot()
        return snapshot, self.tracker.stats(snapshot.at, snapshot)

    async def readiness(self) -> dict[str, bool]:
        checks = {"store": False, "rules": False, "service": self.started}
        try:
            checks["store"] = await self.store.ping()
        except Exception:
            log.warning("store ping failed", exc_info=True)
        with contextlib.suppress(NothingPublished):
            checks["rules"] = self.rules.active is not None
        return checks

    def _on_event(self, event: Event) -> None:
        # A finished interaction ends its conversation: the next message is new work.
        if isinstance(event, InteractionEvent) and event.kind in _FINISHED_KINDS:
            self.conversations.close(event.interaction_id)


# ---------------------------------------------------------------------- helpers
def open_store(
    url: str, topology: Topology, clock: Clock, policies: SlaPolicies,
    engine_settings: EngineSettings | None,
) -> Store:
    if url.startswith("memory://"):
        return MemoryStore(topology, clock, policies, engine_settings)
    if url.startswith(("redis://", "rediss://")):
        # Imported here: the redis client stays out of memory-store processes.
        from router.redis_store import RedisStore

        return RedisStore(topology, clock, policies, engine_settings, url=url)
    raise ConfigError(
        f"OMNIROUTE_STORE_URL: unsupported store {url!r} (use memory:// or redis://host:port/db)"
    )


def seed_rules(path: Path, topology: Topology) -> RuleEngine:
    """A rule engine whose version 1 is the rules file (validated with positions)."""
    engine = RuleEngine(InMemoryRuleRepository(time.time), topology)
    loaded = load_ruleset(path)
    engine.publish(loaded.spec, base_version=None, author="config",
                   comment=f"seeded from {path.name}", source=loaded.source)
    return engine


def shared_rules(url: str, path: Path, topology: Topology) -> RuleEngine:
    """A rule engine over the site's versions in Redis; the rules file seeds version 1
    only if nothing was published yet (the first worker to start wins the race)."""
    from router.redis_rules import RedisRuleRepository

    repository = RedisRuleRepository(url, topology.site)
    if repository.count() == 0:
        loaded = load_ruleset(path)
        compile_ruleset(loaded.spec, topology, loaded.source)  # errors with positions
        with contextlib.suppress(VersionConflict):
            repository.publish(loaded.spec, base_version=None, author="config",
                               comment=f"seeded from {path.name}")
    return RuleEngine(repository, topology)


def agent_data(profile: AgentProfile) -> dict[str, Any]:
    return {"id": profile.id, "teams": list(profile.teams), "name": profile.name,
            "skills": dict(profile.skills),
            "capacity": {c.value: n for c, n in profile.capacity.items()},
            "blocking": sorted(c.value for c in profile.blocking),
            "queues": list(profile.queues)}


def agent_from_data(data: Mapping[str, Any]) -> AgentProfile:
    return AgentProfile(id=data["id"], teams=tuple(data["teams"]), name=data["name"],
                        skills=dict(data["skills"]),
                        capacity={Channel(c): int(n) for c, n in data["capacity"].items()},
                        blocking=frozenset(Channel(c) for c in data["blocking"]),
                        queues=tuple(data["queues"]))


def announced_topology(
    topology: Topology, kind: object, data: Mapping[str, Any]
) -> Topology | None:
    """The topology after an announced change (None for an unknown kind)."""
    if kind == "team":
        return topology.with_team(Team(**data["team"]))
    if kind == "queue":
        return topology.with_queue(Queue(**data["queue"]))
    if kind == "agent":
        return topology.with_agent(agent_from_data(data["agent"]))
    if kind == "agent_removed":
        return topology.without_agent(data["id"])
    return None


def _known(ids: Mapping[str, object]) -> str:
    return ", ".join(sorted(ids)) or "none"


def check_agent_references(profile: AgentProfile, topology: Topology) -> None:
    """The agent's teams exist; its queues exist and belong to one of its teams."""
    for team in profile.teams:
        if team not in topology.teams:
            raise InvalidReference("teams", team, f"agent {profile.id!r}: unknown team"
                                   f" {team!r} (teams: {_known(topology.teams)})")
    for queue_id in profile.queues:
        queue = topology.queues.get(queue_id)
        if queue is None:
            raise InvalidReference("queues", queue_id, f"agent {profile.id!r}: unknown queue"
                                   f" {queue_id!r} (queues: {_known(topology.queues)})")
        if queue.team not in profile.teams:
            raise InvalidReference("queues", queue_id,
                                   f"agent {profile.id!r}: queue {queue_id!r} belongs to team"
                                   f" {queue.team!r}, not one of {list(profile.teams)}")


def check_serving_queues(topology: Topology) -> None:
    """Every agent's explicit queues still belong to its teams (a queue may have moved)."""
    for agent in topology.agents.values():
        for queue_id in agent.queues:
            queue = topology.queues.get(queue_id)
            if queue is None or queue.team not in agent.teams:
                raise ChangeRefused(
                    f"agent {agent.id!r} serves queue {queue_id!r}, which would no longer"
                    " belong to one of its teams; change the agent first"
                )


def load_tokens(path: Path, agents: frozenset[str]) -> TokenRegistry:
    if not path.exists():
        raise ConfigError(
            f"OMNIROUTE_TOKENS_FILE: {str(path)!r} does not exist (every API route needs"
            " a token; see config/tokens.yaml for the format)"
        )
    return TokenRegistry.load(path, agents)


def transfer_plan(
    plan: RoutingPlan, queue: str, skills: Mapping[str, int] | None, priority: int | None,
    agent_id: str | None,
) -> RoutingPlan:
    changed = replace(plan, queue=queue, steps=(), overflow_queue=plan.overflow_queue)
    if skills is not None:
        changed = replace(changed, skills=tuple(
            sorted(SkillRequirement(name, level) for name, level in skills.items())
        ))
    if priority is not None:
        changed = replace(changed, priority=priority)
    if agent_id is not None:
        changed = replace(changed, preferred_agent=agent_id,
                          preferred_timeout=plan.preferred_timeout or 30.0)
    return changed


def normalized_inbound(data: InteractionIn, now: float, region: str) -> Inbound:
    """A generic JSON interaction as an `Inbound`, with a canonical identity address."""
    key = data.idempotency_key
    channel = Channel(data.channel)
    address = _canonical(channel, data.address, region)
    interaction = Interaction(
        id=make_interaction_id(channel, key),
        channel=channel,
        idempotency_key=key,
        created_at=now,
        customer_id=data.customer_id,
        address=address,
        to=data.to,
        subject=data.subject,
        summary=data.summary,
        language=data.language,
        intent=data.intent,
        sentiment=data.sentiment,
        public=data.public,
        reach=data.reach,
        attributes=dict(data.attributes or {}),
    )
    conversation = data.conversation_key or f"api:{channel.value}:{key}"
    return Inbound(
        kind=InboundKind.MESSAGE,
        interaction=interaction,
        addresses=() if address is None else (address,),
        conversation_key=conversation,
        # Only an explicit conversation key lets later messages join this one.
        join_window=None if data.conversation_key else 0.0,
    )


def _canonical(channel: Channel, address: str | None, region: str) -> str | None:
    if not address:
        return None
    if channel in (Channel.VOICE, Channel.SMS):
        return voice_endpoint(address, region, "address")
    if channel is Channel.EMAIL:
        return normalize_email(address, "address")
    if ":" not in address:
        raise UnprocessablePayload(
            "address", "social addresses are written network:user-id", address
        )
    return address
