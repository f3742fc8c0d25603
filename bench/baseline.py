"""Baselines: what a user might build instead of omniroute, measured in one run.

    python -m bench.baseline --quick   # ~30 s once the venv exists; numbers indicative
    python -m bench.baseline           # 20,000 jobs per run
    omniroute bench baseline [--quick]

Generic Redis job queues `arq` and `saq` pin a redis-py older than ours, so they live in
their own venv, `bench/.venv-baseline/` (created once from `bench/baseline-requirements.txt`,
then reused). Its Python runs `bench/baseline_jobs.py` (no omniroute import) against one
private server started with `router.devserver`, for each system in turn:

- arq: enqueue N no-op jobs, one worker process drains them;
- saq: the same;
- lists: per-channel Redis lists (voice, chat, sms, email, social), LPUSH round-robin,
  one worker process BRPOPs them all.

jobs/s = N / (first enqueue → all complete), repeated (min/median/max). omniroute's figures
are read from the latest `*-redis.json` (Redis store lifecycles/s, one and best of 1/2/4
worker processes, plus `bench.redis`'s own LPUSH/BRPOP loop) and `*-core.json` (in-process
lifecycles/s) in the results directory and printed as ratios to each baseline. A lifecycle
(ingest → routing decision → accept → complete) is more work than a job: the ratios say
what routing costs next to a queue with no matching and no state, not who is "faster".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, scenario_parser, summarize, write_result
from router.devserver import DevServer

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-baseline"
REQUIREMENTS = HERE / "baseline-requirements.txt"
JOBS_SCRIPT = HERE / "baseline_jobs.py"
SYSTEMS = ("arq", "saq", "lists")


@dataclass(frozen=True, slots=True)
class Plan:
    jobs: int
    repeats: int
    inflight: int = 32  # enqueue calls in flight on the producer side


QUICK = Plan(jobs=2_000, repeats=3)
FULL = Plan(jobs=20_000, repeats=3)
#: `bench all --quick`: proves the harness only
TINY = Plan(jobs=500, repeats=3)


# ---------------------------------------------------------------------- the venv
def venv_python() -> Path:
    return VENV / "bin" / "python"


def venv_ready() -> bool:
    """The baseline venv exists and imports arq and saq (no network, no install)."""
    python = venv_python()
    if not python.exists():
        return False
    check = subprocess.run([str(python), "-P", "-c", "import arq, saq, redis"],
                           capture_output=True, timeout=60)
    return check.returncode == 0


def ensure_venv(progress: Any = print) -> Path:
    """Create the baseline venv once (pip install arq, saq); reuse it afterwards."""
    if venv_ready():
        return venv_python()
    progress(f"creating {VENV.relative_to(HERE.parent)} (arq, saq; once)")
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    install = subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)], capture_output=True, text=True, timeout=600)
    if install.returncode != 0 or not venv_ready():
        tail = (install.stderr or install.stdout).strip().splitlines()[-3:]
        raise RuntimeError("could not install the baseline venv: " + " / ".join(tail))
    return venv_python()


# ---------------------------------------------------------------------- measuring
def _drive(system: str, url: str, plan: Plan) -> dict[str, Any]:
    command = [str(venv_python()), "-P", str(JOBS_SCRIPT), "drive", system, "--url", url,
               "--jobs", str(plan.jobs), "--repeats", str(plan.repeats),
               "--inflight", str(plan.inflight)]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{system} baseline failed: {done.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    runs = result.pop("runs")
    result["jobs_per_s"] = summarize([r["jobs_per_s"] for r in runs])
    result["enqueue_per_s"] = summarize([r["enqueue_per_s"] for r in runs])
    result["runs"] = runs
    return result


def _flush(url: str) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url)
    client.flushall()
    client.close()


def latest(directory: Path, scenario: str, quick: bool) -> Path | None:
    """The newest `<date>-<scenario>.json` (also `-quick` when `quick`, or when no full one)."""
    full = sorted(directory.glob(f"*-{scenario}.json"))
    quicks = sorted(directory.glob(f"*-{scenario}-quick.json"))
    found = full + quicks if quick else (full or quicks)
    return max(found, key=lambda p: (p.name[:10], p.stat().st_mtime)) if found else None


def omniroute_figures(directory: Path, quick: bool) -> dict[str, Any]:
    """omniroute's lifecycles/s from the latest redis and core results, with their files."""
    figures: dict[str, Any] = {}
    redis_file = latest(directory, "redis", quick)
    if redis_file is not None:
        data = json.loads(redis_file.read_text())["results"]
        store = data.get("store") or []
        naive = data.get("naive") or []
        if store:
            one = next((r for r in store if r["workers"] == 1), store[0])
            best = max(store, key=lambda r: r["lifecycles_per_s"])
            figures["store_1_process"] = one["lifecycles_per_s"]
            figures["store_best"] = best["lifecycles_per_s"]
            figures["store_best_workers"] = best["workers"]
        if naive:
            figures["bench_redis_naive_best"] = max(r["lifecycles_per_s"] for r in naive)
        figures["redis_file"] = redis_file.name
    core_file = latest(directory, "core", quick)
    if core_file is not None:
        rows = json.loads(core_file.read_text())["results"].get("lifecycles") or []
        if rows:
            figures["core_in_process"] = rows[0]["lifecycles_per_s"]["median"]
            figures["core_at"] = {"agents": rows[0]["agents"], "queued": rows[0]["queued"]}
        figures["core_file"] = core_file.name
    return figures


