"""PNG plots for the benchmark umbrella: throughput bars, latency percentiles, scaling.

Each function takes the `results` dicts the scenarios write to JSON, so a plot can be
redrawn from a result file alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def throughput(results: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Horizontal bars of operations per second, log scale (they span 4 decades)."""
    bars: list[tuple[str, float]] = []
    for name, row in results.get("adapters", {}).items():
        bars.append((f"adapter {name}", float(row["median"])))
    core = results.get("core", {})
    for row in core.get("lifecycles", []):
        bars.append((f"core pull lifecycles ({row['queued']:,} queued)",
                     float(row["lifecycles_per_s"]["median"])))
    for row in core.get("push", []):
        bars.append((f"core push lifecycles ({row['agents']:,} agents)",
                     float(row["lifecycles_per_s"]["median"])))
    if "http" in results:
        bars.append(("HTTP ingest (achieved at fixed rate)",
                     float(results["http"]["achieved_rps"])))
    for name, row in results.get("redis", {}).items():
        if isinstance(row, dict) and isinstance(row.get("median"), int | float):
            bars.append((f"redis {name}", float(row["median"])))
    if not bars:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(bars) + 1.5))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("per second (median of runs; log scale)")
    ax.invert_yaxis()
    ax.set_title("Throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def latency(results: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """p50 / p99 (and p90 where measured) per operation, in µs, log scale."""
    rows: list[tuple[str, dict[str, float]]] = []
    for name, row in results.get("rules", {}).items():
        rows.append((f"rules {name}", {k: row[f"{k}_us"] for k in ("p50", "p90", "p99")}))
    core = results.get("core", {})
    for row in core.get("lifecycles", []):
        d = row["pull_decision"]
        rows.append((f"core pull ({row['queued']:,} queued)",
                     {"p50": d["p50_us"], "p99": d["p99_us"]}))
    for row in core.get("push", []):
        d = row["arrival_decision"]
        rows.append((f"core push ({row['agents']:,} agents)",
                     {"p50": d["p50_us"], "p99": d["p99_us"]}))
    if "http" in results:
        h = results["http"]
        rows.append(("HTTP ingest", {k: h[f"{k}_ms"] * 1e3 for k in ("p50", "p90", "p99")}))
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.5))
    width = 0.27
    for n, key in enumerate(("p50", "p90", "p99")):
        ax.barh([i + (n - 1) * width for i in range(len(rows))],
                [r[1].get(key, 0.0) for r in rows], width, label=key)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows])
    ax.set_xscale("log")
    ax.set_xlabel("latency, µs (log scale)")
    ax.invert_yaxis()
    ax.legend()
    ax.set_title("Latency percentiles")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def scaling(results: dict[str, Any], path: Path) -> Path | None:
    if not results.get("by_queued"):
        return None
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    queued = [r["queued"] for r in results["by_queued"]]
    for key in ("p50_us", "p99_us"):
        left.plot(queued, [r[key] for r in results["by_queued"]], marker="o",
                  label=f"pull {key[:3]}")
    left.set_xscale("log")
    left.set_xlabel("queued interactions")
    left.set_ylabel("decision µs")
    left.set_title("Pull decision vs queued")
    left.legend()
    agents = [r["agents"] for r in results["by_agents"]]
    for name, series in (("pull", results["by_agents"]), ("push", results["push_by_agents"])):
        for key in ("p50_us", "p99_us"):
            right.plot(agents, [r[key] for r in series], marker="o", label=f"{name} {key[:3]}")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("agents")
    right.set_title("Decision vs agents")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
