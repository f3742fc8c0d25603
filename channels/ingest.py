"""The ingest decision: what to do with one normalized inbound item.

`decide` is pure (no I/O, `now` is an argument): it reads the dedup gate, the
identity index and the conversation tracker and returns a typed `IngestDecision`.
`Ingestor` is the embedded pipeline (verify → parse → decide → apply) for one
process; the API layer can use it directly or call `decide` and act itself:

- NEW: enqueue `decision.interaction` (its id is `decision.target_id`);
- FOLLOW_UP: append the message to open interaction `target_id`;
- HANGUP: abandon `target_id` if it is still waiting;
- AUTO_REPLY: record, never route;
- DUPLICATE: a redelivery; answer the provider 200 and do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from channels.adapter import ChannelAdapter
from channels.conversations import ConversationTracker, ConversationView
from channels.gate import IngestGate
from channels.identity import IdentityIndex
from channels.inbound import Inbound, InboundKind
from channels.keys import gate_key
from channels.request import InboundRequest
from router.interaction import Interaction


class DecisionKind(StrEnum):
    NEW = "new"
    FOLLOW_UP = "follow_up"
    HANGUP = "hangup"
    AUTO_REPLY = "auto_reply"
    DUPLICATE = "duplicate"


#: Decisions that put something in front of an agent.
ROUTABLE: frozenset[DecisionKind] = frozenset({DecisionKind.NEW, DecisionKind.FOLLOW_UP})


@dataclass(frozen=True, slots=True)
class IngestDecision:
    """`interaction` is this message (customer and conversation filled in); `target_id`
    is the interaction to act on — itself for NEW, the open one for FOLLOW_UP, the
    abandoned call for HANGUP, the first delivery's id for DUPLICATE."""

    kind: DecisionKind
    interaction: Interaction
    target_id: str
    customer_known: bool
    item: Inbound

    @property
    def dedup_key(self) -> str:
        return gate_key(self.interaction.channel, self.interaction.idempotency_key)


def decide(
    item: Inbound,
    *,
    identity: IdentityIndex,
    conversations: ConversationView,
    gate: IngestGate,
    now: float,
) -> IngestDecision:
    interaction = item.interaction
    earlier = gate.seen(gate_key(interaction.channel, interaction.idempotency_key))
    resolution = identity.resolve(item.addresses, fallback=interaction.idempotency_key)
    customer = resolution.customer_id
    if earlier is not None:
        return _decision(DecisionKind.DUPLICATE, item, customer, None, earlier, resolution.known)
    if item.kind is InboundKind.HANGUP:
        target = item.target_id or interaction.id
        return _decision(DecisionKind.HANGUP, item, customer, None, target, resolution.known)
    if item.kind is InboundKind.AUTO_REPLY:
        return _decision(
            DecisionKind.AUTO_REPLY, item, customer, None, interaction.id, resolution.known
        )
    conversation = conversations.find(item.lookup_keys)
    if conversation is not None and conversation.accepts(customer, now, item.join_window):
        return _decision(
            DecisionKind.FOLLOW_UP,
            item,
            customer,
            conversation.conversation_id,
            conversation.interaction_id,
            resolution.known,
        )
    # A closed or expired thread still names the conversation the new work continues.
    thread = conversation.conversation_id if conversation is not None else interaction.id
    return _decision(DecisionKind.NEW, item, customer, thread, interaction.id, resolution.known)


def _decision(
    kind: DecisionKind,
    item: Inbound,
    customer_id: str,
    conversation_id: str | None,
    target_id: str,
    known: bool,
) -> IngestDecision:
    interaction = replace(
        item.interaction,
        customer_id=customer_id,
        conversation_id=conversation_id or item.interaction.conversation_id,
    )
    return IngestDecision(kind, interaction, target_id, known, item)


def apply(
    decision: IngestDecision,
    *,
    identity: IdentityIndex,
    conversations: ConversationTracker,
    gate: IngestGate,
    now: float,
) -> None:
    """Record a decision once it has been acted on (the only writer of the three indexes)."""
    if decision.kind is DecisionKind.DUPLICATE:
        return
    gate.admit(decision.dedup_key, decision.interaction.id, now)
    customer = decision.interaction.customer_id or ""
    for address in decision.item.addresses:
        identity.link(address, customer)
    keys = decision.item.lookup_keys
    if decision.kind is DecisionKind.NEW:
        conversations.start(
            keys,
            conversation_id=decision.interaction.conversation_id or decision.target_id,
            interaction_id=decision.target_id,
            customer_id=customer,
            now=now,
        )
    elif decision.kind is DecisionKind.FOLLOW_UP:
        joined = conversations.find(keys)
        if joined is not None:
            conversations.remember(keys, joined, now)
    elif decision.kind is DecisionKind.HANGUP:
        conversations.close(decision.target_id)


class Ingestor:
    """The embedded ingest pipeline over a set of adapters, for one process."""

    def __init__(
        self,
        adapters: Mapping[str, ChannelAdapter],
        identity: IdentityIndex,
        conversations: ConversationTracker | None = None,
        gate: IngestGate | None = None,
    ) -> None:
        self.adapters = dict(adapters)
        self.identity = identity
        self.conversations = conversations or ConversationTracker()
        self.gate = gate or IngestGate()

    def ingest(
        self, adapter_name: str, request: InboundRequest, now: float
    ) -> list[IngestDecision]:
        """Verify, parse and decide every item of one delivery, recording each decision.

        Items of one delivery are decided in order, so a batch that repeats a message
        or continues its own conversation is handled like separate deliveries.
        """
        adapter = self.adapters[adapter_name]
        adapter.verify(request)
        decisions: list[IngestDecision] = []
        for item in adapter.parse(request, now):
            decision = decide(
                item,
                identity=self.identity,
                conversations=self.conversations,
                gate=self.gate,
                now=now,
            )
            apply(
                decision,
                identity=self.identity,
                conversations=self.conversations,
                gate=self.gate,
                now=now,
            )
            decisions.append(decision)
        return decisions

    def close(self, interaction_id: str) -> bool:
        return self.conversations.close(interaction_id)
