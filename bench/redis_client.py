"""The Redis store's client cost: instructions per lifecycle of the worker's own Python.

`python -m bench.redis --callgrind` adds these to the server's counts. On two cores the
workers share with Redis, a worker's CPU per lifecycle limits throughput as much as the
server's, and wall-clock CPU time moves with the machine; instructions do not.

How: one process drives lifecycles through `RedisStore` exactly as the benchmark's workers
do (`bench.redis._step`), first against a real server to record the reply of each
function, then with the multiplexer's `call` replaced by one that packs the command as
the real one does and answers with the recorded reply. What is counted is therefore the
store's Python (arguments, JSON, views, history, events) plus packing, without the event
loop's socket work and reply parsing, which depend on how calls are batched. The process
runs twice under valgrind (callgrind, counting everything), for a small and a large
number of lifecycles; the difference divided by the difference in lifecycles leaves out
start-up and imports.

A served worker's store has subscribers (`RoutingService` subscribes to wake its timer
task, and the SSE hub): each reply's events are then decoded and published, which the
benchmark's workers, driving the store alone, skip. `--served` counts that too (a
catch-all subscriber that does nothing).

    python -m bench.redis_client --lifecycles 500 [--merged] [--served]   # the driven process
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from typing import Any

#: lifecycles in the two counted runs (their difference is what is reported)
SMALL, LARGE = 500, 2500


async def _drive(url: str, lifecycles: int, merged: bool, served: bool) -> None:
    from bench.redis import _flush, _open_store, _step
    from router import redis_mux

    _flush(url)
    store = await _open_store(url, ["b0"], 1)
    if served:
        store.subscribe(lambda event: None)
    recorded: dict[str, Any] = {}
    real = store._mux.call

    def command(args: Any) -> Any:  # (a transition as the batch of one it is alone)
        if isinstance(args, redis_mux.Batchable):
            return (*args.head, *args.part)
        return args

    def function(args: Any) -> Any:  # (a transition's function; the batch's is shared)
        return args.part[0] if isinstance(args, redis_mux.Batchable) else args[1]

    async def record(args: Any) -> Any:
        reply = await real(args)
        recorded[function(args)] = reply
        return reply

    async def replay(args: Any) -> Any:
        redis_mux.pack(command(args))
        return recorded[function(args)]

    store._mux.call = record  # type: ignore[method-assign]
    held = None
    for n in range(60):  # every function the flow calls, answered at least once
        _, held = await _step(store, "b0", f"w{n}", held, merged)
    store._mux.call = replay  # type: ignore[method-assign]
    for n in range(lifecycles):
        await _step(store, "b0", f"x{n}", held if merged else None, merged)
    store._mux.call = real  # type: ignore[method-assign]
    await store.close()


def _collected(lifecycles: int, merged: bool, served: bool) -> int:
    """Instructions callgrind counts for a whole driven process."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "bench.redis_client", "--lifecycles", str(lifecycles)]
    if merged:
        command.append("--merged")
    if served:
        command.append("--served")
    # (a fixed hash seed: string hashes decide dict collisions, which moved the count by
    # ~2 % from run to run)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def client_instructions(merged: bool, served: bool = False) -> float:
    """The client's instructions per lifecycle of one flow (needs valgrind); `served`: with
    an event subscriber, as in a served worker."""
    small, large = _collected(SMALL, merged, served), _collected(LARGE, merged, served)
    return (large - small) / (LARGE - SMALL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("bench.redis_client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, required=True)
    parser.add_argument("--merged", action="store_true")
    parser.add_argument("--served", action="store_true")
    args = parser.parse_args(argv)
    from router.devserver import DevServer
    from router.service import run as run_async

    server = DevServer()
    server.start()
    try:
        run_async(_drive(server.url, args.lifecycles, args.merged, args.served))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
