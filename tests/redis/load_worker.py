"""One stateless worker process driving random load through a RedisStore (real time).

Run by the concurrency and fault tests as a subprocess:
    python tests/redis/load_worker.py URL SECONDS SEED MODE AGENT[,AGENT...]
MODE `mixed` does everything an API worker does; `hoard` only pulls and never answers
(its reservations must expire when it is killed). Every acknowledged effect is printed as
one line, flushed at once, so a test that kills the process still knows what was
acknowledged before it died:
    ack <id>            ingest returned (the interaction must never be lost)
    assigned <id> <agent>   accept returned
    reserved <id> <agent>   pull returned a reservation
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agents.model import AgentProfile, Presence, Queue, Team
from router.clock import SystemClock
from router.engine import EngineSettings
from router.errors import OmnirouteError
from router.interaction import Channel, Interaction, Status
from router.plan import RoutingPlan, SkillRequirement
from router.redis_store import RedisStore
from router.topology import Topology

AGENTS = [f"ag{n}" for n in range(8)]
QUEUES = ["general", "billing"]
SETTINGS = EngineSettings(offer_timeout=1.0, wrap_up_timeout=1.0, missed_offers_limit=1000)


def topology() -> Topology:
    agents = {
        aid: AgentProfile(id=aid, teams=("csr",), skills={"spanish": 1 + n % 5})
        for n, aid in enumerate(AGENTS)
    }
    return Topology(
        site="load", teams={"csr": Team("csr")},
        queues={q: Queue(q, "csr") for q in QUEUES}, agents=agents,
    )


def say(*words: str) -> None:
    print(*words, flush=True)


async def run(url: str, seconds: float, seed: int, mode: str, agents: list[str]) -> None:
    store = RedisStore(topology(), SystemClock(), settings=SETTINGS, url=url,
                       max_connections=4)
    rng = random.Random(seed)
    acked: list[str] = []
    for aid in agents:
        await store.set_presence(aid, Presence.AVAILABLE, auto_offer=False)
    stop = time.monotonic() + seconds
    n = 0
    while time.monotonic() < stop:
        n += 1
        try:
            if mode == "hoard":
                await hoard(store, rng, agents)
            else:
                await mixed(store, rng, agents, acked, f"{seed}-{n}")
        except OmnirouteError:
            pass  # a race lost to another worker (already taken, not held any more…)
    await store.close()


async def hoard(store: RedisStore, rng: random.Random, agents: list[str]) -> None:
    aid = rng.choice(agents)
    reservation = await store.pull(aid)
    if reservation is not None:
        say("reserved", reservation.interaction_id, aid)
    else:
        await asyncio.sleep(0.01)


async def mixed(
    store: RedisStore, rng: random.Random, agents: list[str], acked: list[str], tag: str
) -> None:
    op = rng.random()
    if op < 0.35:
        shared = rng.random() < 0.1  # a provider retry racing another worker's ingest
        key = f"shared-{rng.randrange(40)}" if shared else f"k-{tag}"
        channel = rng.choice([Channel.CHAT, Channel.EMAIL, Channel.VOICE, Channel.SMS])
        skills = (SkillRequirement("spanish", rng.randint(1, 3)),) if rng.random() < 0.3 else ()
        interaction = Interaction(id=f"i-{key}", channel=channel, idempotency_key=key,
                                  created_at=time.time())
        result = await store.ingest(interaction, RoutingPlan(
            rng.choice(QUEUES), skills=skills, priority=rng.randint(0, 2)))
        acked.append(result.interaction_id)
        say("ack", result.interaction_id)
    elif op < 0.6:
        aid = rng.choice(agents)
        reservation = await store.pull(aid)
        if reservation is not None:
            say("reserved", reservation.interaction_id, aid)
    elif op < 0.88:
        await progress(store, rng, rng.choice(agents))
    elif op < 0.92:
        await store.set_presence(rng.choice(agents), rng.choice(
            [Presence.AVAILABLE, Presence.AVAILABLE, Presence.NOT_READY]), "break",
            auto_offer=rng.random() < 0.5)
    elif op < 0.95 and acked:
        target = rng.choice(acked)
        if rng.random() < 0.5:
            await store.abandon(target, "hung up")
        else:
            await store.cancel(target)
    else:
        await store.run_timers()


async def progress(store: RedisStore, rng: random.Random, aid: str) -> None:
    held = list((await store.agent(aid)).held)
    if not held:
        return
    target = rng.choice(held)
    status = (await store.get(target)).status
    if status is Status.RESERVED:
        if rng.random() < 0.15:
            await store.reject(aid, target, "busy")
        else:
            await store.accept(aid, target)
            say("assigned", target, aid)
    elif status is Status.ASSIGNED and rng.random() < 0.5:
        await store.wrap_up(aid, target)
    elif rng.random() < 0.5:
        await store.complete(aid, target, "done")
    else:  # a desktop completing and asking for its next interaction in one call
        _, reservation = await store.complete_and_pull(aid, target, "done")
        if reservation is not None:
            say("reserved", reservation.interaction_id, aid)


if __name__ == "__main__":
    url, seconds, seed, mode, agents = sys.argv[1:6]
    asyncio.run(run(url, float(seconds), int(seed), mode, agents.split(",")))
