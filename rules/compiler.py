"""Ruleset spec -> validated, compiled ruleset; first-match classification into a plan.

Compile once per published version: every expression is type-checked, every
reference resolved against the topology, every plan pre-built. Classification then
only binds the variables the ruleset reads, walks the rules admitted for the
interaction's channel (a sound pre-filter read from the checked AST) and evaluates
until one is true. An evaluation error (say a missing attribute key) is a no-match,
recorded on the result; it never raises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from router.customer import CustomerProfile
from router.interaction import Channel, Interaction
from router.plan import EscalationStep, MaxWaitAction, RoutingPlan, SkillRequirement
from router.topology import Topology
from rules.calendar import Calendar
from rules.cel import (
    Activation,
    CelFunction,
    CelType,
    CompileFailed,
    Diagnostic,
    DiagnosticKind,
    Environment,
    EvalError,
    Expression,
)
from rules.checked import is_literal_true, required_channels
from rules.errors import Problem, ProblemKind, RulesetInvalid
from rules.model import ActionSpec, RulesetSpec, RuleSpec
from rules.schema import BY_NAME, TYPES
from rules.source import PathKey, SourceMap

BUSINESS_HOURS_FUNCTION = "in_business_hours"


class _OpenNow:
    """Business-hours answers for one classification (one `now`), computed on demand."""

    __slots__ = ("calendars", "now")

    def __init__(self, calendars: Mapping[str, Calendar], now: dt.datetime) -> None:
        self.calendars = calendars
        self.now = now

    def is_open(self, name: str) -> bool:
        calendar = self.calendars.get(name)
        if calendar is None:
            raise LookupError(f"unknown calendar {name!r}")
        return calendar.is_open(self.now)


# The CEL function has no access to the evaluation's variables, so `now` and the
# ruleset's calendars reach it through a context variable set around each evaluation
# (safe across threads and asyncio tasks).
_OPEN_NOW: ContextVar[_OpenNow | None] = ContextVar("rules_open_now", default=None)


def _in_business_hours(name: str) -> bool:
    current = _OPEN_NOW.get()
    if current is None:
        raise LookupError("in_business_hours() called outside a classification")
    return current.is_open(name)


ENVIRONMENT = Environment(
    TYPES, [CelFunction(BUSINESS_HOURS_FUNCTION, (CelType.STRING,), CelType.BOOL,
                        _in_business_hours)],
)


class Outcome(StrEnum):
    MATCHED = "matched"
    FALSE = "false"
    ERROR = "error"
    FILTERED = "filtered"  # skipped: the rule provably needs another channel


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule whose condition failed to evaluate for one interaction (counted as no-match)."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Classification:
    plan: RoutingPlan
    rule: str
    version: int
    errors: tuple[RuleFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleTrace:
    rule: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """A classification with the reason every earlier rule did not match (dry-run)."""

    classification: Classification
    trace: tuple[RuleTrace, ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    description: str
    when: Expression
    channels: frozenset[str] | None  # None: any channel may match
    plan: RoutingPlan
    preferred: Expression | None = None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


DEFAULT_RULE = "default"


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive rules fused into one CEL conditional chain, evaluated in one call:
    `(w0) ? "0:" + p0 : ((w1) ? "1:" + p1 : "-1:")` where `pK` is rule K's preferred
    agent expression (or `""`). The conditional only evaluates the branch it takes,
    so the chain means exactly first-match; any error in it sends the classification
    down the rule-by-rule path, which records which rule failed."""

    chain: Expression
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    spec: RulesetSpec
    version: int
    rules: tuple[CompiledRule, ...]
    default: CompiledRule
    calendars: Mapping[str, Calendar]
    warnings: tuple[Problem, ...] = ()
    _getters: tuple[tuple[str, int, Any], ...] = field(default=(), repr=False)
    _segments: Mapping[str, tuple[Segment, ...]] = field(default_factory=dict, repr=False)
    _uses_hours: bool = False

    def classify(
        self, interaction: Interaction, customer: CustomerProfile, now: dt.datetime | float
    ) -> Classification:
        """First matching rule's plan (or the default's); never raises on evaluation errors."""
        now = _as_datetime(now)
        subjects = (interaction, customer, now)
        values = {name: read(subjects[subject]) for name, subject, read in self._getters}
        token = _OPEN_NOW.set(_OpenNow(self.calendars, now)) if self._uses_hours else None
        try:
            for segment in self._segments[interaction.channel.value]:
                result = segment.chain.evaluate_values(values)
                if not isinstance(result, str):  # an error inside the chain
                    return self._rule_by_rule(values, interaction.channel.value)
                index, _, preferred = result.partition(":")
                if index != "-1":
                    rule = segment.rules[int(index)]
                    plan = replace(rule.plan, preferred_agent=preferred) if preferred \
                        else rule.plan
                    return Classification(plan, rule.name, self.version)
            return self._matched(self.default, ENVIRONMENT.activation(values), [])
        finally:
            if token is not None:
                _OPEN_NOW.reset(token)

    def _rule_by_rule(self, values: Mapping[str, Any], channel: str) -> Classification:
        activation = ENVIRONMENT.activation(values)
        errors: list[RuleFailure] = []
        for segment in self._segments[channel]:
            for rule in segment.rules:
                result = rule.when.evaluate(activation)
                if result is True:
                    return self._matched(rule, activation, errors)
                if result is not False:
                    errors.append(RuleFailure(rule.name, _failure(result)))
        return self._matched(self.default, activation, errors)

    def explain(
        self, interaction: Interaction, customer: CustomerProfile, now: dt.datetime | float
    ) -> Explanation:
        """Like `classify`, with the outcome of every rule up to the match (dry-run)."""
        now = _as_datetime(now)
        subjects = (interaction, customer, now)
        activation = ENVIRONMENT.activation(
            {name: read(subjects[subject]) for name, subject, read in self._getters}
        )
        token = _OPEN_NOW.set(_OpenNow(self.calendars, now)) if self._uses_hours else None
        channel = interaction.channel.value
        trace: list[RuleTrace] = []
        errors: list[RuleFailure] = []
        try:
            for rule in self.rules:
                if rule.channels is not None and channel not in rule.channels:
                    trace.append(RuleTrace(rule.name, Outcome.FILTERED,
                                           f"needs channel {' or '.join(sorted(rule.channels))}"))
                    continue
                result = rule.when.evaluate(activation)
                if result is True:
                    trace.append(RuleTrace(rule.name, Outcome.MATCHED))
                    return Explanation(self._matched(rule, activation, errors), tuple(trace))
                if result is False:
                    trace.append(RuleTrace(rule.name, Outcome.FALSE, "condition is false"))
                else:
                    errors.append(RuleFailure(rule.name, _failure(result)))
                    trace.append(RuleTrace(rule.name, Outcome.ERROR, _failure(result)))
            trace.append(RuleTrace(DEFAULT_RULE, Outcome.MATCHED, "no rule matched"))
            return Explanation(self._matched(self.default, activation, errors), tuple(trace))
        finally:
            if token is not None:
                _OPEN_NOW.reset(token)

    def _matched(
        self, rule: CompiledRule, activation: Activation, errors: list[RuleFailure]
    ) -> Classification:
        plan = rule.plan
        if rule.preferred is not None:
            agent = rule.preferred.evaluate(activation)
            if isinstance(agent, EvalError):
                errors.append(RuleFailure(rule.name, f"preferred_agent: {agent.message}"))
            elif isinstance(agent, str) and agent:
                plan = replace(plan, preferred_agent=agent)
        return Classification(plan, rule.name, self.version, tuple(errors))


