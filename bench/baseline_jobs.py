"""Generic Redis job queues, run by the baseline venv's Python (`bench/.venv-baseline/`).

Standard library + arq / saq / redis-py only: no omniroute import, because this runs in a
separate environment whose redis-py pin differs from the project's. `bench/baseline.py`
starts the server and calls, for each system (arq, saq, lists):

    python bench/baseline_jobs.py drive SYSTEM --url URL --jobs N --repeats R

`drive` starts one worker process (`baseline_jobs.py worker SYSTEM --url URL`), waits
until it is ready, then R times: enqueue N no-op jobs (at most --inflight enqueue calls
in flight, one call per job, as an application would) and poll until none is left
outstanding; jobs/s = N / (enqueue start → all complete). It prints one JSON object.

- arq: `max_jobs=10` (default), `poll_delay=0.005` (default 0.5 s caps it at 200 jobs/s
  by construction), outstanding = ZCARD of the queue
  (arq removes a job from it when the job finishes).
- saq: defaults (`concurrency=10`), outstanding = the queue's `incomplete` count.
- lists: one Redis list per channel (voice, chat, sms, email, social), LPUSH round-robin,
  the worker BRPOPs all five from 10 coroutines; outstanding = the lists' total length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

# This file's directory (bench/) holds `redis.py`, which would shadow redis-py: drop it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

CONCURRENCY = 10  # worker-side jobs in flight: arq's and saq's default
CHANNELS = ("voice", "chat", "sms", "email", "social")
READY = "baseline:ready:"
SAQ_QUEUE = "baseline"
#: arq's default poll_delay (0.5 s) caps a worker at queue_read_limit (100) jobs per poll,
#: 200 jobs/s whatever the machine; a user after throughput lowers it, so do we.
ARQ_POLL_DELAY = 0.005


async def noop(ctx: Any, **_kwargs: Any) -> None:
    """The job: nothing, so what is measured is the queue's own cost."""
    return None


# ---------------------------------------------------------------------- workers
def _arq_worker(url: str) -> None:
    from arq.connections import RedisSettings
    from arq.worker import Worker

    async def ready(ctx: dict[str, Any]) -> None:
        await ctx["redis"].set(READY + "arq", os.getpid())

    worker = Worker(functions=[noop], redis_settings=RedisSettings.from_dsn(url),
                    on_startup=ready, max_jobs=CONCURRENCY, poll_delay=ARQ_POLL_DELAY)
    worker.run()  # returns on SIGTERM / SIGINT


def _saq_worker(url: str) -> None:
    from saq import Queue, Worker

    async def main() -> None:
        queue = Queue.from_url(url, name=SAQ_QUEUE)

        async def ready(ctx: dict[str, Any]) -> None:
            await queue.redis.set(READY + "saq", os.getpid())

        worker = Worker(queue, functions=[noop], concurrency=CONCURRENCY, startup=ready)
        await queue.connect()
        await worker.start()  # returns on SIGTERM / SIGINT
        await queue.disconnect()

    asyncio.run(main())


def _lists_worker(url: str) -> None:
    import redis.asyncio as aioredis

    async def main() -> None:
        client = aioredis.Redis.from_url(url, max_connections=CONCURRENCY + 1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        keys = [f"baseline:{c}" for c in CHANNELS]

        async def consume() -> None:
            while not stop.is_set():
                item = await client.brpop(keys, timeout=1)
                if item is not None:
                    await noop({})

        tasks = [asyncio.create_task(consume()) for _ in range(CONCURRENCY)]
        await client.set(READY + "lists", os.getpid())
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    asyncio.run(main())


WORKERS = {"arq": _arq_worker, "saq": _saq_worker, "lists": _lists_worker}


# ---------------------------------------------------------------------- driver
class _System:
    """Enqueue one job / count what is outstanding, per system."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.handle: Any = None
        self.n = 0

    async def open(self) -> None:
        if self.name == "arq":
            from arq import create_pool
            from arq.connections import RedisSettings

            self.handle = await create_pool(RedisSettings.from_dsn(self.url))
        elif self.name == "saq":
            from saq import Queue

            self.handle = Queue.from_url(self.url, name=SAQ_QUEUE)
            await self.handle.connect()
        else:
            import redis.asyncio as aioredis

            self.handle = aioredis.Redis.from_url(self.url, max_connections=64)

    async def redis(self) -> Any:
        return self.handle.redis if self.name == "saq" else self.handle

    async def enqueue(self) -> None:
        self.n += 1
        if self.name == "arq":
            await self.handle.enqueue_job("noop")
        elif self.name == "saq":
            await self.handle.enqueue("noop")
        else:
            await self.handle.lpush(f"baseline:{CHANNELS[self.n % len(CHANNELS)]}", b"job")

    async def outstanding(self) -> int:
        if self.name == "arq":
            from arq.constants import default_queue_name

            return int(await self.handle.zcard(default_queue_name))
        if self.name == "saq":
            return int(await self.handle.count("incomplete"))
        pipe = self.handle.pipeline(transaction=False)
        for channel in CHANNELS:
            pipe.llen(f"baseline:{channel}")
        return int(sum(await pipe.execute()))

    async def close(self) -> None:
        if self.name == "saq":
            await self.handle.disconnect()
        else:
            await self.handle.aclose()


async def _one_run(system: _System, jobs: int, inflight: int, timeout: float) -> dict[str, Any]:
    remaining = [jobs]

    async def producer() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await system.enqueue()

    started = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(inflight)))
    enqueued = time.perf_counter()
    deadline = enqueued + timeout
    while await system.outstanding():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{system.name}: jobs still outstanding after {timeout:g} s")
        await asyncio.sleep(0.002)
    done = time.perf_counter()
    return {
        "jobs": jobs,
        "seconds": done - started,
        "jobs_per_s": jobs / (done - started),
        "enqueue_per_s": jobs / (enqueued - started),
    }


async def _drive(name: str, url: str, jobs: int, repeats: int, inflight: int,
                 timeout: float) -> dict[str, Any]:
    system = _System(name, url)
    await system.open()
    client = await system.redis()
    await client.delete(READY + name)
    worker = subprocess.Popen([sys.executable, os.path.abspath(__file__), "worker", name,
                               "--url", url], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not await client.exists(READY + name):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} worker did not start (exit {worker.poll()})")
            await asyncio.sleep(0.02)
        await _one_run(system, max(10, jobs // 20), inflight, timeout)  # warm-up
        runs = [await _one_run(system, jobs, inflight, timeout) for _ in range(repeats)]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        await system.close()
    package = {"arq": "arq", "saq": "saq", "lists": "redis"}[name]
    return {
        "system": name, "version": metadata.version(package),
        "arq_poll_delay": ARQ_POLL_DELAY if name == "arq" else None,
        "redis_py": metadata.version("redis"), "python": sys.version.split()[0],
        "worker_concurrency": CONCURRENCY, "enqueue_inflight": inflight, "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("drive", "worker"))
    parser.add_argument("system", choices=sorted(WORKERS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=32, help="enqueue calls in flight")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.mode == "worker":
        WORKERS[args.system](args.url)
        return 0
    result = asyncio.run(_drive(args.system, args.url, args.jobs, args.repeats, args.inflight,
                                args.timeout))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