def run(plan: Plan, progress: Any = print, results_dir: Path = RESULTS_DIR,
        quick: bool = False) -> dict[str, Any]:
    ensure_venv(progress)
    results: dict[str, Any] = {"systems": {}}
    with DevServer() as server:
        progress(f"server {server.binary} on port {server.port}")
        for system in SYSTEMS:
            _flush(server.url)
            started = time.perf_counter()
            row = _drive(system, server.url, plan)
            row["wall_s"] = time.perf_counter() - started
            progress(f"{system}: {row['jobs_per_s']['median']:,.0f} jobs/s")
            results["systems"][system] = row
        results["server"] = server.binary
    figures = omniroute_figures(results_dir, quick)
    results["omniroute"] = figures
    ratios: dict[str, dict[str, float]] = {}
    for key in ("store_1_process", "store_best", "core_in_process"):
        if key in figures:
            ratios[key] = {name: figures[key] / row["jobs_per_s"]["median"]
                           for name, row in results["systems"].items()}
    results["ratios"] = ratios
    return results


# ---------------------------------------------------------------------- report
LABELS = {"arq": "arq (one worker, max_jobs 10)", "saq": "saq (one worker, concurrency 10)",
          "lists": "Redis lists per channel, LPUSH/BRPOP (one worker, 10 BRPOPs)"}
FIGURE_LABELS = {"store_1_process": "omniroute Redis store, 1 process",
                 "store_best": "omniroute Redis store, best of 1/2/4 processes",
                 "core_in_process": "omniroute core, in-process"}


def markdown(results: dict[str, Any]) -> str:
    systems = results["systems"]
    lines = ["| baseline | version | median jobs/s | min | max | enqueue jobs/s (median) |",
             "|---|---|---:|---:|---:|---:|"]
    for name, row in systems.items():
        rate = row["jobs_per_s"]
        lines.append(f"| {LABELS.get(name, name)} | {row['version']} | {rate['median']:,.0f} |"
                     f" {rate['min']:,.0f} | {rate['max']:,.0f} |"
                     f" {row['enqueue_per_s']['median']:,.0f} |")
    figures, ratios = results["omniroute"], results["ratios"]
    if ratios:
        lines += ["", "| omniroute lifecycles/s | value | " + " | ".join(
            f"÷ {name}" for name in systems) + " |",
            "|---|---:|" + "---:|" * len(systems)]
        for key, row in ratios.items():
            lines.append(f"| {FIGURE_LABELS[key]} | {figures[key]:,.0f} | "
                         + " | ".join(f"{row[name]:.2f}×" for name in systems) + " |")
        sources = [figures[k] for k in ("redis_file", "core_file") if k in figures]
        lines += ["", "omniroute figures from " + ", ".join(sources) + "."]
    else:
        lines += ["", "No `*-redis.json` / `*-core.json` results found: run `python -m"
                  " bench.redis` and `python -m bench.core` for the ratios."]
    if "bench_redis_naive_best" in figures:
        lines.append(f"`bench.redis`'s own LPUSH+BRPOP loop (no worker split, best of 1/2/4"
                     f" processes): {figures['bench_redis_naive_best']:,.0f}/s.")
    lines.append(f"Server: {results['server']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("python -m bench.baseline", __doc__, "2,000 jobs per run")
    parser.add_argument("--jobs", type=int, default=None, help="jobs per run")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="where to read omniroute's redis/core results from")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.jobs:
        plan = Plan(args.jobs, plan.repeats, plan.inflight)
    try:
        results = run(plan, results_dir=args.results, quick=args.quick)
    except RuntimeError as exc:
        print(f"baseline: {exc}", file=sys.stderr)
        return 1
    print(markdown(results))
    if not args.no_write:
        path = write_result("baseline", {"quick": args.quick, "plan": asdict(plan)}, results,
                            quick=args.quick)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