def _failure(result: object) -> str:
    if isinstance(result, EvalError):
        return result.message
    return f"condition is not a bool (got {result!r})"


def _as_datetime(now: dt.datetime | float) -> dt.datetime:
    if isinstance(now, dt.datetime):
        return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(now, dt.UTC)


# ---------------------------------------------------------------- compilation


class _Compiler:
    """Collects every problem of one ruleset instead of stopping at the first."""

    def __init__(self, spec: RulesetSpec, topology: Topology | None, source: SourceMap | None,
                 version: int) -> None:
        self.spec = spec
        self.topology = topology
        self.source = source
        self.version = version
        self.problems: list[Problem] = []

    def where(self, path: PathKey) -> tuple[int | None, int | None]:
        if self.source is None:
            return None, None
        found = self.source.position(path)
        return found if found is not None else (None, None)

    def report(self, kind: ProblemKind, message: str, rule: str | None, path: PathKey,
               value: object = None, at: tuple[int | None, int | None] | None = None) -> None:
        line, column = at if at is not None else self.where(path)
        field_name = ".".join(str(p) for p in path[2 if path[:1] == ("rules",) else 1:])
        shown = None if value is None else str(value)
        self.problems.append(Problem(kind, message, rule, field_name or None, shown, line, column))

    def expression(self, source: str, expect: CelType, rule: str, path: PathKey,
                   ) -> Expression | None:
        try:
            compiled = ENVIRONMENT.compile(source, expect)
        except CompileFailed as failed:
            for diagnostic in failed.diagnostics:
                self._diagnostic(diagnostic, source, rule, path)
            return None
        self._calendars(compiled, rule, path)
        return compiled

    def _expression_at(self, path: PathKey, line: int, column: int) -> tuple[int, int]:
        if self.source is None:
            return line, column
        return self.source.expression_position(path, line, column)

    def _diagnostic(self, diagnostic: Diagnostic, source: str, rule: str, path: PathKey) -> None:
        at = self._expression_at(path, diagnostic.line, diagnostic.column)
        if diagnostic.kind is DiagnosticKind.UNDECLARED:
            name = diagnostic.name or ""
            message = f"unknown field {name!r}"
            if not name.startswith(("interaction.", "customer.")) and name != "now":
                message = f"unknown variable {name!r}; use interaction.*, customer.* or now"
            self.report(ProblemKind.UNKNOWN_FIELD, message, rule, path, name, at)
        elif diagnostic.kind is DiagnosticKind.SYNTAX:
            self.report(ProblemKind.SYNTAX, f"syntax error: {diagnostic.message}", rule, path,
                        source, at)
        elif diagnostic.kind in (DiagnosticKind.NO_OVERLOAD, DiagnosticKind.RESULT_TYPE):
            message = f"type mismatch: {diagnostic.message}"
            if "(double, int)" in message or "(int, double)" in message:
                message += "; write the number with a decimal point (e.g. 10000.0)"
            self.report(ProblemKind.TYPE_MISMATCH, message, rule, path, source, at)
        else:
            self.report(ProblemKind.INVALID_EXPRESSION, diagnostic.message, rule, path, source, at)

    def _calendars(self, compiled: Expression, rule: str, path: PathKey) -> None:
        for node in compiled.ast.walk():
            if node.kind != "call" or node.name != BUSINESS_HOURS_FUNCTION or not node.args:
                continue
            arg = node.args[0]
            if arg.kind == "const" and isinstance(arg.value, str) \
                    and arg.value not in self.spec.calendars:
                offset = compiled.ast.offsets.get(arg.id, 0)
                line, column = _line_column(compiled.source, offset)
                known = ", ".join(sorted(self.spec.calendars)) or "none defined"
                self.report(ProblemKind.UNKNOWN_CALENDAR,
                            f"unknown calendar {arg.value!r} (calendars: {known})",
                            rule, path, arg.value, self._expression_at(path, line, column))

    def references(self, action: ActionSpec, rule: str, path: PathKey) -> None:
        if self.topology is None:
            return
        self._queue(action.queue, rule, (*path, "queue"))
        if action.team is not None:
            if action.team not in self.topology.teams:
                self.report(ProblemKind.UNKNOWN_TEAM, f"unknown team {action.team!r}", rule,
                            (*path, "team"), action.team)
            elif action.queue in self.topology.queues \
                    and self.topology.team_of(action.queue) != action.team:
                self.report(ProblemKind.UNKNOWN_TEAM,
                            f"queue {action.queue!r} belongs to team"
                            f" {self.topology.team_of(action.queue)!r}, not {action.team!r}",
                            rule, (*path, "team"), action.team)
        for skill in action.skills:
            self._skill(skill, rule, (*path, "skills", skill))
        for i, step in enumerate(action.steps):
            for skill in step.drop_skills:
                self._skill(skill, rule, (*path, "steps", i, "drop_skills"))
            for queue in step.add_queues:
                self._queue(queue, rule, (*path, "steps", i, "add_queues"))
        if action.max_wait is not None and action.max_wait.queue is not None:
            self._queue(action.max_wait.queue, rule, (*path, "max_wait", "queue"))
        preferred = action.preferred_agent
        if preferred is not None and preferred.agent is not None \
                and preferred.agent not in self.topology.agents:
            self.report(ProblemKind.UNKNOWN_AGENT, f"unknown agent {preferred.agent!r}", rule,
                        (*path, "preferred_agent", "agent"), preferred.agent)

    def _queue(self, queue: str, rule: str, path: PathKey) -> None:
        assert self.topology is not None
        if queue not in self.topology.queues:
            known = ", ".join(sorted(self.topology.queues))
            self.report(ProblemKind.UNKNOWN_QUEUE, f"unknown queue {queue!r} (queues: {known})",
                        rule, path, queue)

    def _skill(self, skill: str, rule: str, path: PathKey) -> None:
        assert self.topology is not None
        if skill not in self.topology.skills():
            self.report(ProblemKind.UNKNOWN_SKILL,
                        f"unknown skill {skill!r} (no configured agent has it)", rule, path, skill)

    def staffing(self, action: ActionSpec, rule: str, path: PathKey) -> None:
        """Warn when no agent serving the target queue meets a skill requirement."""
        topology = self.topology
        if topology is None or action.queue not in topology.queues:
            return
        serving = [a for a in topology.agents.values() if action.queue in topology.queues_of(a)]
        for skill, level in action.skills.items():
            if skill in topology.skills() and not any(
                a.skills.get(skill, 0) >= level for a in serving
            ):
                self.report(ProblemKind.UNSTAFFED_SKILL,
                            f"no agent serving queue {action.queue!r} has skill {skill!r}"
                            f" at proficiency >= {level}", rule, (*path, "skills", skill), skill)

    def rule(self, index: int, spec: RuleSpec) -> CompiledRule | None:
        base: PathKey = ("rules", index)
        when = self.expression(spec.when, CelType.BOOL, spec.name, (*base, "when"))
        preferred = self.preferred(spec.then, spec.name, (*base, "then"))
        self.references(spec.then, spec.name, (*base, "then"))
        self.staffing(spec.then, spec.name, (*base, "then"))
        if when is None:
            return None
        return CompiledRule(spec.name, spec.description, when, required_channels(when.ast.root),
                            build_plan(spec.then, spec.name, self.version), preferred)

    def preferred(self, action: ActionSpec, rule: str, path: PathKey) -> Expression | None:
        preferred = action.preferred_agent
        if preferred is None or preferred.expression is None:
            return None
        return self.expression(preferred.expression, CelType.STRING, rule,
                               (*path, "preferred_agent", "expression"))


