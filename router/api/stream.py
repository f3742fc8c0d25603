"""Fan-out of domain events to live HTTP streams (SSE wallboards, agent offer push).

The store publishes events synchronously from inside a routing transition; an
`EventHub` subscriber only drops each event into bounded per-listener queues, so a
slow browser can never slow routing down. A listener that falls behind loses its
oldest events and is told how many it missed (`dropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from router.events import AgentEvent, Event, InteractionEvent

EventFilter = Callable[[Event], bool]


@dataclass(slots=True, eq=False)
class Listener:
    accepts: EventFilter
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0

    def offer(self, event: Event) -> None:
        if not self.accepts(event):
            return
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventHub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    def __call__(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            listener.offer(event)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @contextlib.contextmanager
    def listen(self, accepts: EventFilter = lambda _e: True) -> Iterator[Listener]:
        listener = Listener(accepts)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    async def stream(
        self, accepts: EventFilter = lambda _e: True, heartbeat: float = 15.0
    ) -> AsyncIterator[Event | None]:
        """Events as they come; None every `heartbeat` seconds of silence (keep-alive)."""
        with self.listen(accepts) as listener:
            while True:
                try:
                    yield await asyncio.wait_for(listener.queue.get(), timeout=heartbeat)
                except TimeoutError:
                    yield None


def event_json(event: Event) -> dict[str, Any]:
    """A JSON-ready record of one event (the SSE `data`)."""
    if isinstance(event, AgentEvent):
        return {
            "kind": event.kind.value,
            "at": event.at,
            "agent_id": event.agent_id,
            "teams": list(event.teams),
            "presence": event.presence,
            "previous": event.previous,
            "reason": event.reason,
        }
    return interaction_event_json(event)


def interaction_event_json(event: InteractionEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "at": event.at,
        "interaction_id": event.interaction_id,
        "channel": event.channel.value,
        "queue": event.queue,
        "team": event.team,
        "status": event.status.value,
        "previous": event.previous.value if event.previous is not None else None,
        "agent_id": event.agent_id,
        "priority": event.priority,
        "waited": round(event.waited, 3),
        "handled": round(event.handled, 3) if event.handled is not None else None,
        "reason": event.reason,
        "detail": {k: v for k, v in event.detail.items() if _jsonable(v)},
    }


def _jsonable(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
