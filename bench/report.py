"""Shared bench plumbing: machine description and result files.

Every scenario writes `bench/results/<date>-<scenario>.json` with the machine, the
versions and the parameters next to its numbers, so a figure can be reproduced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

_PACKAGES = (
    "fastapi", "uvicorn", "uvloop", "pydantic", "redis", "hiredis", "prometheus-client",
    "sortedcontainers", "cel-expr-python", "phonenumbers",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "platform": platform.platform(),
        "python_implementation": sys.implementation.name,
    }


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """min / median / max of repeated runs (the figures the README reports)."""
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
        "runs": float(len(samples)),
    }


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def write_result(
    scenario: str, parameters: dict[str, Any], results: dict[str, Any],
    directory: Path = RESULTS_DIR, quick: bool = False,
) -> Path:
    """Write one scenario's result file; a quick run is `<scenario>-quick`, so it never
    replaces the full-size result the README quotes."""
    if quick:
        scenario = f"{scenario}-quick"
    directory.mkdir(parents=True, exist_ok=True)
    today = dt.date.today().isoformat()
    path = directory / f"{today}-{scenario}.json"
    document = {
        "scenario": scenario,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "git_commit": git_commit(),
        "parameters": parameters,
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def scenario_parser(prog: str, doc: str | None, quick_help: str) -> argparse.ArgumentParser:
    """A scenario's command line with the two options they all take: `--quick` (what it
    shrinks is `quick_help`) and `--no-write` (print the results, write no file)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    return parser
