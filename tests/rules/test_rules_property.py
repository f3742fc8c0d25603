"""Compiled evaluation agrees with a plain-Python reading of config/rules.yaml."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from router.customer import CustomerProfile
from router.interaction import Channel, Interaction
from rules import CompiledRuleset

MADRID = ZoneInfo("Europe/Madrid")
HOLIDAYS = {dt.date(2025, 12, 25), dt.date(2026, 1, 1), dt.date(2026, 1, 6),
            dt.date(2026, 12, 25)}


def open_for_support(now: dt.datetime) -> bool:
    local = now.astimezone(MADRID)
    if local.date() in HOLIDAYS:
        return False
    minutes = local.hour * 60 + local.minute
    if local.weekday() < 5:
        return 8 * 60 <= minutes < 20 * 60
    return local.weekday() == 5 and 10 * 60 <= minutes < 14 * 60


def reference(i: Interaction, c: CustomerProfile, now: dt.datetime) -> str:
    """The example ruleset, written the obvious way."""
    sentiment = 0.0 if i.sentiment is None else i.sentiment
    if c.tier in ("platinum", "gold") or c.lifetime_value > 10000:
        return "vip"
    if i.channel is Channel.SOCIAL and i.public:
        return "social-public"
    if i.channel is Channel.SOCIAL and (i.reach > 10000 or sentiment < -0.5):
        return "social-influential"
    if i.language == "es" or c.language == "es":
        return "spanish"
    if i.intent == "billing":
        return "billing"
    if i.channel is Channel.EMAIL and not open_for_support(now):
        return "email-after-hours"
    return "default"


interactions = st.builds(
    Interaction,
    id=st.just("i"), idempotency_key=st.just("k"), created_at=st.just(0.0),
    channel=st.sampled_from(list(Channel)),
    public=st.booleans(),
    reach=st.integers(0, 10_000_000) | st.sampled_from([9_999, 10_000, 10_001]),
    sentiment=st.none() | st.floats(-1, 1) | st.sampled_from([-0.5, -0.5000001]),
    language=st.none() | st.sampled_from(["es", "en", "fr", "ES", ""]),
    intent=st.none() | st.sampled_from(["billing", "sales", "Billing"]),
)
customers = st.builds(
    CustomerProfile,
    id=st.just("c"),
    tier=st.sampled_from(["standard", "gold", "platinum", "silver", "Gold"]),
    lifetime_value=st.floats(0, 1e6) | st.sampled_from([10_000.0, 10_000.000001]),
    language=st.sampled_from(["en", "es", "de"]),
    account_owner=st.none() | st.sampled_from(["chen", "dana"]),
    known=st.booleans(),
)
instants = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 1, 1),
                        timezones=st.just(dt.UTC))


@settings(max_examples=400, deadline=None)
@given(interactions, customers, instants)
def test_compiled_agrees_with_reference(
    compiled: CompiledRuleset, i: Interaction, c: CustomerProfile, now: dt.datetime,
) -> None:
    result = compiled.classify(i, c, now)
    assert result.rule == reference(i, c, now)
    assert result.errors == ()
    assert compiled.explain(i, c, now).classification == result
    if result.rule == "vip":
        assert result.plan.preferred_agent == c.account_owner
