"""A simulated day of the example contact center: determinism, silos, the social spike."""

from __future__ import annotations

from bench.sim import scenarios, summary
from bench.sim.runner import SimResult, build_topology, simulate
from bench.sim.traffic import generate
from router.interaction import Channel

SEED = 7


def _day(scenario_name: str = "universal") -> SimResult:
    scenario = scenarios.contact_center()
    if scenario_name == "siloed":
        return simulate(scenarios.siloed(scenario), scenarios.siloed_rules(), seed=SEED)
    if scenario_name == "spike":
        return simulate(scenarios.social_spike(scenario), scenarios.published_rules(), seed=SEED)
    return simulate(scenario, scenarios.published_rules(), seed=SEED)


def test_traffic_is_a_pure_function_of_the_seed() -> None:
    scenario = scenarios.contact_center()
    first, second = generate(scenario, 3), generate(scenario, 3)
    assert [(a.at, a.interaction.id, a.handle) for a in first] == [
        (a.at, a.interaction.id, a.handle) for a in second
    ]
    assert [a.at for a in generate(scenario, 4)] != [a.at for a in first]


def test_spike_multiplies_social_arrivals_in_its_hour_only() -> None:
    base = scenarios.contact_center()
    spiked = scenarios.social_spike(base, factor=10.0, at_hour=11.0)

    def social(arrivals: list, lo: float, hi: float) -> int:
        return sum(1 for a in arrivals if a.interaction.channel is Channel.SOCIAL
                   and base.start + lo * 3600 <= a.at < base.start + hi * 3600)

    plain, storm = generate(base, SEED), generate(spiked, SEED)
    assert social(storm, 11, 12) >= 6 * social(plain, 11, 12)
    assert social(storm, 0, 11) == social(plain, 0, 11)


def test_a_day_runs_through_the_real_core_and_accounts_for_every_arrival() -> None:
    result = _day()
    finished = sum(result.outcomes.values())
    assert result.arrivals - 50 <= finished <= result.arrivals
    rows = {row.key: row for row in summary.rows(result)}
    assert ("csr", Channel.VOICE) in rows and ("social_care", Channel.SOCIAL) in rows
    voice = rows[("csr", Channel.VOICE)].figures
    assert voice.service_level is not None and 0.0 < voice.service_level <= 1.0
    assert voice.abandoned > 0  # customers with finite patience do hang up
    assert 0.0 < (rows[("csr", Channel.VOICE)].occupancy or 0.0) < 1.0


def test_siloed_center_puts_every_agent_on_one_channel() -> None:
    siloed = scenarios.siloed(scenarios.contact_center())
    topology = build_topology(siloed)
    for agent in topology.agents.values():
        assert len(topology.queues_of(agent)) == 1
        assert sum(1 for slots in agent.capacity.values() if slots) == 1
    result = _day("siloed")
    teams = {(row.team, row.channel) for row in summary.rows(result)}
    assert ("social_care", Channel.SOCIAL) in teams and ("csr", Channel.SOCIAL) not in teams


def test_social_spike_leaves_csr_service_level_within_two_points() -> None:
    base, spike = _day(), _day("spike")
    assert spike.arrivals > base.arrivals + 100
    csr_base = summary.team_total(base, "csr").service_level
    csr_spike = summary.team_total(spike, "csr").service_level
    assert csr_base is not None and csr_spike is not None
    assert abs(csr_spike - csr_base) <= 0.02, (csr_base, csr_spike)
