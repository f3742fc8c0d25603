"""Repository versions, optimistic concurrency, rollback, diff, drafts, engine hot swap."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from router.customer import CustomerProfile
from router.interaction import Channel, Interaction
from router.topology import Topology
from rules import (
    ChangeKind,
    InMemoryRuleRepository,
    LoadedRuleset,
    NoDraft,
    NothingPublished,
    Outcome,
    RuleEngine,
    RulesetInvalid,
    RulesetSpec,
    UnknownVersion,
    VersionConflict,
    diff_versions,
    rollback,
)

NOW = dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)


def repository() -> InMemoryRuleRepository:
    ticks = itertools.count(1000)
    return InMemoryRuleRepository(clock=lambda: float(next(ticks)))


def edited(spec: RulesetSpec, **changes: object) -> RulesetSpec:
    data = spec.model_dump(mode="json")
    for key, value in changes.items():
        data[key] = value
    return RulesetSpec.model_validate(data)


def test_publish_creates_immutable_numbered_versions(example: LoadedRuleset) -> None:
    repo = repository()
    assert repo.current() is None
    v1 = repo.publish(example.spec, base_version=None, author="ana", comment="first")
    v2 = repo.publish(edited(example.spec, description="second"), base_version=1, author="bo")
    assert (v1.number, v1.author, v1.published_at, v1.comment) == (1, "ana", 1000.0, "first")
    assert (v2.number, v2.author) == (2, "bo")
    assert repo.current() == v2 and repo.get(1) == v1
    assert [v.number for v in repo.versions()] == [1, 2]
    with pytest.raises(UnknownVersion, match="unknown ruleset version 3"):
        repo.get(3)


def test_stale_base_raises_conflict_naming_both_versions(example: LoadedRuleset) -> None:
    repo = repository()
    repo.publish(example.spec, base_version=None, author="ana")
    repo.publish(example.spec, base_version=1, author="bo")
    with pytest.raises(VersionConflict) as caught:
        repo.publish(example.spec, base_version=1, author="cy")
    assert (caught.value.base_version, caught.value.current_version) == (1, 2)
    assert str(caught.value) == ("ruleset publish based on version 1 but the current version is"
                                 " 2; reload, merge and publish again")
    with pytest.raises(VersionConflict):
        repository().publish(example.spec, base_version=3, author="x")
    assert len(repo.versions()) == 2


def test_rollback_publishes_a_copy_of_an_old_version(example: LoadedRuleset) -> None:
    repo = repository()
    repo.publish(example.spec, base_version=None, author="ana")
    repo.publish(edited(example.spec, rules=[]), base_version=1, author="bo")
    v3 = rollback(repo, 1, base_version=2, author="cy")
    assert v3.number == 3 and v3.rolled_back_from == 1
    assert v3.ruleset == repo.get(1).ruleset and v3.comment == "rollback to version 1"
    assert diff_versions(repo, 1, 3).empty


def test_diff_reports_unified_text_and_rule_changes(example: LoadedRuleset) -> None:
    repo = repository()
    repo.publish(example.spec, base_version=None, author="ana")
    rules = [r.model_dump(mode="json") for r in example.spec.rules]
    rules[0]["then"]["priority"] = 8  # vip: changed
    rules = [r for r in rules if r["name"] != "billing"]  # removed
    rules.insert(1, {"name": "chat", "when": 'interaction.channel == "chat"',
                     "then": {"queue": "general"}})  # added
    rules[2], rules[3] = rules[3], rules[2]  # social-influential before social-public
    repo.publish(edited(example.spec, rules=rules), base_version=1, author="bo")
    diff = diff_versions(repo, 1, 2)
    assert diff.unified.startswith("--- v1\n+++ v2\n")
    assert "-    priority: 7\n+    priority: 8\n" in diff.unified
    changes = {(c.name, c.kind, c.fields) for c in diff.rules}
    assert changes == {
        ("billing", ChangeKind.REMOVED, ()),
        ("chat", ChangeKind.ADDED, ()),
        ("vip", ChangeKind.CHANGED, ("then",)),
        ("social-public", ChangeKind.CHANGED, ("position",)),
        ("social-influential", ChangeKind.CHANGED, ("position",)),
    }
    assert not diff.default_changed and diff.calendars_changed == ()


def test_draft_is_kept_apart_from_published(example: LoadedRuleset) -> None:
    repo = repository()
    with pytest.raises(NoDraft):
        repo.draft()
    repo.publish(example.spec, base_version=None, author="ana")
    draft = repo.save_draft(edited(example.spec, rules=[]), author="bo")
    assert draft.base_version == 1 and repo.draft() == draft
    assert repo.current() is not None and repo.current().ruleset == example.spec
    repo.discard_draft()
    with pytest.raises(NoDraft):
        repo.draft()


def social_dm() -> tuple[Interaction, CustomerProfile]:
    return (Interaction("i", Channel.SOCIAL, "k", 0.0, reach=50_000), CustomerProfile("c"))


def test_engine_publish_swaps_for_new_classifications(
    example: LoadedRuleset, topology: Topology,
) -> None:
    engine = RuleEngine(repository(), topology)
    with pytest.raises(NothingPublished):
        engine.classify(*social_dm(), NOW)
    first = engine.publish(example.spec, base_version=None, author="ana")
    before = engine.active
    assert engine.classify(*social_dm(), NOW).rule == "social-influential"
    without_social = [r for r in example.spec.rules if not r.name.startswith("social")]
    second = engine.publish(edited(example.spec, rules=[r.model_dump(mode="json")
                                                         for r in without_social]),
                            base_version=first.version.number, author="bo")
    assert engine.active is not before and engine.active.version == 2
    result = engine.classify(*social_dm(), NOW)
    assert (result.rule, result.version, result.plan.rule_version) == ("default", 2, 2)
    # A classification holding the old ruleset still finishes on it.
    assert before.classify(*social_dm(), NOW).version == 1
    back = engine.rollback(1, base_version=second.version.number, author="cy")
    assert back.version.number == 3
    assert engine.classify(*social_dm(), NOW).rule == "social-influential"


def test_engine_rejects_invalid_ruleset_without_storing(
    example: LoadedRuleset, topology: Topology,
) -> None:
    repo = repository()
    engine = RuleEngine(repo, topology)
    bad = edited(example.spec, default={"queue": "nowhere"})
    with pytest.raises(RulesetInvalid, match="unknown queue 'nowhere'"):
        engine.publish(bad, base_version=None, author="ana")
    assert repo.versions() == ()
    assert not engine.validate(bad).ok


def test_engine_starts_from_repository_current(
    example: LoadedRuleset, topology: Topology,
) -> None:
    repo = repository()
    repo.publish(example.spec, base_version=None, author="ana")
    assert RuleEngine(repo, topology).active.version == 1


def test_dry_run_against_draft_version_and_live(
    example: LoadedRuleset, topology: Topology,
) -> None:
    repo = repository()
    engine = RuleEngine(repo, topology)
    engine.publish(example.spec, base_version=None, author="ana")
    rules = [r.model_dump(mode="json") for r in example.spec.rules]
    rules.insert(0, {"name": "all-social", "when": 'interaction.channel == "social"',
                     "then": {"queue": "social"}})
    repo.save_draft(edited(example.spec, rules=rules), author="bo")
    live = engine.dry_run(*social_dm(), NOW)
    assert live.version == 1
    assert [(t.rule, t.outcome) for t in live.explanation.trace] == [
        ("vip", Outcome.FALSE), ("social-public", Outcome.FALSE),
        ("social-influential", Outcome.MATCHED)]
    draft = engine.dry_run(*social_dm(), NOW, draft=True)
    assert draft.version is None
    assert draft.explanation.classification.rule == "all-social"
    voice = Interaction("v", Channel.VOICE, "kv", 0.0)
    old = engine.dry_run(voice, CustomerProfile("c"), NOW, version=1)
    assert old.explanation.trace[1].outcome is Outcome.FILTERED
    assert old.explanation.trace[1].detail == "needs channel social"
