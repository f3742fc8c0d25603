"""Simulated M/M/N against Erlang C: the table in bench/README.md.

    python -m bench.sim.validate            # the two cases tests/sim checks, plus two more
    python -m bench.sim.validate --seeds 5  # spread over several seeds

One queue, one channel, exponential handle times, no abandonment, capacity-1 agents
accepting at once, the first simulated hour left out (the queue starts empty).
"""

from __future__ import annotations

import argparse

from bench.sim import scenarios, summary
from bench.sim.runner import simulate
from sla import erlang

#: agents, Erlangs, handle time (s), simulated hours
CASES: tuple[tuple[int, float, float, float], ...] = (
    (3, 2.0, 60.0, 150.0),
    (10, 7.0, 60.0, 120.0),
    (8, 6.0, 120.0, 150.0),
    (20, 17.0, 180.0, 150.0),
)


def rows(seeds: int) -> list[str]:
    lines = ["| agents | Erlangs | AHT | hours | seed | SL sim | SL Erlang C | ΔSL pp |"
             " ASA sim | ASA Erlang C | ΔASA |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for agents, traffic, handle, hours in CASES:
        want_sl = erlang.service_level(agents, traffic, 20.0, handle)
        want_asa = erlang.average_speed_of_answer(agents, traffic, handle)
        for seed in range(1, seeds + 1):
            scenario = scenarios.mmn(agents, traffic / handle * 3600.0, handle, hours)
            got = summary.team_total(simulate(scenario, scenarios.mmn_rules(), seed), "mmn")
            sl, asa = got.service_level or 0.0, got.asa or 0.0
            lines.append(
                f"| {agents} | {traffic:g} | {handle:g} s | {hours:g} | {seed} | {sl:.1%} |"
                f" {want_sl:.1%} | {100 * (sl - want_sl):+.1f} | {asa:.1f} s |"
                f" {want_asa:.1f} s | {asa / want_asa - 1:+.1%} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)
    print("\n".join(rows(args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
