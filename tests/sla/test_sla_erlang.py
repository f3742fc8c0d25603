"""Erlang C against a worked example, against erlanglib (an independent, Decimal-based
implementation of the textbook formula) and at sizes where the textbook formula overflows."""

from __future__ import annotations

import math

import erlanglib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.erlang import (
    agents_required,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
    staffing,
    traffic_intensity,
)

# The classic worked example: 100 calls in 30 minutes, 3 minute AHT, 80% in 20 s.
# A = 100 × 180 / 1800 = 10 Erlangs. Hand calculation for N = 13:
#   Erlang B by recursion → B(13) = 0.0834…; C = 13·B / (13 − 10·(1 − B)) = 0.2853
#   SL = 1 − 0.2853 · e^(−3 · 20/180) = 1 − 0.2853 · 0.7165 = 0.7956
#   ASA = 0.2853 · 180 / 3 = 17.1 s
# so 13 agents just miss 80% and 14 are needed.
WORKED = [
    # agents, P(wait), SL(20 s), ASA, occupancy
    (11, 0.6821, 0.3896, 122.78, 0.9091),
    (12, 0.4494, 0.6402, 40.44, 0.8333),
    (13, 0.2853, 0.7956, 17.12, 0.7692),
    (14, 0.1741, 0.8884, 7.84, 0.7143),
    (15, 0.1020, 0.9415, 3.67, 0.6667),
]


def test_traffic_of_worked_example() -> None:
    assert traffic_intensity(100, 1800, 180) == pytest.approx(10.0)


@pytest.mark.parametrize(("agents", "wait", "sl", "asa", "occ"), WORKED)
def test_worked_example(agents: int, wait: float, sl: float, asa: float, occ: float) -> None:
    row = staffing(agents, 10.0, threshold=20, handle_time=180)
    assert row.probability_of_wait == pytest.approx(wait, abs=5e-5)
    assert row.service_level == pytest.approx(sl, abs=5e-5)
    assert row.average_speed_of_answer == pytest.approx(asa, abs=5e-3)
    assert row.occupancy == pytest.approx(occ, abs=5e-5)


def test_agents_required_worked_example() -> None:
    assert agents_required(10.0, threshold=20, handle_time=180, target=0.8) == 14
    assert agents_required(10.0, threshold=20, handle_time=180, target=0.9) == 15
    # an occupancy cap can need more agents than the service level does
    assert agents_required(10.0, 20, 180, target=0.5, max_occupancy=0.7) == 15


@pytest.mark.parametrize(
    ("agents", "traffic", "blocking"),
    [(1, 1.0, 0.5), (2, 1.0, 0.2), (5, 3.0, 0.11005), (10, 5.0, 0.01838)],
)
def test_erlang_b_table(agents: int, traffic: float, blocking: float) -> None:
    # B(1, 1) = 1/2 and B(2, 1) = (1/2)/(1 + 1 + 1/2) = 1/5 by hand; the others are
    # standard Erlang B table entries.
    assert erlang_b(agents, traffic) == pytest.approx(blocking, abs=5e-6)


@settings(max_examples=60, deadline=None)
@given(
    agents=st.integers(min_value=1, max_value=60),
    load=st.floats(min_value=0.01, max_value=0.99),
    threshold=st.floats(min_value=0, max_value=600),
    aht=st.floats(min_value=10, max_value=1200),
)
def test_against_erlanglib(agents: int, load: float, threshold: float, aht: float) -> None:
    traffic = agents * load
    assert erlang_b(agents, traffic) == pytest.approx(erlanglib.erlang_b(agents, traffic))
    wait = erlanglib.erlang_c(agents, traffic)
    assert erlang_c(agents, traffic) == pytest.approx(wait, rel=1e-9, abs=1e-12)
    assert service_level(agents, traffic, threshold, aht) == pytest.approx(
        erlanglib.service_level(agents, traffic, wait, threshold, aht), rel=1e-9, abs=1e-12
    )
    assert average_speed_of_answer(agents, traffic, aht) == pytest.approx(
        erlanglib.average_speed_of_answer(agents, traffic, wait, aht), rel=1e-9, abs=1e-12
    )
    assert occupancy(agents, traffic) * 100 == pytest.approx(erlanglib.occupancy(traffic, agents))


@pytest.mark.parametrize("agents", [200, 1000, 5000])
def test_stable_for_large_n(agents: int) -> None:
    # A^N / N! overflows a float long before N = 200; the recursion does not.
    with pytest.raises(OverflowError):
        float(agents) ** agents / math.factorial(agents)
    traffic = agents * 0.97
    wait = erlang_c(agents, traffic)
    assert 0.0 < wait < 1.0
    levels = [service_level(n, traffic, 20, 180) for n in range(agents, agents + 40)]
    assert all(0.0 <= level <= 1.0 for level in levels)
    assert levels == sorted(levels)  # more agents never lower the service level
    assert agents_required(traffic, 20, 180, 0.8) > math.ceil(traffic)


def test_erlanglib_agrees_at_moderately_large_n() -> None:
    assert erlang_c(300, 290.0) == pytest.approx(erlanglib.erlang_c(300, 290.0), rel=1e-9)


@pytest.mark.parametrize(("agents", "traffic"), [(10, 10.0), (10, 12.5), (0, 1.0)])
def test_unstable_queue(agents: int, traffic: float) -> None:
    assert erlang_c(agents, traffic) == 1.0
    assert service_level(agents, traffic, 20, 180) == 0.0
    assert average_speed_of_answer(agents, traffic, 180) == math.inf
    assert occupancy(agents, traffic) == 1.0


def test_no_traffic() -> None:
    assert erlang_c(3, 0.0) == 0.0
    assert service_level(3, 0.0, 0, 180) == 1.0
    assert average_speed_of_answer(3, 0.0, 180) == 0.0
    assert agents_required(0.0, 20, 180, 0.8) == 0
    assert occupancy(0, 0.0) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_c(-1, 1.0), "agents must be >= 0, got -1"),
        (lambda: erlang_c(2, -1.0), "traffic must be a finite number >= 0, got -1.0"),
        (lambda: service_level(2, 1.0, 20, 0), "handle_time must be > 0 seconds, got 0"),
        (lambda: agents_required(5.0, 20, 180, 1.0), "target service level must be in (0, 1)"),
        (lambda: agents_required(5.0, 20, 180, 0.8, max_occupancy=0),
         "max_occupancy must be in (0, 1], got 0"),
        (lambda: traffic_intensity(10, 0, 180), "period must be > 0 seconds, got 0"),
    ],
)
def test_rejects(call: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()  # type: ignore[operator]
    assert str(info.value).startswith(message)
