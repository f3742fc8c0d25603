"""How the core learns each interaction's SLA threshold (seconds to answer).

The SLA package (`sla/`) provides the configured policies; until a policy set is
loaded the core uses `DEFAULT_THRESHOLDS`, the industry-usual targets.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from router.interaction import Channel
from router.plan import MaxWaitAction, RoutingPlan

DEFAULT_THRESHOLDS: Mapping[Channel, float] = MappingProxyType(
    {
        Channel.VOICE: 20.0,
        Channel.CHAT: 60.0,
        Channel.SMS: 60.0,
        Channel.SOCIAL: 900.0,
        Channel.EMAIL: 4 * 3600.0,
    }
)


@dataclass(frozen=True, slots=True)
class Deadline:
    """Threshold T (seconds), the near-breach fraction of T, and the max-wait rule.

    At `max_wait` seconds a still-queued interaction overflows to `overflow_queue`
    (action `overflow`) or ends `expired` (action `expire`, e.g. to a callback list).
    A routing plan's own `max_wait` takes precedence over the policy's.
    """

    threshold: float
    near_breach_fraction: float = 0.8
    max_wait: float | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.EXPIRE
    overflow_queue: str | None = None


def overflow_queue(
    plan: RoutingPlan, deadline: Deadline, queues: Container[str]
) -> str | None:
    """The queue a leg of `plan` overflows to at max wait, or None if it expires there.

    Both stores decide this when the leg starts, from the plan and the leg's `deadline`
    (the policy in force then), and fix the overflow queue's deadline with it: one
    function so they cannot disagree. The plan's max-wait rule, when it sets a max wait,
    takes precedence over the policy's; an overflow queue the topology does not know
    when the leg starts means expiry (a queue added later does not revive it).
    """
    timed = plan.max_wait is not None
    action = plan.max_wait_action if timed else deadline.max_wait_action
    queue = plan.overflow_queue or deadline.overflow_queue
    if action is MaxWaitAction.OVERFLOW and queue and queue != plan.queue and queue in queues:
        return queue
    return None


class DeadlinePolicy(Protocol):
    def deadline(
        self, team: str, channel: Channel, sla_class: str | None, public: bool
    ) -> Deadline: ...


class FixedDeadlines:
    """Thresholds per channel, same for every team; private social gets 30 min."""

    def __init__(self, thresholds: Mapping[Channel, float] = DEFAULT_THRESHOLDS) -> None:
        self._by_channel = {
            (channel, public): Deadline(
                threshold=max(t, 1800.0) if channel is Channel.SOCIAL and not public else t
            )
            for channel, t in thresholds.items()
            for public in (False, True)
        }

    def deadline(
        self, team: str, channel: Channel, sla_class: str | None, public: bool
    ) -> Deadline:
        return self._by_channel[channel, public]
