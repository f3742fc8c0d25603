"""In-memory dedup of deliveries by idempotency key: a retried webhook is admitted once.

Providers retry on timeouts and 5xx, so the same CallSid / Message-ID / mid arrives
more than once. The production store enforces this by key as well; this gate is the
embedded, bounded version (oldest keys are forgotten after `retention_seconds` or
beyond `max_keys`, both far longer than any provider retries).
"""

from __future__ import annotations

from collections import OrderedDict


class IngestGate:
    def __init__(self, retention_seconds: float = 24 * 3600, max_keys: int = 1_000_000) -> None:
        self.retention_seconds = retention_seconds
        self.max_keys = max_keys
        # key → (interaction id, admitted at); insertion order is admission order.
        self._seen: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def seen(self, key: str) -> str | None:
        """The interaction id a key was admitted with, or None if it is new."""
        found = self._seen.get(key)
        return found[0] if found is not None else None

    def admit(self, key: str, interaction_id: str, now: float) -> bool:
        """Admit `key` once: True the first time, False for every repeat."""
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = (interaction_id, now)
        if len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        horizon = now - self.retention_seconds
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest[1] >= horizon:
                return
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: str) -> bool:
        return key in self._seen
