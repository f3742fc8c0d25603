"""Live supervisor changes: teams, queues, agents, SLA policies — validated, guarded by
the published ruleset, effective for routing at once."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import auth

SUP = auth("supervisor")
IRIS = {"name": "Iris Costa", "teams": ["csr"], "skills": {"english": 5, "billing": 4},
        "capacity": {"chat": 2}, "queues": ["general", "billing"]}


async def test_team_and_queue_create_then_replace(client: httpx.AsyncClient) -> None:
    created = await client.put("/teams/returns", json={"name": "Returns"}, headers=SUP)
    assert created.status_code == 201, created.text
    assert created.json()["created"] is True
    replaced = await client.put("/teams/returns", json={"name": "Returns desk"}, headers=SUP)
    assert replaced.status_code == 200 and replaced.json()["team"]["name"] == "Returns desk"
    queue = await client.put("/queues/rma", json={"team": "returns", "name": "RMA"},
                             headers=SUP)
    assert queue.status_code == 201, queue.text
    teams = {t["id"]: t for t in (await client.get("/teams", headers=SUP)).json()}
    assert teams["returns"]["queues"] == ["rma"]
    queues = {q["id"] for q in (await client.get("/queues", headers=SUP)).json()}
    assert "rma" in queues


async def test_queue_with_unknown_team_names_field_and_value(client: httpx.AsyncClient) -> None:
    response = await client.put("/queues/rma", json={"team": "nope"}, headers=SUP)
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "team" and problem["value"] == "'nope'"


@pytest.mark.parametrize(("body", "field", "value"), [
    ({**IRIS, "skills": {"billing": 7}}, "skills.billing", "7"),
    ({**IRIS, "skills": {"billing": 0}}, "skills.billing", "0"),
    ({**IRIS, "capacity": {"fax": 1}}, "capacity.fax", None),
    ({**IRIS, "capacity": {"chat": -1}}, "capacity.chat", "-1"),
    ({**IRIS, "teams": []}, "teams", None),
    ({**IRIS, "teams": ["nope"], "queues": []}, "teams", "'nope'"),
    ({**IRIS, "queues": ["social"]}, "queues", "'social'"),
    ({**IRIS, "queues": ["nowhere"]}, "queues", "'nowhere'"),
    ({**IRIS, "id": "iris"}, "id", "'iris'"),
])
async def test_agent_validation_names_field_and_value(
    client: httpx.AsyncClient, body: dict[str, object], field: str, value: str | None,
) -> None:
    response = await client.put("/agents/iris", json=body, headers=SUP)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field
    if value is not None:
        assert value in str(problem["value"])
    assert (await client.get("/agents/iris", headers=SUP)).status_code == 404


async def test_new_agent_takes_work_and_is_removed_only_when_idle(
    client: httpx.AsyncClient,
) -> None:
    chat = await client.post("/interactions", headers=auth("ingest"),
                             json={"channel": "chat", "idempotency_key": "topo-chat-1"})
    created = await client.put("/agents/iris", json=IRIS, headers=SUP)
    assert created.status_code == 201, created.text
    agent = created.json()["agent"]
    assert agent["presence"] == "offline" and agent["skills"] == IRIS["skills"]
    assert agent["capacity"]["chat"] == 2 and agent["capacity"]["email"] == 5
    assert agent["queues"] == ["general", "billing"]
    login = await client.post("/agents/iris/login", json={"auto_offer": False}, headers=SUP)
    assert login.status_code == 200, login.text
    pulled = await client.post("/agents/iris/next", headers=SUP)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["interaction"]["id"] == chat.json()["interaction_id"]

    busy = await client.delete("/agents/iris", headers=SUP)
    assert busy.status_code == 409
    assert busy.json()["agent_id"] == "iris" and busy.json()["title"] == "Agent busy"
    await client.post(f"/agents/iris/interactions/{chat.json()['interaction_id']}/reject",
                      headers=SUP)
    await client.post("/agents/iris/logout", headers=SUP)
    assert (await client.delete("/agents/iris", headers=SUP)).status_code == 204
    assert (await client.get("/agents/iris", headers=SUP)).status_code == 404
    assert (await client.delete("/agents/iris", headers=SUP)).status_code == 404


async def test_changing_skills_reindexes_live(client: httpx.AsyncClient) -> None:
    body = {"teams": ["csr"], "skills": {"english": 3}}
    await client.put("/agents/iris", json=body, headers=SUP)
    await client.post("/agents/iris/login", json={"auto_offer": False}, headers=SUP)
    billing = await client.post("/interactions", headers=auth("ingest"), json={
        "channel": "chat", "idempotency_key": "topo-billing", "intent": "billing"})
    assert (await client.post("/agents/iris/next", headers=SUP)).status_code == 204
    replaced = await client.put("/agents/iris", json={**body, "skills": {"billing": 2}},
                                headers=SUP)
    assert replaced.status_code == 200 and replaced.json()["created"] is False
    pulled = await client.post("/agents/iris/next", headers=SUP)
    assert pulled.status_code == 200
    assert pulled.json()["interaction"]["id"] == billing.json()["interaction_id"]


async def test_changes_that_break_the_published_ruleset_are_refused(
    client: httpx.AsyncClient,
) -> None:
    # Rule social-public names team social_care for queue social.
    moved = await client.put("/queues/social", json={"team": "csr"}, headers=SUP)
    assert moved.status_code == 409
    problem = moved.json()
    assert problem["title"] == "Change refused"
    assert any(e["rule"] == "social-public" for e in problem["errors"])
    teams = {t["id"]: t for t in (await client.get("/teams", headers=SUP)).json()}
    assert "social" in teams["social_care"]["queues"]  # nothing changed

    # Rule vip needs skill vip; chen and dana have it. Dropping it from chen is fine…
    chen = {"name": "Chen Wei", "teams": ["csr"], "skills": {"english": 5},
            "queues": ["general", "vip"]}
    assert (await client.put("/agents/chen", json=chen, headers=SUP)).status_code == 200
    # …lowering dana below the rule's level is a warning, answered with the change…
    dana = {"name": "Dana Okafor", "teams": ["csr"], "skills": {"english": 4, "vip": 2}}
    lowered = await client.put("/agents/dana", json=dana, headers=SUP)
    assert lowered.status_code == 200
    assert [w["kind"] for w in lowered.json()["rule_warnings"]] == ["unstaffed_skill"]
    # …but nobody left with the skill makes the ruleset invalid: refused.
    gone = await client.put("/agents/dana", json={**dana, "skills": {"english": 4}},
                            headers=SUP)
    assert gone.status_code == 409 and gone.json()["errors"][0]["kind"] == "unknown_skill"
    assert (await client.delete("/agents/dana", headers=SUP)).status_code == 409
    assert (await client.get("/agents/dana", headers=SUP)).json()["skills"]["vip"] == 2


async def test_moving_a_queue_away_from_an_agents_team_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/teams/returns", json={}, headers=SUP)
    # chen serves general and vip explicitly; billing is served by "all csr queues".
    moved = await client.put("/queues/vip", json={"team": "returns"}, headers=SUP)
    assert moved.status_code == 409
    assert "chen" in moved.json()["detail"] or moved.json()["errors"]


async def test_topology_changes_need_a_supervisor(client: httpx.AsyncClient) -> None:
    for role in ("viewer", "ingest", "alice"):
        calls = [client.put("/teams/x", json={}, headers=auth(role)),
                 client.put("/queues/x", json={"team": "csr"}, headers=auth(role)),
                 client.put("/agents/x", json={"teams": ["csr"]}, headers=auth(role)),
                 client.delete("/agents/bruno", headers=auth(role)),
                 client.put("/sla/policies", json=[], headers=auth(role))]
        for call in calls:
            assert (await call).status_code == 403, role
    assert (await client.put("/teams/x", json={})).status_code == 401


async def test_sla_policies_replace_the_set_and_new_work_uses_it(
    client: httpx.AsyncClient,
) -> None:
    before = await client.get("/sla/policies", headers=auth("viewer"))
    policies = before.json()
    chat = next(p for p in policies if p["team"] == "csr" and p["channel"] == "chat")
    assert chat["threshold"] == 60
    chat["threshold"] = 30
    put = await client.put("/sla/policies", json=policies, headers=SUP)
    assert put.status_code == 200, put.text
    assert put.json() == policies  # GET's shape round-trips
    accepted = await client.post("/interactions", headers=auth("ingest"),
                                 json={"channel": "chat", "idempotency_key": "topo-sla"})
    view = (await client.get(f"/interactions/{accepted.json()['interaction_id']}",
                             headers=SUP)).json()
    assert view["due_at"] - view["enqueued_at"] == pytest.approx(30)
    assert (await client.get("/sla/policies", headers=SUP)).json() == policies


@pytest.mark.parametrize(("policy", "field"), [
    ({"team": "nope", "channel": "voice", "threshold": 20, "target": 0.8}, "0.team"),
    ({"team": "csr", "channel": "voice", "threshold": 20, "target": 1.5}, "0.target"),
    ({"team": "csr", "channel": "voice", "threshold": 0, "target": 0.8}, "0.threshold"),
    ({"team": "csr", "channel": "fax", "threshold": 20, "target": 0.8}, "0.channel"),
    ({"team": "csr", "channel": "chat", "threshold": 20, "target": 0.8, "max_wait": 60,
      "max_wait_action": "overflow"}, "0.overflow_queue"),
    ({"team": "csr", "channel": "chat", "threshold": 20, "target": 0.8, "max_wait": 60,
      "max_wait_action": "overflow", "overflow_queue": "nowhere"}, "0.overflow_queue"),
    ({"team": "csr", "channel": "chat", "threshold": "20s", "target": 0.8}, "0.threshold"),
])
async def test_invalid_sla_policies_name_the_field(
    client: httpx.AsyncClient, policy: dict[str, object], field: str,
) -> None:
    before = (await client.get("/sla/policies", headers=SUP)).json()
    response = await client.put("/sla/policies", json=[policy], headers=SUP)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert (await client.get("/sla/policies", headers=SUP)).json() == before


async def test_duplicate_sla_policy_is_refused(client: httpx.AsyncClient) -> None:
    policy = {"team": "csr", "channel": "voice", "threshold": 20, "target": 0.8}
    response = await client.put("/sla/policies", json=[policy, policy], headers=SUP)
    assert response.status_code == 422 and response.json()["field"] == "1"
