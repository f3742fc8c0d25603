"""Core benchmark: the in-process routing engine, no I/O.

    python -m bench.core            # full run (fills 1M queued: needs ~2-3 GB and minutes)
    python -m bench.core --quick    # seconds; proves the harness works, numbers indicative

What is measured (virtual clock, so timers never interfere):
- lifecycles/s: steady state with a backlog of Q queued interactions; each lifecycle is
  ingest (enqueue) → an agent pulls (the decision: best eligible by the universal order)
  → accept → complete. One in, one out, so the backlog stays at Q.
- decision latency p50/p99: the pull alone, timed per call.
- push decisions: an interaction arrives and is matched to the best ready agent
  (agents in push mode, no backlog), timed per ingest.
- scaling: pull decision cost at Q = 1k … 1M queued.
- memory: RSS growth per queued interaction while filling the backlog.
- GC: the engine runs with the collector tuned as the service tunes it
  (`router.service.tune_gc`: freeze what exists, gen0 threshold 50,000).
- subscribers: the lifecycle rate again with the SLA tracker and Prometheus recorder
  subscribed, for their overhead; also on top of a catch-all subscriber, as when served
  (`--subscribers-only` runs just this section, about a minute).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.model import AgentProfile, Presence, Queue, Team
from bench.report import percentile, scenario_parser, summarize, write_result
from router.clock import VirtualClock
from router.engine import RoutingEngine
from router.interaction import Channel, Interaction
from router.plan import RoutingPlan, SkillRequirement
from router.service import tune_gc
from router.topology import Topology

QUEUES = ("general", "billing", "vip", "social")
CHANNELS = (Channel.VOICE, Channel.CHAT, Channel.SMS, Channel.EMAIL, Channel.SOCIAL)
REQUIREMENTS: tuple[tuple[SkillRequirement, ...], ...] = (
    (),
    (SkillRequirement("english", 2),),
    (SkillRequirement("billing", 2),),
    (SkillRequirement("spanish", 3),),
)


def topology(agents: int) -> Topology:
    teams = {"csr": Team("csr"), "social_care": Team("social_care", social_care=True)}
    queues = {q: Queue(q, "social_care" if q == "social" else "csr") for q in QUEUES}
    rng = random.Random(7)
    profiles = {}
    for n in range(agents):
        social = n % 10 == 0
        skills = {"english": rng.randint(2, 5), "billing": rng.randint(1, 5)}
        if n % 3 == 0:
            skills["spanish"] = rng.randint(3, 5)
        profiles[f"a{n}"] = AgentProfile(
            id=f"a{n}", teams=("social_care",) if social else ("csr",), skills=skills
        )
    return Topology("bench", teams, queues, profiles)


@dataclass
class Workload:
    rng: random.Random
    counter: int = 0

    def next(self, now: float) -> tuple[Interaction, RoutingPlan]:
        self.counter += 1
        n = self.counter
        channel = CHANNELS[n % len(CHANNELS)]
        queue = "social" if channel is Channel.SOCIAL else QUEUES[n % 3]
        interaction = Interaction(
            id=f"i{n}", channel=channel, idempotency_key=f"k{n}", created_at=now,
            customer_id=f"c{n % 50_000}", public=channel is Channel.SOCIAL,
        )
        plan = RoutingPlan(
            queue, skills=REQUIREMENTS[self.rng.randrange(len(REQUIREMENTS))],
            priority=self.rng.choice((0, 0, 0, 1, 2)),
        )
        return interaction, plan


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def ready_engine(agents: int, push: bool) -> tuple[RoutingEngine, VirtualClock, Workload]:
    """An engine with `agents` available agents (push or pull mode) and nothing queued."""
    clock = VirtualClock(start=1_700_000_000.0)
    engine = RoutingEngine(topology(agents), clock)
    for agent_id in engine.agent_ids():
        engine.set_presence(agent_id, Presence.AVAILABLE, auto_offer=push)
    return engine, clock, Workload(random.Random(11))


def fill(engine: RoutingEngine, clock: VirtualClock, workload: Workload, queued: int) -> None:
    """Ingest `queued` arrivals, one virtual millisecond apart."""
    for _ in range(queued):
        engine.ingest(*workload.next(clock.now))
        clock.now += 0.001


def build(
    agents: int, queued: int, push: bool
) -> tuple[RoutingEngine, VirtualClock, Workload, int]:
    engine, clock, workload = ready_engine(agents, push)
    gc.collect()
    before = rss_bytes()
    fill(engine, clock, workload, queued)
    gc.collect()
    grown = rss_bytes() - before
    tune_gc()  # what RoutingService.start() does in production
    return engine, clock, workload, grown


def attach_subscribers(engine: RoutingEngine) -> None:
    from router.metrics import MetricsRecorder
    from sla.measure import ServiceLevelTracker
    from sla.policy import SlaPolicies

    policies = SlaPolicies([])
    engine.subscribe(ServiceLevelTracker(policies))
    engine.subscribe(MetricsRecorder.from_policies(policies, snapshot=engine.snapshot))


def pull_lifecycles(
    engine: RoutingEngine, clock: VirtualClock, workload: Workload, count: int
) -> tuple[float, list[float]]:
    """`count` lifecycles in pull mode; returns (lifecycles/s, pull latencies in µs)."""
    agents = engine.agent_ids()
    rng = random.Random(5)
    latencies: list[float] = []
    perf = time.perf_counter
    # Arrivals are built before timing: parsing and classification have their own
    # benchmarks (adapters, rules); this one measures the routing core.
    arrivals = iter([workload.next(clock.now) for _ in range(count * 2)])
    picks = iter([agents[rng.randrange(len(agents))] for _ in range(count * 2)])
    done = 0
    started = perf()
    while done < count:
        engine.ingest(*next(arrivals))
        agent_id = next(picks)
        t0 = perf()
        reservation = engine.pull(agent_id)
        latencies.append((perf() - t0) * 1e6)
        if reservation is not None:
            engine.accept(agent_id, reservation.interaction_id)
            engine.complete(agent_id, reservation.interaction_id)
            done += 1
        clock.now += 0.001
    elapsed = perf() - started
    return done / elapsed, latencies


def push_decisions(
    engine: RoutingEngine, clock: VirtualClock, workload: Workload, count: int
) -> tuple[float, list[float]]:
    """Arrivals matched to ready agents; each is then accepted and completed."""
    latencies: list[float] = []
    perf = time.perf_counter
    arrivals = [workload.next(clock.now) for _ in range(count)]
    started = perf()
    for interaction, plan in arrivals:
        t0 = perf()
        engine.ingest(interaction, plan)
        latencies.append((perf() - t0) * 1e6)
        view = engine.view(interaction.id)
        if view.agent_id is not None:
            engine.accept(view.agent_id, interaction.id)
            engine.complete(view.agent_id, interaction.id)
        clock.now += 0.001
    return count / (perf() - started), latencies


def latency_summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_us": percentile(ordered, 0.50),
        "p99_us": percentile(ordered, 0.99),
        "max_us": ordered[-1],
    }


@dataclass(frozen=True)
class Plan:
    lifecycle_sizes: tuple[tuple[int, int], ...]  # (agents, queued)
    scaling: tuple[int, ...]
    lifecycles: int
    repeats: int


FULL = Plan(((1_000, 10_000), (50_000, 1_000_000)), (1_000, 10_000, 100_000, 1_000_000),
            50_000, 3)
QUICK = Plan(((200, 2_000),), (1_000, 10_000), 3_000, 2)


Measure = Callable[[RoutingEngine, VirtualClock, Workload, int], tuple[float, list[float]]]


def repeated(
    measure: Measure, engine: RoutingEngine, clock: VirtualClock, workload: Workload,
    plan: Plan,
) -> tuple[list[float], list[float]]:
    """`plan.repeats` runs of `measure`: the rate of each, and all their latencies."""
    rates: list[float] = []
    latencies: list[float] = []
    for _ in range(plan.repeats):
        rate, found = measure(engine, clock, workload, plan.lifecycles)
        rates.append(rate)
        latencies.extend(found)
    return rates, latencies


def run(plan: Plan, progress: Callable[[str], None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {"lifecycles": [], "push": [], "scaling": [], "subscribers": {}}
    for agents, queued in plan.lifecycle_sizes:
        progress(f"filling {queued:,} queued with {agents:,} agents (pull mode)")
        engine, clock, workload, grown = build(agents, queued, push=False)
        rates, all_latencies = repeated(pull_lifecycles, engine, clock, workload, plan)
        results["lifecycles"].append({
            "agents": agents, "queued": queued, "lifecycles_per_s": summarize(rates),
            "pull_decision": latency_summary(all_latencies),
            "rss_bytes_per_queued": grown / queued if queued else None,
        })
        progress(f"  {summarize(rates)['median']:,.0f} lifecycles/s,"
                 f" pull p99 {latency_summary(all_latencies)['p99_us']:.1f} µs,"
                 f" {grown / queued:,.0f} B per queued")
        del engine, workload
        gc.collect()

        progress(f"push decisions with {agents:,} ready agents")
        engine, clock, workload, _ = build(agents, 0, push=True)
        rates, all_latencies = repeated(push_decisions, engine, clock, workload, plan)
        results["push"].append({
            "agents": agents, "lifecycles_per_s": summarize(rates),
            "arrival_decision": latency_summary(all_latencies),
        })
        del engine, workload
        gc.collect()

    for queued in plan.scaling:
        progress(f"scaling: pull decision cost at {queued:,} queued")
        engine, clock, workload, grown = build(1_000, queued, push=False)
        _, latencies = pull_lifecycles(engine, clock, workload, min(plan.lifecycles, 20_000))
        results["scaling"].append({"queued": queued, **latency_summary(latencies),
                                   "rss_bytes_per_queued": grown / queued})
        del engine, workload
        gc.collect()

    results["subscribers"] = subscriber_overhead(plan, progress)
    return results


def subscriber_overhead(
    plan: Plan, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Lifecycles/s of identical engines that differ only in their subscribers.

    - without: no subscriber at all (the core builds no event);
    - with: the SLA tracker and the Prometheus recorder (the issue's measure);
    - catch_all and catch_all_with: the same pair on top of one catch-all subscriber,
      which stands in for what a served engine always has (the service's wake-up and
      the SSE hub take every event), so every event is built either way: the cost
      the tracker and recorder add in production.
    The engines take turns in short runs (a fifth of `plan.lifecycles` each, five times
    as many runs), so a slower moment of the machine falls on all. The headline overhead
    is the median over turns of each turn's with/without ratio; the overhead of each
    engine's best run (as `timeit` advises: noise only ever slows a run down) and of the
    medians are kept next to it.
    """
    agents, queued = plan.lifecycle_sizes[0]
    setups: dict[str, tuple[bool, bool]] = {  # label -> (catch-all, tracker + recorder)
        "without": (False, False), "with": (False, True),
        "catch_all": (True, False), "catch_all_with": (True, True),
    }
    engines = {}
    for label, (catch_all, measured) in setups.items():
        engine, clock, workload, _ = build(agents, queued, push=False)
        if catch_all:
            engine.subscribe(lambda event: None)
        if measured:
            attach_subscribers(engine)
        engines[label] = (engine, clock, workload)
    rates: dict[str, list[float]] = {label: [] for label in setups}
    runs, size = plan.repeats * 5, max(1, plan.lifecycles // 5)
    progress(f"subscriber overhead: {runs} turns of {size:,} lifecycles per engine")
    for _ in range(runs):
        for label, (engine, clock, workload) in engines.items():
            # The engines share one process and so one collector: without this, a
            # collection of garbage the other engines left would land on whichever
            # engine happens to run. Each run now starts clean and pays for the
            # collections its own allocations trigger.
            gc.collect()
            rates[label].append(pull_lifecycles(engine, clock, workload, size)[0])
    out: dict[str, Any] = {label: summarize(found) for label, found in rates.items()}
    out["overhead_fraction"] = 1 - out["with"]["max"] / out["without"]["max"]
    out["overhead_fraction_on_catch_all"] = (
        1 - out["catch_all_with"]["max"] / out["catch_all"]["max"])
    out["overhead_fraction_of_medians"] = 1 - out["with"]["median"] / out["without"]["median"]
    # Each turn's pair ran back to back, so a slow spell of the machine falls on both:
    # the median of the per-turn ratios is the steadiest of the three figures.
    out["overhead_fraction_paired"] = paired_overhead(rates["with"], rates["without"])
    out["overhead_fraction_paired_on_catch_all"] = paired_overhead(
        rates["catch_all_with"], rates["catch_all"])
    return out


def paired_overhead(with_: list[float], without: list[float]) -> float:
    """Median over turns of 1 - (rate with) / (rate without) of the same turn."""
    return statistics.median(1 - w / wo for w, wo in zip(with_, without, strict=True))


def markdown(results: dict[str, Any]) -> str:
    lines = ["| agents | queued | lifecycles/s (median) | pull p50 µs | pull p99 µs | B/queued |",
             "|---:|---:|---:|---:|---:|---:|"]
    for row in results["lifecycles"]:
        d = row["pull_decision"]
        lines.append(f"| {row['agents']:,} | {row['queued']:,} |"
                     f" {row['lifecycles_per_s']['median']:,.0f} | {d['p50_us']:.1f} |"
                     f" {d['p99_us']:.1f} | {row['rss_bytes_per_queued']:,.0f} |")
    lines += ["", "| ready agents | push lifecycles/s | arrival p50 µs | arrival p99 µs |",
              "|---:|---:|---:|---:|"]
    for row in results["push"]:
        d = row["arrival_decision"]
        lines.append(f"| {row['agents']:,} | {row['lifecycles_per_s']['median']:,.0f} |"
                     f" {d['p50_us']:.1f} | {d['p99_us']:.1f} |")
    lines += ["", "| queued | pull p50 µs | pull p99 µs | B/queued |", "|---:|---:|---:|---:|"]
    for row in results["scaling"]:
        lines.append(f"| {row['queued']:,} | {row['p50_us']:.1f} | {row['p99_us']:.1f} |"
                     f" {row['rss_bytes_per_queued']:,.0f} |")
    if "subscribers" in results:
        lines += ["", subscribers_markdown(results["subscribers"])]
    return "\n".join(lines)


def subscribers_markdown(subs: dict[str, Any]) -> str:
    return (f"Subscribers (SLA tracker + Prometheus recorder): overhead"
            f" {subs['overhead_fraction_paired']:.1%} (median of paired turns); best runs"
            f" {subs['without']['max']:,.0f} → {subs['with']['max']:,.0f} lifecycles/s"
            f" ({subs['overhead_fraction']:.1%}), medians"
            f" {subs['overhead_fraction_of_medians']:.1%}. On top of a catch-all subscriber"
            f" (as when served): {subs['overhead_fraction_paired_on_catch_all']:.1%} paired;"
            f" best runs {subs['catch_all']['max']:,.0f} →"
            f" {subs['catch_all_with']['max']:,.0f}"
            f" ({subs['overhead_fraction_on_catch_all']:.1%}).")


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("bench.core", __doc__, "small sizes, a few seconds")
    parser.add_argument("--subscribers-only", action="store_true",
                        help="only the subscriber-overhead section (about a minute)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    params = {"quick": args.quick, "plan": plan.__dict__}
    if args.subscribers_only:
        subs = subscriber_overhead(plan)
        print(subscribers_markdown(subs))
        if not args.no_write:
            path = write_result("core-subscribers", params, {"subscribers": subs},
                                quick=args.quick)
            print(f"wrote {path}")
        return 0
    results = run(plan)
    print(markdown(results))
    if not args.no_write:
        path = write_result("core", params, results, quick=args.quick)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
