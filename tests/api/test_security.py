"""Who may call what: 401 without a valid token, 403 for the wrong role or agent."""

from __future__ import annotations

import httpx
import pytest

from router.auth import Role, TokenRegistry, TokenSpec, Unauthenticated, hash_token
from tests.api.conftest import auth

# (method, path, body, roles allowed)
ROUTES = [
    ("POST", "/interactions", {"channel": "chat", "idempotency_key": "sec-1"},
     {"ingest", "supervisor"}),
    ("GET", "/queues", None, {"supervisor", "viewer"}),
    ("GET", "/stats", None, {"supervisor", "viewer"}),
    ("GET", "/agents", None, {"supervisor", "viewer"}),
    ("GET", "/teams", None, {"supervisor", "viewer"}),
    ("GET", "/sla/policies", None, {"supervisor", "viewer"}),
    ("GET", "/rules", None, {"supervisor", "viewer"}),
    ("GET", "/rules/versions", None, {"supervisor", "viewer"}),
    ("POST", "/interactions/nope/cancel", {}, {"supervisor"}),
    ("POST", "/agents/alice/login", {}, {"alice", "supervisor"}),
    ("GET", "/agents/alice", None, {"alice", "supervisor", "viewer"}),
    ("POST", "/agents/alice/next", None, {"alice", "supervisor"}),
    ("PUT", "/agents/alice/presence", {"presence": "not_ready", "reason": "break"},
     {"alice", "supervisor"}),
]
ROLES = ["ingest", "supervisor", "viewer", "alice", "bruno"]


async def _call(client: httpx.AsyncClient, method: str, path: str, body: object,
                headers: dict[str, str]) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
async def test_role_matrix(client: httpx.AsyncClient, method: str, path: str, body: object,
                           allowed: set[str]) -> None:
    missing = await _call(client, method, path, body, {})
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = await _call(client, method, path, body, {"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    for role in ROLES:
        response = await _call(client, method, path, body, auth(role))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            problem = response.json()
            assert problem["status"] == 403 and problem["title"] == "Forbidden"


async def test_agent_token_cannot_act_for_another_agent(client: httpx.AsyncClient) -> None:
    for path in ("/agents/bruno/login", "/agents/bruno/next", "/agents/bruno/logout",
                 "/agents/bruno/interactions/x/accept"):
        response = await client.post(path, headers=auth("alice"))
        assert response.status_code == 403, path
        assert "bruno" in response.json()["detail"]


async def test_basic_auth_carries_the_token_for_twilio(client: httpx.AsyncClient) -> None:
    import base64

    from tests.api.conftest import TOKENS
    basic = base64.b64encode(f"twilio:{TOKENS['ingest']}".encode()).decode()
    response = await client.post("/interactions", headers={"Authorization": f"Basic {basic}"},
                                 json={"channel": "chat", "idempotency_key": "basic-1"})
    assert response.status_code == 202


async def test_webhooks_need_the_ingest_role(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/sms", content=b"x=1", headers=auth("viewer"))
    assert response.status_code == 403


async def test_ops_routes_are_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["rules"] is True
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "omniroute_queue_depth" in metrics.text


def _registry() -> TokenRegistry:
    return TokenRegistry([
        TokenSpec(name="feed", sha256=hash_token("feed-secret"), roles=[Role.INGEST]),
        TokenSpec(name="alice", sha256=hash_token("alice-secret"), roles=[Role.AGENT],
                  agent="alice"),
    ])


def test_a_remembered_header_answers_the_same_principal() -> None:
    registry = _registry()
    first = registry.from_header("Bearer feed-secret")
    assert registry.from_header("Bearer feed-secret") is first
    assert registry.from_header("bearer  feed-secret ").name == "feed"  # another spelling
    assert registry.from_header("Bearer alice-secret").agent_id == "alice"


@pytest.mark.parametrize("header", ["Bearer feed-secreT", "Bearer feed-secret2",
                                    "Bearer feed", "Token feed-secret", ""])
def test_a_near_miss_is_refused_after_the_real_token_verified(header: str) -> None:
    registry = _registry()
    registry.from_header("Bearer feed-secret")
    with pytest.raises(Unauthenticated):
        registry.from_header(header)
    with pytest.raises(Unauthenticated):  # and refusals are never remembered
        registry.from_header(header)


def test_the_verified_header_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    registry = _registry()
    monkeypatch.setattr(TokenRegistry, "VERIFIED_CACHE_SIZE", 8)
    # Basic credentials spell one token in as many ways as there are user names.
    for n in range(50):
        user = base64.b64encode(f"user{n}:feed-secret".encode()).decode()
        assert registry.from_header(f"Basic {user}").name == "feed"
        assert len(registry._verified) <= 8
