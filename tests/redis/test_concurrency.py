"""Several worker processes against one Redis: no double assignment, nothing lost.

The workers (`load_worker.py`) are real processes, each with its own connection pool,
racing on the same agents and interactions. Afterwards the whole site is read back and
checked: every acknowledged interaction exists in exactly one state, no interaction is
held twice or assigned twice, no agent is over capacity, and the indexes agree with
the states. The fault test kills one worker with SIGKILL while it holds reservations:
they expire and are re-offered to the others.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import redis

from router.clock import SystemClock
from router.interaction import HELD_STATUSES, Status
from router.redis_store import RedisStore, site_prefix
from tests.redis.helpers import history as stored_history
from tests.redis.helpers import status_counts

WORKER = Path(__file__).with_name("load_worker.py")
sys.path.insert(0, str(WORKER.parent))
import load_worker  # noqa: E402

PREFIX = site_prefix("load")


def start(
    url: str, seconds: float, seed: int, mode: str, agents: list[str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(seconds), str(seed), mode, ",".join(agents)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def lines(process: subprocess.Popen[str], timeout: float = 30) -> list[list[str]]:
    out, err = process.communicate(timeout=timeout)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({process.returncode}):\n{err[-3000:]}")
    return [line.split() for line in out.splitlines() if line.strip()]


def check_site(url: str, acked: set[str], assigned_lines: list[list[str]]) -> dict[str, str]:
    """Every invariant over the raw Redis state of the load site; returns id -> status."""
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        ids = [k[len(PREFIX) + 2:] for k in r.scan_iter(PREFIX + "i:*", count=1000)]
        items = {i: r.hgetall(PREFIX + "i:" + i) for i in ids}
        status = {i: h["st"] for i, h in items.items()}
        # nothing acknowledged is lost; each interaction has exactly one status, counted once
        assert acked <= set(ids), f"lost: {sorted(acked - set(ids))[:5]}"
        # per status: the legacy per-status tallies plus the 'from>to' moves (see
        # set_status in omniroute.lua), folded here from the raw hashes
        counts = status_counts(r, PREFIX)
        tally = Counter(status.values())
        for st in Status:
            assert counts.get(st.value, 0) == tally.get(st.value, 0), (st, counts, tally)
        # held by at most one agent, the one the interaction names; capacity respected
        holders: dict[str, str] = {}
        for aid in load_worker.AGENTS:
            held = r.hgetall(f"{PREFIX}ah:{aid}")
            agent = r.hgetall(f"{PREFIX}a:{aid}")
            for iid, channel in held.items():
                assert iid not in holders, f"{iid} held by {holders[iid]} and {aid}"
                holders[iid] = aid
                assert status[iid] in HELD_STATUSES and items[iid]["ag"] == aid
                assert items[iid]["ch"] == channel
            per_channel = Counter(held.values())
            for channel, used in per_channel.items():
                assert int(agent[f"act:{channel}"]) == used
                assert used <= int(agent[f"cap:{channel}"]), (aid, channel, used)
            assert int(agent["nheld"]) == len(held)
            if "voice" in per_channel:
                assert len(held) == 1, f"{aid} holds {held} during a call"
        for iid, st in status.items():
            if st in HELD_STATUSES:
                assert holders.get(iid) == items[iid]["ag"], iid
        # the queue indexes hold exactly the queued interactions, each in one bucket
        in_buckets: Counter[str] = Counter()
        for key in r.scan_iter(PREFIX + "b:*", count=1000):
            in_buckets.update(m.split(":", 1)[1] for m in r.zrange(key, 0, -1))
        queued = {i for i, st in status.items() if st == Status.QUEUED}
        assert set(in_buckets) == queued and all(n == 1 for n in in_buckets.values())
        arrivals = sum(r.zcard(k) for k in r.scan_iter(PREFIX + "arr:*", count=1000))
        assert arrivals == len(queued)
        # nobody was assigned the same interaction twice (there are no transfers here)
        for iid in ids:
            history = [entry[1] for entry in stored_history(r, PREFIX, iid)]
            assert history.count("assigned") <= 1, (iid, history)
        assigned = Counter(words[1] for words in assigned_lines)
        assert not [i for i, n in assigned.items() if n > 1]
        return status
    finally:
        r.close()


def test_workers_race_without_double_assignment(redis_url: str) -> None:
    agents = load_worker.AGENTS
    workers = [start(redis_url, 3.0, seed, "mixed", agents) for seed in (1, 2, 3)]
    outputs = [lines(w) for w in workers]
    acked = {words[1] for out in outputs for words in out if words[0] == "ack"}
    assigned = [words for out in outputs for words in out if words[0] == "assigned"]
    status = check_site(redis_url, acked, assigned)
    assert len(acked) > 100 and len(assigned) > 20, (len(acked), len(assigned))
    assert Counter(status.values())[Status.COMPLETED] > 10


def test_killed_worker_reservations_expire_and_are_reoffered(redis_url: str) -> None:
    agents = load_worker.AGENTS
    hoarder = start(redis_url, 30.0, 7, "hoard", agents[:3])
    busy = start(redis_url, 5.0, 8, "mixed", agents[3:])
    # Kill it mid-load, holding reservations it never answers: as soon as it has one.
    assert hoarder.stdout is not None
    seen = [hoarder.stdout.readline().split()]
    while seen[-1][:1] != ["reserved"]:
        assert seen[-1] or hoarder.poll() is None, "the hoarding worker stopped early"
        seen.append(hoarder.stdout.readline().split())
    time.sleep(0.3)
    hoarder.send_signal(signal.SIGKILL)
    hoarded = {w[1]: w[2] for w in seen + lines(hoarder) if w[:1] == ["reserved"]}
    out = lines(busy)
    acked = {words[1] for words in out if words[0] == "ack"}
    assert hoarded, "the hoarding worker reserved nothing before it was killed"

    async def drain() -> None:
        # Time past every offer: the dead worker's reservations return to the queue.
        clock = lambda: SystemClock()() + 60.0  # noqa: E731
        store = RedisStore(load_worker.topology(), clock, settings=load_worker.SETTINGS,
                           url=redis_url)
        await store.run_timers()
        await store.close()

    asyncio.run(drain())
    status = check_site(redis_url, acked, [w for w in out if w[0] == "assigned"])
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        # nothing the dead worker reserved is stuck with it, and some went to the others
        reoffered = 0
        for iid, aid in hoarded.items():
            if iid not in status:
                continue
            held = r.hget(f"{PREFIX}ah:{aid}", iid)
            assert held is None or status[iid] != Status.RESERVED, (iid, aid)
            history = stored_history(r, PREFIX, iid)
            events = [(e[1], e[2]) for e in history]
            if ("offer_expired", aid) in events:
                after = events[events.index(("offer_expired", aid)):]
                reoffered += any(kind == "reserved" and who != aid for kind, who in after)
        assert reoffered > 0, "no expired reservation was re-offered to a live worker"
        # the dead worker's agents hold nothing any more (the drain may have pushed new
        # offers to the live worker's push-mode agents: those are fine)
        for aid in agents[:3]:
            assert not r.hgetall(f"{PREFIX}ah:{aid}"), aid
    finally:
        r.close()
