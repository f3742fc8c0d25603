"""Agent desktop lifecycle, supervisor actions and rules management over the ASGI app."""

from __future__ import annotations

import httpx

from router.runtime import Runtime
from tests.api.conftest import auth, fixture_bytes, settings


async def _ingest(client: httpx.AsyncClient, key: str, **fields: object) -> str:
    body = {"channel": "chat", "idempotency_key": key, **fields}
    response = await client.post("/interactions", json=body, headers=auth("ingest"))
    assert response.status_code == 202, response.text
    return str(response.json()["interaction_id"])


async def test_pull_accept_complete(client: httpx.AsyncClient) -> None:
    login = await client.post("/agents/alice/login", json={"auto_offer": False},
                              headers=auth("alice"))
    assert login.json()["presence"] == "available"
    empty = await client.post("/agents/alice/next?wait=0", headers=auth("alice"))
    assert empty.status_code == 204
    iid = await _ingest(client, "life-1", summary="Need help with my order")
    pulled = await client.post("/agents/alice/next?wait=1", headers=auth("alice"))
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["reservation"]["interaction_id"] == iid
    accepted = await client.post(f"/agents/alice/interactions/{iid}/accept", headers=auth("alice"))
    assert accepted.json()["status"] == "assigned"
    agent = await client.get("/agents/alice", headers=auth("alice"))
    assert agent.json()["active"] == {"chat": 1}
    done = await client.post(f"/agents/alice/interactions/{iid}/complete",
                             json={"disposition": "resolved"}, headers=auth("alice"))
    assert done.json()["status"] == "completed" and done.json()["disposition"] == "resolved"
    again = await client.post(f"/agents/alice/interactions/{iid}/complete", headers=auth("alice"))
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"].endswith("/illegal-transition") or problem["status"] == 409


