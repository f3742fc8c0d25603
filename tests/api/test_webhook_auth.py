"""Webhook authentication: a token, or a verified provider signature alone — never neither.

The matrix: {signed webhook, unsigned (e-mail)} × {signature check on, off} ×
{OMNIROUTE_WEBHOOK_AUTH off (default), on} × {no token, ingest, viewer, bogus token}
× {valid, wrong, missing signature}.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import httpx
import pytest

from channels.signatures import base64_sha256_signature, hex_sha256_signature, twilio_signature
from router.app import create_app
from router.runtime import Runtime
from tests.api.conftest import api_client, auth, fixture_bytes, settings

SECRETS = {"twilio_auth_token": "tw-secret", "meta_app_secret": "meta-secret",
           "meta_verify_token": "meta-verify", "x_consumer_secret": "x-secret"}
BASE = "http://test"


@asynccontextmanager
async def serve(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Runtime.build(settings(**{**SECRETS, **overrides})))
    async with api_client(app, BASE) as client:
        yield client


def _twilio(path: str, body: bytes) -> str:
    return twilio_signature(SECRETS["twilio_auth_token"], BASE + path,
                            parse_qsl(body.decode(), keep_blank_values=True))


# path, body, content type, (signature header, signer) — signer None: unsigned route
WEBHOOKS = {
    "voice": ("/webhooks/voice", fixture_bytes("voice", "twilio_incoming.form"),
              "application/x-www-form-urlencoded",
              ("X-Twilio-Signature", lambda b: _twilio("/webhooks/voice", b))),
    "sms": ("/webhooks/sms", fixture_bytes("sms", "sms_single.form"),
            "application/x-www-form-urlencoded",
            ("X-Twilio-Signature", lambda b: _twilio("/webhooks/sms", b))),
    "meta": ("/webhooks/meta", fixture_bytes("social", "messenger_text.json"),
             "application/json",
             ("X-Hub-Signature-256", lambda b: hex_sha256_signature("meta-secret", b))),
    "x": ("/webhooks/x", fixture_bytes("social", "x_tweet_reply.json"), "application/json",
          ("x-twitter-webhooks-signature", lambda b: base64_sha256_signature("x-secret", b))),
}
EMAIL = ("/webhooks/email", fixture_bytes("email", "multipart_alternative.eml"),
         "message/rfc822")


def _headers(name: str, token: str | None, signature: str) -> dict[str, str]:
    _, body, content_type, (header, sign) = WEBHOOKS[name]
    headers = {"Content-Type": content_type}
    if signature == "valid":
        headers[header] = sign(body)
    elif signature == "wrong":
        headers[header] = sign(body + b" ")
    if token == "bogus":
        headers["Authorization"] = "Bearer not-a-token"
    elif token is not None:
        headers.update(auth(token))
    return headers


async def _post(client: httpx.AsyncClient, name: str, token: str | None,
                signature: str) -> httpx.Response:
    path, body, _, _ = WEBHOOKS[name]
    return await client.post(path, content=body, headers=_headers(name, token, signature))


# (token, signature) → status with verification ON and OMNIROUTE_WEBHOOK_AUTH off.
SIGNED_DEFAULT = [
    (None, "valid", 202),      # Meta/X: the signature alone authenticates
    (None, "wrong", 401),
    (None, "missing", 401),    # never neither
    ("ingest", "valid", 202),
    ("ingest", "wrong", 401),  # a token does not excuse a forged payload
    ("ingest", "missing", 401),
    ("supervisor", "valid", 202),
    ("viewer", "valid", 403),  # a presented token is always checked
    ("bogus", "valid", 401),
]


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
async def test_signed_webhooks_accept_a_signature_alone(name: str) -> None:
    async with serve(verify_signatures=True) as client:
        for token, signature, expected in SIGNED_DEFAULT:
            response = await _post(client, name, token, signature)
            assert response.status_code == expected, (token, signature, response.text)
            if expected != 202:
                assert response.headers["content-type"] == "application/problem+json"


async def test_webhook_auth_on_requires_a_token_as_well() -> None:
    async with serve(verify_signatures=True, webhook_auth=True) as client:
        for name in WEBHOOKS:
            alone = await _post(client, name, None, "valid")
            assert alone.status_code == 401, name
            assert alone.headers["www-authenticate"].startswith("Bearer")
            both = await _post(client, name, "ingest", "valid")
            assert both.status_code == 202, (name, both.text)
            forged = await _post(client, name, "ingest", "wrong")
            assert forged.status_code == 401, name


async def test_unverified_webhooks_always_need_a_token() -> None:
    async with serve(verify_signatures=False) as client:
        for name in WEBHOOKS:
            # A signature that nobody checks authenticates nothing.
            response = await _post(client, name, None, "valid")
            assert response.status_code == 401, name
            assert "token" in response.json()["detail"]
            assert (await _post(client, name, "viewer", "missing")).status_code == 403
            assert (await _post(client, name, "ingest", "missing")).status_code == 202


@pytest.mark.parametrize("verify", [True, False])
async def test_email_has_no_signature_so_needs_a_token(verify: bool) -> None:
    path, body, content_type = EMAIL
    async with serve(verify_signatures=verify) as client:
        bare = await client.post(path, content=body, headers={"Content-Type": content_type})
        assert bare.status_code == 401
        ok = await client.post(path, content=body,
                               headers={"Content-Type": content_type, **auth("ingest")})
        assert ok.status_code == 202, ok.text


async def test_subscription_handshakes_without_a_token() -> None:
    async with serve(verify_signatures=True) as client:
        meta = await client.get("/webhooks/meta", params={
            "hub.mode": "subscribe", "hub.verify_token": "meta-verify", "hub.challenge": "42"})
        assert meta.status_code == 200 and meta.text == "42"
        wrong = await client.get("/webhooks/meta", params={
            "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"})
        assert wrong.status_code in (401, 403)
        crc = await client.get("/webhooks/x", params={"crc_token": "abc123"})
        assert crc.status_code == 200
        assert crc.json()["response_token"] == base64_sha256_signature("x-secret", b"abc123")
        # The CRC answer must not become a signing oracle for delivery bodies.
        oracle = await client.get("/webhooks/x", params={"crc_token": '{"for_user_id":"1"}'})
        assert oracle.status_code == 422 and oracle.json()["field"] == "crc_token"
    async with serve(verify_signatures=False) as client:
        crc = await client.get("/webhooks/x", params={"crc_token": "abc123"})
        assert crc.status_code == 401
