"""End-to-end HTTP through a real uvicorn + uvloop server, load from a separate process.

    python -m bench.http            # ingest at 1,000 and 3,000 req/s, lifecycles (20 s each)
    python -m bench.http --quick    # the same, 3 s each

The server is `omniroute serve` (uvicorn, uvloop, httptools, the embedded store, the
example contact center, access log off) in its own process on a free port. The load
comes from another process so the two do not share an interpreter, written on raw
asyncio streams (uvloop) so that it takes little of a 2-core machine:

- ingest: an open-loop generator that sends `POST /interactions` at a fixed rate over a
  pool of keep-alive connections. Latency is measured from each request's *scheduled*
  send time, so a stalled server cannot hide queued requests (no coordinated
  omission). Run at 1,000 req/s (the latency target) and at 3,000 req/s (the
  per-worker throughput target: does one worker keep up?).
- lifecycles: the six CSR agents log in (pull mode) and each loops: ingest a chat,
  `POST /agents/{id}/next`, accept, complete (4 requests per lifecycle), as fast as the
  server answers.

CPU seconds of both processes are reported (the client/server split), and how long the
server waited for a CPU (a busy machine shows there, not as a slow server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, percentile, write_result
from router.devserver import free_port

ROOT = Path(__file__).resolve().parents[1]
INGEST_TOKEN_NAME = "demo-ingest"


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _runqueue_wait_seconds(pid: int) -> float | None:
    """Time the process sat runnable but waiting for a CPU (/proc/<pid>/schedstat).

    On a shared machine this tells a slow server from a starved one.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


# ---------------------------------------------------------------------- the client
def _request(port: int, token: str, n: int) -> bytes:
    channel = ("chat", "email", "sms", "voice")[n % 4]
    body = json.dumps({"channel": channel, "idempotency_key": f"bench-{os.getpid()}-{n}",
                       "summary": "benchmark"}).encode()
    return _post(port, "/interactions", token, body)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    payload: bytes) -> tuple[int, bytes]:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length) if length else b""


