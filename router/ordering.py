"""The universal ordering: one definition shared by every store.

Waiting interactions are ordered by priority tier (higher first), then by SLA deadline
(enqueue time + the team/channel threshold; the most overdue has the earliest deadline
and so goes first after a breach), then by arrival order. A voice call 15 s from breach
thus goes before an email 3 h from breach, whatever their arrival order.
"""

from __future__ import annotations

from router.plan import MAX_PRIORITY

OrderKey = tuple[int, float, int, str]


def order_key(priority: int, due_at: float, seq: int, item_id: str) -> OrderKey:
    """Smaller sorts first. `seq` is the global arrival counter (ties are impossible)."""
    return (-priority, due_at, seq, item_id)


# Redis sorted sets hold one float per member; float64 is exact to 2**53, so the key is
# packed as (MAX_PRIORITY - priority) * 1e13 + deadline in milliseconds (deadlines up to
# year 2286). Arrival order breaks ties through the member name, which starts with the
# zero-padded arrival sequence.
_PRIORITY_SPAN = 10_000_000_000_000.0


def redis_score(priority: int, due_at: float) -> float:
    return (MAX_PRIORITY - priority) * _PRIORITY_SPAN + round(due_at * 1000.0)


def redis_member(seq: int, item_id: str) -> str:
    return f"{seq:016d}:{item_id}"
