"""Simulate a day of the example contact center through the real routing core.

    python -m bench.simulate                      # one day, universal queue, seed 7
    python -m bench.simulate --siloed             # + the same staff and traffic, siloed
    python -m bench.simulate --spike              # + 10x social arrivals 11:00-12:00
    python -m bench.simulate --rules draft.yaml   # what-if: draft vs config/rules.yaml

Every run of one invocation uses the same seed, hence the same customers and the same
handle/patience draws (the spike run differs only in the extra social arrivals).
Writes <out>/<date>-simulate.json, a Markdown summary and PNG plots.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.report import RESULTS_DIR, write_result
from bench.sim import scenarios, summary
from bench.sim.model import Scenario
from bench.sim.runner import SimResult, simulate
from rules import RulesetInvalid, RulesetSpec, load_ruleset


@dataclass(frozen=True, slots=True)
class Run:
    label: str
    scenario: Scenario
    rules: RulesetSpec


def plan_runs(hours: float, rules: RulesetSpec | None, spike: bool, siloed: bool
              ) -> list[Run]:
    base = replace(scenarios.contact_center(), hours=hours)
    published = scenarios.published_rules()
    runs = [Run("published" if rules is not None else "universal", base, published)]
    if rules is not None:
        runs.append(Run("draft", base, rules))
    if siloed:
        runs.append(Run("siloed", scenarios.siloed(base), scenarios.siloed_rules()))
    if spike:
        runs.append(Run("spike", scenarios.social_spike(base), published))
    return runs


def rich_table(labels: list[str], found: list[list[summary.Row]], title: str) -> Table:
    table = Table(title=title)
    for column in ("team", "channel", "target"):
        table.add_column(column, no_wrap=True)
    for label in labels:
        table.add_column(f"{label}\nSL", justify="right", no_wrap=True)
        table.add_column(f"{label}\nASA", justify="right", no_wrap=True)
    keys = sorted({r.key for rows in found for r in rows}, key=lambda k: (k[0], k[1].value))
    maps = [{r.key: r for r in rows} for rows in found]
    for key in keys:
        ref = next(m[key] for m in maps if key in m)
        cells = [key[0], key[1].value, f"{ref.target:.0%}/{summary.dur(ref.threshold)}"]
        for mapping in maps:
            row = mapping.get(key)
            cells += (["—", "—"] if row is None else
                      [_colored(row), summary.secs(row.figures.asa)])
        table.add_row(*cells)
    return table


def _colored(row: summary.Row) -> str:
    level = row.figures.service_level
    if level is None:
        return "—"
    color = "green" if level >= row.target else "red"
    return f"[{color}]{level:.1%}[/{color}]"


def _result_json(result: SimResult) -> dict[str, Any]:
    found = summary.rows(result)
    return {
        "arrivals": result.arrivals, "outcomes": result.outcomes,
        "wall_seconds": result.wall_seconds, "engine_calls": result.engine_calls,
        "team_channels": [
            {"team": r.team, "channel": r.channel.value, "threshold": r.threshold,
             "target": r.target, "offered": r.figures.offered, "answered": r.figures.answered,
             "service_level": r.figures.service_level, "asa": r.figures.asa,
             "abandon_rate": r.figures.abandon_rate, "expired": r.figures.expired,
             "occupancy": r.occupancy}
            for r in found
        ],
        "intervals": _intervals(result),
        "csr_service_level": summary.team_total(result, "csr").service_level,
        "social_care_service_level": summary.team_total(result, "social_care").service_level,
    }


def _intervals(result: SimResult) -> list[dict[str, Any]]:
    """Per team × channel × 15-min interval: the SlaStats history plus occupancy."""
    found = []
    for stats in result.stats.team_channels:
        occupancy = result.occupancy.series((stats.team, stats.channel))
        for interval in stats.history:
            f = interval.figures
            if not f.offered and not occupancy.get(interval.start):
                continue
            found.append({
                "team": stats.team, "channel": stats.channel.value,
                "start": interval.start, "offered": f.offered, "answered": f.answered,
                "service_level": f.service_level, "asa": f.asa,
                "abandon_rate": f.abandon_rate, "occupancy": occupancy.get(interval.start),
            })
    return found


def run(runs: list[Run], seed: int, out: Path, plots: bool = True,
        console: Console | None = None) -> dict[str, SimResult]:
    console = console or Console()
    results: dict[str, SimResult] = {}
    for item in runs:
        with console.status(f"simulating {item.label} ({item.scenario.hours:g} h)…"):
            results[item.label] = simulate(item.scenario, item.rules, seed=seed)
        done = results[item.label]
        console.print(f"{item.label}: {done.arrivals:,} arrivals in {done.wall_seconds:.2f} s")
    labels = list(results)
    found = [summary.rows(r) for r in results.values()]
    hours = runs[0].scenario.hours
    console.print(rich_table(labels, found, f"Predicted service level, {hours:g} h, seed {seed}"))
    today = dt.date.today().isoformat()
    params = {"seed": seed, "hours": hours, "runs": labels}
    path = write_result("simulate", params, {k: _result_json(v) for k, v in results.items()},
                        directory=out)
    text = [f"# Simulation ({', '.join(labels)}), {hours:g} h, seed {seed}", "",
            summary.comparison_markdown(labels, found), ""]
    text += [summary.markdown_report(r) + "\n" for r in results.values()]
    markdown = out / f"{today}-simulate.md"
    markdown.write_text("\n".join(text))
    written = [path, markdown]
    if plots:
        for label, result in results.items():
            written += summary.plot_run(result, out, f"{today}-simulate-{label}")
        if len(labels) > 1:
            written.append(summary.plot_comparison(
                labels, found, out / f"{today}-simulate-comparison.png",
                "Service level per team × channel"))
    for file in written:
        console.print(f"wrote {file}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", type=Path, default=None, help="draft ruleset to compare")
    parser.add_argument("--spike", action="store_true", help="also run a 10x social hour")
    parser.add_argument("--siloed", action="store_true", help="also run siloed FIFO queues")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    # Wide enough for four runs side by side even when piped (rich assumes 80 columns).
    console = Console(width=max(Console().width, 140))
    draft = None
    if args.rules is not None:
        try:
            draft = load_ruleset(args.rules).spec
        except RulesetInvalid as exc:
            for problem in exc.problems:
                console.print(f"[red]error[/red] {args.rules}:{problem.line or '?'}:"
                              f"{problem.column or '?'}: {problem}")
            return 1
    runs = plan_runs(args.hours, draft, args.spike, args.siloed)
    try:
        run(runs, args.seed, args.out, plots=not args.no_plots, console=console)
    except RulesetInvalid as exc:
        for problem in exc.problems:
            console.print(f"[red]error[/red] {args.rules}: {problem}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
