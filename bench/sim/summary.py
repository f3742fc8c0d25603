"""Reading a run: totals per team × channel over the measured period, tables, plots."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.sim.runner import SimResult, TeamChannel
from router.interaction import Channel
from sla.figures import Figures, Tally
from sla.measure import TeamChannelStats


def _tally(figures: Figures) -> Tally:
    """Back from derived figures to counts, so intervals can be summed exactly."""
    return Tally(
        answered=figures.answered, answered_within=figures.answered_within,
        abandoned=figures.abandoned, short_abandoned=figures.short_abandoned,
        expired=figures.expired, wait_total=(figures.asa or 0.0) * figures.answered,
        completed=figures.completed, handle_total=(figures.aht or 0.0) * figures.completed,
        breaches=figures.breaches, at_risk=figures.at_risk,
    )


def team_channel_total(stats: TeamChannelStats, since: float) -> Figures:
    total = Tally()
    for interval in stats.history:
        if interval.start >= since:
            total.add(_tally(interval.figures))
    return total.figures(stats.formula)


@dataclass(frozen=True, slots=True)
class Row:
    """One team × channel over the measured period."""

    team: str
    channel: Channel
    threshold: float
    target: float
    figures: Figures
    occupancy: float | None

    @property
    def key(self) -> TeamChannel:
        return (self.team, self.channel)


def rows(result: SimResult) -> list[Row]:
    """Team × channel totals of a run, skipping pairs that saw no traffic."""
    found = []
    for stats in result.stats.team_channels:
        figures = team_channel_total(stats, result.measured_from)
        if figures.offered == 0:
            continue
        key = (stats.team, stats.channel)
        found.append(Row(stats.team, stats.channel, stats.threshold, stats.target, figures,
                         result.occupancy.overall(key, result.measured_from)))
    return sorted(found, key=lambda r: (r.team, r.channel.value))


def team_total(result: SimResult, team: str, channels: Iterable[Channel] | None = None
               ) -> Figures:
    wanted = set(channels) if channels is not None else None
    total = Tally()
    formula = result.stats.formula
    for stats in result.stats.team_channels:
        if stats.team != team or (wanted is not None and stats.channel not in wanted):
            continue
        total.add(_tally(team_channel_total(stats, result.measured_from)))
    return total.figures(formula)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def secs(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.0f} s" if value >= 10 else f"{value:.1f} s"


def dur(seconds: float) -> str:
    """Compact threshold: 20s, 15m, 4h."""
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def markdown_rows(found: Sequence[Row]) -> str:
    lines = ["| team | channel | offered | SL (target) | ASA | abandon | expired | occupancy |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in found:
        f = row.figures
        lines.append(
            f"| {row.team} | {row.channel.value} | {f.offered:,} |"
            f" {pct(f.service_level)} ({row.target:.0%}/{dur(row.threshold)}) |"
            f" {secs(f.asa)} | {pct(f.abandon_rate)} | {f.expired:,} | {pct(row.occupancy)} |")
    return "\n".join(lines)


def markdown_report(result: SimResult) -> str:
    hours = (result.end - result.start) / 3600
    lines = [
        f"## Simulation `{result.scenario}` (seed {result.seed})", "",
        f"{hours:g} simulated hours, {result.arrivals:,} arrivals, simulated in"
        f" {result.wall_seconds:.2f} s of wall time ({result.engine_calls:,} engine calls).",
        f"Outcomes: {', '.join(f'{k} {v:,}' for k, v in sorted(result.outcomes.items()))}.", "",
        markdown_rows(rows(result)),
    ]
    return "\n".join(lines)


def comparison_markdown(labels: Sequence[str], runs: Sequence[Sequence[Row]]) -> str:
    """SL (and ASA) per team × channel side by side for several runs of the same traffic."""
    keys: list[TeamChannel] = []
    for found in runs:
        for row in found:
            if row.key not in keys:
                keys.append(row.key)
    header = "| team | channel | target | " + " | ".join(
        f"{label} SL | {label} ASA" for label in labels) + " |"
    lines = [header, "|---|---|---:|" + "---:|---:|" * len(labels)]
    by_run: list[Mapping[TeamChannel, Row]] = [{r.key: r for r in found} for found in runs]
    for key in sorted(keys, key=lambda k: (k[0], k[1].value)):
        target = next(m[key].target for m in by_run if key in m)
        cells = []
        for mapping in by_run:
            hit = mapping.get(key)
            cells.append("— | —" if hit is None else
                         f"{pct(hit.figures.service_level)} | {secs(hit.figures.asa)}")
        threshold = next(m[key].threshold for m in by_run if key in m)
        lines.append(f"| {key[0]} | {key[1].value} | {target:.0%}/{dur(threshold)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- plots
def plot_run(result: SimResult, directory: Path, stem: str) -> list[Path]:
    """SL, offered volume and occupancy per interval for every team × channel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(3, 1, figsize=(11, 11), sharex=True)
    for stats in result.stats.team_channels:
        points = [(i.start, i.figures) for i in stats.history if i.figures.offered]
        if not points:
            continue
        label = f"{stats.team}/{stats.channel.value}"
        hours = [(start - result.start) / 3600 for start, _ in points]
        axes[0].plot(hours, [f.service_level for _, f in points], label=label, lw=1.2)
        axes[1].plot(hours, [f.offered for _, f in points], label=label, lw=1.2)
        occupancy = result.occupancy.series((stats.team, stats.channel))
        if occupancy:
            axes[2].plot([(t - result.start) / 3600 for t in occupancy],
                         list(occupancy.values()), label=label, lw=1.2)
    axes[0].set_ylabel("service level per interval")
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("offered per interval")
    axes[2].set_ylabel("occupancy (capacity-weighted)")
    axes[2].set_xlabel("hour of the simulated day")
    axes[0].legend(fontsize=7, ncol=4)
    axes[0].set_title(f"{result.scenario} (seed {result.seed})")
    fig.tight_layout()
    path = directory / f"{stem}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]


def plot_comparison(labels: Sequence[str], runs: Sequence[Sequence[Row]], path: Path,
                    title: str) -> Path:
    """Grouped bars: SL per team × channel, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({r.key for found in runs for r in found}, key=lambda k: (k[0], k[1].value))
    by_run = [{r.key: r for r in found} for found in runs]
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(keys) + 2), 4.5))
    for n, (label, mapping) in enumerate(zip(labels, by_run, strict=True)):
        values = [(mapping[k].figures.service_level or 0.0) if k in mapping else 0.0
                  for k in keys]
        ax.bar([i + n * width for i in range(len(keys))], values, width, label=label)
    ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(keys))])
    ax.set_xticklabels([f"{t}\n{c.value}" for t, c in keys], fontsize=8)
    ax.set_ylabel("service level")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
