"""A live SLA change reaches `/stats` and the Prometheus target gauges at once, not only
after a restart."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import auth

SUP = auth("supervisor")


def target_gauges(text: str) -> dict[tuple[str, str, str], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name in ("omniroute_sla_threshold_seconds", "omniroute_sla_target_ratio"):
            for sample in family.samples:
                key = (sample.name, sample.labels["team"], sample.labels["channel"])
                out[key] = sample.value
    return out


async def test_stats_and_metrics_follow_a_policy_change(client: httpx.AsyncClient) -> None:
    policies = (await client.get("/sla/policies", headers=SUP)).json()
    chat = next(p for p in policies if p["team"] == "csr" and p["channel"] == "chat")
    assert (chat["threshold"], chat["target"]) == (60, 0.8)
    chat["threshold"], chat["target"] = 45, 0.85
    put = await client.put("/sla/policies", json=policies, headers=SUP)
    assert put.status_code == 200, put.text

    stats = (await client.get("/stats", headers=auth("viewer"))).json()
    row = next(s for s in stats["service_levels"]
               if s["team"] == "csr" and s["channel"] == "chat")
    assert (row["threshold"], row["target"]) == (45, 0.85)

    metrics = await client.get("/metrics", headers=auth("viewer"))
    assert metrics.status_code == 200, metrics.text
    gauges = target_gauges(metrics.text)
    assert gauges["omniroute_sla_threshold_seconds", "csr", "chat"] == 45
    assert gauges["omniroute_sla_target_ratio", "csr", "chat"] == 0.85
    # other team × channels are untouched
    assert gauges["omniroute_sla_threshold_seconds", "csr", "voice"] == 20
