"""Open conversations by key, so follow-up messages join the interaction already open.

The tracker is the memory behind `FOLLOW_UP`: an SMS burst, an e-mail thread, a DM
exchange. It is read by the pure `decide` step and written only by `apply`, after the
caller has acted on a decision. The API layer calls `close` when the router finishes
an interaction, so a later message on the same thread becomes new work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)
class OpenConversation:
    conversation_id: str
    interaction_id: str
    customer_id: str
    last_activity: float
    open: bool = True

    def accepts(self, customer_id: str, now: float, window: float | None) -> bool:
        """Whether a message from `customer_id` at `now` still joins this conversation."""
        if not self.open or customer_id != self.customer_id:
            return False
        if window is None:
            return True
        return 0 <= now - self.last_activity <= window


class ConversationView(Protocol):
    def find(self, keys: tuple[str, ...]) -> OpenConversation | None: ...


class ConversationTracker:
    """In-memory conversation index: key → conversation, interaction id → conversation."""

    def __init__(self) -> None:
        self._by_key: dict[str, OpenConversation] = {}
        self._by_interaction: dict[str, OpenConversation] = {}

    def find(self, keys: tuple[str, ...]) -> OpenConversation | None:
        """The conversation of the first key that has one, open or not."""
        for key in keys:
            found = self._by_key.get(key)
            if found is not None:
                return found
        return None

    def start(
        self,
        keys: tuple[str, ...],
        *,
        conversation_id: str,
        interaction_id: str,
        customer_id: str,
        now: float,
    ) -> OpenConversation:
        conversation = OpenConversation(conversation_id, interaction_id, customer_id, now)
        self._by_interaction[interaction_id] = conversation
        self.remember(keys, conversation, now)
        return conversation

    def remember(self, keys: tuple[str, ...], conversation: OpenConversation, now: float) -> None:
        conversation.last_activity = max(conversation.last_activity, now)
        for key in keys:
            self._by_key[key] = conversation

    def close(self, interaction_id: str) -> bool:
        """Mark the conversation of `interaction_id` finished; True if there was one."""
        conversation = self._by_interaction.get(interaction_id)
        if conversation is None:
            return False
        conversation.open = False
        return True

    def prune(self, now: float, idle_seconds: float) -> int:
        """Forget conversations idle longer than `idle_seconds`; returns how many keys went."""
        stale = [
            key for key, conv in self._by_key.items() if now - conv.last_activity > idle_seconds
        ]
        for key in stale:
            del self._by_key[key]
        for interaction, conv in list(self._by_interaction.items()):
            if now - conv.last_activity > idle_seconds:
                del self._by_interaction[interaction]
        return len(stale)

    def __len__(self) -> int:
        return len(self._by_interaction)
