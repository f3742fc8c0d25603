"""Every error is an RFC 9457 problem conforming to the `Problem` schema in /openapi.json.

`conftest.problem_hook` checks every 4xx/5xx any API test receives (this module's
scenarios and every other test's); here a table provokes each kind of error the API
answers, and checks the extension members (`field`, `value`, `errors`, ids) it defines.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import auth

SUP = auth("supervisor")
JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}

# (method, path, kwargs, status, slug, extension members expected: name → value or None)
SCENARIOS: list[tuple[str, str, dict[str, Any], int, str, dict[str, Any]]] = [
    ("GET", "/stats", {}, 401, "unauthenticated", {}),
    ("GET", "/stats", {"headers": {"Authorization": "Bearer nope"}}, 401,
     "unauthenticated", {}),
    ("GET", "/stats", {"headers": auth("alice")}, 403, "forbidden", {}),
    ("GET", "/nowhere", {"headers": SUP}, 404, "not-found", {}),
    ("DELETE", "/stats", {"headers": SUP}, 405, "method-not-allowed", {}),
    ("GET", "/interactions/nope", {"headers": SUP}, 404, "unknown-interaction",
     {"interaction_id": "nope"}),
    ("GET", "/agents/nobody", {"headers": SUP}, 404, "unknown-agent", {"agent_id": "nobody"}),
    ("POST", "/interactions", {"headers": auth("ingest"), "json": {"channel": "fax"}}, 422,
     "invalid-field", {"field": "channel", "value": "'fax'", "errors": None}),
    ("POST", "/interactions", {"headers": {**auth("ingest"), **JSON}, "content": b"{"}, 422,
     "invalid-field", {"field": None}),
    ("POST", "/interactions", {"headers": auth("ingest"), "json": {
        "channel": "email", "idempotency_key": "k", "address": "not-mail"}}, 422,
     "unprocessable-payload", {"field": "address", "value": None}),
    ("POST", "/interactions", {"headers": auth("ingest"),
                               "json": {"channel": "chat", "idempotency_key": "k",
                                        "summary": "x" * 70_000}}, 413,
     "payload-too-large", {"limit": 65536}),
    ("POST", "/webhooks/sms", {"headers": {**auth("ingest"), **JSON}, "content": b"{}"}, 415,
     "unsupported-media-type", {}),
    ("POST", "/webhooks/sms", {"headers": {**auth("ingest"),
                                           "Content-Type": "application/x-www-form-urlencoded"},
                               "content": b"From=%2B14155550134"}, 400, "malformed-payload",
     {"field": "SmsSid"}),
    ("POST", "/interactions/nope/transfer", {"headers": SUP, "json": {"queue": "nowhere"}},
     422, "unknown-queue", {"queue": "nowhere"}),
    ("POST", "/agents/alice/interactions/nope/accept", {"headers": SUP}, 404,
     "unknown-interaction", {"interaction_id": "nope"}),
    ("PUT", "/agents/iris", {"headers": SUP, "json": {"teams": ["csr"],
                                                       "skills": {"billing": 9}}}, 422,
     "invalid-field", {"field": "skills.billing", "value": "9"}),
    ("PUT", "/agents/iris", {"headers": SUP, "json": {"teams": ["nope"]}}, 422,
     "invalid-field", {"field": "teams", "value": "'nope'"}),
    ("PUT", "/queues/social", {"headers": SUP, "json": {"team": "csr"}}, 409,
     "change-refused", {"errors": None}),
    ("DELETE", "/agents/nobody", {"headers": SUP}, 404, "unknown-agent",
     {"agent_id": "nobody"}),
    ("PUT", "/sla/policies", {"headers": SUP, "json": [
        {"team": "nope", "channel": "voice", "threshold": 20, "target": 0.8}]}, 422,
     "invalid-field", {"field": "0.team", "value": "'nope'"}),
    ("POST", "/rules/publish", {"headers": {**SUP, **YAML}, "content": b"rules: []\n"}, 428,
     "precondition-required", {}),
    ("POST", "/rules/publish", {"headers": {**SUP, **YAML, "If-Match": '"7"'},
                                "content": b"rules: []\ndefault: {queue: general}\n"}, 412,
     "version-conflict", {"base_version": 7, "current_version": 1}),
    ("POST", "/rules/publish", {"headers": {**SUP, **YAML, "If-Match": '"1"'},
                                "content": b"rules: []\ndefault: {queue: nowhere}\n"}, 422,
     "ruleset-invalid", {"errors": None}),
    ("POST", "/rules/publish", {"headers": {**SUP, **YAML, "If-Match": "yesterday"},
                                "content": b"rules: []\n"}, 422, "invalid-field",
     {"field": "If-Match"}),
    ("POST", "/rules/validate", {"headers": {**SUP, **JSON}, "content": b"[1, 2]"}, 422,
     "invalid-field", {"field": "body"}),
    ("POST", "/rules/validate", {"headers": {**SUP, "Content-Type": "text/csv"},
                                 "content": b"a,b"}, 415, "unsupported-media-type", {}),
    ("GET", "/rules/versions/99", {"headers": SUP}, 404, "unknown-version", {"version": 99}),
    ("GET", "/rules/draft", {"headers": SUP}, 404, "no-draft", {}),
    ("GET", "/webhooks/x", {"headers": auth("ingest"), "params": {"crc_token": "{}"}}, 422,
     "invalid-field", {"field": "crc_token"}),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "slug", "members"), SCENARIOS,
                         ids=[f"{s[3]}-{s[4]}-{s[1]}" for s in SCENARIOS])
async def test_error_scenarios_are_conforming_problems(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any], status: int,
    slug: str, members: dict[str, Any],
) -> None:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert client.checked_problems == [(status, response.json()["type"])]  # hook saw it
    problem = response.json()
    assert problem["type"].endswith("/" + slug), problem
    assert problem["instance"] == path
    assert problem["title"] and problem["detail"]
    for name, expected in members.items():
        assert name in problem, (name, problem)
        if expected is not None:
            assert problem[name] == expected, (name, problem)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if status == 405:
        assert "GET" in response.headers["allow"]


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.post("/sla/policies", headers=SUP)
    assert response.status_code == 405
    assert {"GET", "PUT"} <= set(response.headers["allow"].split(", "))


async def test_openapi_documents_problems_not_fastapi_validation_errors(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response.get("content", {})
                    assert "application/problem+json" in content, (method, path, status)
