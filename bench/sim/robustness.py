"""Team-level SL of universal vs siloed vs social spike over several seeds.

    python -m bench.sim.robustness --seeds 5

One seed is one day of customers; a conclusion that flips between seeds is not one.
"""

from __future__ import annotations

import argparse

from bench.sim import scenarios, summary
from bench.sim.runner import simulate


def rows(seeds: int) -> list[str]:
    base = scenarios.contact_center()
    published = scenarios.published_rules()
    lines = ["| seed | universal CSR SL | siloed CSR SL | universal social care SL |"
             " siloed social care SL | spike CSR SL | spike Δ CSR pp | spike social care SL |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for seed in range(1, seeds + 1):
        runs = (simulate(base, published, seed),
                simulate(scenarios.siloed(base), scenarios.siloed_rules(), seed),
                simulate(scenarios.social_spike(base), published, seed))
        csr = [summary.team_total(r, "csr").service_level or 0.0 for r in runs]
        care = [summary.team_total(r, "social_care").service_level or 0.0 for r in runs]
        lines.append(f"| {seed} | {csr[0]:.1%} | {csr[1]:.1%} | {care[0]:.1%} | {care[1]:.1%} |"
                     f" {csr[2]:.1%} | {100 * (csr[2] - csr[0]):+.1f} | {care[2]:.1%} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim.robustness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    print("\n".join(rows(args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
