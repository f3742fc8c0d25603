"""Metrics: a scripted event sequence and a real Snapshot, rendered and parsed back."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sla_helpers import abandoned, answered, completed, ev, expired, presence

from router.events import EventKind
from router.interaction import Channel, Status
from router.metrics import MetricsRecorder, render, with_thresholds
from router.snapshot import QueueDepth, Snapshot
from sla.policy import SlaPolicies

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOT = Snapshot(
    at=1000.0,
    queues=(
        QueueDepth("general", "csr", "voice", depth=3, oldest_enqueued_at=970.0, received=40),
        QueueDepth("billing", "csr", "email", depth=0, oldest_enqueued_at=None, received=7),
        QueueDepth("social", "social_care", "social", depth=2, oldest_enqueued_at=100.0),
    ),
    agents_by_presence={
        "csr": {"available": 2, "not_ready": 1, "offline": 3},
        "social_care": {"wrap_up": 1},
    },
    occupancy={"csr": (3, 4), "social_care": (0, 0)},
)

SCRIPT = [
    ev(EventKind.QUEUED, 1, iid="a"),  # arrivals are counted by the store (the snapshot)
    answered(12, waited=11, iid="a"),
    answered(50, waited=48, iid="b"),
    abandoned(7, waited=4, iid="c", queue="billing"),  # short
    abandoned(30, waited=27, iid="d", queue="billing"),
    expired(700, waited=600, iid="e"),
    ev(EventKind.SLA_AT_RISK, 18, iid="b"),
    ev(EventKind.SLA_BREACHED, 22, iid="b"),
    ev(EventKind.TRANSFERRED, 100, iid="a", previous=Status.ASSIGNED),
    ev(EventKind.OVERFLOWED, 120, iid="f", team="social_care", channel=Channel.SOCIAL),
    ev(EventKind.ESCALATED, 130, iid="f", team="social_care", channel=Channel.SOCIAL),
    completed(300, handled=250, iid="b"),
    ev(EventKind.WRAP_UP, 290, iid="b", handled=240),  # not a completion
    presence(5),  # state comes from the snapshot, not from events
]


@pytest.fixture
def families() -> dict[str, dict[tuple, float]]:
    policies = SlaPolicies.load(ROOT / "config" / "sla.yaml")
    recorder = MetricsRecorder.from_policies(policies, snapshot=lambda: SNAPSHOT)
    for event in SCRIPT:
        recorder(event)
    for seconds in (0.0004, 0.002, 0.002):
        recorder.observe_decision(seconds)
    recorder.count_rule("vip-customers")
    recorder.count_rule("vip-customers")
    recorder.count_rule("default")
    recorder.count_store_error("reserve")
    return parse(render(recorder.registry))


def parse(text: bytes) -> dict[str, dict[tuple, float]]:
    """sample name -> {sorted label items -> value}"""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            assert isinstance(sample, Sample)
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def L(**labels: str) -> tuple:  # short: reads like a label set in the tables
    return tuple(sorted(labels.items()))


VOICE_GENERAL = L(team="csr", queue="general", channel="voice")
VOICE_BILLING = L(team="csr", queue="billing", channel="voice")
SOCIAL = L(team="social_care", queue="social", channel="social")


def test_event_counters(families: dict[str, dict[tuple, float]]) -> None:
    assert families["omniroute_interactions_received_total"] == {
        VOICE_GENERAL: 40.0,
        L(team="csr", queue="billing", channel="email"): 7.0,
        SOCIAL: 0.0,
    }
    assert families["omniroute_interactions_routed_total"] == {VOICE_GENERAL: 2.0}
    assert families["omniroute_interactions_abandoned_total"] == {VOICE_BILLING: 2.0}
    assert families["omniroute_interactions_short_abandoned_total"] == {VOICE_BILLING: 1.0}
    assert families["omniroute_interactions_expired_total"] == {VOICE_GENERAL: 1.0}
    assert families["omniroute_interactions_transferred_total"] == {VOICE_GENERAL: 1.0}
    assert families["omniroute_interactions_overflowed_total"] == {SOCIAL: 1.0}
    assert families["omniroute_interactions_escalated_total"] == {SOCIAL: 1.0}
    assert families["omniroute_sla_breaches_total"] == {VOICE_GENERAL: 1.0}
    assert families["omniroute_sla_at_risk_total"] == {VOICE_GENERAL: 1.0}
    assert families["omniroute_rule_evaluations_total"] == {
        L(rule="vip-customers"): 2.0,
        L(rule="default"): 1.0,
    }
    assert families["omniroute_store_errors_total"] == {L(operation="reserve"): 1.0}


def test_wait_histogram_has_threshold_buckets(families: dict[str, dict[tuple, float]]) -> None:
    buckets = families["omniroute_wait_seconds_bucket"]
    edges = {dict(labels)["le"] for labels in buckets}
    for threshold in ("10.0", "20.0", "60.0", "900.0", "1800.0", "14400.0", "+Inf"):
        assert threshold in edges
    # waits 11 and 48: one answered within 20 s (voice T), both within 60 s
    voice = {"team": "csr", "queue": "general", "channel": "voice"}
    assert buckets[L(**voice, le="20.0")] == 1.0
    assert buckets[L(**voice, le="10.0")] == 0.0
    assert buckets[L(**voice, le="60.0")] == 2.0
    assert families["omniroute_wait_seconds_count"] == {VOICE_GENERAL: 2.0}
    assert families["omniroute_wait_seconds_sum"] == {VOICE_GENERAL: 59.0}
    handle = families["omniroute_handle_seconds_bucket"]
    assert {dict(k)["le"] for k in handle} >= {"20.0", "900.0", "14400.0"}
    assert families["omniroute_handle_seconds_sum"] == {VOICE_GENERAL: 250.0}
    labels_used = {name for labels in buckets for name, _ in labels}
    assert labels_used == {"team", "queue", "channel", "le"}


def test_decision_histogram(families: dict[str, dict[tuple, float]]) -> None:
    assert families["omniroute_routing_decision_seconds_count"] == {(): 3.0}
    buckets = families["omniroute_routing_decision_seconds_bucket"]
    assert buckets[(("le", "0.0005"),)] == 1.0
    assert buckets[(("le", "0.0025"),)] == 3.0


def test_state_gauges_from_snapshot(families: dict[str, dict[tuple, float]]) -> None:
    assert families["omniroute_queue_depth"] == {
        VOICE_GENERAL: 3.0,
        L(team="csr", queue="billing", channel="email"): 0.0,
        SOCIAL: 2.0,
    }
    assert families["omniroute_queue_oldest_wait_seconds"] == {
        VOICE_GENERAL: 30.0,  # relative to the snapshot's own time
        L(team="csr", queue="billing", channel="email"): 0.0,
        SOCIAL: 900.0,
    }
    assert families["omniroute_agents"] == {
        L(team="csr", presence="available"): 2.0,
        L(team="csr", presence="not_ready"): 1.0,
        L(team="csr", presence="offline"): 3.0,
        L(team="social_care", presence="wrap_up"): 1.0,
    }
    assert families["omniroute_team_occupancy_ratio"] == {
        L(team="csr"): 0.75,
        L(team="social_care"): 0.0,
    }


def test_sla_target_gauges(families: dict[str, dict[tuple, float]]) -> None:
    assert families["omniroute_sla_threshold_seconds"][L(team="csr", channel="voice")] == 20.0
    assert families["omniroute_sla_threshold_seconds"][
        L(team="social_care", channel="social")
    ] == 900.0
    assert families["omniroute_sla_target_ratio"][L(team="social_care", channel="social")] == 0.9


def test_no_unbounded_labels(families: dict[str, dict[tuple, float]]) -> None:
    allowed = {"team", "queue", "channel", "presence", "rule", "operation", "le"}
    for name, series in families.items():
        assert name.startswith("omniroute_")
        for labels in series:
            assert {key for key, _ in labels} <= allowed, name
            assert all(value not in {"a", "b", "c", "alice"} for _, value in labels), name


def test_snapshot_is_read_at_scrape_time() -> None:
    calls: list[int] = []
    current = [SNAPSHOT]

    def snapshot() -> Snapshot:
        calls.append(1)
        return current[0]

    recorder = MetricsRecorder(snapshot=snapshot)
    assert calls == []  # registering does not touch the store
    first = parse(render(recorder.registry))
    current[0] = Snapshot(at=2000.0, queues=(), agents_by_presence={})
    second = parse(render(recorder.registry))
    assert len(calls) == 2
    assert first["omniroute_queue_depth"][VOICE_GENERAL] == 3.0
    assert "omniroute_queue_depth" not in second


def test_failing_snapshot_is_counted_not_raised() -> None:
    def broken() -> Snapshot:
        raise ConnectionError("redis down")

    recorder = MetricsRecorder(snapshot=broken)
    families = parse(render(recorder.registry))
    assert families["omniroute_store_errors_total"] == {L(operation="snapshot"): 1.0}
    assert "omniroute_queue_depth" not in families


def test_dedicated_registries_do_not_collide() -> None:
    one, two = MetricsRecorder(), MetricsRecorder(registry=CollectorRegistry())
    one(answered(1, waited=1))
    assert parse(render(one.registry))["omniroute_interactions_routed_total"]
    assert "omniroute_interactions_routed_total" not in parse(render(two.registry))


def test_short_abandon_seconds_without_policies() -> None:
    recorder = MetricsRecorder(short_abandon=10.0)
    recorder(abandoned(9, waited=9))
    recorder(abandoned(20, waited=11))
    families = parse(render(recorder.registry))
    assert families["omniroute_interactions_short_abandoned_total"] == {
        L(team="csr", queue="general", channel="voice"): 1.0
    }


def test_bucket_edges_merge_thresholds() -> None:
    assert with_thresholds((1, 5, 20), (20.0, 7.5)) == (1.0, 5.0, 7.5, 20.0)


def test_live_policy_change_moves_target_gauges_and_short_abandons() -> None:
    from sla.policy import SlaPolicy

    before = SlaPolicies([SlaPolicy("csr", Channel.VOICE, threshold=20.0, target=0.8,
                                    short_abandon=5.0)])
    after = SlaPolicies([SlaPolicy("csr", Channel.VOICE, threshold=47.0, target=0.95,
                                   short_abandon=12.0)])
    recorder = MetricsRecorder.from_policies(before)
    recorder(abandoned(10, waited=10))  # long under the old policy
    off_edge = recorder.set_policies(after)
    recorder(abandoned(20, waited=10))  # short under the new one
    families = parse(render(recorder.registry))
    assert families["omniroute_sla_threshold_seconds"] == {L(team="csr", channel="voice"): 47.0}
    assert families["omniroute_sla_target_ratio"] == {L(team="csr", channel="voice"): 0.95}
    assert families["omniroute_interactions_short_abandoned_total"] == {VOICE_GENERAL: 1.0}
    assert families["omniroute_interactions_abandoned_total"] == {VOICE_GENERAL: 2.0}
    # 47 s was not a bucket edge when the histogram was built: reported, not re-bucketed
    assert off_edge == (47.0,)
    assert recorder.set_policies(before) == ()
