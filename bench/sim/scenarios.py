"""Scenarios: the example contact center for a day, its siloed twin, and M/M/N.

The contact center reuses config/contact-center.yaml (teams, queues, the eight
example agents as archetypes, cloned to a realistic headcount), config/sla.yaml and
config/rules.yaml, so what is simulated is what the demo deploys.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bench.sim.model import (
    HOUR,
    AgentPlan,
    Break,
    ChannelTraffic,
    Scenario,
    Spike,
    exponential,
    fixed,
    lognormal,
)
from router.interaction import Channel
from rules import RulesetSpec, load_ruleset, spec_from_data

CONFIG = Path(__file__).resolve().parents[2] / "config"

#: A Monday, 00:00 in the rules' business-hours timezone (Europe/Madrid), so the
#: "email-after-hours" rule sees a normal working day.
DAY_START = dt.datetime(2026, 11, 23, tzinfo=ZoneInfo("Europe/Madrid")).timestamp()

#: Hour-of-day multipliers: a business day with a morning peak and an afternoon peak.
BUSINESS_DAY: tuple[float, ...] = (
    0.04, 0.03, 0.02, 0.02, 0.02, 0.04, 0.12, 0.35, 0.75, 1.0, 1.1, 1.0,
    0.85, 0.9, 1.0, 0.95, 0.85, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.06,
)
#: Social media never closes and peaks in the evening.
SOCIAL_DAY: tuple[float, ...] = (
    0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.9, 0.9,
    1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.1, 1.2, 1.1, 0.9, 0.7, 0.5,
)

TRAFFIC: tuple[ChannelTraffic, ...] = (
    ChannelTraffic(Channel.VOICE, 110, lognormal(300, 0.6), exponential(30),
                   exponential(180), BUSINESS_DAY),
    ChannelTraffic(Channel.CHAT, 50, lognormal(420, 0.7), exponential(20),
                   exponential(300), BUSINESS_DAY),
    ChannelTraffic(Channel.SMS, 30, lognormal(300, 0.7), exponential(20),
                   lognormal(3600, 1.0), BUSINESS_DAY),
    ChannelTraffic(Channel.EMAIL, 45, lognormal(480, 0.8), exponential(60),
                   profile=BUSINESS_DAY),
    ChannelTraffic(Channel.SOCIAL, 20, lognormal(420, 0.7), exponential(30),
                   profile=SOCIAL_DAY, public_share=0.6, negative_share=0.3),
)

#: Day shifts start on these hours, in turn (8 h each, 07:00 to 21:00 covered).
SHIFT_STARTS: tuple[int, ...] = (7, 8, 9, 9, 10, 11, 12, 13)


def _config(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def published_rules() -> RulesetSpec:
    return load_ruleset(CONFIG / "rules.yaml").spec


def _breaks(rng: random.Random) -> tuple[Break, ...]:
    jitter = rng.uniform(-1800, 1800)
    return (Break(2 * HOUR + jitter, 900), Break(4 * HOUR + jitter, 1800, "lunch"),
            Break(6 * HOUR + jitter, 900))


def _clone(archetype: Mapping[str, Any], agent_id: str) -> dict[str, Any]:
    spec = copy.deepcopy(dict(archetype))
    spec["id"] = agent_id
    spec["name"] = f"{archetype['name']} #{agent_id}"
    return spec


def staff(archetypes: Sequence[Mapping[str, Any]], team: str, count: int, prefix: str,
          seed: int, night: int = 0) -> list[AgentPlan]:
    """`count` day agents cloned from the team's archetypes, plus `night` night agents."""
    pool = [a for a in archetypes if a["teams"][0] == team]
    rng = random.Random(seed)
    plans = []
    for n in range(count):
        start = SHIFT_STARTS[n % len(SHIFT_STARTS)] * HOUR
        plans.append(AgentPlan(_clone(pool[n % len(pool)], f"{prefix}{n}"), start,
                               start + 8 * HOUR, _breaks(rng)))
    for n in range(night):
        # Night cover: half before 07:00, half after 21:00.
        start, end = (0.0, 7 * HOUR) if n % 2 == 0 else (21 * HOUR, 24 * HOUR)
        plans.append(AgentPlan(_clone(pool[n % len(pool)], f"{prefix}n{n}"), start, end))
    return plans


def contact_center(csr: int = 40, social: int = 6, seed: int = 1) -> Scenario:
    """The example contact center for one working day (Monday, Madrid time)."""
    topology = _config("contact-center.yaml")
    archetypes = topology.pop("agents")
    agents = (staff(archetypes, "csr", csr, "csr", seed, night=4)
              + staff(archetypes, "social_care", social, "sc", seed + 1, night=2))
    return Scenario(
        name="contact-center", topology=topology, sla=_config("sla.yaml"), traffic=TRAFFIC,
        agents=tuple(agents), hours=24.0, start=DAY_START,
    )


