"""Ruleset versions: every publish is an immutable, numbered version; one draft aside.

`RuleRepository` is the protocol the service depends on (a Redis/SQL backend can
follow); `InMemoryRuleRepository` is a real implementation, not a fake. Publishing is
optimistic: the caller names the version it edited (`base_version`, None for the
first publish) and a stale base raises `VersionConflict` naming both versions.
Rollback publishes a *new* version equal to an old one, so history only grows.
Repositories store; they do not validate — `rules.engine.RuleEngine` compiles first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rules.diff import RulesetDiff, diff_rulesets
from rules.errors import NoDraft, UnknownVersion, VersionConflict
from rules.model import RulesetSpec


@dataclass(frozen=True, slots=True)
class RulesetVersion:
    number: int
    ruleset: RulesetSpec
    author: str
    published_at: float  # epoch seconds
    comment: str = ""
    rolled_back_from: int | None = None  # the version this one restores, for a rollback

    @property
    def canonical_yaml(self) -> str:
        return self.ruleset.canonical_yaml()


@dataclass(frozen=True, slots=True)
class Draft:
    ruleset: RulesetSpec
    author: str
    saved_at: float
    base_version: int | None  # the published version the draft was started from


class RuleRepository(Protocol):
    def current(self) -> RulesetVersion | None: ...

    def get(self, number: int) -> RulesetVersion: ...

    def versions(self) -> Sequence[RulesetVersion]: ...

    def publish(
        self, ruleset: RulesetSpec, *, base_version: int | None, author: str, comment: str = "",
        rolled_back_from: int | None = None,
    ) -> RulesetVersion: ...

    def save_draft(self, ruleset: RulesetSpec, *, author: str) -> Draft: ...

    def draft(self) -> Draft: ...

    def discard_draft(self) -> None: ...


class InMemoryRuleRepository:
    """Versions in a list under a lock; `clock` is injected so tests control time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._versions: list[RulesetVersion] = []
        self._draft: Draft | None = None

    def current(self) -> RulesetVersion | None:
        versions = self._versions
        return versions[-1] if versions else None

    def get(self, number: int) -> RulesetVersion:
        versions = self._versions
        if not 1 <= number <= len(versions):
            raise UnknownVersion(number)
        return versions[number - 1]

    def versions(self) -> Sequence[RulesetVersion]:
        return tuple(self._versions)

    def publish(
        self, ruleset: RulesetSpec, *, base_version: int | None, author: str, comment: str = "",
        rolled_back_from: int | None = None,
    ) -> RulesetVersion:
        with self._lock:
            current = len(self._versions) or None
            if base_version != current:
                raise VersionConflict(base_version, current)
            version = RulesetVersion(len(self._versions) + 1, ruleset, author, self._clock(),
                                     comment, rolled_back_from)
            self._versions.append(version)
            return version

    def save_draft(self, ruleset: RulesetSpec, *, author: str) -> Draft:
        with self._lock:
            self._draft = Draft(ruleset, author, self._clock(), len(self._versions) or None)
            return self._draft

    def draft(self) -> Draft:
        draft = self._draft
        if draft is None:
            raise NoDraft()
        return draft

    def discard_draft(self) -> None:
        with self._lock:
            self._draft = None


def rollback(
    repository: RuleRepository, to_version: int, *, base_version: int | None, author: str,
    comment: str = "",
) -> RulesetVersion:
    """Publish a new version whose ruleset equals version `to_version`."""
    old = repository.get(to_version)
    return repository.publish(
        old.ruleset, base_version=base_version, author=author,
        comment=comment or f"rollback to version {to_version}", rolled_back_from=to_version,
    )


def diff_versions(repository: RuleRepository, before: int, after: int) -> RulesetDiff:
    return diff_rulesets(repository.get(before).ruleset, repository.get(after).ruleset,
                         f"v{before}", f"v{after}")
