"""Domain events: every lifecycle transition and presence change, as plain records.

The core publishes them to subscribers (SLA tracking, metrics, the event stream);
it never calls those inline, so they can be added or removed without touching routing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from router.interaction import Channel, Status


class EventKind(StrEnum):
    QUEUED = "queued"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    REJECTED = "rejected"
    OFFER_EXPIRED = "offer_expired"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    OVERFLOWED = "overflowed"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"
    AGENT_PRESENCE = "agent_presence"


#: The kinds that end a handling, so their events carry its time (`handled`).
HANDLED_KINDS = frozenset({EventKind.WRAP_UP, EventKind.COMPLETED})

# Events are not `frozen`: a frozen dataclass pays object.__setattr__ per field on
# construction, and one event is built per transition. Treat them as immutable.
@dataclass(slots=True)
class InteractionEvent:
    """Something happened to one interaction.

    `waited` is seconds since it was (last) enqueued; `handled` is seconds since it was
    accepted (only on wrap_up/completed). `queue`/`team` are where it waits or waited.
    `threshold` is the SLA threshold T (seconds) the core measures its wait against, so
    SLA measurement needs no policy look-up; None when the source does not know it.
    """

    kind: EventKind
    at: float
    interaction_id: str
    channel: Channel
    queue: str
    team: str
    status: Status
    previous: Status | None = None
    agent_id: str | None = None
    priority: int = 0
    enqueued_at: float = 0.0
    waited: float = 0.0
    handled: float | None = None
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None


@dataclass(slots=True)
class AgentEvent:
    """An agent's presence changed (including the derived wrap_up presence)."""

    kind: EventKind
    at: float
    agent_id: str
    teams: tuple[str, ...]
    presence: str
    previous: str
    reason: str | None = None


Event = InteractionEvent | AgentEvent
#: One event kind's handler; it receives only events of the kind it was routed for.
Handler = Callable[[Any], None]


@runtime_checkable
class RoutedSubscriber(Protocol):
    """A subscriber that names the kinds it handles, with one handler per kind.

    The bus calls a kind's handler directly, and the core does not even build an event
    whose kind nobody handles; a catch-all subscriber would be called for every event
    and branch on its kind itself, which on the routing hot path costs more than the
    counting it does.
    """

    @property
    def handlers(self) -> Mapping[EventKind, Handler]: ...


class CallableRouted:
    """Base of a `RoutedSubscriber` that can also be handed any event directly (tests,
    replays, callers outside a bus): the event goes to its kind's handler, if it has one."""

    __slots__ = ()
    handlers: Mapping[EventKind, Handler]

    def __call__(self, event: Event) -> None:
        handler = self.handlers.get(event.kind)
        if handler is not None:
            handler(event)


@runtime_checkable
class BatchedSubscriber(RoutedSubscriber, Protocol):
    """A `RoutedSubscriber` whose handlers only hold events; `drain()` counts them.

    The bus calls `drain()` of every batched subscriber after each `FLUSH_EVERY`
    events it delivers, so held events stay few and their cost is still paid on the
    routing thread; a reader drains before it reads, so what it reads is exact.
    """

    def drain(self) -> None: ...


class Batched(CallableRouted):
    """Base of a `BatchedSubscriber`: handlers append to `pending`; `drain` hands the
    held events to `consume` in arrival order.

    Why batch: each handler is a built-in `list.append`, so delivering an event costs
    no Python call, and counting a few hundred events in one loop runs far faster on
    the routing hot path than as many calls spread between routing steps (measured:
    `python -m bench.core --subscribers-only`).
    """

    __slots__ = ("_draining", "pending")

    def hold(self, kinds: Iterable[EventKind]) -> dict[EventKind, Handler]:
        """Handlers that hold events of `kinds` until the next drain."""
        self.pending: list[Event] = []
        self._draining = threading.Lock()
        return dict.fromkeys(kinds, self.pending.append)

    def drain(self) -> None:
        # A scrape may drain from another thread: the lock keeps two drains from
        # counting the same events, and only the events taken are removed, so one
        # appended meanwhile waits for the next drain.
        with self._draining:
            taken = self.pending[:]
            if taken:
                del self.pending[:len(taken)]
                self.consume(taken)

    def consume(self, events: list[Event]) -> None:
        raise NotImplementedError


#: Either a callable handed every event, or a `RoutedSubscriber`.
Subscriber = Callable[[Event], None] | RoutedSubscriber

#: Events delivered between two drains of batched subscribers.
FLUSH_EVERY = 256


class EventBus:
    """Synchronous fan-out to subscribers; a failing subscriber never breaks routing.

    `routes` maps each kind that somebody handles to its handlers, in subscription
    order; a kind absent from it has no subscriber.
    """

    __slots__ = ("_drains", "_subscriptions", "countdown", "errors", "routes")

    def __init__(self) -> None:
        self._subscriptions: list[tuple[object, Mapping[EventKind, Handler]]] = []
        self.routes: dict[EventKind, tuple[Handler, ...]] = {}
        self._drains: tuple[Callable[[], None], ...] = ()
        #: events left to deliver before batched subscribers are drained
        self.countdown = FLUSH_EVERY
        self.errors = 0

    def subscribe(
        self, subscriber: Subscriber, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Add a subscriber: every kind, only `kinds`, or its own per-kind `handlers`."""
        handlers: Mapping[EventKind, Handler]
        if isinstance(subscriber, RoutedSubscriber):
            handlers = dict(subscriber.handlers)
        else:
            handlers = dict.fromkeys(EventKind if kinds is None else kinds, subscriber)
        subscription = (subscriber, handlers)
        self._subscriptions.append(subscription)
        self._route()

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
                self._route()

        return unsubscribe

    def _route(self) -> None:
        routes: dict[EventKind, list[Handler]] = {}
        for _, handlers in self._subscriptions:
            for kind, handler in handlers.items():
                routes.setdefault(kind, []).append(handler)
        self.routes = {kind: tuple(found) for kind, found in routes.items()}
        self._drains = tuple(subscriber.drain for subscriber, _ in self._subscriptions
                             if isinstance(subscriber, BatchedSubscriber))

    @property
    def active(self) -> bool:
        """Whether anybody listens at all."""
        return bool(self.routes)

    def publish(self, event: Event) -> None:
        route = self.routes.get(event.kind)
        if route is not None:
            self.deliver(route, event)

    def deliver(self, route: tuple[Handler, ...], event: Event) -> None:
        """Call a kind's handlers (from `routes`) with an event of that kind."""
        for handler in route:
            try:
                handler(event)
            except Exception:  # a broken observer must not stop routing
                self.errors += 1
        self.countdown -= 1
        if self.countdown <= 0:
            self.flush()

    def flush(self) -> None:
        """Drain every batched subscriber (called every `FLUSH_EVERY` events)."""
        self.countdown = FLUSH_EVERY
        for drain in self._drains:
            try:
                drain()
            except Exception:  # a broken observer must not stop routing
                self.errors += 1
