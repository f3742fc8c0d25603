"""Validation errors: exact messages and positions (file and expression)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router.topology import Topology
from rules import (
    Problem,
    ProblemKind,
    RulesetInvalid,
    RulesetSpec,
    compile_ruleset,
    parse_ruleset,
    validate_ruleset,
)


def errors_of(text: str, topology: Topology) -> tuple[Problem, ...]:
    with pytest.raises(RulesetInvalid) as caught:
        loaded = parse_ruleset(text, "rules.yaml")
        compile_ruleset(loaded.spec, topology, loaded.source)
    return caught.value.problems


def one(text: str, topology: Topology) -> Problem:
    problems = errors_of(text, topology)
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_field_in_file(topology: Topology) -> None:
    text = (
        "rules:\n"
        "  - name: loyal\n"
        "    when: customer.loyalty > 3\n"
        "    then: {queue: vip}\n"
        "default: {queue: general}\n"
    )
    problem = one(text, topology)
    assert problem.kind is ProblemKind.UNKNOWN_FIELD
    assert (problem.rule, problem.field, problem.value) == ("loyal", "when", "customer.loyalty")
    assert (problem.line, problem.column) == (3, 19)  # the `.` of customer.loyalty
    assert str(problem) == (
        "rule 'loyal', field 'when', line 3, column 19: unknown field 'customer.loyalty'")


def test_type_mismatch_tier_compared_to_int(topology: Topology) -> None:
    text = (
        "rules:\n"
        "  - name: tiered\n"
        "    when: customer.tier == 1\n"
        "    then: {queue: vip}\n"
        "default: {queue: general}\n"
    )
    problem = one(text, topology)
    assert problem.kind is ProblemKind.TYPE_MISMATCH
    assert str(problem) == (
        "rule 'tiered', field 'when', line 3, column 25: type mismatch: found no matching"
        " overload for '_==_' applied to '(string, int)'")


def test_int_literal_against_double_gets_a_hint(topology: Topology) -> None:
    text = "rules:\n  - name: v\n    when: customer.lifetime_value > 10000\n" \
           "    then: {queue: vip}\ndefault: {queue: general}\n"
    problem = one(text, topology)
    assert problem.message.endswith("write the number with a decimal point (e.g. 10000.0)")
    assert (problem.line, problem.column) == (3, 35)


def test_non_bool_condition(topology: Topology) -> None:
    text = "rules:\n  - name: v\n    when: customer.tier\n    then: {queue: vip}\n" \
           "default: {queue: general}\n"
    problem = one(text, topology)
    assert problem.kind is ProblemKind.TYPE_MISMATCH
    assert problem.message == "type mismatch: expression must be of type bool, but is string"


def test_syntax_error_in_folded_block(topology: Topology) -> None:
    text = (
        "rules:\n"
        "  - name: broken\n"
        "    when: >-\n"
        "      interaction.channel == \"social\" &&\n"
        "        (interaction.reach > 10\n"
        "    then: {queue: social}\n"
        "default: {queue: general}\n"
    )
    problem = one(text, topology)
    assert problem.kind is ProblemKind.SYNTAX
    assert (problem.rule, problem.field) == ("broken", "when")
    assert problem.message.startswith("syntax error: ")
    assert (problem.line, problem.column) == (5, 32)  # just past `10`, where `)` is missing


def test_position_inside_expression_without_a_file(topology: Topology) -> None:
    spec = RulesetSpec.model_validate({
        "rules": [{"name": "x", "when": 'interaction.channel == "sms" &&\n  customer.nope',
                   "then": {"queue": "general"}}],
        "default": {"queue": "general"},
    })
    report = validate_ruleset(spec, topology)
    assert [(p.kind, p.line, p.column) for p in report.errors] == [
        (ProblemKind.UNKNOWN_FIELD, 2, 11)]


def test_reference_errors(topology: Topology) -> None:
    text = (
        "rules:\n"
        "  - name: a\n"
        "    when: 'true'\n"
        "    then:\n"
        "      queue: nowhere\n"
        "      skills: {klingon: 2}\n"
        "      team: social_care\n"
        "  - name: a\n"
        "    when: customer.known\n"
        "    then: {queue: general, preferred_agent: {agent: zed}}\n"
        "default: {queue: general}\n"
    )
    problems = errors_of(text, topology)
    kinds = [p.kind for p in problems]
    assert kinds == [ProblemKind.UNKNOWN_QUEUE, ProblemKind.UNKNOWN_SKILL,
                     ProblemKind.DUPLICATE_NAME, ProblemKind.UNKNOWN_AGENT]
    assert str(problems[0]) == ("rule 'a', field 'then.queue', line 5, column 14: unknown queue"
                                " 'nowhere' (queues: billing, general, social, vip)")
    assert str(problems[1]) == ("rule 'a', field 'then.skills.klingon', line 6, column 25:"
                                " unknown skill 'klingon' (no configured agent has it)")
    assert str(problems[2]) == ("rule 'a', field 'name', line 8, column 11: duplicate rule name"
                                " 'a' (first defined as rule #1)")
    assert (problems[3].line, problems[3].column) == (10, 53)


def test_team_must_own_the_queue(topology: Topology) -> None:
    text = "rules:\n  - name: s\n    when: 'true'\n    then: {queue: social, team: csr}\n" \
           "default: {queue: general}\n"
    problem = one(text, topology)
    assert problem.kind is ProblemKind.UNKNOWN_TEAM
    assert problem.message == "queue 'social' belongs to team 'social_care', not 'csr'"


def test_missing_default(topology: Topology) -> None:
    problem = one("rules:\n  - name: a\n    when: 'true'\n    then: {queue: vip}\n", topology)
    assert problem.kind is ProblemKind.MISSING_DEFAULT
    assert str(problem) == (
        "line 1, column 1: the ruleset has no 'default' (the plan when no rule matches)")


def test_schema_errors_name_rule_field_value_position(topology: Topology) -> None:
    text = "rules:\n  - name: p\n    when: 'true'\n    then: {queue: vip, priority: 12}\n" \
           "default: {queue: general}\n"
    problem = one(text, topology)
    assert str(problem) == ("rule 'p', field 'then.priority', line 4, column 34: Input should be"
                            " less than or equal to 9 (got 12)")


def test_bad_duration(topology: Topology) -> None:
    text = ("rules:\n  - name: p\n    when: 'true'\n    then:\n      queue: vip\n"
            "      steps: [{after: soon, raise_priority_by: 1}]\ndefault: {queue: general}\n")
    problem = one(text, topology)
    assert problem.field == "then.steps.0.after"
    assert problem.message == "duration must be like 30s, 2m or 1h, got 'soon' (got 'soon')"
    assert (problem.line, problem.column) == (6, 23)


def test_yaml_syntax_error() -> None:
    with pytest.raises(RulesetInvalid) as caught:
        parse_ruleset("rules: [\n", "bad.yaml")
    problem = caught.value.problems[0]
    assert problem.kind is ProblemKind.SYNTAX and (problem.line, problem.column) == (2, 1)
    assert str(caught.value).startswith("bad.yaml: 1 error\n")


def test_unknown_calendar(topology: Topology) -> None:
    text = ("rules:\n  - name: h\n    when: |\n      interaction.channel == \"email\" &&\n"
            "      !in_business_hours(\"night\")\n    then: {queue: general}\n"
            "default: {queue: general}\n")
    problem = one(text, topology)
    assert str(problem) == ("rule 'h', field 'when', line 5, column 26: unknown calendar"
                            " 'night' (calendars: none defined)")


def _spec(*rules: dict[str, Any], default: dict[str, Any] | None = None) -> RulesetSpec:
    return RulesetSpec.model_validate(
        {"rules": list(rules), "default": default or {"queue": "general"}})


def test_warnings_unreachable_and_unstaffed(topology: Topology) -> None:
    spec = _spec(
        {"name": "lang", "when": 'customer.language == "es"', "then": {"queue": "general"}},
        {"name": "lang-again", "when": 'customer.language  ==  "es"',
         "then": {"queue": "billing"}},
        {"name": "all", "when": "true", "then": {"queue": "general"}},
        {"name": "after-all", "when": "customer.known", "then": {"queue": "social",
                                                                 "skills": {"billing": 1}}},
    )
    report = validate_ruleset(spec, topology)
    assert report.ok
    assert [(w.kind, w.rule, w.message) for w in report.warnings] == [
        (ProblemKind.UNSTAFFED_SKILL, "after-all",
         "no agent serving queue 'social' has skill 'billing' at proficiency >= 1"),
        (ProblemKind.UNREACHABLE, "lang-again",
         "rule can never match: earlier rule 'lang' has the same condition"),
        (ProblemKind.UNREACHABLE, "after-all",
         "rule can never match: earlier rule 'all' always matches (when: true)"),
    ]
    assert compile_ruleset(spec, topology).warnings == report.warnings


def test_without_topology_references_are_not_checked() -> None:
    compiled = compile_ruleset(_spec({"name": "x", "when": "true", "then": {"queue": "q9"}}))
    assert compiled.rules[0].plan.queue == "q9"


def test_example_ruleset_is_clean(topology: Topology) -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
    loaded = parse_ruleset(path.read_text(), "rules.yaml")
    report = validate_ruleset(loaded.spec, topology, loaded.source)
    assert report.errors == () and report.warnings == ()
