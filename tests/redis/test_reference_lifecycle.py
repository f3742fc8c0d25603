"""bench.redis_minimal's reference lifecycle routes for real.

Its figure is offered as what a lean design could do on this machine, so what it is
measured doing must be routing: every interaction taken in is reserved once, by one
agent within its capacity, accepted and completed by that agent, with its events and
counts; a retried ingest creates nothing.
"""

from __future__ import annotations

import asyncio
import json

import redis

from bench.redis_minimal import BUCKET, PREFIX, _load, _step
from router.redis_mux import Multiplexer
from router.service import run

AGENTS = [f"m{n}" for n in range(8)]
ROUNDS = 25


async def _lifecycles(url: str) -> list[bool]:
    _load(url, AGENTS)
    mux = Multiplexer(url)
    done: list[bool] = []

    async def loop(aid: str) -> None:
        for i in range(ROUNDS):
            completed = await _step(mux, aid, f"{aid}-{i}", [])
            done.append(completed)

    await asyncio.gather(*(loop(aid) for aid in AGENTS))
    await mux.aclose()
    return done


def test_every_interaction_is_routed_once_within_capacity(redis_url: str) -> None:
    done = run(_lifecycles(redis_url))
    # (each agent pulls after its own ingest, so a pull always finds something)
    assert done == [True] * (len(AGENTS) * ROUNDS)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    ids = {f"{aid}-{i}" for aid in AGENTS for i in range(ROUNDS)}
    assert {client.hget(f"{PREFIX}i:{iid}", "st") for iid in ids} == {"completed"}
    assert client.zcard(f"{PREFIX}b:{BUCKET}") == 0
    events = [json.loads(fields["e"]) for _, fields in client.xrange(f"{PREFIX}events")]
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for kind, iid, _status, agent, _at in events:
        by_kind.setdefault(kind, []).append((iid, agent))
    reserved = dict(by_kind["reserved"])
    assert len(by_kind["reserved"]) == len(reserved) == len(ids)  # none reserved twice
    assert sorted(by_kind["completed"]) == sorted(reserved.items())  # by whoever held it
    assert sorted(by_kind["assigned"]) == sorted(reserved.items())
    assert {iid for iid, _ in by_kind["queued"]} == ids
    counts = client.hgetall(f"{PREFIX}cnt")
    assert {int(n) for n in counts.values()} == {len(ids)}
    assert client.hget(f"{PREFIX}recv", BUCKET) == str(len(ids))
    assert {client.hget(f"{PREFIX}a:{aid}", "act") for aid in AGENTS} == {"0"}
    client.close()


def test_retried_ingest_and_full_agents_change_nothing(redis_url: str) -> None:
    async def scenario() -> tuple[object, object, object]:
        _load(redis_url, ["m0"])
        mux = Multiplexer(redis_url)
        ingest = ("FCALL", "minimal_ingest", "1", PREFIX, "100.0", "chat:k", "k", "chat",
                  "general", "{}", "1.0", "148.0", "86500.0")
        first = await mux.call(ingest)
        retry = await mux.call((*ingest[:6], "other-id", *ingest[7:]))
        redis.Redis.from_url(redis_url).hset(f"{PREFIX}a:m0", "act", 1)  # at capacity
        pulled = await mux.call(("FCALL", "minimal_pull", "1", PREFIX, "101.0", "m0", BUCKET,
                                 "131.0"))
        await mux.aclose()
        return first, retry, pulled

    first, retry, pulled = run(scenario())
    assert first == ["1", "k"]
    assert retry == ["0", "k"]  # the key's interaction, not a second one
    assert pulled is None  # an agent at capacity takes nothing
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert not client.exists(f"{PREFIX}i:other-id")
    assert client.zcard(f"{PREFIX}b:{BUCKET}") == 1
    assert client.xlen(f"{PREFIX}events") == 1
    client.close()
