"""Garbage-collector pauses while a backlog builds up after start-up, as in a served process.

    python -m bench.gc_pauses            # 300,000 queued after start-up, then 100,000 lifecycles
    python -m bench.gc_pauses --quick    # seconds; proves the harness works

`bench.core` fills its backlog before `tune_gc` freezes what exists, so the collector never
sees the queue state there, and it times only the pull call. A served process is the
other way round: `RoutingService.start()` tunes the collector with only the configuration
in memory, and the backlog that arrives afterwards is what the collector walks. This
benchmark reproduces that order and records every collection (generation and duration,
through `gc.callbacks`): the pause a routing call can meet, and the share of the run the
collector takes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.core import fill, pull_lifecycles, ready_engine
from bench.report import scenario_parser, write_result
from router.service import tune_gc


@dataclass(frozen=True)
class Plan:
    agents: int
    queued: int
    lifecycles: int


FULL = Plan(agents=1_000, queued=300_000, lifecycles=100_000)
QUICK = Plan(agents=200, queued=20_000, lifecycles=5_000)


def measure(plan: Plan, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Collections per generation (count, longest and total pause) over the whole run."""
    engine, clock, workload = ready_engine(plan.agents, push=False)
    tune_gc()  # what RoutingService.start() does, with only the configuration in memory
    pauses: list[tuple[int, float]] = []
    started: dict[str, float] = {}

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["at"], started["generation"] = time.perf_counter(), info["generation"]
        else:
            pauses.append((int(started["generation"]), time.perf_counter() - started["at"]))

    gc.callbacks.append(timed)
    try:
        begun = time.perf_counter()
        progress(f"filling {plan.queued:,} queued after start-up")
        fill(engine, clock, workload, plan.queued)
        progress(f"{plan.lifecycles:,} lifecycles at that backlog")
        pull_lifecycles(engine, clock, workload, plan.lifecycles)
        elapsed = time.perf_counter() - begun
    finally:
        gc.callbacks.remove(timed)
    generations = {}
    for generation in range(3):
        found = [seconds for gen, seconds in pauses if gen == generation]
        generations[str(generation)] = {
            "collections": len(found),
            "max_ms": max(found, default=0.0) * 1e3,
            "total_ms": sum(found) * 1e3,
        }
    return {"elapsed_s": elapsed, "generations": generations,
            "share_of_run": sum(seconds for _, seconds in pauses) / elapsed}


def markdown(results: dict[str, Any]) -> str:
    lines = ["| generation | collections | longest pause ms | total ms |", "|---:|---:|---:|---:|"]
    for generation, row in results["generations"].items():
        lines.append(f"| {generation} | {row['collections']:,} | {row['max_ms']:.1f} |"
                     f" {row['total_ms']:,.0f} |")
    lines.append(f"\nThe collector took {results['share_of_run']:.1%} of the"
                 f" {results['elapsed_s']:.1f} s run.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("bench.gc_pauses", __doc__, "small sizes, a few seconds")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    results = measure(plan)
    print(markdown(results))
    if not args.no_write:
        path = write_result("gc-pauses", {"quick": args.quick, "plan": plan.__dict__}, results,
                            quick=args.quick)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
