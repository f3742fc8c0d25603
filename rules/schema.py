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
from operator import attrgetter
from typing import Any

from router.customer import CustomerProfile
from router.interaction import Interaction
from rules.cel import CelType

#: Where a variable's value comes from: 0 interaction, 1 customer, 2 now.
INTERACTION, CUSTOMER, NOW = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: CelType
    subject: int  # INTERACTION | CUSTOMER | NOW
    read: Callable[[Any], Any]  # subject -> CEL value (attrgetter where possible: it is C)
    doc: str = ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _interaction(name: str, kind: CelType, get: Callable[[Interaction], Any] | None = None,
                 doc: str = "") -> Variable:
    return Variable(f"interaction.{name}", kind, INTERACTION, get or attrgetter(name), doc)


def _customer(name: str, kind: CelType, get: Callable[[CustomerProfile], Any] | None = None,
              doc: str = "") -> Variable:
    return Variable(f"customer.{name}", kind, CUSTOMER, get or attrgetter(name), doc)


S, N, D, B = CelType.STRING, CelType.INT, CelType.DOUBLE, CelType.BOOL

VARIABLES: tuple[Variable, ...] = (
    _interaction("id", S, None),
    _interaction("channel", S, lambda i: i.channel.value, "voice|email|sms|social|chat"),
    _interaction("direction", S, lambda i: i.direction.value, "inbound|outbound"),
    _interaction("customer_id", S, lambda i: _text(i.customer_id)),
    _interaction("address", S, lambda i: _text(i.address)),
    _interaction("to", S, lambda i: _text(i.to)),
    _interaction("conversation_id", S, lambda i: _text(i.conversation_id)),
    _interaction("subject", S, None),
    _interaction("summary", S, None),
    _interaction("language", S, lambda i: _text(i.language), "BCP 47 primary tag, e.g. es"),
    _interaction("intent", S, lambda i: _text(i.intent)),
    _interaction("sentiment", D, lambda i: 0.0 if i.sentiment is None else float(i.sentiment),
                 "-1.0 (negative) .. 1.0 (positive); 0.0 when unknown"),
    _interaction("public", B, None, "a public social post"),
    _interaction("reach", N, None, "the author's audience (followers)"),
    _interaction("attachments", N, lambda i: len(i.attachments), "number of attachments"),
    _interaction("attributes", CelType.DYN_MAP, lambda i: dict(i.attributes),
                 "channel-specific extras; a missing key is an evaluation error"),
    _interaction("created_at", CelType.TIMESTAMP,
                 lambda i: dt.datetime.fromtimestamp(i.created_at, dt.UTC)),
    _customer("id", S, None),
    _customer("name", S, None),
    _customer("tier", S, None, "standard|gold|platinum"),
    _customer("lifetime_value", D, lambda c: float(c.lifetime_value)),
    _customer("language", S, None),
    _customer("segment", S, None),
    _customer("account_owner", S, lambda c: _text(c.account_owner)),
    _customer("last_agent", S, lambda c: _text(c.last_agent)),
    _customer("open_interactions", N, None),
    _customer("open_channels", CelType.STRING_LIST, lambda c: list(c.open_channels)),
    _customer("known", B, None, "false for a customer without a profile"),
    _customer("tags", CelType.STRING_LIST, lambda c: list(c.tags)),
    Variable("now", CelType.TIMESTAMP, NOW, lambda n: n, "the classification time"),
)

BY_NAME: Mapping[str, Variable] = {v.name: v for v in VARIABLES}
TYPES: Mapping[str, CelType] = {v.name: v.type for v in VARIABLES}
