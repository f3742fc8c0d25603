"""What-if for supervisors: a draft ruleset against the published one, same traffic.

`compare_rulesets` generates one day of traffic for a seed and runs it twice through
the real core — once classified by the published rules, once by the draft — so the
only difference between the two predictions is the rules. It is a plain function of
its arguments (no I/O beyond what the caller passes), so the supervisor console can
call it from an HTTP handler (in a worker thread: a simulated day takes about a
second of CPU).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.sim.model import Scenario
from bench.sim.runner import Simulation, compile_rules
from bench.sim.scenarios import contact_center
from bench.sim.summary import Row, rows
from bench.sim.traffic import generate
from router.interaction import Channel
from rules import RulesetSpec
from sla.figures import Figures


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    team: str
    channel: Channel
    threshold: float
    target: float
    published: Figures | None
    draft: Figures | None

    @property
    def service_level_delta(self) -> float | None:
        """Draft minus published service level, in fraction points."""
        if self.published is None or self.draft is None:
            return None
        if self.published.service_level is None or self.draft.service_level is None:
            return None
        return self.draft.service_level - self.published.service_level


@dataclass(frozen=True, slots=True)
class Comparison:
    scenario: str
    seed: int
    hours: float
    arrivals: int
    rows: tuple[ComparisonRow, ...]

    def row(self, team: str, channel: Channel | str) -> ComparisonRow | None:
        for row in self.rows:
            if row.team == team and row.channel == channel:
                return row
        return None


def compare_rulesets(
    draft_spec: RulesetSpec,
    published_spec: RulesetSpec,
    scenario: Scenario | None = None,
    seed: int = 7,
    hours: float | None = None,
) -> Comparison:
    """Predicted SL/ASA per team × channel under the published and the draft rules.

    Raises `rules.RulesetInvalid` (with positions) if the draft does not compile
    against the scenario's contact center.
    """
    scenario = scenario or contact_center()
    if hours is not None:
        scenario = replace(scenario, hours=hours)
    draft = compile_rules(draft_spec, scenario)  # fail before simulating anything
    published = compile_rules(published_spec, scenario)
    traffic = generate(scenario, seed)
    runs = [rows(Simulation(scenario, ruleset, traffic, seed).run())
            for ruleset in (published, draft)]
    return Comparison(scenario.name, seed, scenario.hours, len(traffic), _pair(*runs))


def _pair(published: list[Row], draft: list[Row]) -> tuple[ComparisonRow, ...]:
    before = {r.key: r for r in published}
    after = {r.key: r for r in draft}
    keys = sorted({*before, *after}, key=lambda k: (k[0], k[1].value))
    found = []
    for key in keys:
        ref = before.get(key) or after[key]
        found.append(ComparisonRow(
            team=key[0], channel=key[1], threshold=ref.threshold, target=ref.target,
            published=before[key].figures if key in before else None,
            draft=after[key].figures if key in after else None,
        ))
    return tuple(found)
