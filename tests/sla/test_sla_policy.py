from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router.deadlines import Deadline, DeadlinePolicy
from router.errors import ConfigError
from router.interaction import Channel
from router.plan import MaxWaitAction
from router.topology import Topology
from sla.policy import SlaPolicies

ROOT = Path(__file__).resolve().parents[2]
SLA_YAML = ROOT / "config" / "sla.yaml"


@pytest.fixture(scope="module")
def topology() -> Topology:
    return Topology.load(ROOT / "config" / "contact-center.yaml")


@pytest.fixture(scope="module")
def policies(topology: Topology) -> SlaPolicies:
    return SlaPolicies.load(SLA_YAML, topology)


def test_is_a_deadline_policy(policies: SlaPolicies) -> None:
    policy: DeadlinePolicy = policies
    deadline = policy.deadline("csr", Channel.VOICE, None, False)
    assert deadline == Deadline(
        threshold=20.0, near_breach_fraction=0.8, max_wait=600.0,
        max_wait_action=MaxWaitAction.EXPIRE,
    )


@pytest.mark.parametrize(
    ("team", "channel", "sla_class", "public", "threshold", "target"),
    [
        ("csr", Channel.VOICE, None, False, 20.0, 0.8),
        ("csr", Channel.VOICE, "vip", False, 10.0, 0.9),
        ("csr", Channel.VOICE, "gold", False, 20.0, 0.8),  # unknown class: the base policy
        ("csr", Channel.CHAT, None, False, 60.0, 0.8),
        ("csr", Channel.SMS, None, True, 60.0, 0.8),
        ("csr", Channel.EMAIL, None, False, 14400.0, 0.9),
        ("social_care", Channel.SOCIAL, None, True, 900.0, 0.9),
        ("social_care", Channel.SOCIAL, None, False, 1800.0, 0.9),
        ("social_care", Channel.SOCIAL, "vip", True, 900.0, 0.9),
        # a team the file does not mention gets the channel defaults
        ("night", Channel.VOICE, None, False, 20.0, 0.8),
        ("night", Channel.SOCIAL, None, True, 900.0, 0.9),
        ("night", Channel.SOCIAL, None, False, 1800.0, 0.9),
        ("night", Channel.EMAIL, None, False, 14400.0, 0.9),
    ],
)
def test_lookup(
    policies: SlaPolicies,
    team: str,
    channel: Channel,
    sla_class: str | None,
    public: bool,
    threshold: float,
    target: float,
) -> None:
    policy = policies.policy(team, channel, sla_class, public)
    assert (policy.threshold, policy.target) == (threshold, target)
    assert policies.deadline(team, channel, sla_class, public).threshold == threshold


def test_social_care_policies_are_its_own(policies: SlaPolicies) -> None:
    social = policies.policy("social_care", Channel.SOCIAL, None, True)
    csr = policies.policy("csr", Channel.SOCIAL, None, True)
    assert social.team == "social_care" and csr.team == "csr"
    assert social.near_breach == 0.7 and csr.near_breach == 0.8
    deadline = policies.deadline("social_care", Channel.SOCIAL, None, True)
    assert deadline.max_wait == 7200.0
    assert deadline.max_wait_action is MaxWaitAction.OVERFLOW
    assert deadline.overflow_queue == "general"
    # social_care has no voice policy: it falls back to the default, not to csr's max wait
    assert policies.deadline("social_care", Channel.VOICE, None, False).max_wait is None


def test_defaults_section_applies(policies: SlaPolicies) -> None:
    assert policies.policy("csr", Channel.VOICE).short_abandon == 5.0
    custom = SlaPolicies.from_mapping(
        {
            "defaults": {"near_breach": "75%", "short_abandon": "10s"},
            "policies": [
                {"team": "a", "channel": "voice", "threshold": "30s", "target": "85%"},
                {"team": "a", "channel": "chat", "threshold": 90, "target": 0.8,
                 "short_abandon": 0},
            ],
        }
    )
    voice = custom.policy("a", Channel.VOICE)
    assert (voice.threshold, voice.target, voice.near_breach, voice.short_abandon) == (
        30.0, 0.85, 0.75, 10.0,
    )
    assert custom.policy("a", Channel.CHAT).short_abandon == 0.0


def test_thresholds_cover_every_deadline(policies: SlaPolicies) -> None:
    assert policies.thresholds() == (10.0, 20.0, 60.0, 900.0, 1800.0, 14400.0)
    assert SlaPolicies.defaults().thresholds() == (20.0, 60.0, 900.0, 1800.0, 14400.0)


