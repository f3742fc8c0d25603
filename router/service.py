"""The async service that drives one store: timers on the clock, and waiting pulls.

The store does the routing; this class only adds time. A timer task sleeps until the
store's next due timer (or until something changes), and `next(agent, wait=…)` is a
long-poll: it pulls, and if nothing is eligible waits for work to arrive or return.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from router.clock import Clock
from router.events import Event, EventKind, InteractionEvent
from router.store import Store
from router.work import Reservation

T = TypeVar("T")

#: Events after which an idle agent may find work it could not find before.
_WORK_APPEARED = frozenset(
    {
        EventKind.QUEUED, EventKind.REJECTED, EventKind.OFFER_EXPIRED, EventKind.ESCALATED,
        EventKind.OVERFLOWED, EventKind.COMPLETED, EventKind.AGENT_PRESENCE,
    }
)


#: gen0 threshold while serving: the store holds millions of long-lived objects and
#: CPython's default (700 allocations) runs a young collection every few decisions;
#: older generations then get scanned often enough to show in the decision p99.
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Move what exists now (configuration, compiled rules) out of the collector's way
    and collect young objects less often. The routing state has no reference cycles,
    so this trades nothing but a little peak memory for shorter, rarer pauses.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


class RoutingService:
    def __init__(
        self, store: Store, clock: Clock, max_timer_sleep: float = 1.0,
        on_decision: Callable[[float], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_timer_sleep = max_timer_sleep
        self.on_decision = on_decision
        self._changed = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._stopping = False
        store.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind in _WORK_APPEARED or isinstance(event, InteractionEvent):
            self._wake()

    def _wake(self) -> None:
        # Swap in a fresh Event so every current waiter wakes exactly once.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def start(self) -> None:
        if self._timer_task is None:
            tune_gc()
            self._timer_task = asyncio.create_task(self._run_timers(), name="omniroute-timers")

    async def stop(self) -> None:
        task, self._timer_task = self._timer_task, None
        if task is not None:
            # The flag ends the loop even if the cancellation below is swallowed by a
            # library on the way (3.11's `wait_for` can do that when the awaited call
            # completes at the same moment); the loop then exits at its next turn.
            self._stopping = True
            self._wake()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._stopping = False

    async def __aenter__(self) -> RoutingService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run_timers(self) -> None:
        while not self._stopping:
            await self.store.run_timers()
            due = await self.store.next_timer_at()
            delay = self.max_timer_sleep
            if due is not None:
                delay = min(delay, max(0.0, due - self.clock()))
            await _wait(self._changed, delay)

    async def decide(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run one routing transition, timing it for the decision-latency histogram."""
        started = time.perf_counter()
        try:
            return await operation
        finally:
            if self.on_decision is not None:
                self.on_decision(time.perf_counter() - started)

    async def next(self, agent_id: str, wait: float = 0.0) -> Reservation | None:
        """Reserve the agent's next-best interaction, waiting up to `wait` seconds for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        while True:
            changed = self._changed
            reservation = await self.decide(self.store.pull(agent_id))
            if reservation is not None:
                return reservation
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await _wait(changed, min(remaining, 1.0))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event` at most `seconds`.

    `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` swallows a cancellation
    that arrives just as the event is set, which left the timer task unstoppable.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed (it is, with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with our dependencies
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
