"""Table tests of the example ruleset (config/rules.yaml)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from router.customer import CustomerProfile
from router.interaction import Channel, Interaction
from router.plan import EscalationStep, MaxWaitAction, SkillRequirement
from rules import CompiledRuleset, Outcome, RulesetSpec, compile_ruleset

# Wednesday 2026-03-04 12:00 in Madrid (UTC+1): inside support hours.
OPEN = dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)
# Wednesday 2026-03-04 22:00 in Madrid: closed.
CLOSED = dt.datetime(2026, 3, 4, 21, 0, tzinfo=dt.UTC)


def interaction(channel: Channel = Channel.VOICE, **fields: Any) -> Interaction:
    return Interaction(id="i1", channel=channel, idempotency_key="k1", created_at=0.0, **fields)


def customer(**fields: Any) -> CustomerProfile:
    return CustomerProfile(id="c1", **fields)


CASES = [
    # (case, interaction, customer, now, rule, queue, priority)
    ("platinum", interaction(), customer(tier="platinum"), OPEN, "vip", "vip", 7),
    ("gold on social", interaction(Channel.SOCIAL, public=True), customer(tier="gold"), OPEN,
     "vip", "vip", 7),
    ("high value", interaction(Channel.CHAT), customer(lifetime_value=10000.01), OPEN,
     "vip", "vip", 7),
    ("value at threshold", interaction(Channel.CHAT), customer(lifetime_value=10000.0), OPEN,
     "default", "general", 1),
    ("public post", interaction(Channel.SOCIAL, public=True), customer(), OPEN,
     "social-public", "social", 6),
    ("wide reach dm", interaction(Channel.SOCIAL, reach=10001), customer(), OPEN,
     "social-influential", "social", 5),
    ("reach at threshold", interaction(Channel.SOCIAL, reach=10000), customer(), OPEN,
     "default", "general", 1),
    ("angry dm", interaction(Channel.SOCIAL, sentiment=-0.6), customer(), OPEN,
     "social-influential", "social", 5),
    ("mildly unhappy dm", interaction(Channel.SOCIAL, sentiment=-0.5), customer(), OPEN,
     "default", "general", 1),
    ("public but not social", interaction(Channel.SMS, public=True, reach=99999), customer(),
     OPEN, "default", "general", 1),
    ("spanish interaction", interaction(language="es"), customer(), OPEN,
     "spanish", "general", 3),
    ("spanish customer", interaction(Channel.EMAIL), customer(language="es"), CLOSED,
     "spanish", "general", 3),
    ("billing", interaction(intent="billing"), customer(), OPEN, "billing", "billing", 2),
    ("spanish beats billing", interaction(intent="billing", language="es"), customer(), OPEN,
     "spanish", "general", 3),
    ("email in hours", interaction(Channel.EMAIL), customer(), OPEN, "default", "general", 1),
    ("email after hours", interaction(Channel.EMAIL), customer(), CLOSED,
     "email-after-hours", "general", 0),
    ("voice after hours", interaction(Channel.VOICE), customer(), CLOSED,
     "default", "general", 1),
    ("unknown customer", interaction(), CustomerProfile(id="x", known=False), OPEN,
     "default", "general", 1),
]


@pytest.mark.parametrize(("case", "item", "who", "now", "rule", "queue", "priority"), CASES,
                         ids=[c[0] for c in CASES])
def test_example_classification(
    compiled: CompiledRuleset, case: str, item: Interaction, who: CustomerProfile,
    now: dt.datetime, rule: str, queue: str, priority: int,
) -> None:
    result = compiled.classify(item, who, now)
    assert (result.rule, result.plan.queue, result.plan.priority) == (rule, queue, priority)
    assert result.plan.rule == rule
    assert result.version == result.plan.rule_version == 4
    assert result.errors == ()
    # The dry-run path agrees with the fast path.
    explained = compiled.explain(item, who, now)
    assert explained.classification.plan == result.plan


def test_vip_plan_carries_preferred_agent_and_steps(compiled: CompiledRuleset) -> None:
    result = compiled.classify(interaction(), customer(tier="gold", account_owner="chen"), OPEN)
    plan = result.plan
    assert plan.preferred_agent == "chen" and plan.preferred_timeout == 30.0
    assert plan.skills == (SkillRequirement("vip", 3),)
    assert plan.sla_class == "vip" and plan.tags == ("vip",)
    assert plan.steps == (
        EscalationStep(60.0, lower_proficiency_by=1),
        EscalationStep(180.0, add_queues=("general",), raise_priority_by=1),
    )


def test_no_account_owner_means_no_preference(compiled: CompiledRuleset) -> None:
    assert compiled.classify(interaction(), customer(tier="gold"), OPEN).plan.preferred_agent \
        is None


def test_spanish_widens_after_a_minute(compiled: CompiledRuleset) -> None:
    plan = compiled.classify(interaction(language="es"), customer(last_agent="bruno"), OPEN).plan
    assert plan.preferred_agent == "bruno"
    assert plan.skills == (SkillRequirement("spanish", 3),)
    assert plan.steps == (
        EscalationStep(60.0, lower_proficiency_by=1),
        EscalationStep(120.0, drop_skills=("spanish",)),
    )


def test_social_public_overflow(compiled: CompiledRuleset) -> None:
    plan = compiled.classify(interaction(Channel.SOCIAL, public=True), customer(), OPEN).plan
    assert (plan.max_wait, plan.max_wait_action, plan.overflow_queue) == (
        3600.0, MaxWaitAction.OVERFLOW, "general")


def test_channel_prefilter_is_derived_from_the_expression(compiled: CompiledRuleset) -> None:
    channels = {r.name: r.channels for r in compiled.rules}
    assert channels == {
        "vip": None, "social-public": frozenset({"social"}),
        "social-influential": frozenset({"social"}), "spanish": None, "billing": None,
        "email-after-hours": frozenset({"email"}),
    }
    trace = compiled.explain(interaction(Channel.VOICE), customer(), OPEN).trace
    assert [(t.rule, t.outcome) for t in trace] == [
        ("vip", Outcome.FALSE), ("social-public", Outcome.FILTERED),
        ("social-influential", Outcome.FILTERED), ("spanish", Outcome.FALSE),
        ("billing", Outcome.FALSE), ("email-after-hours", Outcome.FILTERED),
        ("default", Outcome.MATCHED),
    ]


def _ruleset(*rules: dict[str, Any]) -> CompiledRuleset:
    spec = RulesetSpec.model_validate({"rules": list(rules), "default": {"queue": "general"}})
    return compile_ruleset(spec, version=2)


def test_runtime_error_is_a_recorded_no_match() -> None:
    ruleset = _ruleset(
        {"name": "vip-flag", "when": 'interaction.attributes["vip"] == true',
         "then": {"queue": "vip"}},
        {"name": "order", "when": 'interaction.attributes["order"] == "1"',
         "then": {"queue": "billing"}},
    )
    result = ruleset.classify(interaction(attributes={"order": "1"}), customer(), OPEN)
    assert result.rule == "order"
    assert [e.rule for e in result.errors] == ["vip-flag"]
    assert "vip" in result.errors[0].message
    trace = ruleset.explain(interaction(attributes={}), customer(), OPEN).trace
    assert [t.outcome for t in trace] == [Outcome.ERROR, Outcome.ERROR, Outcome.MATCHED]
    # Presence tests avoid the error altogether.
    safe = _ruleset({"name": "vip-flag", "when": '"vip" in interaction.attributes && '
                     'interaction.attributes["vip"] == true', "then": {"queue": "vip"}})
    assert safe.classify(interaction(), customer(), OPEN).errors == ()


def test_unknown_calendar_at_runtime_is_a_recorded_no_match() -> None:
    ruleset = _ruleset({"name": "dyn", "when": "in_business_hours(interaction.subject)",
                        "then": {"queue": "vip"}})
    result = ruleset.classify(interaction(subject="nope"), customer(), OPEN)
    assert result.rule == "default"
    assert result.errors[0].rule == "dyn" and "nope" in result.errors[0].message


def test_many_rules_across_segments_keep_first_match_order() -> None:
    rules = [{"name": f"r{i}", "when": f"customer.open_interactions == {i}",
              "then": {"queue": "general", "priority": i % 10}} for i in range(30)]
    ruleset = _ruleset(*rules)
    for i in (0, 7, 8, 9, 29):
        assert ruleset.classify(interaction(), customer(open_interactions=i), OPEN).rule == f"r{i}"
    assert ruleset.classify(interaction(), customer(open_interactions=31), OPEN).rule == "default"


def test_epoch_seconds_are_accepted_as_now(compiled: CompiledRuleset) -> None:
    result = compiled.classify(interaction(Channel.EMAIL), customer(), CLOSED.timestamp())
    assert result.rule == "email-after-hours"
