"""Errors the rule engine raises on purpose, and the problems a validation reports.

A ruleset is validated as a whole so a supervisor sees every problem at once: the
individual findings are `Problem` records (rule, field, value, line, column) and
`RulesetInvalid` carries all of them. Positions are 1-based; they are file positions
when the ruleset came from a file, positions inside the expression otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from router.errors import OmnirouteError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ProblemKind(StrEnum):
    SYNTAX = "syntax"  # YAML or CEL syntax
    SCHEMA = "schema"  # the ruleset document does not fit the model
    UNKNOWN_FIELD = "unknown_field"  # an expression reads a variable/field nobody declared
    TYPE_MISMATCH = "type_mismatch"  # an expression's operands or result have the wrong type
    INVALID_EXPRESSION = "invalid_expression"  # any other compile-time rejection of CEL
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_TEAM = "unknown_team"
    UNKNOWN_SKILL = "unknown_skill"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_CALENDAR = "unknown_calendar"
    DUPLICATE_NAME = "duplicate_name"
    MISSING_DEFAULT = "missing_default"
    UNREACHABLE = "unreachable"  # warning: an earlier rule always matches first
    UNSTAFFED_SKILL = "unstaffed_skill"  # warning: no agent has the skill at that level


#: Kinds that are only ever warnings; everything else blocks a publish.
WARNING_KINDS: frozenset[ProblemKind] = frozenset(
    {ProblemKind.UNREACHABLE, ProblemKind.UNSTAFFED_SKILL}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of a validation: what, where (rule, field, line, column) and the value."""

    kind: ProblemKind
    message: str
    rule: str | None = None
    field: str | None = None
    value: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.kind in WARNING_KINDS else Severity.ERROR

    def __str__(self) -> str:
        where = []
        if self.rule is not None:
            where.append(f"rule {self.rule!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        if self.line is not None:
            where.append(f"line {self.line}, column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class RulesError(OmnirouteError):
    """Base class of every error raised by `rules/`."""


class RulesetInvalid(RulesError):
    """Raised when a ruleset fails validation (load, compile or publish); lists every error.

    `problems` holds the errors; `warnings` the non-blocking findings seen alongside.
    """

    def __init__(
        self, problems: Sequence[Problem], source: str = "<ruleset>",
        warnings: Sequence[Problem] = (),
    ) -> None:
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)
        self.source = source
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} error{'s' if count != 1 else ''}\n{lines}")


class VersionConflict(RulesError):
    """Raised when a publish is based on a version that is no longer the current one."""

    def __init__(self, base_version: int | None, current_version: int | None) -> None:
        self.base_version = base_version
        self.current_version = current_version
        super().__init__(
            f"ruleset publish based on version {base_version} but the current version is"
            f" {current_version}; reload, merge and publish again"
        )


class UnknownVersion(RulesError):
    """Raised when an operation names a ruleset version the repository does not hold."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"unknown ruleset version {version}")


class NoDraft(RulesError):
    """Raised when a draft is asked for but none is saved."""

    def __init__(self) -> None:
        super().__init__("no draft ruleset is saved")


class NothingPublished(RulesError):
    """Raised when the engine is asked to classify before any ruleset was published."""

    def __init__(self) -> None:
        super().__init__("no ruleset has been published yet")
