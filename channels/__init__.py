"""Channel adapters: native provider payloads into one normalized `Interaction`.

The API layer builds an `InboundRequest`, picks an adapter by name from
`default_adapters(settings)`, and either runs the embedded `Ingestor` or calls
`adapter.verify` / `adapter.parse` and the pure `decide` itself. Every bad input
raises a `ChannelError` subclass carrying its `http_status`.
"""

from __future__ import annotations

from channels.adapter import ChannelAdapter
from channels.conversations import ConversationTracker
from channels.customers import CustomerDirectory, InMemoryCustomerDirectory
from channels.errors import (
    BadSignature,
    ChannelError,
    MalformedPayload,
    PayloadTooLarge,
    UnprocessablePayload,
    VerificationFailed,
)
from channels.gate import IngestGate
from channels.identity import IdentityIndex
from channels.inbound import Inbound, InboundKind
from channels.ingest import DecisionKind, IngestDecision, Ingestor, apply, decide
from channels.mail import EmailAdapter
from channels.meta import MetaAdapter
from channels.request import InboundRequest
from channels.settings import ChannelSettings
from channels.sms import TwilioSmsAdapter
from channels.voice import CtiVoiceAdapter, TwilioVoiceAdapter
from channels.x_activity import XAdapter


def default_adapters(settings: ChannelSettings) -> dict[str, ChannelAdapter]:
    """One adapter per webhook route name."""
    adapters: list[ChannelAdapter] = [
        TwilioVoiceAdapter(settings),
        CtiVoiceAdapter(settings),
        EmailAdapter(settings),
        TwilioSmsAdapter(settings),
        MetaAdapter(settings),
        XAdapter(settings),
    ]
    return {adapter.name: adapter for adapter in adapters}


__all__ = [
    "BadSignature",
    "ChannelAdapter",
    "ChannelError",
    "ChannelSettings",
    "ConversationTracker",
    "CtiVoiceAdapter",
    "CustomerDirectory",
    "DecisionKind",
    "EmailAdapter",
    "IdentityIndex",
    "InMemoryCustomerDirectory",
    "Inbound",
    "InboundKind",
    "InboundRequest",
    "IngestDecision",
    "IngestGate",
    "Ingestor",
    "MalformedPayload",
    "MetaAdapter",
    "PayloadTooLarge",
    "TwilioSmsAdapter",
    "TwilioVoiceAdapter",
    "UnprocessablePayload",
    "VerificationFailed",
    "XAdapter",
    "apply",
    "decide",
    "default_adapters",
]
