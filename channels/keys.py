"""Deterministic ids: a retried delivery maps to the same interaction id.

The id is a name-based UUID (version 5) of channel + provider key, so it can be
recomputed anywhere (API worker, store, test) without coordination.
"""

from __future__ import annotations

import hashlib
import uuid

from router.interaction import Channel

_INTERACTIONS = uuid.UUID("6f6d6e69-726f-7574-6500-696e74657261")
_CUSTOMER_PREFIX = "cust-"


def gate_key(channel: Channel, idempotency_key: str) -> str:
    """The dedup key: provider ids are only unique within their own channel."""
    return f"{channel.value}:{idempotency_key}"


def interaction_id(channel: Channel, idempotency_key: str) -> str:
    digest = uuid.uuid5(_INTERACTIONS, gate_key(channel, idempotency_key))
    return f"{channel.value}-{digest.hex}"


def generated_customer_id(address: str) -> str:
    """A stable id for a customer nobody knows yet, derived from their first address."""
    return _CUSTOMER_PREFIX + hashlib.sha256(address.encode("utf-8")).hexdigest()[:20]
