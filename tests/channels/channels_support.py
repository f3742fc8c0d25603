"""Shared helpers for the channel adapter tests: fixtures on disk, settings, signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qsl

from channels.request import InboundRequest
from channels.settings import ChannelSettings

FIXTURES = Path(__file__).parent / "fixtures"
TWILIO_TOKEN = "12345678901234567890123456789012"
META_SECRET = "meta-app-secret-for-tests"
META_VERIFY = "verify-me-please"
X_SECRET = "x-consumer-secret-for-tests"
CTI_SECRET = "cti-shared-secret"
VOICE_URL = "https://omniroute.example.test/webhooks/twilio-voice"
SMS_URL = "https://omniroute.example.test/webhooks/twilio-sms"


def settings(**overrides: object) -> ChannelSettings:
    values: dict[str, object] = {
        "twilio_auth_token": TWILIO_TOKEN,
        "meta_app_secret": META_SECRET,
        "meta_verify_token": META_VERIFY,
        "x_consumer_secret": X_SECRET,
        "cti_secret": CTI_SECRET,
    }
    values.update(overrides)
    return ChannelSettings.model_validate(values)


def fixture(relative: str) -> bytes:
    data = (FIXTURES / relative).read_bytes()
    # Form bodies are stored one per line; the trailing newline is not part of the body.
    return data.rstrip(b"\n") if relative.endswith(".form") else data


def request(relative: str, url: str = "", headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest.build(fixture(relative), headers=headers, url=url)


# Independent reference implementations of the providers' signature schemes, written
# from the providers' documentation rather than reusing channels.signatures.
def twilio_sign(url: str, body: bytes, token: str = TWILIO_TOKEN) -> str:
    params = parse_qsl(body.decode(), keep_blank_values=True)
    data = url
    for key, value in sorted(params, key=lambda pair: pair[0]):
        data += key + value
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def meta_sign(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_sign(body: bytes, secret: str = X_SECRET) -> str:
    return (
        "sha256="
        + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    )