async def _generate(port: int, token: str, rate: float, seconds: float, warmup: float,
                    connections: int) -> dict[str, Any]:
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    # uvloop's loop.time() ticks in milliseconds: too coarse for sub-ms latencies.
    clock = time.perf_counter

    async def one(n: int, scheduled: float, measured: bool) -> None:
        conn = await pool.get()
        try:
            status, _ = await _exchange(*conn, _request(port, token, n))
        finally:
            pool.put_nowait(conn)
        if measured:
            latencies.append(clock() - scheduled)
            statuses[status] = statuses.get(status, 0) + 1

    total = int((warmup + seconds) * rate)
    start = clock() + 0.05
    tasks = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    measured_from = start + warmup
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(n, scheduled, scheduled >= measured_from)))
    await asyncio.gather(*tasks)
    elapsed = clock() - measured_from
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies)
    return {
        "sent": len(latencies), "statuses": statuses,
        "achieved_rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 0.50) * 1e3, "p90_ms": percentile(ordered, 0.90) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3, "max_ms": ordered[-1] * 1e3,
        "client_cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }


CSR_AGENTS = ("alice", "bruno", "chen", "dana", "emil", "farah")


def _post(port: int, path: str, token: str, body: bytes = b"") -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _lifecycles(port: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Each CSR agent, on its own connection, loops ingest → next → accept → complete."""
    from router.auth import demo_token

    ingest_token = demo_token(INGEST_TOKEN_NAME)
    clock = time.perf_counter
    start = clock()
    measured_from, until = start + warmup, start + warmup + seconds
    durations: list[float] = []
    statuses: dict[int, int] = {}
    cpu: list[resource.struct_rusage] = []

    async def agent(agent_id: str) -> None:
        token = demo_token(f"demo-agent-{agent_id}")
        conn = await asyncio.open_connection("127.0.0.1", port)
        base = f"/agents/{agent_id}"
        await _exchange(*conn, _post(port, f"{base}/login", token, b'{"auto_offer":false}'))
        n = 0
        while (began := clock()) < until:
            n += 1
            body = json.dumps({"channel": "chat", "idempotency_key": f"life-{agent_id}-{n}",
                               "summary": "benchmark"}).encode()
            codes = [(await _exchange(*conn, _post(port, "/interactions", ingest_token,
                                                   body)))[0]]
            status, reply = await _exchange(*conn, _post(port, f"{base}/next?wait=1", token))
            codes.append(status)
            if status == 200:
                iid = json.loads(reply)["reservation"]["interaction_id"]
                for step, step_body in (("accept", b""),
                                        ("complete", b'{"disposition":"resolved"}')):
                    codes.append((await _exchange(*conn, _post(
                        port, f"{base}/interactions/{iid}/{step}", token, step_body)))[0])
            if began >= measured_from:
                if status == 200:
                    durations.append(clock() - began)
                for code in codes:
                    statuses[code] = statuses.get(code, 0) + 1

    async def mark_measured() -> None:
        await asyncio.sleep(max(0.0, measured_from - clock()))
        cpu.append(resource.getrusage(resource.RUSAGE_SELF))

    await asyncio.gather(mark_measured(), *(agent(a) for a in CSR_AGENTS))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = clock() - measured_from
    ordered = sorted(durations)
    return {
        "agents": len(CSR_AGENTS), "lifecycles": len(durations), "statuses": statuses,
        "lifecycles_per_s": len(durations) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 0.50) * 1e3, "p99_ms": percentile(ordered, 0.99) * 1e3,
        "client_cpu_s": (cpu1.ru_utime + cpu1.ru_stime)
        - (cpu[0].ru_utime + cpu[0].ru_stime),
    }


def _client_main(args: argparse.Namespace) -> int:
    from router.auth import demo_token

    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        pass
    if args.client == "lifecycle":
        result = asyncio.run(_lifecycles(args.port, args.seconds, args.warmup))
    else:
        result = asyncio.run(_generate(args.port, demo_token(INGEST_TOKEN_NAME), args.rate,
                                       args.seconds, args.warmup, args.connections))
    Path(args.client_out).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------- the server
def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on port {port} within {timeout:g} s")


def _serve_and_load(client: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start `omniroute serve`, run a client process (`--client …` arguments) against
    it, and return what the client measured and the server's CPU and waiting time."""
    port = free_port()
    env = {**os.environ, "OMNIROUTE_LOG_LEVEL": "warning",
           "OMNIROUTE_CONFIG_DIR": str(ROOT / "config"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from router.cli import main; main()", "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(port, server)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "client.json"
            server_cpu0 = _cpu_seconds(server.pid)
            waited0 = _runqueue_wait_seconds(server.pid)
            wall0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bench.http", *client, "--port", str(port),
                 "--client-out", str(out)],
                cwd=ROOT, env=env, check=True,
            )
            wall = time.perf_counter() - wall0
            server_cpu = _cpu_seconds(server.pid) - server_cpu0
            waited1 = _runqueue_wait_seconds(server.pid)
            measured = json.loads(out.read_text())
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    return measured, {
        "server_cpu_s": server_cpu, "wall_s": wall,
        "server_cpu_fraction": server_cpu / wall if wall > 0 else None,
        "server_runqueue_wait_s": (waited1 - waited0
                                   if waited0 is not None and waited1 is not None else None),
        "load_average": os.getloadavg()[0],
    }


def run(rate: float, seconds: float, warmup: float, connections: int = 64) -> dict[str, Any]:
    """Ingest at a fixed `rate` (open loop)."""
    client, server = _serve_and_load(
        ["--client", "ingest", "--rate", str(rate), "--seconds", str(seconds),
         "--warmup", str(warmup), "--connections", str(connections)])
    # The server's CPU covers warm-up too; scale to the measured share of the run.
    share = seconds / (seconds + warmup)
    wall = server["wall_s"]
    return {
        "target_rps": rate, **client, **server,
        "server_cpu_s_measured_share": server["server_cpu_s"] * share,
        "client_cpu_fraction": client["client_cpu_s"] / (wall * share) if wall > 0 else None,
        # CPU per request is what capacity planning needs; it does not depend on
        # how much of a core the server was given on a shared machine.
        "server_cpu_ms_per_request":
            server["server_cpu_s"] * 1e3 / (rate * (seconds + warmup)),
    }


def run_lifecycles(seconds: float, warmup: float) -> dict[str, Any]:
    """Full lifecycles (ingest, next, accept, complete) as fast as six agents go."""
    client, server = _serve_and_load(
        ["--client", "lifecycle", "--seconds", str(seconds), "--warmup", str(warmup)])
    share = seconds / (seconds + warmup)
    measured_cpu = server["server_cpu_s"] * share
    return {
        **client, **server,
        "client_cpu_fraction": client["client_cpu_s"] / seconds,
        "server_cpu_ms_per_lifecycle":
            measured_cpu * 1e3 / client["lifecycles"] if client["lifecycles"] else None,
    }


def markdown(results: dict[str, Any]) -> str:
    rows = results.get("at_rates") or [results]
    lines = [
        "| target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms |"
        " server CPU (of one core) | server CPU ms/request | client CPU (of one core) |"
        " server waited for a CPU | load avg | statuses |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['target_rps']:,.0f} | {r['achieved_rps']:,.0f} | {r['p50_ms']:.2f} |"
            f" {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} |"
            f" {r['server_cpu_fraction']:.0%} | {r.get('server_cpu_ms_per_request', 0.0):.2f} |"
            f" {r['client_cpu_fraction']:.0%} |"
            f" {_seconds(r.get('server_runqueue_wait_s'))} | {r.get('load_average', 0.0):.1f} |"
            f" {_statuses(r)} |")
    life = results.get("lifecycle")
    if life:
        lines += [
            "",
            "| agents | lifecycles/s | p50 ms | p99 ms | server CPU (of one core) |"
            " server CPU ms/lifecycle | client CPU (of one core) | server waited for a CPU |"
            " statuses |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {life['agents']} | {life['lifecycles_per_s']:,.0f} | {life['p50_ms']:.2f} |"
            f" {life['p99_ms']:.2f} | {life['server_cpu_fraction']:.0%} |"
            f" {life['server_cpu_ms_per_lifecycle'] or 0.0:.2f} |"
            f" {life['client_cpu_fraction']:.0%} |"
            f" {_seconds(life.get('server_runqueue_wait_s'))} | {_statuses(life)} |",
        ]
    return "\n".join(lines)


def _statuses(r: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def main(argv: list[str] | None = None, out: Path = RESULTS_DIR) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rates", default="1000,3000",
                        help="ingest rates to run, req/s (the first is the headline row)")
    parser.add_argument("--no-lifecycle", action="store_true",
                        help="skip the full-lifecycle run")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--out", type=Path, default=out)
    # internal: the load-generator process
    parser.add_argument("--client", choices=("ingest", "lifecycle"), help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=1000.0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--client-out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 3.0 if args.quick else 20.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    if args.client:
        return _client_main(args)
    rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    rows = [run(rate, args.seconds, args.warmup, args.connections) for rate in rates]
    # The first rate's figures stay at the top level (bench.all and bench.plots read them).
    results: dict[str, Any] = {**rows[0], "at_rates": rows}
    if not args.no_lifecycle:
        results["lifecycle"] = run_lifecycles(args.seconds, args.warmup)
    params = {"rates": rates, "seconds": args.seconds, "warmup": args.warmup,
              "connections": args.connections, "quick": args.quick,
              "lifecycle": not args.no_lifecycle}
    path = write_result("http", params, results,
                        directory=args.out, quick=args.quick)
    print(markdown(results))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
