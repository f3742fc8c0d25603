"""What-if: a draft ruleset against the published one on the same traffic."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.sim import scenarios
from bench.sim.whatif import compare_rulesets
from router.cli import app
from router.interaction import Channel
from rules import RulesetInvalid, spec_from_data

DRAFT = """\
description: Draft - everything to general, no skills
default:
  queue: general
  priority: 1
"""


def test_same_rules_predict_the_same_service_levels() -> None:
    published = scenarios.published_rules()
    comparison = compare_rulesets(published, published, hours=6.0, seed=3)
    assert comparison.rows
    for row in comparison.rows:
        assert row.published == row.draft
        assert row.service_level_delta in (0.0, None)


def test_a_draft_that_sends_social_to_csr_empties_the_social_care_queue() -> None:
    draft = spec_from_data({"default": {"queue": "general", "priority": 1}})
    comparison = compare_rulesets(draft, scenarios.published_rules(), hours=12.0, seed=3)
    social_care = comparison.row("social_care", Channel.SOCIAL)
    assert social_care is not None and social_care.published is not None
    assert social_care.draft is None or social_care.draft.offered == 0
    csr_social = comparison.row("csr", Channel.SOCIAL)
    assert csr_social is not None and csr_social.draft is not None
    assert csr_social.draft.offered > (csr_social.published.offered
                                       if csr_social.published else 0)


def test_a_draft_naming_an_unknown_queue_is_rejected_before_simulating() -> None:
    draft = spec_from_data({"default": {"queue": "nowhere"}})
    with pytest.raises(RulesetInvalid):
        compare_rulesets(draft, scenarios.published_rules(), hours=1.0)


def test_cli_prints_both_rulesets_side_by_side(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT)
    result = CliRunner().invoke(app, ["simulate", "--rules", str(draft), "--hours", "4",
                                      "--out", str(tmp_path), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "draft" in result.output
    assert list(tmp_path.glob("*-simulate.json")) and list(tmp_path.glob("*-simulate.md"))
