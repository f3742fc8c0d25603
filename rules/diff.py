"""What changed between two rulesets: a unified diff of the canonical YAML plus a
structured list of added, removed and changed rules (by name)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rules.model import RulesetSpec


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One rule that differs; `fields` names what changed (`when`, `then`, `position`…)."""

    name: str
    kind: ChangeKind
    fields: tuple[str, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RulesetDiff:
    before: str  # labels, e.g. "v3" / "draft"
    after: str
    unified: str
    rules: tuple[RuleChange, ...]
    default_changed: bool
    calendars_changed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.unified


def diff_rulesets(
    before: RulesetSpec, after: RulesetSpec, before_label: str = "before",
    after_label: str = "after",
) -> RulesetDiff:
    unified = "".join(difflib.unified_diff(
        before.canonical_yaml().splitlines(keepends=True),
        after.canonical_yaml().splitlines(keepends=True),
        fromfile=before_label, tofile=after_label,
    ))
    old = {r.name: (i, r.model_dump(mode="json", exclude_defaults=True))
           for i, r in enumerate(before.rules)}
    new = {r.name: (i, r.model_dump(mode="json", exclude_defaults=True))
           for i, r in enumerate(after.rules)}
    changes: list[RuleChange] = []
    for name, (_, rule) in old.items():
        if name not in new:
            changes.append(RuleChange(name, ChangeKind.REMOVED, before=rule))
    for name, (_, rule) in new.items():
        if name not in old:
            changes.append(RuleChange(name, ChangeKind.ADDED, after=rule))
            continue
        old_rule = old[name][1]
        fields = sorted(k for k in set(rule) | set(old_rule) if rule.get(k) != old_rule.get(k))
        if _moved(before, after, name):
            fields.append("position")
        if fields:
            changes.append(RuleChange(name, ChangeKind.CHANGED, tuple(fields), old_rule, rule))
    calendars = sorted(
        name for name in set(before.calendars) | set(after.calendars)
        if before.calendars.get(name) != after.calendars.get(name)
    )
    return RulesetDiff(before_label, after_label, unified, tuple(changes),
                       before.default != after.default, tuple(calendars))


def _predecessors(spec: RulesetSpec, name: str) -> list[str]:
    names = [r.name for r in spec.rules]
    return names[: names.index(name)]


def _moved(before: RulesetSpec, after: RulesetSpec, name: str) -> bool:
    """Whether a different set of the rules kept in both versions precedes `name` — a
    real move, not an index shift caused by adding or removing another rule."""
    common = {r.name for r in before.rules} & {r.name for r in after.rules}
    old = {n for n in _predecessors(before, name) if n in common}
    new = {n for n in _predecessors(after, name) if n in common}
    return old != new
