"""Generated traffic: every arrival with everything random about it drawn up front.

Drawing handle, wrap-up, patience and think time at generation (not when the event
happens) gives common random numbers: two routing configurations fed the same
traffic see the same customers behave the same way, so differences between runs are
the routing's, not the dice's.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bench.sim.model import HOUR, ChannelTraffic, CustomerMix, Scenario, Spike
from router.customer import CustomerProfile
from router.interaction import Channel, Interaction


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float
    interaction: Interaction
    customer: CustomerProfile
    handle: float
    wrap_up: float
    patience: float
    think: float


def customers(mix: CustomerMix, owners: tuple[str, ...], rng: random.Random
              ) -> list[CustomerProfile]:
    """A customer population: tiers, languages and (for premium tiers) account owners."""
    tiers = list(mix.tiers)
    weights = list(mix.tiers.values())
    found = []
    for n in range(mix.population):
        tier = rng.choices(tiers, weights)[0]
        premium = tier != "standard"
        owner = (rng.choice(owners) if premium and owners and rng.random() < mix.owned_share
                 else None)
        found.append(CustomerProfile(
            id=f"c{n}",
            tier=tier,
            lifetime_value=round(rng.lognormvariate(7.0, 1.0), 2),
            language="es" if rng.random() < mix.spanish_share else "en",
            account_owner=owner,
        ))
    return found


def _spike_factor(spikes: tuple[Spike, ...], channel: Channel, at: float) -> float:
    factor = 1.0
    for spike in spikes:
        if spike.channel is channel and spike.start <= at < spike.start + spike.length:
            factor *= spike.factor
    return factor


def _breakpoints(scenario: Scenario, channel: Channel) -> list[float]:
    """Where the arrival rate may change: every hour, and spike edges."""
    points = {float(h) * HOUR for h in range(math.ceil(scenario.hours) + 1)}
    for spike in scenario.spikes:
        if spike.channel is channel:
            points.update({spike.start, spike.start + spike.length})
    horizon = scenario.hours * HOUR
    return [*sorted(p for p in points if 0.0 <= p <= horizon), horizon]


def arrival_times(traffic: ChannelTraffic, scenario: Scenario, rng: random.Random
                  ) -> Iterator[float]:
    """Non-homogeneous Poisson arrivals, seconds from the start.

    The rate is constant between breakpoints (hours, spike edges); Poisson is
    memoryless, so restarting the exponential draw at each breakpoint is exact.
    """
    points = _breakpoints(scenario, traffic.channel)
    for start, end in itertools.pairwise(points):
        if end <= start:
            continue
        rate = traffic.rate(int(start // HOUR)) * _spike_factor(
            scenario.spikes, traffic.channel, start)
        if rate <= 0:
            continue
        at = start + rng.expovariate(rate)
        while at < end:
            yield at
            at += rng.expovariate(rate)


def generate(scenario: Scenario, seed: int) -> list[Arrival]:
    """Every arrival of the run, in time order (a pure function of scenario and seed)."""
    # Account owners are agents of the VIP desk (a preferred agent who can take the work).
    owners = tuple(plan.id for plan in scenario.agents if "vip" in plan.spec.get("skills", {}))
    people = customers(scenario.customers, owners, random.Random(seed + 1))
    found: list[Arrival] = []
    for index, traffic in enumerate(scenario.traffic):
        # One stream per channel: adding a channel does not reshuffle the others.
        stream = random.Random(seed * 1_000 + index)
        for offset in arrival_times(traffic, scenario, stream):
            found.append(_arrival(traffic, scenario, offset, people, stream, len(found)))
    found.sort(key=lambda a: a.at)
    return found


def _arrival(traffic: ChannelTraffic, scenario: Scenario, offset: float,
             people: list[CustomerProfile], rng: random.Random, n: int) -> Arrival:
    channel = traffic.channel
    customer = rng.choice(people)
    at = scenario.start + offset
    public = channel is Channel.SOCIAL and rng.random() < traffic.public_share
    negative = rng.random() < traffic.negative_share
    interaction = Interaction(
        id=f"{channel.value[:2]}{n}",
        channel=channel,
        idempotency_key=f"sim-{channel.value}-{n}",
        created_at=at,
        customer_id=customer.id,
        language=customer.language,
        intent="billing" if rng.random() < scenario.customers.billing_share else "support",
        sentiment=-0.8 if negative else 0.2,
        public=public,
        reach=int(rng.lognormvariate(5.0, 2.0)) if channel is Channel.SOCIAL else 0,
    )
    return Arrival(
        at=at,
        interaction=interaction,
        customer=customer,
        handle=traffic.handle.sample(rng),
        wrap_up=traffic.wrap_up.sample(rng),
        patience=traffic.patience.sample(rng),
        think=scenario.think.sample(rng),
    )
