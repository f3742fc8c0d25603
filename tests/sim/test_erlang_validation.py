"""The simulator driving the real core reproduces Erlang C on M/M/N settings.

One queue, one channel, Poisson arrivals, exponential handle times, no abandonment,
agents of capacity 1 accepting at once: the queue the Erlang C formula describes. The
simulated service level and average speed of answer must match the formula within
±2 percentage points and ±10% (fixed seeds; enough simulated hours for that spread).
"""

from __future__ import annotations

import pytest

from bench.sim import scenarios, summary
from bench.sim.reference import fifo_waits
from bench.sim.runner import Simulation, compile_rules, simulate
from bench.sim.traffic import generate
from sla import erlang

CASES = [
    # agents, traffic (Erlangs), handle time (s), simulated hours, seed
    pytest.param(3, 2.0, 60.0, 150.0, 1, id="3-agents-67pct"),
    pytest.param(10, 7.0, 60.0, 120.0, 1, id="10-agents-70pct"),
]


@pytest.mark.parametrize(("agents", "traffic", "handle", "hours", "seed"), CASES)
def test_simulated_mmn_matches_erlang_c(
    agents: int, traffic: float, handle: float, hours: float, seed: int
) -> None:
    scenario = scenarios.mmn(agents, traffic / handle * 3600.0, handle, hours, threshold=20.0)
    result = simulate(scenario, scenarios.mmn_rules(), seed=seed)
    figures = summary.team_total(result, "mmn")
    expected_sl = erlang.service_level(agents, traffic, 20.0, handle)
    expected_asa = erlang.average_speed_of_answer(agents, traffic, handle)
    assert figures.abandoned == 0 and figures.expired == 0
    assert figures.service_level is not None and figures.asa is not None
    assert abs(figures.service_level - expected_sl) <= 0.02, (figures.service_level, expected_sl)
    assert abs(figures.asa - expected_asa) <= 0.10 * expected_asa, (figures.asa, expected_asa)


def test_engine_waits_equal_an_exact_fifo_model_on_the_same_draws() -> None:
    """Any gap to Erlang C is sampling noise: on identical draws the core is exact."""
    agents, traffic, handle, hours = 4, 3.0, 90.0, 20.0
    scenario = scenarios.mmn(agents, traffic / handle * 3600.0, handle, hours)
    arrivals = generate(scenario, 5)
    result = Simulation(scenario, compile_rules(scenarios.mmn_rules(), scenario), arrivals, 5).run()
    figures = summary.team_total(result, "mmn")
    waits = fifo_waits(arrivals, agents, since=result.measured_from, until=result.end)
    assert figures.answered == len(waits)
    assert figures.answered_within == sum(1 for w in waits if w <= 20.0)
    assert figures.asa == pytest.approx(sum(waits) / len(waits), rel=1e-9)
