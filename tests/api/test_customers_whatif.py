"""Customer profiles (`GET /customers/{id}`, and inside `GET /interactions/{id}`), dry-run
customer overrides, and the console's what-if (`POST /rules/what-if`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import auth


async def _held_by_alice(client: httpx.AsyncClient, key: str, customer_id: str) -> str:
    login = await client.post("/agents/alice/login", json={"auto_offer": False},
                              headers=auth("alice"))
    assert login.status_code == 200, login.text
    res = await client.post("/interactions", headers=auth("ingest"), json={
        "channel": "chat", "idempotency_key": key, "customer_id": customer_id,
        "summary": "Where is my order?"})
    assert res.status_code == 202, res.text
    iid = str(res.json()["interaction_id"])
    pulled = await client.post("/agents/alice/next?wait=1", headers=auth("alice"))
    assert pulled.status_code == 200 and pulled.json()["reservation"]["interaction_id"] == iid
    return iid


async def test_readers_see_any_profile_and_unknown_ids_get_the_default(
    client: httpx.AsyncClient,
) -> None:
    ana = await client.get("/customers/c-ana-lopez", headers=auth("viewer"))
    assert ana.status_code == 200, ana.text
    body = ana.json()
    assert (body["tier"], body["language"], body["segment"], body["account_owner"],
            body["known"]) == ("platinum", "es", "enterprise", "bruno", True)
    assert body["lifetime_value"] == 48200
    nobody = await client.get("/customers/c-nobody", headers=auth("supervisor"))
    assert nobody.status_code == 200
    assert nobody.json()["known"] is False and nobody.json()["tier"] == "standard"
    refused = await client.get("/customers/c-ana-lopez", headers=auth("ingest"))
    assert refused.status_code == 403
    assert (await client.get("/customers/c-ana-lopez")).status_code == 401


async def test_an_agent_reads_only_the_customers_it_holds(client: httpx.AsyncClient) -> None:
    iid = await _held_by_alice(client, "cust-held-1", "c-chloe-martin")
    mine = await client.get("/customers/c-chloe-martin", headers=auth("alice"))
    assert mine.status_code == 200 and mine.json()["name"] == "Chloé Martin"
    assert (await client.get("/customers/c-ana-lopez", headers=auth("alice"))).status_code == 403
    assert (await client.get("/customers/c-chloe-martin",
                             headers=auth("bruno"))).status_code == 403
    # The interaction carries the profile for its agent and for readers, not for others.
    seen = await client.get(f"/interactions/{iid}", headers=auth("alice"))
    assert seen.json()["customer"]["tier"] == "standard"
    assert seen.json()["customer"]["id"] == "c-chloe-martin"
    other = await client.get(f"/interactions/{iid}", headers=auth("bruno"))
    assert other.status_code == 200 and other.json()["customer"] is None
    # Handed back: no longer held, no longer readable by the agent.
    rejected = await client.post(f"/agents/alice/interactions/{iid}/reject",
                                 headers=auth("alice"))
    assert rejected.status_code == 200, rejected.text
    gone = await client.get("/customers/c-chloe-martin", headers=auth("alice"))
    assert gone.status_code == 403


async def test_dry_run_takes_customer_overrides(client: httpx.AsyncClient) -> None:
    interaction = {"channel": "chat", "idempotency_key": "dry-cust-1",
                   "customer_id": "c-chloe-martin", "summary": "hello"}
    plain = await client.post("/rules/dry-run", headers=auth("viewer"),
                              json={"interaction": interaction})
    assert plain.status_code == 200 and plain.json()["rule"] != "vip"
    gold = await client.post("/rules/dry-run", headers=auth("viewer"), json={
        "interaction": interaction, "customer": {"tier": "gold"}})
    assert gold.status_code == 200, gold.text
    assert gold.json()["rule"] == "vip" and gold.json()["customer"]["tier"] == "gold"
    spanish = await client.post("/rules/dry-run", headers=auth("viewer"), json={
        "interaction": interaction, "customer": {"language": "es", "lifetime_value": 5}})
    assert spanish.json()["rule"] == "spanish"
    bad = await client.post("/rules/dry-run", headers=auth("viewer"), json={
        "interaction": interaction, "customer": {"tier": "diamond"}})
    assert bad.status_code == 422


DRAFT = "default:\n  queue: general\n  priority: 1\n"


def _row(body: dict[str, Any], team: str, channel: str) -> dict[str, Any]:
    return next(r for r in body["rows"] if r["team"] == team and r["channel"] == channel)


async def test_what_if_compares_a_draft_with_the_published_rules(
    client: httpx.AsyncClient,
) -> None:
    res = await client.post("/rules/what-if", headers=auth("viewer"),
                            json={"ruleset": DRAFT, "hours": 1, "seed": 3})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["hours"] == 1 and body["seed"] == 3 and body["published_version"] == 1
    assert body["rows"] and body["draft_source"] == "body"
    row = _row(body, "csr", "chat")
    assert set(row) >= {"published", "draft", "service_level_delta", "target", "threshold"}
    assert row["published"] is not None and "service_level" in row["published"]
    # The saved draft works too (supervisor saves it, the viewer runs it).
    saved = await client.put("/rules/draft", content=DRAFT, headers={
        **auth("supervisor"), "Content-Type": "application/yaml"})
    assert saved.status_code == 200, saved.text
    again = await client.post("/rules/what-if", headers=auth("supervisor"),
                              json={"use_draft": True, "hours": 1, "seed": 3})
    assert again.status_code == 200 and again.json()["rows"] == body["rows"]


@pytest.mark.parametrize("payload", [
    {}, {"ruleset": DRAFT, "use_draft": True}, {"ruleset": DRAFT, "hours": 0},
    {"ruleset": DRAFT, "hours": 25}, {"ruleset": DRAFT, "hours": "2"},
    {"ruleset": DRAFT, "scenario": "x"},
    {"ruleset": "rules:\n  - name: x\n    when: customer.tier >\n    then: {queue: general}\n"
                "default: {queue: general}\n", "hours": 1},
])
async def test_what_if_refuses_bad_bodies(client: httpx.AsyncClient,
                                          payload: dict[str, Any]) -> None:
    res = await client.post("/rules/what-if", headers=auth("supervisor"), json=payload)
    assert res.status_code == 422, res.text


async def test_what_if_roles_and_missing_simulator(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"ruleset": DRAFT, "hours": 1}
    for role in ("alice", "ingest"):
        res = await client.post("/rules/what-if", headers=auth(role), json=body)
        assert res.status_code == 403

    def no_bench(name: str) -> Any:  # as installed from a wheel: no bench package
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr("router.api.whatif.importlib.import_module", no_bench)
    res = await client.post("/rules/what-if", headers=auth("viewer"), json=body)
    assert res.status_code == 501
    assert res.json()["type"].endswith("/simulator-unavailable")
    assert "source checkout" in res.json()["detail"]
