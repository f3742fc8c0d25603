"""What an adapter hands to ingest: the normalized interaction plus routing hints.

An adapter knows the provider's format but not the engine's state, so it says what a
message *is* (a message, a hang-up, an auto-reply) and which keys tie it to earlier
messages; `channels.ingest` decides what to *do* with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from router.interaction import Interaction


class InboundKind(StrEnum):
    MESSAGE = "message"  # a customer contact: routed as new work or joined to an open one
    HANGUP = "hangup"  # the caller left before being served: abandon `target_id`
    AUTO_REPLY = "auto_reply"  # machine-generated (out-of-office, bulk): never routed


@dataclass(frozen=True, slots=True)
class Inbound:
    """One normalized inbound item.

    `interaction` already has its deterministic `id` and `idempotency_key`; ingest fills
    in `customer_id` and `conversation_id`. `addresses` are canonical identity addresses,
    best first. `conversation_key` is the key this item registers its conversation
    under; `thread_keys` are keys of earlier items it answers (e-mail References, the
    tweet replied to). `join_window` is how long after the conversation's last activity
    this item may still join it: `None` means as long as it is open, `0` never.
    """

    kind: InboundKind
    interaction: Interaction
    addresses: tuple[str, ...]
    conversation_key: str
    thread_keys: tuple[str, ...] = ()
    join_window: float | None = 0.0
    target_id: str | None = None

    @property
    def lookup_keys(self) -> tuple[str, ...]:
        """Keys to look an open conversation up by, most specific first."""
        return (*self.thread_keys, self.conversation_key)
