"""A reference for the Redis target: the least a lifecycle can cost on this machine.

    python -m bench.redis_minimal            # 1 and 2 workers, 8 s each, plus callgrind
    python -m bench.redis_minimal --quick    # 2 s each, no callgrind

Issue #7 asks for 10,000 lifecycles/s with two worker processes. `bench.redis` measures
the store; this asks what any design could do here. `bench/redis_minimal.lua` keeps only
what the issue lists for one lifecycle (idempotency key, interaction hash, ordered set,
ready-agent check, SLA and offer timers, capacity, events, counters, retention), in one
queue x channel with one bucket, and leaves out what the product's functions do besides
(its header lists them: history, the universal queue across buckets, preferred agents,
indexes, escalation, views). Its workers are as lean: the same pipelined connection as
the store (`router.redis_mux`), arguments made from strings, replies not decoded. Same
harness as `bench.redis` (processes, coroutines, server and client CPU), so the figures
sit side by side: the gap between the two is the price of what the reference leaves out,
and the reference's own figure is a ceiling for any design on these two cores.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.redis import FULL, QUICK, Plan, _Callgrind, _flush, _metered, _scenario
from bench.report import scenario_parser, write_result
from router.devserver import DevServer
from router.ordering import redis_score
from router.redis_mux import Multiplexer

LIBRARY = (Path(__file__).with_name("redis_minimal.lua")).read_text()
PREFIX = "or:{minimal}:"
QUEUE, CHANNEL = "general", "chat"
BUCKET = f"{QUEUE}|{CHANNEL}"
#: the store's settings in bench.redis (offer timeout, SLA threshold, key lifetime)
OFFER_TIMEOUT, AT_RISK_AFTER, KEY_TTL = 30.0, 48.0, 86_400.0


def _load(url: str, agents: list[str]) -> None:
    import redis as sync_redis

    with sync_redis.Redis.from_url(url) as client:
        client.function_load(LIBRARY, replace=True)
        for aid in agents:
            client.hset(PREFIX + "a:" + aid, mapping={"pres": "available", "act": 0, "cap": 1})


def _interaction(key: str, now: float) -> str:
    # (about the size of the store's: the fields an interaction has, most empty)
    return json.dumps({
        "id": key, "channel": CHANNEL, "idempotency_key": key, "created_at": now,
        "customer_id": None, "tier": "standard", "value": 0.0, "language": "en",
        "sentiment": 0.0, "public": False, "subject": "", "body": "", "attributes": {},
    }, separators=(",", ":"))


async def _step(mux: Multiplexer, aid: str, key: str, decisions: list[float]) -> bool:
    """One lifecycle: ingest `key`, pull, accept, complete (4 FCALLs); False when another
    agent took the item first and this one found nothing."""
    now = time.time()
    text = repr(now)
    await mux.call(("FCALL", "minimal_ingest", "1", PREFIX, text, f"{CHANNEL}:{key}", key,
                    CHANNEL, QUEUE, _interaction(key, now), repr(redis_score(0, now + 60.0)),
                    repr(now + AT_RISK_AFTER), repr(now + KEY_TTL)))
    started = time.perf_counter()
    now = time.time()
    held = await mux.call(("FCALL", "minimal_pull", "1", PREFIX, repr(now), aid, BUCKET,
                           repr(now + OFFER_TIMEOUT)))
    decisions.append(time.perf_counter() - started)
    if not held:
        return False
    iid = held[0]
    await mux.call(("FCALL", "minimal_accept", "1", PREFIX, repr(time.time()), aid, iid))
    await mux.call(("FCALL", "minimal_complete", "1", PREFIX, repr(time.time()), aid, iid,
                    "done"))
    return True


async def worker(url: str, index: int, plan: Plan, start_at: float) -> dict[str, Any]:
    """A worker process's part of a `bench.redis` scenario of kind "minimal"."""
    agents = [f"m{index * plan.agents + n}" for n in range(plan.agents)]
    _load(url, agents)
    mux = Multiplexer(url)
    counts = [0]
    decisions: list[float] = []
    await mux.call(("PING",))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    writes_before, calls = mux.writes, [0]
    cpu_before = time.process_time()
    stop = time.perf_counter() + plan.seconds

    async def agent_loop(aid: str) -> None:
        n = 0
        while time.perf_counter() < stop:
            n += 1
            done = await _step(mux, aid, f"{aid}-{n}", decisions)
            counts[0] += done
            calls[0] += 4 if done else 2

    await asyncio.gather(*(agent_loop(aid) for aid in agents))
    cpu = time.process_time() - cpu_before
    writes = mux.writes - writes_before
    await mux.aclose()
    return {"lifecycles": counts[0], "round_trips": calls[0], "decisions": decisions,
            "client_cpu_s": cpu, "socket_writes": writes}


async def _counted(server: _Callgrind, agents: int, warm: int, count: int) -> float:
    """Server instructions per lifecycle, as `bench.redis --callgrind` counts the store's:
    `agents` coroutines of one process, after `warm` lifecycles."""
    names = [f"m{n}" for n in range(agents)]
    _load(server.url, names)
    mux = Multiplexer(server.url)

    async def lifecycle(coroutine: int, key: str) -> bool:
        aid = names[coroutine]
        return await _step(mux, aid, f"{aid}-{key}", [])

    instructions, done, _ = await _metered(lifecycle, agents, warm, count, server)
    await mux.aclose()
    return instructions / done


def run(plan: Plan, callgrind: bool, progress: Any = print) -> dict[str, Any]:
    from router.service import run as run_async

    results: dict[str, Any] = {"minimal": [], "store": []}
    with DevServer() as server:
        for workers in plan.workers:
            for kind in ("minimal", "store"):  # (interleaved: the machine drifts)
                _flush(server.url)
                row = _scenario(kind, server.url, workers, plan)
                progress(f"{kind} x{workers}: {row['lifecycles_per_s']:,.0f}/s")
                results[kind].append(row)
    if callgrind:
        counter = _Callgrind()
        try:
            counter.start(timeout=30.0)
            _flush(counter.url)
            results["server_instructions_per_lifecycle"] = run_async(
                _counted(counter, 32, 1500, 640))
        finally:
            counter.stop()
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| design | workers | lifecycles/s | FCALLs/lifecycle | redis.calls/lifecycle"
        " | server CPU µs/lifecycle | client CPU µs/lifecycle |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("minimal", "reference (minimal)"), ("store", "store, 4-call")):
        for row in results[kind]:
            lines.append(
                f"| {label} | {row['workers']} | {row['lifecycles_per_s']:,.0f} |"
                f" {row['round_trips_per_lifecycle']:.2f} |"
                f" {row['redis_calls_per_lifecycle']:.1f} |"
                f" {row['server_cpu_us_per_lifecycle']:.0f} |"
                f" {row['client_cpu_us_per_lifecycle']:.0f} |"
            )
    if "server_instructions_per_lifecycle" in results:
        lines.append("")
        lines.append("Server instructions per lifecycle (callgrind), reference:"
                     f" {results['server_instructions_per_lifecycle'] / 1e6:.3f}M")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("bench.redis_minimal", __doc__, "2 s runs, no callgrind")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = Plan(seconds=plan.seconds, workers=(1, 2), agents=plan.agents, ceiling_calls=0)
    results = run(plan, callgrind=not args.quick)
    print(markdown(results))
    if not args.no_write:
        path = write_result("redis-minimal", {"plan": asdict(plan)}, results, quick=args.quick)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
