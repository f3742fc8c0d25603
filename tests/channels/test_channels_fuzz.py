"""Whatever arrives, adapters raise only the typed channel errors."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from channels_support import FIXTURES, fixture, settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from channels import ChannelError, default_adapters
from channels.request import InboundRequest

ADAPTERS = default_adapters(settings())
BY_DIRECTORY = {
    "voice": ["twilio-voice", "cti"],
    "email": ["email"],
    "sms": ["twilio-sms"],
    "social": ["meta", "x"],
}
REAL = sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.*"))
FUZZ = hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
twilio_keys = st.sampled_from(
    [
        "CallSid",
        "MessageSid",
        "SmsSid",
        "From",
        "To",
        "CallStatus",
        "Body",
        "NumMedia",
        "MediaUrl0",
        "MediaContentType0",
        "Direction",
        "Digits",
    ]
)


def attempt(name: str, body: bytes) -> None:
    try:
        ADAPTERS[name].parse(InboundRequest.build(body), now=0.0)
    except ChannelError as exc:
        assert 400 <= exc.http_status < 500
        assert str(exc)


@FUZZ
@given(st.sampled_from(sorted(ADAPTERS)), st.binary(max_size=512))
def test_random_bytes(name: str, body: bytes) -> None:
    attempt(name, body)


@FUZZ
@given(st.sampled_from(sorted(ADAPTERS)), json_values)
def test_random_json(name: str, document: object) -> None:
    attempt(name, json.dumps(document).encode())


@FUZZ
@given(
    st.sampled_from(["twilio-voice", "twilio-sms"]),
    st.dictionaries(twilio_keys | st.text(max_size=8), st.text(max_size=30), max_size=10),
)
def test_random_forms(name: str, form: dict[str, str]) -> None:
    attempt(name, urlencode(form).encode())


@FUZZ
@given(st.sampled_from(REAL), st.data())
def test_truncated_and_mutated_real_payloads(relative: str, data: st.DataObject) -> None:
    body = fixture(relative)
    cut = data.draw(st.integers(min_value=0, max_value=len(body)))
    flip = data.draw(st.integers(min_value=0, max_value=max(0, len(body) - 1)))
    noise = data.draw(st.binary(min_size=1, max_size=3))
    mutated = body[:flip] + noise + body[flip + len(noise) :]
    for name in BY_DIRECTORY[relative.split("/")[0]]:
        attempt(name, body[:cut])
        attempt(name, mutated)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "From",
                "To",
                "Subject",
                "Message-ID",
                "In-Reply-To",
                "References",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Auto-Submitted",
                "Date",
            ]
        ),
        st.text(max_size=40).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
        max_size=8,
    ),
    st.binary(max_size=200),
)
def test_random_mail_headers(headers: dict[str, str], body: bytes) -> None:
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode(
        "utf-8", "surrogateescape"
    )
    attempt("email", raw + b"\r\n" + body)
