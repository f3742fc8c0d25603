"""`POST /interactions` through `IngestLane`: same answers as the declared FastAPI route,
plus what only the lane does (415, auth before the body, chunked bodies, disconnects)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from router.api.ingest_lane import IngestLane
from router.app import create_app
from router.runtime import Runtime
from tests.api.conftest import api_client, auth, settings

JSON = {"Content-Type": "application/json"}

REFUND = {"channel": "email", "idempotency_key": "p-1", "subject": "Refund",
          "address": "Ana.Lopez@Example.COM", "attributes": {"order": 7}}

# Requests both paths must answer alike, sent in this order (the retry and the follow-up
# depend on what came before).
PARITY: list[tuple[str, dict[str, Any]]] = [
    ("new", {"headers": auth("ingest"), "json": REFUND}),
    ("retry", {"headers": auth("ingest"), "json": REFUND}),
    ("supervisor", {"headers": auth("supervisor"),
                    "json": {"channel": "sms", "idempotency_key": "p-2",
                             "address": "+14155550134", "customer_id": "c-ana-lopez"}}),
    ("thread", {"headers": auth("ingest"),
                "json": {"channel": "chat", "idempotency_key": "p-3", "conversation_key": "t",
                         "address": "web:visitor-1"}}),
    ("follow-up", {"headers": auth("ingest"),
                   "json": {"channel": "chat", "idempotency_key": "p-4",
                            "conversation_key": "t", "address": "web:visitor-1"}}),
    ("charset", {"headers": {**auth("ingest"), "Content-Type": "application/json; charset=utf-8"},
                 "content": b'{"channel":"voice","idempotency_key":"p-5"}'}),
    ("no token", {"json": {"channel": "chat", "idempotency_key": "p-6"}}),
    ("bad token", {"headers": {"Authorization": "Bearer nope"},
                   "json": {"channel": "chat", "idempotency_key": "p-6"}}),
    ("viewer", {"headers": auth("viewer"), "json": {"channel": "chat", "idempotency_key": "p-6"}}),
    ("agent", {"headers": auth("alice"), "json": {"channel": "chat", "idempotency_key": "p-6"}}),
    ("channel", {"headers": auth("ingest"), "json": {"channel": "fax", "idempotency_key": "p-7"}}),
    ("missing", {"headers": auth("ingest"), "json": {"channel": "chat"}}),
    ("extra", {"headers": auth("ingest"),
               "json": {"channel": "chat", "idempotency_key": "p-8", "colour": 1}}),
    ("strict", {"headers": auth("ingest"),
                "json": {"channel": "chat", "idempotency_key": "p-8", "reach": "5"}}),
    ("range", {"headers": auth("ingest"),
               "json": {"channel": "chat", "idempotency_key": "p-8", "sentiment": 2.5}}),
    ("nested", {"headers": auth("ingest"),
                "json": {"channel": "chat", "idempotency_key": "p-8", "attributes": {"a": [1]}}}),
    ("address", {"headers": auth("ingest"),
                 "json": {"channel": "voice", "idempotency_key": "p-9", "address": "abc"}}),
    ("empty", {"headers": {**auth("ingest"), **JSON}, "content": b""}),
    ("huge", {"headers": auth("ingest"),
              "json": {"channel": "chat", "idempotency_key": "p-10", "summary": "x" * 70_000}}),
]


def without_lane(app: FastAPI) -> FastAPI:
    """The same app with `POST /interactions` left to FastAPI (the stack is built on the
    first request, so dropping the middleware before it takes effect)."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not IngestLane]
    return app


async def _answers(app: FastAPI) -> list[tuple[int, str | None, Any]]:
    answers = []
    async with api_client(app) as client:
        for _, kwargs in [*PARITY, ("plain text", PLAIN_TEXT)]:
            response = await client.post("/interactions", **kwargs)
            answers.append((response.status_code, response.headers.get("content-type"),
                            response.json()))
    return answers


# Where the two differ on purpose: FastAPI does not check the media type (it reports the
# unparsed bytes as "not a valid dictionary"); the lane answers 415 like the webhooks.
PLAIN_TEXT = {"headers": {**auth("ingest"), "Content-Type": "text/plain"},
              "content": b'{"channel":"chat","idempotency_key":"p-11"}'}


