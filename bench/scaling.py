"""Decision cost as the site grows: queued interactions 1k → 1M, agents 100 → 50k.

    python -m bench.scaling            # full sweep (1M queued needs ~2-3 GB, minutes)
    python -m bench.scaling --quick    # small sizes, seconds

Built on bench/core.py's engine setup and timed loops, so the figures are comparable
with the core benchmark: pull decisions (an agent asks for the best eligible item at
a standing backlog) versus queued size, and versus the number of agents; push
decisions (an arrival matched to the best ready agent) versus ready agents.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import build, latency_summary, pull_lifecycles, push_decisions
from bench.report import RESULTS_DIR, write_result


@dataclass(frozen=True)
class Sweep:
    queued: tuple[int, ...]  # at `agents_for_queued` agents
    agents: tuple[int, ...]  # at `queued_for_agents` queued
    agents_for_queued: int
    queued_for_agents: int
    samples: int


FULL = Sweep((1_000, 10_000, 100_000, 1_000_000), (100, 1_000, 10_000, 50_000),
             1_000, 10_000, 20_000)
QUICK = Sweep((1_000, 10_000), (100, 1_000), 500, 2_000, 1_000)


def run(sweep: Sweep, progress: Callable[[str], None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {"by_queued": [], "by_agents": [], "push_by_agents": []}
    for queued in sweep.queued:
        progress(f"pull decision at {queued:,} queued, {sweep.agents_for_queued:,} agents")
        engine, clock, workload, grown = build(sweep.agents_for_queued, queued, push=False)
        _, latencies = pull_lifecycles(engine, clock, workload, sweep.samples)
        results["by_queued"].append({"queued": queued, "agents": sweep.agents_for_queued,
                                     **latency_summary(latencies),
                                     "rss_bytes_per_queued": grown / queued})
        del engine, workload
        gc.collect()
    for agents in sweep.agents:
        progress(f"pull decision at {agents:,} agents, {sweep.queued_for_agents:,} queued")
        engine, clock, workload, _ = build(agents, sweep.queued_for_agents, push=False)
        _, latencies = pull_lifecycles(engine, clock, workload, sweep.samples)
        results["by_agents"].append({"agents": agents, "queued": sweep.queued_for_agents,
                                     **latency_summary(latencies)})
        del engine, workload
        gc.collect()
        progress(f"push decision with {agents:,} ready agents")
        engine, clock, workload, _ = build(agents, 0, push=True)
        _, latencies = push_decisions(engine, clock, workload, sweep.samples)
        results["push_by_agents"].append({"agents": agents, **latency_summary(latencies)})
        del engine, workload
        gc.collect()
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = ["| queued | agents | pull p50 µs | pull p99 µs | B/queued |",
             "|---:|---:|---:|---:|---:|"]
    for row in results["by_queued"]:
        lines.append(f"| {row['queued']:,} | {row['agents']:,} | {row['p50_us']:.1f} |"
                     f" {row['p99_us']:.1f} | {row['rss_bytes_per_queued']:,.0f} |")
    lines += ["", "| agents | queued | pull p50 µs | pull p99 µs | push p50 µs | push p99 µs |",
              "|---:|---:|---:|---:|---:|---:|"]
    for pull, push in zip(results["by_agents"], results["push_by_agents"], strict=True):
        lines.append(f"| {pull['agents']:,} | {pull['queued']:,} | {pull['p50_us']:.1f} |"
                     f" {pull['p99_us']:.1f} | {push['p50_us']:.1f} | {push['p99_us']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None, out: Path = RESULTS_DIR) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    sweep = QUICK if args.quick else FULL
    results = run(sweep)
    path = write_result("scaling",
                        {"quick": args.quick, "sweep": sweep.__dict__}, results,
                        directory=args.out, quick=args.quick)
    print(markdown(results))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
