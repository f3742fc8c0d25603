"""Supervisor-edited routing rules: CEL expressions on customer criteria into a RoutingPlan.

Load (`load_ruleset` / `parse_ruleset` / `spec_from_data`) -> validate
(`validate_ruleset`) -> compile (`compile_ruleset`) -> `CompiledRuleset.classify` /
`.explain`. `RuleEngine` holds the live version over a `RuleRepository` (publish,
rollback, dry-run, hot swap).
"""

from rules.compiler import (
    Classification,
    CompiledRuleset,
    Explanation,
    Outcome,
    RuleFailure,
    RuleTrace,
    ValidationReport,
    compile_ruleset,
    validate_ruleset,
)
from rules.diff import ChangeKind, RuleChange, RulesetDiff, diff_rulesets
from rules.engine import DryRun, Published, RuleEngine
from rules.errors import (
    NoDraft,
    NothingPublished,
    Problem,
    ProblemKind,
    RulesError,
    RulesetInvalid,
    Severity,
    UnknownVersion,
    VersionConflict,
)
from rules.model import RulesetSpec
from rules.repository import (
    Draft,
    InMemoryRuleRepository,
    RuleRepository,
    RulesetVersion,
    diff_versions,
    rollback,
)
from rules.source import LoadedRuleset, SourceMap, load_ruleset, parse_ruleset, spec_from_data

__all__ = [
    "ChangeKind", "Classification", "CompiledRuleset", "Draft", "DryRun", "Explanation",
    "InMemoryRuleRepository", "LoadedRuleset", "NoDraft", "NothingPublished", "Outcome",
    "Problem", "ProblemKind", "Published", "RuleChange", "RuleEngine", "RuleFailure",
    "RuleRepository", "RuleTrace", "RulesError", "RulesetDiff", "RulesetInvalid",
    "RulesetSpec", "RulesetVersion", "Severity", "SourceMap", "UnknownVersion",
    "ValidationReport", "VersionConflict", "compile_ruleset", "diff_rulesets",
    "diff_versions", "load_ruleset", "parse_ruleset", "rollback", "spec_from_data",
    "validate_ruleset",
]
