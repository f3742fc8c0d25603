"""What rule expressions may read: `interaction.*`, `customer.*`, `now`, and how to bind it.

Each declared variable has a CEL type (checked at save time) and a getter from the
`Interaction` / `CustomerProfile` records. Absent optional values bind to neutral
values so expressions stay total: a missing string is `""`, a missing sentiment is
`0.0` (neutral). Write `customer.last_agent != ""` to test for presence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from router.customer import CustomerProfile
from router.interaction import Interaction
from rules.cel import CelType

Getter = Callable[[Interaction, CustomerProfile, dt.datetime], Any]


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: CelType
    get: Getter
    doc: str = ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _interaction(name: str, kind: CelType, get: Callable[[Interaction], Any], doc: str = "",
                 ) -> Variable:
    return Variable(f"interaction.{name}", kind, lambda i, c, n: get(i), doc)


def _customer(name: str, kind: CelType, get: Callable[[CustomerProfile], Any], doc: str = "",
              ) -> Variable:
    return Variable(f"customer.{name}", kind, lambda i, c, n: get(c), doc)


S, N, D, B = CelType.STRING, CelType.INT, CelType.DOUBLE, CelType.BOOL

VARIABLES: tuple[Variable, ...] = (
    _interaction("id", S, lambda i: i.id),
    _interaction("channel", S, lambda i: i.channel.value, "voice|email|sms|social|chat"),
    _interaction("direction", S, lambda i: i.direction.value, "inbound|outbound"),
    _interaction("customer_id", S, lambda i: _text(i.customer_id)),
    _interaction("address", S, lambda i: _text(i.address)),
    _interaction("to", S, lambda i: _text(i.to)),
    _interaction("conversation_id", S, lambda i: _text(i.conversation_id)),
    _interaction("subject", S, lambda i: i.subject),
    _interaction("summary", S, lambda i: i.summary),
    _interaction("language", S, lambda i: _text(i.language), "BCP 47 primary tag, e.g. es"),
    _interaction("intent", S, lambda i: _text(i.intent)),
    _interaction("sentiment", D, lambda i: 0.0 if i.sentiment is None else float(i.sentiment),
                 "-1.0 (negative) .. 1.0 (positive); 0.0 when unknown"),
    _interaction("public", B, lambda i: i.public, "a public social post"),
    _interaction("reach", N, lambda i: i.reach, "the author's audience (followers)"),
    _interaction("attachments", N, lambda i: len(i.attachments), "number of attachments"),
    _interaction("attributes", CelType.DYN_MAP, lambda i: dict(i.attributes),
                 "channel-specific extras; a missing key is an evaluation error"),
    _interaction("created_at", CelType.TIMESTAMP,
                 lambda i: dt.datetime.fromtimestamp(i.created_at, dt.UTC)),
    _customer("id", S, lambda c: c.id),
    _customer("name", S, lambda c: c.name),
    _customer("tier", S, lambda c: c.tier, "standard|gold|platinum"),
    _customer("lifetime_value", D, lambda c: float(c.lifetime_value)),
    _customer("language", S, lambda c: c.language),
    _customer("segment", S, lambda c: c.segment),
    _customer("account_owner", S, lambda c: _text(c.account_owner)),
    _customer("last_agent", S, lambda c: _text(c.last_agent)),
    _customer("open_interactions", N, lambda c: c.open_interactions),
    _customer("open_channels", CelType.STRING_LIST, lambda c: list(c.open_channels)),
    _customer("known", B, lambda c: c.known, "false for a customer without a profile"),
    _customer("tags", CelType.STRING_LIST, lambda c: list(c.tags)),
    Variable("now", CelType.TIMESTAMP, lambda i, c, n: n, "the classification time"),
)

BY_NAME: Mapping[str, Variable] = {v.name: v for v in VARIABLES}
TYPES: Mapping[str, CelType] = {v.name: v.type for v in VARIABLES}