def test_specific_public_beats_any(policies: SlaPolicies) -> None:
    mixed = SlaPolicies.from_mapping(
        {
            "policies": [
                {"team": "a", "channel": "social", "threshold": "1h", "target": 0.9},
                {"team": "a", "channel": "social", "public": True, "threshold": "10m",
                 "target": 0.95},
                {"team": "a", "channel": "social", "sla_class": "vip", "threshold": "5m",
                 "target": 0.99},
            ]
        }
    )
    assert mixed.policy("a", Channel.SOCIAL, None, False).threshold == 3600.0
    assert mixed.policy("a", Channel.SOCIAL, None, True).threshold == 600.0
    # a class match outranks a public match
    assert mixed.policy("a", Channel.SOCIAL, "vip", True).threshold == 300.0
    assert mixed.team_channels() == (("a", Channel.SOCIAL),)


def _one(**fields: Any) -> dict[str, Any]:
    policy = {"team": "csr", "channel": "voice", "threshold": "20s", "target": 0.8}
    policy.update(fields)
    return {"policies": [policy]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _one(threshold="soon"),
            "sla.yaml: policies.0.threshold: invalid duration 'soon': use seconds or a number"
            " with an s, m, h or d suffix (got 'soon')",
        ),
        (
            _one(threshold=0),
            "sla.yaml: policies.0.threshold: must be greater than 0 seconds (got 0)",
        ),
        (
            _one(target=1.5),
            "sla.yaml: policies.0.target: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            _one(target="eighty%"),
            "sla.yaml: policies.0.target: invalid percentage 'eighty%' (got 'eighty%')",
        ),
        (
            _one(channel="fax"),
            "sla.yaml: policies.0.channel: Input should be 'voice', 'email', 'sms', 'social'"
            " or 'chat' (got 'fax')",
        ),
        (
            _one(max_wait="5m", max_wait_action="overflow"),
            "sla.yaml: policies.0: max_wait_action 'overflow' needs an overflow_queue",
        ),
        (
            _one(max_wait_action="overflow", overflow_queue="billing"),
            "sla.yaml: policies.0: max_wait_action 'overflow' needs a max_wait",
        ),
        (
            _one(overflow_queue="billing"),
            "sla.yaml: policies.0: overflow_queue 'billing' is set but max_wait_action is"
            " 'expire'",
        ),
        (
            _one(max_wait_action="drop"),
            "sla.yaml: policies.0.max_wait_action: Input should be 'overflow' or 'expire'"
            " (got 'drop')",
        ),
        (
            _one(treshold="20s"),
            "sla.yaml: policies.0.treshold: Extra inputs are not permitted (got '20s')",
        ),
        (
            {"policies": []},
            "sla.yaml: policies: List should have at least 1 item after validation, not 0",
        ),
        (
            {"policies": [_one()["policies"][0], _one(target=0.9)["policies"][0]]},
            "sla.yaml: policies.1: duplicate policy for team 'csr' channel 'voice'"
            " sla_class None public None (first at policies.0)",
        ),
        (
            {"defaults": {"short_abandon": "-5s"}, "policies": _one()["policies"]},
            "sla.yaml: defaults.short_abandon: invalid duration '-5s': use seconds or a"
            " number with an s, m, h or d suffix (got '-5s')",
        ),
        (None, "sla.yaml: (root): Input should be a valid dictionary or instance of"
               " SlaFileSpec (got None)"),
    ],
)
def test_validation_messages(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SlaPolicies.from_mapping(data, "sla.yaml")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"team": "sales"},
            "sla.yaml: policies.0.team: unknown team 'sales' (known: csr, social_care)",
        ),
        (
            {"max_wait": "1m", "max_wait_action": "overflow", "overflow_queue": "nowhere"},
            "sla.yaml: policies.0.overflow_queue: unknown queue 'nowhere'"
            " (known: billing, general, social, vip)",
        ),
    ],
)
def test_topology_checks(topology: Topology, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SlaPolicies.from_mapping(_one(**fields), "sla.yaml", topology)
    assert str(info.value) == message
    # without a topology the same file is accepted (nothing to check against)
    SlaPolicies.from_mapping(_one(**fields), "sla.yaml")


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        SlaPolicies.load(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("policies: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        SlaPolicies.load(broken)
    assert str(info.value).startswith(f"{broken}: ")
    bad = tmp_path / "bad.yaml"
    bad.write_text("policies:\n  - {team: csr, channel: voice, threshold: 2x, target: 0.8}\n")
    with pytest.raises(ConfigError) as info:
        SlaPolicies.load(bad)
    assert str(info.value).startswith(f"{bad}: policies.0.threshold: invalid duration '2x'")
