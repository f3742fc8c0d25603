"""The one interface every channel adapter implements, and the shared plumbing behind it."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from channels.inbound import Inbound
from channels.request import InboundRequest, check_size
from channels.settings import ChannelSettings
from router.interaction import Channel

log = logging.getLogger("omniroute.channels")


@runtime_checkable
class ChannelAdapter(Protocol):
    """Native payload → `Inbound` items. Pure: no I/O, no clock of its own.

    `verify` raises `BadSignature` unless the request is authentic (or verification is
    explicitly disabled for this adapter). `parse` raises only `ChannelError`
    subclasses; it returns a tuple because one delivery may carry several messages
    (Meta batches, X event arrays).
    """

    name: str
    channel: Channel

    def verify(self, request: InboundRequest) -> None: ...

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]: ...

    def idempotency_key(self, item: Inbound) -> str: ...

    def conversation_key(self, item: Inbound) -> str: ...


class AdapterBase:
    """Size cap, the explicit verification switch, and the key accessors."""

    name: str = "adapter"
    channel: Channel = Channel.CHAT

    def __init__(self, settings: ChannelSettings, verify_enabled: bool) -> None:
        self.settings = settings
        self.verify_enabled = verify_enabled
        if not verify_enabled:
            log.warning(
                "signature verification is DISABLED for channel adapter %r; "
                "anyone who can reach the webhook can inject interactions",
                self.name,
            )

    def verify(self, request: InboundRequest) -> None:
        if not self.verify_enabled:
            return
        check_size(request.body, self.settings.max_payload_bytes)
        self._check_signature(request)

    def _check_signature(self, request: InboundRequest) -> None:
        raise NotImplementedError

    def body(self, request: InboundRequest) -> bytes:
        check_size(request.body, self.settings.max_payload_bytes)
        return request.body

    def idempotency_key(self, item: Inbound) -> str:
        return item.interaction.idempotency_key

    def conversation_key(self, item: Inbound) -> str:
        return item.conversation_key
