"""Fixtures for rules/: the example ruleset compiled against the example topology."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.topology import Topology
from rules import CompiledRuleset, LoadedRuleset, compile_ruleset, load_ruleset

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="session")
def topology() -> Topology:
    return Topology.load(CONFIG / "contact-center.yaml")


@pytest.fixture(scope="session")
def example() -> LoadedRuleset:
    return load_ruleset(CONFIG / "rules.yaml")


@pytest.fixture(scope="session")
def compiled(example: LoadedRuleset, topology: Topology) -> CompiledRuleset:
    return compile_ruleset(example.spec, topology, example.source, version=4)
