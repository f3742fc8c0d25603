"""Fan-out of domain events to live HTTP streams (SSE wallboards, agent offer push).

The store publishes events synchronously from inside a routing transition; an
`EventHub` subscriber only drops each event into bounded per-listener queues, so a
slow browser can never slow routing down. A listener that falls behind loses its
oldest events and is told how many it missed (`dropped`).

With the Redis store several workers serve one site, so a desktop connected to one
worker must see offers another worker made: there the hub is fed by one
`StreamFeed` per worker, a task that `XREAD BLOCK`s the site's `events` stream (from
its end at start, then from the last entry read) and fans each entry out to the local
listeners, instead of by the local store's subscribers. Each stream entry is the whole
event (its `e` field, the same encoding the store's calls return, decoded by
`router.redis_codec.decode_event`), so these records carry what local ones do: priority,
wait, handle time and an offer's `expires_at`. Entries written by workers of the older
layout (one field per attribute, without priority, wait or handle time) are still read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from router.events import HANDLED_KINDS, AgentEvent, Event, EventKind, InteractionEvent
from router.interaction import Channel, Status
from router.redis_codec import decode_event, event_arrays
from router.topology import Topology

log = logging.getLogger("omniroute.stream")

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


class StreamFeed:
    """Feeds `hub` from a Redis stream of events (one shared reader task per worker).

    `client` is a `redis.asyncio.Redis` with `decode_responses=True`; `topology` is
    called for the current topology view (teams of queues and agents).
    """

    def __init__(
        self, client: Any, key: str, hub: EventHub, topology: Callable[[], Topology],
        offer_timeout: float, block_ms: int = 1000, retry_after: float = 0.5,
    ) -> None:
        self.client = client
        self.key = key
        self.hub = hub
        self.topology = topology
        self.offer_timeout = offer_timeout
        self.block_ms = block_ms
        self.retry_after = retry_after
        self.last_id = "$"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resolve `$` to the stream's last entry now, so nothing added after `start`
        is missed, then read from there in the background."""
        with contextlib.suppress(Exception):  # Redis down: the reader starts from `$`
            last = await self.client.xrevrange(self.key, count=1)
            self.last_id = str(last[0][0]) if last else "0-0"
        self._task = asyncio.create_task(self._run(), name="omniroute-event-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                reply = await self.client.xread({self.key: self.last_id}, count=500,
                                                block=self.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an outage: try again, from where we were
                log.warning("event stream read failed: %s", exc)
                await asyncio.sleep(self.retry_after)
                continue
            for _key, entries in reply or ():
                for entry_id, fields in entries:
                    self.last_id = str(entry_id)
                    try:
                        events = events_from_stream(fields, self.topology(),
                                                    self.offer_timeout)
                    except Exception:
                        log.warning("undecodable event %s: %r", entry_id, fields)
                        continue
                    for event in events:
                        self.hub(event)


def events_from_stream(
    fields: Mapping[str, str], topology: Topology, offer_timeout: float
) -> list[Event]:
    """One entry of the Redis `events` stream as the domain events it holds, in order:
    one event (its array, '["…'), or the events of a batch of transitions that ran in
    one call (the array of their arrays, '[[…'; the `batch` function in omniroute.lua)."""
    if "e" in fields:
        return [decode_event(event, topology) for event in event_arrays(fields["e"])]
    return [_older_event(fields, topology, offer_timeout)]


def _older_event(fields: Mapping[str, str], topology: Topology, offer_timeout: float) -> Event:
    """An entry of the older layout: one field per attribute."""
    kind = EventKind(fields["k"])
    at = float(fields["at"])
    reason = fields.get("reason") or None
    if kind is EventKind.AGENT_PRESENCE:
        agent_id = fields["agent"]
        profile = topology.agents.get(agent_id)
        return AgentEvent(kind=kind, at=at, agent_id=agent_id,
                          teams=profile.teams if profile is not None else (),
                          presence=fields["presence"], previous=fields.get("prev", ""),
                          reason=reason)
    queue = fields["q"]
    known = topology.queues.get(queue)
    previous = fields.get("prev")
    detail: dict[str, Any] = json.loads(fields["detail"]) if fields.get("detail") else {}
    if kind is EventKind.RESERVED and reason == "offer" and "expires_at" not in detail:
        detail["expires_at"] = at + offer_timeout  # entries written before the field existed
    enqueued_at = float(fields["enq"]) if fields.get("enq") else at
    assigned = fields.get("aat")
    handled = (at - float(assigned)
               if assigned and kind in HANDLED_KINDS else None)
    return InteractionEvent(
        kind=kind, at=at, interaction_id=fields["id"], channel=Channel(fields["ch"]),
        queue=queue, team=known.team if known is not None else "", status=Status(fields["st"]),
        previous=Status(previous) if previous else None, agent_id=fields.get("agent") or None,
        priority=int(fields.get("pri") or 0), enqueued_at=enqueued_at, waited=at - enqueued_at,
        handled=handled, reason=reason, detail=detail,
        threshold=float(fields["thr"]) if fields.get("thr") else None,
    )


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
        "threshold": event.threshold,
        "detail": {k: v for k, v in event.detail.items() if _jsonable(v)},
    }


def _jsonable(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
