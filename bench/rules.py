"""Rule classification latency: `python -m bench.rules [--quick]`.

Classifies a fixed mix of generated interactions/customers against the example
ruleset (config/rules.yaml) and a generated 50-rule ruleset, timing each call with
`perf_counter_ns`, and reports p50/p99 in microseconds. Target: example p50 <= 20 µs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from pathlib import Path
from typing import Any

from bench.report import percentile, write_result
from router.customer import CustomerProfile
from router.interaction import Channel, Interaction
from router.topology import Topology
from rules.compiler import CompiledRuleset, compile_ruleset
from rules.model import RulesetSpec
from rules.source import load_ruleset

CONFIG = Path(__file__).resolve().parent.parent / "config"
TIERS = ("standard", "standard", "standard", "gold", "platinum")
LANGUAGES = ("en", "en", "en", "es", "fr")
INTENTS = ("", "billing", "support", "sales", "cancel")


def sample(rng: random.Random, n: int) -> list[tuple[Interaction, CustomerProfile]]:
    cases = []
    for i in range(n):
        channel = rng.choice(list(Channel))
        interaction = Interaction(
            id=f"i{i}", channel=channel, idempotency_key=f"k{i}", created_at=1.7e9,
            language=rng.choice(LANGUAGES), intent=rng.choice(INTENTS) or None,
            sentiment=round(rng.uniform(-1, 1), 2), public=channel is Channel.SOCIAL
            and rng.random() < 0.3, reach=rng.choice((0, 50, 2000, 50000)),
            attributes={"order": str(i)},
        )
        customer = CustomerProfile(
            id=f"c{i}", tier=rng.choice(TIERS), lifetime_value=rng.choice((0.0, 500.0, 25000.0)),
            language=rng.choice(LANGUAGES), account_owner=rng.choice((None, "chen")),
            last_agent=rng.choice((None, "bruno")),
        )
        cases.append((interaction, customer))
    return cases


def generated_ruleset(size: int = 50) -> RulesetSpec:
    """`size` rules over the same fields as the example, in plausible supervisor forms."""
    forms = (
        'interaction.channel == "{ch}" && customer.lifetime_value > {v}.0',
        'customer.segment == "seg{i}" && interaction.reach > {v}',
        'interaction.intent == "intent{i}" || customer.tier == "tier{i}"',
        'interaction.channel in ["{ch}", "chat"] && interaction.sentiment < -0.{d}',
        '"tag{i}" in customer.tags && customer.open_interactions > {d}',
    )
    rng = random.Random(50)
    rules = []
    for i in range(size):
        form = forms[i % len(forms)]
        when = form.format(ch=rng.choice([c.value for c in Channel]), v=rng.randint(1, 9) * 1000,
                           i=i, d=rng.randint(1, 9))
        rules.append({"name": f"r{i}", "when": when,
                      "then": {"queue": rng.choice(("general", "billing", "vip")),
                               "priority": rng.randint(0, 9)}})
    return RulesetSpec.model_validate({"rules": rules, "default": {"queue": "general"}})


def measure(ruleset: CompiledRuleset, cases: list[tuple[Interaction, CustomerProfile]],
            rounds: int) -> dict[str, float]:
    now = dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.UTC)
    for interaction, customer in cases[:200]:  # warm-up
        ruleset.classify(interaction, customer, now)
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for interaction, customer in cases:
            start = clock()
            ruleset.classify(interaction, customer, now)
            samples.append((clock() - start) / 1000)
    samples.sort()
    return {"p50_us": percentile(samples, 0.50), "p90_us": percentile(samples, 0.90),
            "p99_us": percentile(samples, 0.99), "samples": float(len(samples))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples (CI smoke run)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    count, rounds = (500, 2) if args.quick else (2000, 10)
    topology = Topology.load(CONFIG / "contact-center.yaml")
    loaded = load_ruleset(CONFIG / "rules.yaml")
    rulesets = {
        "example": compile_ruleset(loaded.spec, topology, loaded.source, version=1),
        "generated-50": compile_ruleset(generated_ruleset(50), topology, version=1),
    }
    cases = sample(random.Random(args.seed), count)
    results: dict[str, Any] = {}
    for name, ruleset in rulesets.items():
        results[name] = {**measure(ruleset, cases, rounds), "rules": len(ruleset.rules)}
    params = {"interactions": count, "rounds": rounds, "seed": args.seed, "quick": args.quick,
              "target_example_p50_us": 20.0}
    path = write_result("rules", params, results, quick=args.quick)
    print(f"{'ruleset':<14}{'rules':>6}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}")
    for name, row in results.items():
        print(f"{name:<14}{row['rules']:>6}{row['p50_us']:>10.1f}{row['p90_us']:>10.1f}"
              f"{row['p99_us']:>10.1f}")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
