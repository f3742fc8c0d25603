from __future__ import annotations

from pathlib import Path

import pytest
from channels_support import request, settings

from channels import (
    EmailAdapter,
    IdentityIndex,
    Ingestor,
    InMemoryCustomerDirectory,
    TwilioVoiceAdapter,
    XAdapter,
    default_adapters,
)
from channels.addresses import normalize_email, normalize_phone
from channels.errors import UnprocessablePayload
from router.errors import ConfigError

CUSTOMERS = Path(__file__).resolve().parents[2] / "config" / "customers.yaml"
AGENTS = {"alice", "bruno", "chen", "dana", "emil", "farah", "gus", "hana"}


@pytest.fixture(scope="module")
def directory() -> InMemoryCustomerDirectory:
    return InMemoryCustomerDirectory.from_yaml(CUSTOMERS)


def test_example_customers_load(directory: InMemoryCustomerDirectory) -> None:
    assert len(directory) == 8
    ana = directory.profile("c-ana-lopez")
    assert (ana.tier, ana.language, ana.account_owner, ana.known) == (
        "platinum",
        "es",
        "bruno",
        True,
    )
    tiers = {directory.profile(cid).tier for cid, _ in directory.addresses()}
    assert tiers == {"standard", "gold", "platinum"}
    owners = {directory.profile(cid).account_owner for cid, _ in directory.addresses()} - {None}
    assert owners <= AGENTS


def test_unknown_customer_gets_a_default_profile(directory: InMemoryCustomerDirectory) -> None:
    profile = directory.profile("cust-nobody")
    assert profile.id == "cust-nobody" and profile.known is False


def test_one_customer_across_voice_email_and_x(directory: InMemoryCustomerDirectory) -> None:
    # Erin calls (CTI would do too), e-mails and tweets: three channels, one customer.
    index = IdentityIndex.from_directory(directory, "US")
    ingestor = Ingestor(default_adapters(settings(verify_twilio=False, verify_x=False)), index)
    body = b"CallSid=CA77&From=%2B16175550199&To=%2B18005550100&CallStatus=ringing"
    from channels.request import InboundRequest

    (call,) = ingestor.ingest("twilio-voice", InboundRequest.build(body), now=1.0)
    mail_raw = b"From: EOBrien@BigCorp.test\nMessage-ID: <e1@bigcorp.test>\nSubject: x\n\nhello\n"
    (mail,) = ingestor.ingest("email", InboundRequest.build(mail_raw), now=2.0)
    (tweet,) = ingestor.ingest("x", request("social/x_tweet_quote.json"), now=3.0)
    assert {
        call.interaction.customer_id,
        mail.interaction.customer_id,
        tweet.interaction.customer_id,
    } == {"c-erin-obrien"}
    assert call.customer_known and mail.customer_known and tweet.customer_known


def test_unknown_addresses_get_a_stable_generated_id() -> None:
    index = IdentityIndex()
    first = index.resolve(("+15005550006",), fallback="k1")
    again = index.resolve(("+15005550006",), fallback="k2")
    assert first.customer_id == again.customer_id and first.customer_id.startswith("cust-")
    assert first.known is False
    withheld = index.resolve((), fallback="CA-anon")
    assert withheld.customer_id != first.customer_id


def test_handle_learned_from_a_tweet_links_later_contacts() -> None:
    index = IdentityIndex()
    ingestor = Ingestor(default_adapters(settings(verify_x=False)), index)
    (tweet,) = ingestor.ingest("x", request("social/x_tweet_quote.json"), now=1.0)
    assert index.owner("x:@erinobriencto") == tweet.interaction.customer_id


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0134", "US", "+14155550134"),
        ("415.555.0134", "US", "+14155550134"),
        ("030 1234567", "DE", "+49301234567"),
        ("+34 612 345 678", "US", "+34612345678"),
    ],
)
def test_phone_normalization(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "banana", "+1 555", "12"])
def test_bad_phone_numbers(raw: str) -> None:
    with pytest.raises(UnprocessablePayload):
        normalize_phone(raw, "US")


def test_email_normalization_keeps_plus_tags() -> None:
    assert normalize_email("  Ana.Lopez+Billing@Example.COM ") == "ana.lopez+billing@example.com"


def test_bad_customer_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "customers.yaml"
    path.write_text("customers:\n  - id: c1\n    tier: diamond\n")
    with pytest.raises(ConfigError) as raised:
        InMemoryCustomerDirectory.from_yaml(path)
    assert "customers.0.tier" in str(raised.value)
    path.write_text("customers:\n  - id: c1\n    addresses: {phones: [banana]}\n")
    with pytest.raises(ConfigError) as bad_phone:
        IdentityIndex.from_directory(InMemoryCustomerDirectory.from_yaml(path), "US")
    assert "c1" in str(bad_phone.value) and "banana" in str(bad_phone.value)


def test_adapter_types_satisfy_the_protocol() -> None:
    from channels import ChannelAdapter

    for adapter in (TwilioVoiceAdapter(settings()), EmailAdapter(settings()), XAdapter(settings())):
        assert isinstance(adapter, ChannelAdapter)
