"""Push-mode lifecycles for `bench.redis`: the store offers work to agents (auto-offer).

Agents log in with auto-offer on by default, so this is the mode a contact center runs
unless its desktops pull. An arrival is offered by the ingest call itself to the best
ready agent (the routing decision), who then accepts and completes it: 3 FCALLs a
lifecycle. Completion gives capacity back and re-indexes the agent, and offers it any
waiting work.

Each worker process serves a queue and team of its own (`q<i>`, `t<i>`), so every offer
goes to one of its own agents and reaches it as the ingest's reply. (With one shared
queue an offer could go to another process's agent, which that process would only learn
of from the event stream.) Each coroutine has one interaction in flight and the agents
hold up to 3 chats, so there is always a ready agent: the ingest offers at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from bench.redis import _ingest, _open_store
from router.events import EventKind, InteractionEvent
from router.plan import RoutingPlan

if TYPE_CHECKING:
    from router.events import Event
    from router.redis_store import RedisStore
    from router.topology import Topology

#: how long a coroutine waits for its interaction's offer before giving up on it
OFFER_WAIT = 5.0


def push_topology(workers: int, agents: int) -> Topology:
    """Queue `q<i>` of team `t<i>` and its agents, for each worker `i`."""
    from agents.model import AgentProfile, Queue, Team
    from router.topology import Topology

    return Topology(
        site="bench",
        teams={f"t{w}": Team(f"t{w}") for w in range(workers)},
        queues={f"q{w}": Queue(f"q{w}", f"t{w}") for w in range(workers)},
        agents={f"b{n}": AgentProfile(id=f"b{n}", teams=(f"t{n // agents}",))
                for n in range(workers * agents)},
    )


class Offers:
    """The agent each interaction was offered to, as the store's events say."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[str]] = {}

    def expect(self, interaction_id: str) -> asyncio.Future[str]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[interaction_id] = future
        return future

    def __call__(self, event: Event) -> None:
        if isinstance(event, InteractionEvent) and event.kind is EventKind.RESERVED:
            future = self._waiting.pop(event.interaction_id, None)
            if future is not None and event.agent_id is not None:
                future.set_result(event.agent_id)


async def open_store(url: str, index: int, workers: int, agents: int,
                     settings: Any, max_connections: int = 64) -> tuple[RedisStore, Offers]:
    """Worker `index`'s store, its agents logged in with auto-offer, and its offers."""
    store = await _open_store(url, [f"b{index * agents + n}" for n in range(agents)],
                              workers * agents, max_connections, settings=settings,
                              site=push_topology(workers, agents), auto_offer=True)
    offers = Offers()
    store.subscribe(offers)
    return store, offers


async def lifecycle(store: RedisStore, offers: Offers, queue: str, key: str,
                    decisions: list[float]) -> bool:
    """Ingest `key` into `queue` (the decision: offered at once), accept and complete it
    as the agent it was offered to; False if no offer came within `OFFER_WAIT`."""
    offered = offers.expect(key)
    started = time.perf_counter()
    await _ingest(store, key, RoutingPlan(queue))
    decisions.append(time.perf_counter() - started)
    if offered.done():  # (the offer came in the ingest's reply: no timer to arm)
        holder = offered.result()
    else:
        try:
            holder = await asyncio.wait_for(offered, OFFER_WAIT)
        except TimeoutError:
            return False
    await store.accept(holder, key)
    await store.complete(holder, key, "done")
    return True


async def worker(url: str, index: int, workers: int, agents: int, seconds: float,
                 start_at: float, settings: Any) -> dict[str, Any]:
    """A worker process's part of a `bench.redis` scenario of kind "push"."""
    store, offers = await open_store(url, index, workers, agents, settings, agents)
    queue = f"q{index}"
    counts = [0]
    decisions: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))
    trips_before, writes_before = store.round_trips, store.socket_writes
    cpu_before = time.process_time()
    stop = time.perf_counter() + seconds

    async def loop(tag: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            n += 1
            completed = await lifecycle(store, offers, queue, f"p{index}-{tag}-{n}",
                                        decisions)
            counts[0] += completed

    await asyncio.gather(*(loop(tag) for tag in range(agents)))
    cpu = time.process_time() - cpu_before
    result = {"lifecycles": counts[0], "round_trips": store.round_trips - trips_before,
              "decisions": decisions, "client_cpu_s": cpu,
              "socket_writes": store.socket_writes - writes_before}
    await store.close()
    return result


async def counted(url: str, agents: int, warm: int, count: int, meter: Any,
                  settings: Any) -> dict[str, float]:
    """Server instructions per push-mode lifecycle as `meter` counts them (one process,
    `agents` coroutines, after `warm` lifecycles)."""
    from bench.redis import _metered

    store, offers = await open_store(url, 0, 1, agents, settings)

    async def one(coroutine: int, key: str) -> bool:
        return await lifecycle(store, offers, "q0", f"{coroutine}-{key}", [])

    instructions, done, fcalls = await _metered(one, agents, warm, count, meter,
                                                lambda: store.round_trips)
    await store.close()
    return {"instructions_per_lifecycle": instructions / done,
            "fcalls_per_lifecycle": fcalls / done}
