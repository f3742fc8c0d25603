"""Webhook signature schemes, computed and compared in constant time.

- Twilio `X-Twilio-Signature`: base64 HMAC-SHA1 over the full URL followed by every
  POST parameter as key+value, sorted by key.
- Meta `X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body (app secret).
- X `x-twitter-webhooks-signature`: `sha256=` + base64 HMAC-SHA256 of the raw body
  (consumer secret); the CRC handshake signs the `crc_token` the same way.
- generic CTI `X-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from channels.errors import BadSignature


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    signed = url + "".join(key + value for key, value in sorted(params))
    mac = hmac.new(auth_token.encode(), signed.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def hex_sha256_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def base64_sha256_signature(secret: str, data: bytes) -> str:
    mac = hmac.new(secret.encode(), data, hashlib.sha256)
    return "sha256=" + base64.b64encode(mac.digest()).decode("ascii")


def require_match(channel: str, header: str, presented: str | None, expected: str) -> None:
    """Constant-time comparison; the error says which header was wrong, never the secret."""
    if not presented:
        raise BadSignature(channel, f"missing {header} header")
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise BadSignature(channel, f"{header} does not match the request")


def require_secret(channel: str, secret: str, setting: str) -> str:
    # Fail closed: verification on but no secret configured means nothing passes.
    if not secret:
        raise BadSignature(channel, f"no secret configured ({setting}); request cannot be verified")
    return secret
