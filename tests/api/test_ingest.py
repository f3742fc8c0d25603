"""Ingest over HTTP: every webhook, idempotent retries, generic JSON, body caps."""

from __future__ import annotations

import httpx

from tests.api.conftest import auth, fixture_bytes

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


async def test_voice_webhook_then_retry_answers_same_id(client: httpx.AsyncClient) -> None:
    body = fixture_bytes("voice", "twilio_incoming.form")
    first = await client.post("/webhooks/voice", content=body, headers={**FORM, **auth("ingest")})
    assert first.status_code == 202, first.text
    item = first.json()["items"][0]
    assert item["decision"] == "new" and item["created"] is True
    assert item["rule"] and item["rule_version"] == 1
    again = await client.post("/webhooks/voice", content=body, headers={**FORM, **auth("ingest")})
    assert again.status_code == 202
    assert again.json()["interaction_id"] == first.json()["interaction_id"]
    assert again.json()["items"][0]["decision"] == "duplicate"


async def test_hangup_abandons_the_waiting_call(client: httpx.AsyncClient) -> None:
    headers = {**FORM, **auth("ingest")}
    call = await client.post("/webhooks/voice", headers=headers,
                             content=fixture_bytes("voice", "twilio_incoming.form"))
    hangup = await client.post("/webhooks/voice", headers=headers,
                               content=fixture_bytes("voice", "twilio_hangup.form"))
    assert hangup.status_code == 202, hangup.text
    assert hangup.json()["items"][0]["decision"] == "hangup"
    call_id = call.json()["interaction_id"]
    view = await client.get(f"/interactions/{call_id}", headers=auth("viewer"))
    assert view.json()["status"] == "abandoned"


async def test_sms_email_meta_x_webhooks(client: httpx.AsyncClient) -> None:
    cases = [
        ("/webhooks/sms", fixture_bytes("sms", "sms_single.form"), FORM),
        ("/webhooks/email", fixture_bytes("email", "multipart_alternative.eml"),
         {"Content-Type": "message/rfc822"}),
        ("/webhooks/meta", fixture_bytes("social", "messenger_text.json"), JSON),
        ("/webhooks/x", fixture_bytes("social", "x_tweet_reply.json"), JSON),
    ]
    for path, body, headers in cases:
        response = await client.post(path, content=body, headers={**headers, **auth("ingest")})
        assert response.status_code == 202, (path, response.text)
        assert response.json()["items"], path


async def test_wrong_content_type_is_415_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/email", content=b"{}",
                                 headers={**JSON, **auth("ingest")})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_generic_json_ingest_and_lookup(client: httpx.AsyncClient) -> None:
    body = {"channel": "email", "idempotency_key": "crm-1", "address": "Ana.Lopez@Example.COM",
            "subject": "Invoice charged twice"}
    first = await client.post("/interactions", json=body, headers=auth("ingest"))
    assert first.status_code == 202, first.text
    again = await client.post("/interactions", json=body, headers=auth("ingest"))
    assert again.json()["interaction_id"] == first.json()["interaction_id"]
    view = await client.get(f"/interactions/{first.json()['interaction_id']}",
                            headers=auth("viewer"))
    data = view.json()
    assert data["customer_id"] == "c-ana-lopez"
    assert data["rule"] == "vip" and data["rule_version"] == 1
    assert data["explain"]["trace"][0]["outcome"] == "matched"
    assert data["history"][0]["event"] == "queued"


async def test_strict_json_names_the_field(client: httpx.AsyncClient) -> None:
    bad = {"channel": "email", "idempotency_key": "k", "reach": "lots"}
    response = await client.post("/interactions", json=bad, headers=auth("ingest"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "reach" and "lots" in problem["value"]
    extra = await client.post("/interactions", headers=auth("ingest"),
                              json={"channel": "sms", "idempotency_key": "k", "colour": 1})
    assert extra.status_code == 422 and extra.json()["field"] == "colour"


async def test_malformed_webhook_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/sms", content=b"From=%2B14155550134",
                                 headers={**FORM, **auth("ingest")})
    assert response.status_code in (400, 422)
    problem = response.json()
    assert problem["field"] in ("MessageSid", "SmsSid")
    assert problem["status"] == response.status_code


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    huge = {"channel": "chat", "idempotency_key": "k", "summary": "x" * 70_000}
    response = await client.post("/interactions", json=huge, headers=auth("ingest"))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == 64 * 1024
