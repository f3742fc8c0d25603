"""The Grafana dashboard and alert rules only use metrics we export, and the rules are valid."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sla_helpers import answered

from router.metrics import MetricsRecorder, render
from router.snapshot import QueueDepth, Snapshot
from sla.policy import SlaPolicies
from tests.system_tools import require_debian_tool

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "config" / "grafana" / "omniroute.json"
ALERTS = ROOT / "config" / "prometheus" / "alerts.yml"
PROMTOOL = Path("/usr/bin/promtool")

_NAME = re.compile(r"\bomniroute_[A-Za-z0-9_]*")
_RECORDED = re.compile(r"\bomniroute:[A-Za-z0-9_:]*")
_SUFFIX = re.compile(r"_(bucket|sum|count)$")
_LE = re.compile(r'le="([^"]+)"')
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def _snapshot() -> Snapshot:
    return Snapshot(
        at=10.0,
        queues=(QueueDepth("general", "csr", "voice", 1, 5.0),),
        agents_by_presence={"csr": {"available": 1}},
        occupancy={"csr": (1, 2)},
    )


@pytest.fixture(scope="module")
def recorder() -> MetricsRecorder:
    policies = SlaPolicies.load(ROOT / "config" / "sla.yaml")
    recorder = MetricsRecorder.from_policies(policies, snapshot=_snapshot)
    recorder(answered(1, waited=1))
    return recorder


@pytest.fixture(scope="module")
def exported(recorder: MetricsRecorder) -> set[str]:
    """Every series name the registry can expose, bucket/sum/count folded to the base.

    Read from family metadata, so labelled metrics that have no child yet count too.
    """
    names: set[str] = set()
    for family in recorder.registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
    return names


@pytest.fixture(scope="module")
def bucket_edges(recorder: MetricsRecorder) -> set[str]:
    text = render(recorder.registry).decode()
    return {
        sample.labels["le"]
        for family in text_string_to_metric_families(text)
        if family.name == "omniroute_wait_seconds"
        for sample in family.samples
        if "le" in sample.labels
    }


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["definition"])
    return exprs


def _rules() -> Iterator[dict[str, Any]]:
    for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]:
        yield from group["rules"]


def _used(exprs: list[str]) -> set[str]:
    return {_SUFFIX.sub("", name) for expr in exprs for name in _NAME.findall(expr)}


def test_dashboard_uses_only_exported_metrics(exported: set[str]) -> None:
    exprs = _dashboard_exprs()
    assert len(exprs) >= 10
    used = _used(exprs)
    assert used - exported == set()
    # the panels the SRE team expects are there
    for name in (
        "omniroute_wait_seconds", "omniroute_queue_depth", "omniroute_queue_oldest_wait_seconds",
        "omniroute_agents", "omniroute_routing_decision_seconds", "omniroute_sla_breaches_total",
        "omniroute_sla_target_ratio",
    ):
        assert name in used


def test_alert_rules_use_only_exported_metrics(exported: set[str]) -> None:
    rules = list(_rules())
    used = _used([rule["expr"] for rule in rules])
    assert used - exported == set()
    recorded = {rule["record"] for rule in rules if "record" in rule}
    referenced = {n for rule in rules for n in _RECORDED.findall(rule["expr"])}
    assert referenced <= recorded


def test_thresholds_in_promql_are_bucket_edges(bucket_edges: set[str]) -> None:
    exprs = _dashboard_exprs() + [rule["expr"] for rule in _rules()]
    edges = {le for expr in exprs for le in _LE.findall(expr)}
    assert edges  # the service-level queries do select buckets
    assert edges <= bucket_edges


def test_dashboard_aggregates_state_gauges_with_max() -> None:
    # with several workers every one reports the store's global value: sum() would lie
    for expr in _dashboard_exprs():
        for gauge in ("omniroute_queue_depth", "omniroute_agents{", "omniroute_team_occupancy"):
            if gauge in expr:
                assert "max by" in expr and "sum by (team, queue" not in expr, expr


def test_alert_rules_structure() -> None:
    """Checked always, promtool or not: the shape Prometheus' rule loader requires."""
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert set(data) == {"groups"}
    names = [group["name"] for group in data["groups"]]
    assert len(names) == len(set(names))
    alerts: dict[str, dict[str, Any]] = {}
    for group in data["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule), rule
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert rule["expr"].count("(") == rule["expr"].count(")")
            if "record" in rule:
                assert set(rule) <= {"record", "expr", "labels"}
                assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["record"])
                continue
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels",
                                 "annotations"}
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", rule["alert"])
            assert _DURATION.match(rule["for"]), rule["for"]
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert {"summary", "description"} <= set(rule["annotations"])
            alerts[rule["alert"]] = rule
    assert {
        "OmnirouteServiceLevelBelowTarget",
        "OmnirouteOldestWaitAboveThreshold",
        "OmnirouteNoAvailableAgents",
        "OmnirouteStoreErrors",
    } <= set(alerts)
    assert alerts["OmnirouteServiceLevelBelowTarget"]["for"] == "15m"


@pytest.fixture(scope="module")
def promtool() -> str:
    """Debian's promtool (package `prometheus`), installed by the test command if needed."""
    return require_debian_tool(PROMTOOL, "prometheus", "the alert-rule checks")


def test_promtool_check_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_metrics(promtool: str, recorder: MetricsRecorder) -> None:
    result = subprocess.run(
        [promtool, "check", "metrics"], input=render(recorder.registry), capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests(promtool: str) -> None:
    """alerts_test.yml feeds series and checks the recorded SL and which alerts fire."""
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=ALERTS.parent, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
