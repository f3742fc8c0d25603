"""The event bus routes each kind to the handlers that asked for it, and the core does
not build events nobody handles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import router.engine as engine_module
from agents.model import Presence
from router.clock import VirtualClock
from router.engine import RoutingEngine
from router.events import Event, EventBus, EventKind, InteractionEvent
from router.interaction import Channel
from router.plan import RoutingPlan
from tests.conftest import agent, make_interaction, small_topology


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