async def test_lane_answers_like_the_declared_route() -> None:
    lane = await _answers(create_app(Runtime.build(settings())))
    route = await _answers(without_lane(create_app(Runtime.build(settings()))))
    assert (lane.pop()[0], route.pop()[0]) == (415, 422)  # and so both paths were taken
    for (name, _), ours, theirs in zip(PARITY, lane, route, strict=True):
        assert ours == theirs, name
    decisions = {name: body.get("decision")
                 for (name, _), (_, _, body) in zip(PARITY, lane, strict=True)}
    assert decisions["new"] == "new" and decisions["retry"] == "duplicate"
    assert decisions["follow-up"] == "follow_up"
    assert lane[1][2]["interaction_id"] == lane[0][2]["interaction_id"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx"])
async def test_a_body_that_is_not_json_is_415(client: httpx.AsyncClient,
                                              content_type: str | None) -> None:
    headers = auth("ingest") | ({"Content-Type": content_type} if content_type else {})
    response = await client.post("/interactions", headers=headers,
                                 content=b'{"channel":"chat","idempotency_key":"k"}')
    assert response.status_code == 415
    assert repr(content_type or "(none)") in response.json()["detail"]


async def test_json_subtypes_are_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/interactions",
                                 content=b'{"channel":"chat","idempotency_key":"k"}',
                                 headers={**auth("ingest"),
                                          "Content-Type": "Application/Problem+JSON"})
    assert response.status_code == 202, response.text


async def test_authentication_comes_before_the_body(client: httpx.AsyncClient) -> None:
    # An anonymous caller learns nothing about what the body would have needed.
    response = await client.post("/interactions", content=b"{", headers=JSON)
    assert response.status_code == 401


async def test_unparsable_json_names_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/interactions", content=b'{"channel": "chat",',
                                 headers={**auth("ingest"), **JSON})
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "body" and "Invalid JSON" in problem["detail"]


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_chunked_body_is_read_whole(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/interactions", headers={**auth("ingest"), **JSON},
        content=_chunks(b'{"channel":"chat",', b'"idempotency_key":"chunked"}'))
    assert response.status_code == 202, response.text


async def test_a_chunked_body_over_the_cap_is_413(client: httpx.AsyncClient) -> None:
    summary = b"x" * 40_000
    response = await client.post(
        "/interactions", headers={**auth("ingest"), **JSON},
        content=_chunks(b'{"channel":"chat","idempotency_key":"big","summary":"', summary,
                        summary, b'"}'))
    assert response.status_code == 413
    assert response.json()["limit"] == 64 * 1024


async def test_other_methods_are_left_to_the_router(client: httpx.AsyncClient) -> None:
    response = await client.get("/interactions", headers=auth("ingest"))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_served_under_a_root_path(runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/api/interactions", headers=auth("ingest"),
                                         json={"channel": "chat", "idempotency_key": "rp"})
            assert response.status_code == 202, response.text
            # Only the lane checks the media type: it did see the prefixed path.
            plain = await client.post("/api/interactions", **PLAIN_TEXT)
            assert plain.status_code == 415


async def test_an_unexpected_failure_is_a_500_problem(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(data: object) -> None:
        raise RuntimeError("store on fire")

    monkeypatch.setattr(runtime, "ingest_normalized", broken)
    async with api_client(create_app(runtime)) as client:
        response = await client.post("/interactions", headers=auth("ingest"),
                                     json={"channel": "chat", "idempotency_key": "boom"})
    assert response.status_code == 500
    assert "store on fire" not in response.text  # no internals in the answer
    assert "store on fire" in caplog.text  # but logged, with the trace


async def test_a_client_gone_before_its_body_gets_no_answer(runtime: Runtime) -> None:
    app = create_app(runtime)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", auth("ingest")["Authorization"].encode()),
               (b"content-type", b"application/json")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/interactions",
             "raw_path": b"/interactions", "root_path": "", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("test", 80)}
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert sent == []
    assert len(runtime.gate) == 0  # nothing was ingested
