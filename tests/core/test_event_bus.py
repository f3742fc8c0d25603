"""The event bus routes each kind to the handlers that asked for it, and the core does
not build events nobody handles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import router.engine as engine_module
from agents.model import Presence
from router.clock import VirtualClock
from router.engine import RoutingEngine
from router.events import FLUSH_EVERY, Batched, Event, EventBus, EventKind, InteractionEvent
from router.interaction import Channel
from router.plan import RoutingPlan
from tests.conftest import agent, make_interaction, small_topology
from tests.sla.sla_helpers import ev


def lifecycle(engine: RoutingEngine, clock: VirtualClock, n: int = 1) -> None:
    """`n` pull-mode lifecycles by agent a1: ingest, pull, accept, complete; the
    interactions are numbered i0, i1, … per engine."""
    for _ in range(n):
        number = sum(engine.counts().values())
        interaction = make_interaction(Channel.VOICE, at=clock.now, id=f"i{number}")
        engine.ingest(interaction, RoutingPlan(queue="general"))
        clock.now += 1.0
        reservation = engine.pull("a1")
        assert reservation is not None
        engine.accept("a1", reservation.interaction_id)
        clock.now += 5.0
        engine.complete("a1", reservation.interaction_id)


def new_engine(clock: VirtualClock) -> RoutingEngine:
    engine = RoutingEngine(small_topology(agent("a1")), clock)
    engine.set_presence("a1", Presence.AVAILABLE, auto_offer=False)
    return engine


class Routed:
    """A subscriber with its own handler per kind."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.handlers: Mapping[EventKind, Callable[[Any], None]] = {
            EventKind.ASSIGNED: lambda e: self.seen.append(("assigned", e.interaction_id)),
            EventKind.COMPLETED: lambda e: self.seen.append(("completed", e.interaction_id)),
        }


def test_catch_all_kinds_filter_and_routed_subscribers_each_get_what_they_asked_for(
    clock: VirtualClock,
) -> None:
    engine = new_engine(clock)
    everything: list[Event] = []
    only_queued: list[Event] = []
    routed = Routed()
    engine.bus.subscribe(everything.append)
    engine.bus.subscribe(only_queued.append, kinds=[EventKind.QUEUED])
    engine.subscribe(routed)
    lifecycle(engine, clock, 2)

    assert [e.kind for e in everything if isinstance(e, InteractionEvent)] == [
        EventKind.QUEUED, EventKind.RESERVED, EventKind.ASSIGNED, EventKind.COMPLETED,
    ] * 2
    assert [(e.kind, getattr(e, "interaction_id", None)) for e in only_queued] == [
        (EventKind.QUEUED, "i0"), (EventKind.QUEUED, "i1"),
    ]
    assert routed.seen == [("assigned", "i0"), ("completed", "i0"),
                           ("assigned", "i1"), ("completed", "i1")]


def test_the_core_builds_only_events_somebody_handles(
    clock: VirtualClock, monkeypatch: Any,
) -> None:
    built: list[EventKind] = []
    real = engine_module.InteractionEvent

    def counting(*args: Any) -> InteractionEvent:
        built.append(args[0])
        return real(*args)

    monkeypatch.setattr(engine_module, "InteractionEvent", counting)
    engine = new_engine(clock)
    lifecycle(engine, clock)
    assert built == []  # no subscriber: nothing built
    engine.subscribe(Routed())
    lifecycle(engine, clock)
    assert built == [EventKind.ASSIGNED, EventKind.COMPLETED]


def test_unsubscribe_reroutes_and_a_failing_handler_never_stops_routing(
    clock: VirtualClock,
) -> None:
    engine = new_engine(clock)
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    engine.bus.subscribe(broken, kinds=[EventKind.ASSIGNED])
    unsubscribe = engine.bus.subscribe(seen.append, kinds=[EventKind.ASSIGNED])
    lifecycle(engine, clock)
    assert engine.bus.errors == 1
    assert [e.kind for e in seen] == [EventKind.ASSIGNED]  # delivered after the failure
    assert engine.view("i0").status.value == "completed"

    unsubscribe()
    lifecycle(engine, clock)
    assert engine.view("i1").status.value == "completed"
    assert len(seen) == 1
    assert engine.bus.errors == 2


def test_routes_list_only_kinds_with_handlers() -> None:
    bus = EventBus()
    assert not bus.active and bus.routes == {}
    first = bus.subscribe(lambda e: None, kinds=[EventKind.QUEUED])
    second = bus.subscribe(Routed())
    assert set(bus.routes) == {EventKind.QUEUED, EventKind.ASSIGNED, EventKind.COMPLETED}
    first()
    assert set(bus.routes) == {EventKind.ASSIGNED, EventKind.COMPLETED}
    second()
    assert not bus.active


class Counting(Batched):
    """A batched subscriber that remembers each batch it was handed."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[tuple[EventKind, str]]] = []
        self.fail = fail
        self.handlers = self.hold([EventKind.ASSIGNED, EventKind.COMPLETED])

    def consume(self, events: list[Event]) -> None:
        if self.fail:
            raise RuntimeError("observer bug")
        self.batches.append([(e.kind, getattr(e, "interaction_id", "")) for e in events])


def test_batched_subscribers_are_drained_every_flush_every_events(
    clock: VirtualClock,
) -> None:
    engine = new_engine(clock)
    batched = Counting()
    engine.subscribe(batched)
    # Two held kinds per lifecycle; the bus counts every event it delivers.
    lifecycle(engine, clock, FLUSH_EVERY // 2 - 1)
    assert batched.batches == [] and len(batched.pending) == FLUSH_EVERY - 2
    lifecycle(engine, clock)
    assert [len(batch) for batch in batched.batches] == [FLUSH_EVERY]
    assert batched.batches[0][:2] == [(EventKind.ASSIGNED, "i0"), (EventKind.COMPLETED, "i0")]
    assert batched.pending == []
    lifecycle(engine, clock)
    batched.drain()  # what a reader does first: nothing held is left out, nothing twice
    assert batched.batches[1] == [(EventKind.ASSIGNED, f"i{FLUSH_EVERY // 2}"),
                                  (EventKind.COMPLETED, f"i{FLUSH_EVERY // 2}")]
    batched.drain()
    assert len(batched.batches) == 2


def test_a_failing_batched_subscriber_loses_its_batch_but_never_stops_routing(
    clock: VirtualClock,
) -> None:
    engine = new_engine(clock)
    broken, healthy = Counting(fail=True), Counting()
    engine.subscribe(broken)
    engine.subscribe(healthy)
    lifecycle(engine, clock, FLUSH_EVERY // 2)
    assert engine.bus.errors == 1
    assert broken.pending == []  # not handed the same events again and again
    assert [len(batch) for batch in healthy.batches] == [FLUSH_EVERY]
    assert engine.view(f"i{FLUSH_EVERY // 2 - 1}").status.value == "completed"


def test_drains_from_two_threads_count_every_event_once() -> None:
    batched = Counting()
    handler = batched.handlers[EventKind.ASSIGNED]
    events = [ev(EventKind.ASSIGNED, float(n), iid=f"i{n}") for n in range(20_000)]

    def feed() -> None:
        for event in events:
            handler(event)

    def drain_repeatedly() -> None:
        for _ in range(2_000):
            batched.drain()

    threads = [threading.Thread(target=feed), threading.Thread(target=drain_repeatedly),
               threading.Thread(target=drain_repeatedly)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batched.drain()
    counted = [iid for batch in batched.batches for _, iid in batch]
    assert counted == [event.interaction_id for event in events]

