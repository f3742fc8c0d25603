"""What each part of a Redis lifecycle costs the server: a ledger, by subtraction.

    python -m bench.redis_ledger      # ~10 minutes (valgrind)

`bench.redis_minimal` shows that a lifecycle doing only what issue #7 lists costs this
Redis ~0.4M instructions, where the store's functions cost ~1.0M. This asks where the
difference goes. For each entry below, a copy of `router/redis_lua/omniroute.lua` with
that part cut out of the straight-line ingest, pull, accept and complete is loaded in
place of the real one, and the server's instructions per 4-call lifecycle are counted
under callgrind as `bench.redis --callgrind` counts them (32 coroutines, one process,
the retained set of finished work full, so each completion also deletes the oldest).
The saving is the entry's cost.

The copies are broken on purpose (a cut part is one the product needs: the snapshot,
going offline, SLA events...); they only ever run here, for this count. An entry whose
text no longer appears in the functions is reported as such, not counted.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.redis import SETTINGS, _Callgrind, _flush, _lifecycles
from bench.report import scenario_parser, write_result

#: (entry, what it is, [(text in omniroute.lua, what replaces it), ...])
LEDGER: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("events", "the stream entry (XADD) of each transition's event", [
        ("  redis.call('XADD', K.events, 'MAXLEN', '~', MAXLEN, '*', 'e', e)\n", ""),
    ]),
    ("status counts", "the per-move status counter (HINCRBY 'cnt') of pull, accept, complete", [
        ("    redis.call('HINCRBY', K.cnt, k, I(n))\n", ""),
    ]),
    ("arrival index", "the per queue x channel arrival order (ZADD, ZREM 'arr:')", [
        ("  redis.call('ZADD', P .. 'arr:' .. qch, args[T + 2], m)\n", ""),
        ("  redis.call('ZREM', P .. 'arr:' .. q .. '|' .. ch, m)\n", ""),
    ]),
    ("history writes", "writing the item's history back (pull, accept, complete)", [
        ("    'tok', moved(r[3], 1), 'hist', hist)", "    'tok', moved(r[3], 1))"),
        ("'st', 'completed', 'disp', disp, 'hist', hist)", "'st', 'completed', 'disp', disp)"),
        ("'st', 'completed', 'hist', hist)", "'st', 'completed')"),
        ("'tok', ntok,\n    'hist', appended(hist, 'reserved', aid, q, '~pull'))", "'tok', ntok)"),
    ]),
    ("held-work index", "the agent's held work (HSET, HDEL 'ah:')", [
        ("  redis.call('HSET', P .. 'ah:' .. aid, id, ch)\n", ""),
        ("  redis.call('HDEL', P .. 'ah:' .. aid, id)\n", ""),
    ]),
    ("ingest checks", "expiring old idempotency keys, the id and bucket-definition checks", [
        ("  expire_idempotency_keys()\n"
         "  if redis.call('EXISTS', P .. 'i:' .. id) == 1 then return nil end\n", ""),
        ("    if redis.call('HEXISTS', K.bmade, b) == 0 then return nil end\n", ""),
    ]),
    ("resets", "the missed-offer reset at accept, the rejections' deletion at finish", [
        ("  redis.call('HSET', P .. 'a:' .. aid, 'miss', '0')\n", ""),
        ("  redis.call('DEL', P .. 'rj:' .. id)\n", ""),
    ]),
    ("leg fields apart", "four leg fields only the general path reads (nbf, pt, sa, tg), each"
     " its own field (cut: joined into one; the other six are kept only when set, layout 6)", [
        ("'nbf', nbf, 'due', args[L + LEG.due], 'pt', pt,\n"
         "    'sa', sa, 'tg', tg, 'plan', args[L + LEG.plan], unpack(pairs_out))",
         "'due', args[L + LEG.due], 'plan', args[L + LEG.plan],\n"
         "    'leg', nbf .. '\\n' .. pt .. '\\n' .. sa .. '\\n' .. tg, unpack(pairs_out))"),
    ]),
]


def _count(server: _Callgrind, agents: int, warm: int, count: int) -> float:
    from router.service import run as run_async

    _flush(server.url)
    row = run_async(_lifecycles(server.url, False, agents, warm, count, server,
                                replace(SETTINGS, retain_finished=agents)))
    return float(row["instructions_per_lifecycle"])


def run(agents: int = 32, warm: int = 1500, count: int = 640,
        progress: Any = print) -> dict[str, Any]:
    from router import redis_store

    real = redis_store._LUA
    source = real.read_text(encoding="utf-8")
    server = _Callgrind()
    entries: list[dict[str, Any]] = []
    try:
        server.start(timeout=30.0)
        baseline = _count(server, agents, warm, count)
        progress(f"functions as they are: {baseline / 1e3:.1f}k")
        with tempfile.TemporaryDirectory() as scratch:
            for name, what, cuts in LEDGER:
                text = source
                missing = [old for old, _ in cuts if old not in text]
                if missing:
                    entries.append({"entry": name, "what": what, "applies": False})
                    progress(f"{name}: no longer in the functions")
                    continue
                for old, new in cuts:
                    text = text.replace(old, new)
                copy = Path(scratch) / f"{len(entries)}.lua"
                copy.write_text(text, encoding="utf-8")
                redis_store._LUA = copy  # (read by library(), which keeps what it read)
                redis_store.library.cache_clear()
                try:
                    without = _count(server, agents, warm, count)
                finally:
                    redis_store._LUA = real
                    redis_store.library.cache_clear()
                entries.append({"entry": name, "what": what, "applies": True,
                                "instructions_per_lifecycle": baseline - without})
                progress(f"{name}: {(baseline - without) / 1e3:.1f}k")
    finally:
        server.stop()
    return {"baseline_instructions_per_lifecycle": baseline, "entries": entries}


def markdown(results: dict[str, Any]) -> str:
    base = results["baseline_instructions_per_lifecycle"]
    lines = ["| part | cost (instructions per lifecycle) | share |", "|---|---:|---:|"]
    for e in results["entries"]:
        if not e["applies"]:
            lines.append(f"| {e['entry']}: {e['what']} | (no longer in the functions) | |")
            continue
        cost = e["instructions_per_lifecycle"]
        lines.append(f"| {e['entry']}: {e['what']} | {cost / 1e3:.1f}k | {cost / base:.1%} |")
    lines.append(f"| **the functions as they are** | **{base / 1e3:.1f}k** | 100 % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = scenario_parser("bench.redis_ledger", __doc__, "(no quick form: ignored)")
    args = parser.parse_args(argv)
    results = run()
    print(markdown(results))
    if not args.no_write:
        print(f"wrote {write_result('redis-ledger', {}, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
