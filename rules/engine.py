"""The live rule engine: the compiled ruleset in use, swapped atomically on publish.

`classify` reads `self._active` once, so a classification started before a publish
finishes on the old ruleset and every later one sees the new: the swap is a single
reference assignment (atomic in CPython). Publishing compiles first — an invalid
ruleset never reaches the repository — then stores, then swaps.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from router.customer import CustomerProfile
from router.interaction import Interaction
from router.topology import Topology
from rules.compiler import (
    Classification,
    CompiledRuleset,
    Explanation,
    ValidationReport,
    compile_ruleset,
    validate_ruleset,
)
from rules.errors import NothingPublished, Problem
from rules.model import RulesetSpec
from rules.repository import RuleRepository, RulesetVersion, rollback
from rules.source import SourceMap


@dataclass(frozen=True, slots=True)
class Published:
    version: RulesetVersion
    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class DryRun:
    """A dry-run: which ruleset (`version`, or None for a draft/ad-hoc ruleset) and why."""

    version: int | None
    explanation: Explanation


class RuleEngine:
    def __init__(self, repository: RuleRepository, topology: Topology | None = None) -> None:
        self.repository = repository
        self.topology = topology
        self._swap_lock = threading.Lock()
        self._active: CompiledRuleset | None = None
        self._cache: dict[int, CompiledRuleset] = {}
        current = repository.current()
        if current is not None:
            self._install(self._compiled(current))

    @property
    def active(self) -> CompiledRuleset:
        active = self._active
        if active is None:
            raise NothingPublished()
        return active

    def classify(
        self, interaction: Interaction, customer: CustomerProfile, now: dt.datetime | float
    ) -> Classification:
        return self.active.classify(interaction, customer, now)

    def validate(self, ruleset: RulesetSpec, source: SourceMap | None = None) -> ValidationReport:
        return validate_ruleset(ruleset, self.topology, source)

    def publish(
        self, ruleset: RulesetSpec, *, base_version: int | None, author: str, comment: str = "",
        source: SourceMap | None = None,
    ) -> Published:
        """Validate, store as a new version, make it live. Raises RulesetInvalid or
        VersionConflict (nothing stored or swapped then)."""
        compile_ruleset(ruleset, self.topology, source)  # raises with every error
        version = self.repository.publish(ruleset, base_version=base_version, author=author,
                                          comment=comment)
        compiled = self._compiled(version)
        self._install(compiled)
        return Published(version, compiled.warnings)

    def rollback(
        self, to_version: int, *, base_version: int | None, author: str, comment: str = ""
    ) -> Published:
        # The old ruleset is re-validated: the topology may have changed since.
        compile_ruleset(self.repository.get(to_version).ruleset, self.topology)
        version = rollback(self.repository, to_version, base_version=base_version,
                           author=author, comment=comment)
        compiled = self._compiled(version)
        self._install(compiled)
        return Published(version, compiled.warnings)

    def dry_run(
        self, interaction: Interaction, customer: CustomerProfile, now: dt.datetime | float, *,
        version: int | None = None, draft: bool = False, ruleset: RulesetSpec | None = None,
    ) -> DryRun:
        """Explain a classification against the live version (default), a stored `version`,
        the saved draft (`draft=True`) or an ad-hoc `ruleset`. Raises RulesetInvalid for
        an invalid draft/ruleset."""
        if ruleset is not None or draft:
            spec = ruleset if ruleset is not None else self.repository.draft().ruleset
            compiled = compile_ruleset(spec, self.topology)
            return DryRun(None, compiled.explain(interaction, customer, now))
        target = self.active if version is None else self._compiled(self.repository.get(version))
        return DryRun(target.version, target.explain(interaction, customer, now))

    def _compiled(self, version: RulesetVersion) -> CompiledRuleset:
        cached = self._cache.get(version.number)
        if cached is None:
            cached = compile_ruleset(version.ruleset, self.topology, version=version.number)
            self._cache[version.number] = cached
        return cached

    def _install(self, compiled: CompiledRuleset) -> None:
        # Two racing publishes store v(n) then v(n+1); never let v(n) land last.
        with self._swap_lock:
            active = self._active
            if active is None or compiled.version > active.version:
                self._active = compiled
