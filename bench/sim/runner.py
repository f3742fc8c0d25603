"""The discrete-event loop around the real routing core.

One heap of simulation events (arrivals, offers being accepted, work finishing,
abandonment deadlines, presence changes) is merged with the engine's own timers: the
loop moves the virtual clock to whichever comes first — the next simulation event or
`engine.next_timer_at()` — and either handles the event or calls `engine.tick()`.

Everything routing-related is the product's code: rules classify each arrival
(`CompiledRuleset.classify`), the `RoutingEngine` queues and matches, SLA deadlines
come from `SlaPolicies`, and service level is measured by the `ServiceLevelTracker`
subscribed to the engine's events, exactly as in the live service. The simulator only
plays the customers and the agents.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import IntEnum

from agents.model import Presence
from bench.sim.model import AgentPlan, Scenario
from bench.sim.traffic import Arrival, generate
from router.clock import VirtualClock
from router.engine import EngineSettings, RoutingEngine
from router.events import Event, EventKind, InteractionEvent
from router.interaction import Channel
from router.topology import Topology
from rules import CompiledRuleset, RulesetSpec, compile_ruleset
from sla.measure import ServiceLevelTracker, SlaStats
from sla.policy import SlaPolicies

TeamChannel = tuple[str, Channel]


class _Kind(IntEnum):
    # Order breaks ties at equal times: presence first so a shift starting at t sees
    # the arrivals of t; completions before arrivals so freed capacity is used.
    PRESENCE = 0
    COMPLETE = 1
    WORK_DONE = 2
    ACCEPT = 3
    ARRIVAL = 4
    ABANDON = 5


@dataclass(slots=True)
class Occupancy:
    """Capacity-weighted busy seconds and available seconds, per interval.

    An item held from accept to completion counts 1/capacity of its agent's slots on
    that channel: an agent with 3 chats at chat capacity 3 is fully occupied.
    """

    interval: float
    busy: dict[TeamChannel, dict[float, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    staffed: dict[str, dict[float, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add_busy(self, key: TeamChannel, start: float, end: float, weight: float) -> None:
        for bucket, seconds in _split(start, end, self.interval):
            self.busy[key][bucket] += seconds * weight

    def add_staffed(self, team: str, start: float, end: float) -> None:
        for bucket, seconds in _split(start, end, self.interval):
            self.staffed[team][bucket] += seconds

    def series(self, key: TeamChannel) -> dict[float, float]:
        """Occupancy per interval start for one team × channel."""
        staffed = self.staffed.get(key[0], {})
        busy = self.busy.get(key, {})
        return {start: busy.get(start, 0.0) / seconds
                for start, seconds in sorted(staffed.items()) if seconds > 0}

    def overall(self, key: TeamChannel, since: float = -math.inf) -> float | None:
        staffed = sum(s for t, s in self.staffed.get(key[0], {}).items() if t >= since)
        busy = sum(s for t, s in self.busy.get(key, {}).items() if t >= since)
        return busy / staffed if staffed > 0 else None


def _split(start: float, end: float, interval: float) -> list[tuple[float, float]]:
    parts = []
    cursor = start
    while cursor < end:
        bucket = math.floor(cursor / interval) * interval
        stop = min(end, bucket + interval)
        parts.append((bucket, stop - cursor))
        cursor = stop
    return parts


@dataclass(frozen=True, slots=True)
class SimResult:
    scenario: str
    seed: int
    start: float
    end: float
    measured_from: float
    stats: SlaStats
    occupancy: Occupancy
    arrivals: int
    outcomes: dict[str, int]
    wall_seconds: float
    engine_calls: int


def build_topology(scenario: Scenario) -> Topology:
    data = dict(scenario.topology)
    data["agents"] = [dict(plan.spec) for plan in scenario.agents]
    return Topology.from_mapping(data, f"<scenario {scenario.name}>")


class Simulation:
    """One run. Construct, then `run()`; not reusable."""

    def __init__(self, scenario: Scenario, ruleset: CompiledRuleset,
                 traffic: list[Arrival], seed: int = 0) -> None:
        self.scenario = scenario
        self.seed = seed
        self.ruleset = ruleset
        self.traffic = traffic
        self.clock = VirtualClock(scenario.start)
        self.topology = build_topology(scenario)
        self.policies = SlaPolicies.from_mapping(dict(scenario.sla), "<scenario sla>",
                                                 self.topology)
        # Offers never time out in the simulation (think time is short) and wrap-up
        # ends when the simulated agent says so, not at the engine's safety timeout.
        settings = EngineSettings(offer_timeout=600.0, wrap_up_timeout=10 * 3600.0,
                                  retain_finished=1_000)
        self.engine = RoutingEngine(self.topology, self.clock, self.policies, settings)
        intervals = math.ceil(scenario.hours * 3600.0 / scenario.interval) + 2
        self.tracker = ServiceLevelTracker(self.policies, interval=scenario.interval,
                                           history=intervals)
        self.engine.subscribe(self.tracker)
        self.engine.subscribe(self._on_event)
        self.occupancy = Occupancy(scenario.interval)
        self._heap: list[tuple[float, _Kind, int, str, str]] = []
        self._seq = itertools.count()
        self._by_id: dict[str, Arrival] = {}
        self._reserved: dict[str, str] = {}
        self._unanswered: set[str] = set()
        self._assigned_at: dict[str, float] = {}
        self._outcomes: dict[str, int] = defaultdict(int)
        self._calls = 0

    # ------------------------------------------------------------------ scheduling
    def _push(self, at: float, kind: _Kind, a: str, b: str = "") -> None:
        heapq.heappush(self._heap, (at, kind, next(self._seq), a, b))

    def _schedule_staff(self) -> None:
        for plan in self.scenario.agents:
            self._schedule_agent(plan)

    def _schedule_agent(self, plan: AgentPlan) -> None:
        base = self.scenario.start
        self._push(base + plan.shift_start, _Kind.PRESENCE, plan.id, Presence.AVAILABLE.value)
        for brk in plan.breaks:
            start = base + plan.shift_start + brk.start
            self._push(start, _Kind.PRESENCE, plan.id, f"{Presence.NOT_READY.value}:{brk.reason}")
            self._push(start + brk.length, _Kind.PRESENCE, plan.id, Presence.AVAILABLE.value)
        self._push(base + plan.shift_end, _Kind.PRESENCE, plan.id, Presence.OFFLINE.value)
        team = str(plan.spec["teams"][0])
        for start, end in plan.available_periods():
            self.occupancy.add_staffed(team, base + start, base + end)

    # ------------------------------------------------------------------ events from the core
    def _on_event(self, event: Event) -> None:
        """Subscriber: only bookkeeping and scheduling, never a call back into the engine."""
        if not isinstance(event, InteractionEvent):
            return
        kind = event.kind
        if kind is EventKind.RESERVED and event.agent_id is not None:
            self._reserved[event.interaction_id] = event.agent_id
            think = self._by_id[event.interaction_id].think
            self._push(event.at + think, _Kind.ACCEPT, event.interaction_id, event.agent_id)
        elif kind is EventKind.ASSIGNED:
            self._reserved.pop(event.interaction_id, None)
            self._unanswered.discard(event.interaction_id)
            self._assigned_at[event.interaction_id] = event.at
        elif kind in (EventKind.REJECTED, EventKind.OFFER_EXPIRED):
            self._reserved.pop(event.interaction_id, None)
        elif kind in (EventKind.ABANDONED, EventKind.EXPIRED, EventKind.CANCELLED):
            self._reserved.pop(event.interaction_id, None)
            self._unanswered.discard(event.interaction_id)
            self._outcomes[kind.value] += 1
            self._by_id.pop(event.interaction_id, None)
        elif kind is EventKind.COMPLETED:
            self._outcomes[kind.value] += 1
            self._account_work(event)

    def _account_work(self, event: InteractionEvent) -> None:
        assigned = self._assigned_at.pop(event.interaction_id, None)
        self._by_id.pop(event.interaction_id, None)
        if assigned is None or event.agent_id is None:
            return
        profile = self.topology.agents[event.agent_id]
        slots = profile.capacity.get(event.channel, 1) or 1
        key = (profile.teams[0], event.channel)
        self.occupancy.add_busy(key, assigned, event.at, 1.0 / slots)

    # ------------------------------------------------------------------ handlers
    def _arrive(self, arrival: Arrival) -> None:
        interaction = arrival.interaction
        self._by_id[interaction.id] = arrival
        self._unanswered.add(interaction.id)
        plan = self.ruleset.classify(interaction, arrival.customer, self.clock.now).plan
        self.engine.ingest(interaction, plan)
        self._calls += 1
        if math.isfinite(arrival.patience):
            self._push(arrival.at + arrival.patience, _Kind.ABANDON, interaction.id)

    def _handle(self, kind: _Kind, a: str, b: str) -> None:
        engine = self.engine
        if kind is _Kind.ACCEPT:
            if self._reserved.get(a) != b:
                return  # abandoned or handed back meanwhile
            engine.accept(b, a)
            arrival = self._by_id[a]
            self._push(self.clock.now + arrival.handle, _Kind.WORK_DONE, a, b)
        elif kind is _Kind.WORK_DONE:
            arrival = self._by_id[a]
            if arrival.wrap_up > 0:
                engine.wrap_up(b, a)
                self._push(self.clock.now + arrival.wrap_up, _Kind.COMPLETE, a, b)
            else:
                engine.complete(b, a)
        elif kind is _Kind.COMPLETE:
            engine.complete(b, a)
        elif kind is _Kind.ABANDON:
            if a not in self._unanswered:
                return
            engine.abandon(a, "customer_left")
        elif kind is _Kind.PRESENCE:
            presence, _, reason = b.partition(":")
            engine.set_presence(a, Presence(presence), reason or None, auto_offer=True)
        self._calls += 1

    # ------------------------------------------------------------------ the loop
    def run(self) -> SimResult:
        started = time.perf_counter()
        self._schedule_staff()
        for index, arrival in enumerate(self.traffic):
            self._push(arrival.at, _Kind.ARRIVAL, str(index))
        end = self.scenario.start + self.scenario.hours * 3600.0
        heap, engine, clock = self._heap, self.engine, self.clock
        while heap:
            at = heap[0][0]
            timer = engine.next_timer_at()
            if timer is not None and timer <= at:
                if timer > end:
                    break
                clock.set(max(clock.now, timer))
                engine.tick()
                continue
            if at > end:
                break
            _, kind, _, a, b = heapq.heappop(heap)
            clock.set(max(clock.now, at))
            if kind is _Kind.ARRIVAL:
                self._arrive(self.traffic[int(a)])
            else:
                self._handle(kind, a, b)
        clock.set(max(clock.now, end))
        engine.tick()
        return SimResult(
            scenario=self.scenario.name, seed=self.seed, start=self.scenario.start, end=end,
            measured_from=self.scenario.start + self.scenario.warmup,
            stats=self.tracker.stats(end, engine.snapshot()), occupancy=self.occupancy,
            arrivals=len(self.traffic), outcomes=dict(self._outcomes),
            wall_seconds=time.perf_counter() - started, engine_calls=self._calls,
        )


def compile_rules(spec: RulesetSpec, scenario: Scenario) -> CompiledRuleset:
    return compile_ruleset(spec, build_topology(scenario), version=1)


def simulate(scenario: Scenario, rules: RulesetSpec, seed: int = 7) -> SimResult:
    """Generate the traffic for `seed` and run it through the real routing core."""
    traffic = generate(scenario, seed)
    return Simulation(scenario, compile_rules(rules, scenario), traffic, seed).run()