def _line_column(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def build_plan(action: ActionSpec, rule: str, version: int) -> RoutingPlan:
    """The plan a matching rule yields (preferred agent from an expression is added later)."""
    max_wait = action.max_wait
    preferred = action.preferred_agent
    return RoutingPlan(
        queue=action.queue,
        skills=tuple(sorted(SkillRequirement(s, level) for s, level in action.skills.items())),
        priority=action.priority,
        sla_class=action.sla_class,
        steps=tuple(
            EscalationStep(s.after, s.lower_proficiency_by, s.drop_skills, s.add_queues,
                           s.raise_priority_by)
            for s in action.steps
        ),
        preferred_agent=preferred.agent if preferred is not None else None,
        preferred_timeout=preferred.timeout if preferred is not None else 0.0,
        max_wait=max_wait.after if max_wait is not None else None,
        max_wait_action=max_wait.action if max_wait is not None else MaxWaitAction.EXPIRE,
        overflow_queue=max_wait.queue if max_wait is not None else None,
        rule=rule,
        rule_version=version,
        tags=action.tags,
    )


def _unreachable(compiled: Sequence[tuple[int, CompiledRule]], compiler: _Compiler) -> None:
    """Warn for rules shadowed by an earlier rule that provably always matches first."""
    for later_pos, (later_index, later) in enumerate(compiled):
        for _, earlier in compiled[:later_pos]:
            if is_literal_true(earlier.when.ast.root):
                reason = f"earlier rule {earlier.name!r} always matches (when: true)"
            elif earlier.when.ast.fingerprint == later.when.ast.fingerprint:
                reason = f"earlier rule {earlier.name!r} has the same condition"
            else:
                continue
            compiler.report(ProblemKind.UNREACHABLE, f"rule can never match: {reason}",
                            later.name, ("rules", later_index, "when"), later.when.source)
            break


def validate_ruleset(
    spec: RulesetSpec, topology: Topology | None = None, source: SourceMap | None = None,
) -> ValidationReport:
    """Every error and warning of `spec` (does not raise)."""
    try:
        compiled = compile_ruleset(spec, topology, source)
    except RulesetInvalid as invalid:
        return ValidationReport(invalid.problems, invalid.warnings)
    return ValidationReport((), compiled.warnings)


def compile_ruleset(
    spec: RulesetSpec, topology: Topology | None = None, source: SourceMap | None = None,
    version: int = 0,
) -> CompiledRuleset:
    """Validate and compile; raises RulesetInvalid listing every error with its position.

    Without a topology, queue/team/skill/agent references are not checked.
    """
    compiler = _Compiler(spec, topology, source, version)
    seen: dict[str, int] = {}
    compiled: list[tuple[int, CompiledRule]] = []
    for index, rule_spec in enumerate(spec.rules):
        if rule_spec.name in seen or rule_spec.name == DEFAULT_RULE:
            first = seen.get(rule_spec.name)
            why = f"first defined as rule #{first + 1}" if first is not None \
                else "reserved for the default"
            compiler.report(ProblemKind.DUPLICATE_NAME,
                            f"duplicate rule name {rule_spec.name!r} ({why})",
                            rule_spec.name, ("rules", index, "name"), rule_spec.name)
        seen.setdefault(rule_spec.name, index)
        rule = compiler.rule(index, rule_spec)
        if rule is not None:
            compiled.append((index, rule))
    default_preferred = compiler.preferred(spec.default, DEFAULT_RULE, ("default",))
    compiler.references(spec.default, DEFAULT_RULE, ("default",))
    compiler.staffing(spec.default, DEFAULT_RULE, ("default",))
    _unreachable(compiled, compiler)
    errors = [p for p in compiler.problems if p.kind.value not in _WARNING_VALUES]
    warnings = [p for p in compiler.problems if p.kind.value in _WARNING_VALUES]
    if errors:
        raise RulesetInvalid(errors, source.name if source is not None else "<ruleset>", warnings)
    rules = tuple(rule for _, rule in compiled)
    return _assemble(spec, version, rules, default_preferred, tuple(warnings))


_WARNING_VALUES = frozenset({ProblemKind.UNREACHABLE.value, ProblemKind.UNSTAFFED_SKILL.value})


def _assemble(spec: RulesetSpec, version: int, rules: tuple[CompiledRule, ...],
              default_preferred: Expression | None, warnings: tuple[Problem, ...],
              ) -> CompiledRuleset:
    default = CompiledRule(DEFAULT_RULE, "", ENVIRONMENT.compile("true", CelType.BOOL), None,
                           build_plan(spec.default, DEFAULT_RULE, version), default_preferred)
    expressions = [r.when for r in rules] + [r.preferred for r in (*rules, default) if r.preferred]
    used = set().union(*(e.ast.variables for e in expressions)) if expressions else set()
    getters = tuple((name, BY_NAME[name].subject, BY_NAME[name].read)
                    for name in sorted(used) if name in BY_NAME)
    segments = {
        channel.value: _segments(
            tuple(r for r in rules if r.channels is None or channel.value in r.channels))
        for channel in Channel
    }
    uses_hours = any(BUSINESS_HOURS_FUNCTION in e.ast.functions
                     or any(n.kind == "call" and n.name == BUSINESS_HOURS_FUNCTION
                            for n in e.ast.walk())
                     for e in expressions)
    calendars = {name: cal.build(name) for name, cal in spec.calendars.items()}
    return CompiledRuleset(spec, version, rules, default, calendars, warnings, getters,
                           segments, uses_hours)


#: Rules fused per chain. CEL limits nesting (32 in cel-cpp) and each rule adds a level
#: on top of its own depth; a chunk that still trips the limit is split in halves.
SEGMENT_SIZE = 8


def _segments(rules: tuple[CompiledRule, ...]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for start in range(0, len(rules), SEGMENT_SIZE):
        out.extend(_segment(rules[start : start + SEGMENT_SIZE]))
    return tuple(out)


def _segment(rules: tuple[CompiledRule, ...]) -> list[Segment]:
    chain = '"-1:"'
    for index in range(len(rules) - 1, -1, -1):
        rule = rules[index]
        preferred = f' + (\n{rule.preferred.source}\n)' if rule.preferred is not None else ""
        # Newlines around each source keep a trailing `// comment` from eating the rest.
        chain = f'(\n{rule.when.source}\n) ? "{index}:"{preferred} : {chain}'
    try:
        return [Segment(ENVIRONMENT.compile(chain, CelType.STRING), rules)]
    except CompileFailed:
        if len(rules) == 1:
            raise
        half = len(rules) // 2
        return _segment(rules[:half]) + _segment(rules[half:])