def social_spike(scenario: Scenario, factor: float = 10.0, at_hour: float = 11.0,
                 hours: float = 1.0) -> Scenario:
    spike = Spike(Channel.SOCIAL, factor, at_hour * HOUR, hours * HOUR)
    return replace(scenario, name=f"{scenario.name}+social-spike",
                   spikes=(*scenario.spikes, spike))


# ---------------------------------------------------------------------- siloed
SILO_CHANNELS: tuple[Channel, ...] = (Channel.VOICE, Channel.CHAT, Channel.SMS, Channel.EMAIL)


def siloed_rules() -> RulesetSpec:
    """One FIFO queue per channel: equal priority, no skills, no steps, no preferences."""
    rules = [{"name": f"to-{c.value}", "when": f'interaction.channel == "{c.value}"',
              "then": {"queue": f"silo-{c.value}"}} for c in SILO_CHANNELS]
    return spec_from_data({"description": "siloed per-channel FIFO", "rules": rules,
                           "default": {"queue": "silo-social"}})


def _silo_sla(sla: Mapping[str, Any]) -> dict[str, Any]:
    """The same thresholds and targets; overflow has nowhere to go, so it expires."""
    data = copy.deepcopy(dict(sla))
    for policy in data["policies"]:
        if policy.get("max_wait_action") == "overflow":
            policy["max_wait_action"] = "expire"
            policy.pop("overflow_queue", None)
    return data


def _channel_shares(traffic: Sequence[ChannelTraffic]) -> dict[Channel, float]:
    """Agent-equivalents each CSR channel needs: Erlangs divided by per-agent capacity."""
    capacity = {Channel.VOICE: 1, Channel.CHAT: 3, Channel.SMS: 3, Channel.EMAIL: 5}
    return {t.channel: t.per_hour * (t.handle.mean + t.wrap_up.mean) / HOUR
            / capacity[t.channel] for t in traffic if t.channel in capacity}


def _weighted_sequence(shares: Mapping[Channel, float], count: int) -> list[Channel]:
    """Smooth weighted round robin: each channel's share of `count`, interleaved."""
    total = sum(shares.values())
    current = dict.fromkeys(shares, 0.0)
    found = []
    for _ in range(count):
        for channel, share in shares.items():
            current[channel] += share / total
        pick = max(current, key=lambda c: current[c])
        current[pick] -= 1.0
        found.append(pick)
    return found


def siloed(scenario: Scenario) -> Scenario:
    """Same staff, same traffic: per-channel queues, every agent on one channel.

    CSR agents are split across voice, chat, SMS and e-mail in proportion to each
    channel's workload; the social-care team takes all social (the social silo).
    """
    topology = {
        "site": "siloed",
        "teams": scenario.topology["teams"],
        "queues": [{"id": f"silo-{c.value}", "team": "csr"} for c in SILO_CHANNELS]
        + [{"id": "silo-social", "team": "social_care"}],
    }
    csr = [p for p in scenario.agents if p.spec["teams"][0] == "csr"]
    sequence = _weighted_sequence(_channel_shares(scenario.traffic), len(csr))
    agents = []
    for plan in scenario.agents:
        channel = sequence[csr.index(plan)] if plan in csr else Channel.SOCIAL
        spec = dict(plan.spec)
        capacity = {c.value: 0 for c in Channel}
        capacity[channel.value] = int(dict(spec.get("capacity", {})).get(
            channel.value, {"voice": 1, "chat": 3, "sms": 3, "email": 5, "social": 3}[
                channel.value]))
        spec.update(capacity=capacity, queues=[f"silo-{channel.value}"])
        agents.append(replace(plan, spec=spec))
    return replace(scenario, name=f"{scenario.name}-siloed", topology=topology,
                   sla=_silo_sla(scenario.sla), agents=tuple(agents))


# ---------------------------------------------------------------------- M/M/N
def mmn(agents: int, arrivals_per_hour: float, handle: float, hours: float,
        threshold: float = 20.0, warmup: float = HOUR) -> Scenario:
    """One queue, one channel, exponential handle times, no abandonment, capacity 1."""
    plans = tuple(
        AgentPlan({"id": f"a{n}", "teams": ["mmn"],
                   "capacity": {"voice": 1, "chat": 0, "sms": 0, "social": 0, "email": 0}},
                  0.0, hours * HOUR + 1.0)
        for n in range(agents)
    )
    return Scenario(
        name=f"mmn-{agents}",
        topology={"site": "mmn", "teams": [{"id": "mmn"}], "queues": [{"id": "q", "team": "mmn"}]},
        sla={"policies": [{"team": "mmn", "channel": "voice", "threshold": threshold,
                           "target": 0.8}]},
        traffic=(ChannelTraffic(Channel.VOICE, arrivals_per_hour, exponential(handle)),),
        agents=plans, hours=hours, start=0.0, think=fixed(0.0), warmup=warmup,
    )


def mmn_rules() -> RulesetSpec:
    return spec_from_data({"default": {"queue": "q"}})