async def test_complete_and_next_hands_out_the_next_in_one_request(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/agents/alice/login", json={"auto_offer": False}, headers=auth("alice"))
    first = await _ingest(client, "chain-1")
    second = await _ingest(client, "chain-2")
    pulled = await client.post("/agents/alice/next", headers=auth("alice"))
    assert pulled.json()["reservation"]["interaction_id"] == first
    await client.post(f"/agents/alice/interactions/{first}/accept", headers=auth("alice"))
    chained = await client.post(f"/agents/alice/interactions/{first}/complete-and-next",
                                json={"disposition": "resolved"}, headers=auth("alice"))
    assert chained.status_code == 200, chained.text
    body = chained.json()
    assert (body["completed"]["id"], body["completed"]["status"],
            body["completed"]["disposition"]) == (first, "completed", "resolved")
    assert body["next"]["reservation"]["interaction_id"] == second
    assert body["next"]["interaction"]["status"] == "reserved"
    # nothing else waits: the completion stands and `next` is null
    await client.post(f"/agents/alice/interactions/{second}/accept", headers=auth("alice"))
    last = await client.post(f"/agents/alice/interactions/{second}/complete-and-next",
                             headers=auth("alice"))
    assert last.status_code == 200 and last.json()["next"] is None
    assert last.json()["completed"]["status"] == "completed"
    # the same errors as complete: finished already, and only for the acting agent
    again = await client.post(f"/agents/alice/interactions/{second}/complete-and-next",
                              headers=auth("alice"))
    assert again.status_code == 409
    other = await client.post(f"/agents/alice/interactions/{second}/complete-and-next",
                              headers=auth("bruno"))
    assert other.status_code == 403


async def test_supervisor_transfer_replan_cancel(client: httpx.AsyncClient) -> None:
    iid = await _ingest(client, "sup-1")
    moved = await client.post(f"/interactions/{iid}/transfer", headers=auth("supervisor"),
                              json={"queue": "billing", "priority": 5})
    assert moved.status_code == 200, moved.text
    assert moved.json()["queue"] == "billing"
    unknown = await client.post(f"/interactions/{iid}/transfer", headers=auth("supervisor"),
                                json={"queue": "nowhere"})
    assert unknown.status_code == 422 and unknown.json()["queue"] == "nowhere"
    replanned = await client.post(f"/interactions/{iid}/replan", headers=auth("supervisor"))
    assert replanned.status_code == 200
    cancelled = await client.post(f"/interactions/{iid}/cancel", json={"reason": "spam"},
                                  headers=auth("supervisor"))
    assert cancelled.json()["status"] == "cancelled"
    missing = await client.get("/interactions/none", headers=auth("viewer"))
    assert missing.status_code == 404
    assert missing.json()["interaction_id"] == "none"


async def test_stats_and_topology_reads(client: httpx.AsyncClient) -> None:
    await _ingest(client, "stats-1")
    stats = (await client.get("/stats", headers=auth("viewer"))).json()
    assert any(q["depth"] >= 1 for q in stats["queues"])
    assert stats["service_levels"] and "csr" in stats["agents_by_presence"]
    teams = (await client.get("/teams", headers=auth("viewer"))).json()
    assert {t["id"] for t in teams} == {"csr", "social_care"}
    policies = (await client.get("/sla/policies", headers=auth("viewer"))).json()
    assert any(p["team"] == "social_care" for p in policies)


RULES = """\
rules:
  - name: social
    when: interaction.channel == "social"
    then: {queue: social, skills: {social: 2}, priority: 5}
default:
  queue: general
"""


async def test_rules_validate_publish_if_match_diff_rollback(client: httpx.AsyncClient) -> None:
    yaml_type = {"Content-Type": "application/yaml"}
    current = await client.get("/rules", headers=auth("viewer"))
    assert current.headers["etag"] == '"1"'
    bad = await client.post("/rules/validate", content="rules: [{name: x, when: 'nope ==',"
                            " then: {queue: general}}]\ndefault: {queue: general}",
                            headers={**yaml_type, **auth("viewer")})
    assert bad.json()["ok"] is False and bad.json()["errors"][0]["line"] is not None
    no_match = await client.post("/rules/publish", content=RULES,
                                 headers={**yaml_type, **auth("supervisor")})
    assert no_match.status_code == 428
    published = await client.post("/rules/publish?comment=simpler", content=RULES,
                                  headers={**yaml_type, **auth("supervisor"), "If-Match": '"1"'})
    assert published.status_code == 201, published.text
    assert published.headers["etag"] == '"2"'
    stale = await client.post("/rules/publish", content=RULES,
                              headers={**yaml_type, **auth("supervisor"), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    viewer = await client.post("/rules/publish", content=RULES,
                               headers={**yaml_type, **auth("viewer"), "If-Match": '"2"'})
    assert viewer.status_code == 403
    diff = (await client.get("/rules/diff?from=1&to=2", headers=auth("viewer"))).json()
    assert diff["rules"]
    dry = await client.post("/rules/dry-run", headers=auth("viewer"), json={
        "interaction": {"channel": "social", "idempotency_key": "d-1", "public": True}})
    assert dry.status_code == 200 and dry.json()["rule"] == "social"
    back = await client.post("/rules/rollback", json={"to_version": 1},
                             headers={**auth("supervisor"), "If-Match": '"2"'})
    assert back.status_code == 201 and back.json()["rolled_back_from"] == 1
    versions = (await client.get("/rules/versions", headers=auth("viewer"))).json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    invalid = await client.post("/rules/publish", content="rules: []\n",
                                headers={**yaml_type, **auth("supervisor"), "If-Match": '"3"'})
    assert invalid.status_code == 422 and invalid.json()["errors"]


async def test_bad_signature_is_401_problem() -> None:
    runtime = Runtime.build(settings(verify_signatures=True))
    from router.app import create_app
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/webhooks/sms", content=fixture_bytes("sms", "sms_single.form"),
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "X-Twilio-Signature": "bogus", **auth("ingest")})
    assert response.status_code == 401
    assert response.json()["channel"] == "twilio-sms"
