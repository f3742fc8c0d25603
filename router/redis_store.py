"""The production store: all routing state in Redis, every transition one atomic function.

Any number of stateless workers can serve one site: each `Store` call is one function of
the library in `router/redis_lua/omniroute.lua`, which Redis runs alone, so no two
workers can reserve the same interaction or push an agent over capacity, and there are
no client-side locks. The write transitions a worker's coroutines issue in one event-loop
turn travel in one `FCALL` of its `batch` function, which runs each as if called alone.
What needs no state is computed here, in pure Python shared with the memory store: the
ordering score (`router.ordering.redis_score`), the target after
each escalation step (`router.plan.target_after`), the SLA deadline (the injected
`DeadlinePolicy`), the bucket keys of each target and which agents each bucket admits
(skills and queues from the topology). `now` comes from the injected clock and is an
argument of every call, so virtual time works exactly as with `MemoryStore`.

Keys (one site, one hash tag, so Redis Cluster keeps a site on one shard):
    or:{site}:i:<id>        hash: one interaction (status, leg, targets, JSON facts, its
                            history as a JSON array in 'hist')
    or:{site}:rj:<id>       set: who rejected it
    or:{site}:b:<bucket>    zset: waiting interactions, score `redis_score`, member
                            `redis_member(seq, id)`
    or:{site}:ba:<bucket>   zset: ready (push-mode) agents by the strategy
    or:{site}:bdef / bmade  hash: bucket definitions (admitted agents) / buckets in use
    or:{site}:abk:<agent>:<channel>  set: buckets an agent may serve
    or:{site}:a:<agent>     hash: presence, capacity in use, idle times; its 'encoding'
                            note is long enough to keep it a hash table (not a listpack)
    or:{site}:ah:<agent>    hash: interactions held;   or:{site}:ax:<agent>  its index entries
    or:{site}:pref:<agent>  zset: interactions waiting for it as preferred agent
    or:{site}:arr:<q>|<ch>  zset: arrivals per queue × channel (depth, oldest wait)
    or:{site}:recv          hash: <q>|<ch> -> interactions that first arrived there
                            (`QueueDepth.received`, `interactions_received_total`)
    or:{site}:timers        zset: every due timer, member `<seq>:<kind>:<token>:<id>`
    or:{site}:seq           counter: arrival numbers, and a call's block of timer
                            sequence numbers (x100); 'tseq' kept them before (read)
    or:{site}:keys / keyexp hash / zset: idempotency keys and their expiry
    or:{site}:cnt           hash: status moves ('from>to') -> how many (arrivals: 'recv');
                            or:{site}:counts  per-status tallies of older workers (read)
    or:{site}:fin           list: finished interactions, oldest first
    or:{site}:events        stream: every domain event (XADD MAXLEN ~, about
                            `stream_maxlen` events), for SSE and audit; one field 'e',
                            the event as a JSON array (`decode_event`), or the array of
                            the events of one batch (`events_from_stream`)
    or:{site}:config        pub/sub channel: rules/config changes for every worker

Differences from `MemoryStore` (none observable by the contract suite or the
differential state machine):
- ordering packs priority and the deadline in milliseconds into one score
  (`redis_score`): two deadlines less than 1 ms apart order by arrival instead;
- with the least-occupied and highest-proficiency strategies the agent's idle time is
  ordered at microsecond resolution, and the load sum may differ in its last bit;
- interaction `attributes` round-trip through JSON (tuples come back as lists);
- a call retried by the client after a connection error that struck after Redis ran
  it runs twice: idempotent for ingest (same key → same id), a typed error or an extra
  reservation that expires for the others;
- `run_timers`/`next_timer_at` return 0/None while Redis is down (the service's timer
  loop must survive an outage); every other call raises `StoreUnavailable` (503).

Upgrades: from layout 6 on (`LAYOUT`; the library's name carries it, `omniroute_v6_…`),
a worker of a newer layout fences the libraries of older ones when it starts: each is
replaced by one whose functions (same names) only answer `OMNIROUTE_FENCED`, so an older
worker still running writes nothing the newer layout would misread; its calls fail (500)
until it is upgraded. Upgrade every worker, then resume. Layout 6 stops keeping an item's
fields while they hold their default (`ITEM_DEFAULTS` in the Lua), which workers of
earlier layouts would misread; layout-6 workers read items of every earlier layout.
Layout 7 writes a batch's events as one stream entry (an array of events), which
layout-6 workers' stream readers would skip (logged), so their SSE listeners would miss
them; its data is layout 6's otherwise, and it reads both kinds of entry.

Rolling deploys before layout 6: the stored layout changed five times, and workers of
different layouts must not serve one site together for long. Upgrade every worker, then
resume; or accept that, until all are upgraded, the figures listed here can be wrong.
Routing stays atomic and no interaction is lost or double-assigned:
- an item's current priority is its own field ('pri') and arrival-index scores are whole
  microseconds (they were float seconds): an older worker reading an item a newer one
  wrote, or the reverse, can misreport its priority in events and oldest-wait figures
  (snapshot) until the item finishes;
- per-status counts are kept as moves ('cnt'); older workers still write per-status
  tallies ('counts'). The snapshot of a newer worker adds both, so it stays right; an
  older worker's snapshot misses every move a newer worker made;
- timer members take their sequence number from 'seq' x 100 (one number per call, not
  per timer; the counter of arrival numbers, where it was 'tseq' before). A starting
  worker moves 'seq' past 'tseq', so timers due at the same instant fire in setting order
  once all workers are upgraded; while old and new workers both set timers such ties may
  fire out of order;
- arrivals are counted in 'recv' by ingest, and the snapshot's status counts take them
  from there (not from a '>queued' move in 'cnt', which workers before this layout also
  wrote and newer ones ignore): arrivals a worker older than 'recv' took in are not
  counted, and an older worker cannot read the snapshot a newer library returns (it has
  a fourth part), so its `/stats` and scrape gauges fail until it is upgraded;
- an item's history is its 'hist' field (it was a list, 'h:<id>', moved into the field
  by the first transition a newer worker makes on the item) and a stream entry is one
  field 'e' (it was a field per attribute, still read by newer workers): entries an
  older worker appends to the list of an item already moved are missing from newer
  workers' views, and an older worker skips (and logs) the newer stream entries, so its
  SSE listeners miss the events newer workers make;
- an SLA breach timer is set when the work's at-risk timer fires (it was set with it,
  at leg start): an older worker firing the at-risk timer of work a newer one took in
  sets none, so that work raises no `sla_breached` event and the breach counts miss it
  (service level itself is measured from answer times and stays right); work an older
  worker took in may get a second breach timer, which does nothing.

Live configuration (`upsert_*`, `remove_agent`) updates this worker and Redis. The
runtime announces each change with its content (JSON) on `or:{site}:config`
(`publish_config`, `watch_config`) and the other workers apply it (`adopt_topology`); published
rule versions live in Redis (`router.redis_rules`). The topology itself is not
persisted in Redis: a worker started later reads the configuration files.

Cost: one call is one function run; a pull-mode lifecycle (ingest, pull, accept,
complete) is 4, 3 with `complete_and_pull` when work is waiting.
The calls of all coroutines of a worker share one pipelined connection
(`router.redis_mux`): what they issue in one event-loop turn leaves in one write, and the
write transitions among them in one FCALL of the library's `batch` function (`BATCHED`).
A batch pays the FCALL's own cost (~5k server instructions, and the settings argument)
once, and writes once, at its end, what its transitions would each have written to
shared keys: one stream entry for all their events, one HINCRBY per status move, the
sequence counter (`GET`/`SET` instead of an `INCR` each). Each transition still runs as if
alone (its own checks, its own reply; an error, a failed redis.call included, is its
reply only), so a batch's outcome is that of its transitions called in order. Moving a
value between Redis and Lua costs ~2k instructions (~1k per reply field), so the functions
read only the fields a transition uses and return events as one JSON text; the common
cases of ingest, pull, accept and complete take straight-line versions of the general
path (`fast_paths`, on by default; off only for the tests that compare the two). Of the
server instructions of a lifecycle, about half are the commands it issues (with the FCALL
and redis.call machinery) and half the Lua around them (bench.redis replays the commands
alone); see bench/README.md for the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agents.model import SETTABLE_PRESENCES, AgentProfile, Presence, Queue, Team
from router.clock import Clock
from router.deadlines import Deadline, DeadlinePolicy, FixedDeadlines, overflow_queue
from router.engine import EngineSettings, IngestResult
from router.errors import (
    AgentBusy,
    AgentUnavailable,
    ConfigError,
    IllegalTransition,
    NotHeldByAgent,
    StoreUnavailable,
    UnknownAgent,
    UnknownInteraction,
    UnknownQueue,
)
from router.events import EventBus, Subscriber
from router.indexes import Requirement, meets, proficiency_score
from router.interaction import TRANSITIONS, Channel, Interaction, Status
from router.ordering import redis_score
from router.plan import RoutingPlan, target_after
from router.redis_codec import (
    CHANNEL_OF,
    COMPACT_ASCII_JSON,
    STATUS_OF,
    decode_event,
    decode_interaction,
    decode_plan,
    encode_interaction,
    encode_plan,
    event_arrays,
    opt,
    stored_json,
    unopt,
)
from router.redis_mux import RETRIES, TIMEOUT, Batchable, Multiplexer
from router.snapshot import QueueDepth, Snapshot
from router.topology import Topology
from router.work import AgentView, HistoryEntry, Reservation, WorkView

log = logging.getLogger("omniroute.redis")

_LUA = Path(__file__).with_name("redis_lua") / "omniroute.lua"
_CHANNELS = tuple(Channel)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
#: the transitions that may share one FCALL (the library's batch function runs them in
#: order, each as if alone): every write transition but init and the agent definitions
BATCHED = frozenset({"ingest", "pull", "accept", "reject", "wrap_up", "complete",
                     "complete_pull", "end", "transfer", "presence", "tick"})
#: Seconds between the snapshots refreshed for synchronous readers (metrics scrapes).
SNAPSHOT_EVERY = 1.0


def site_prefix(site: str) -> str:
    """Every key of one site starts with this; `{site}` is the Redis Cluster hash tag."""
    return f"or:{{{site}}}:"


def config_channel(site: str) -> str:
    """The pub/sub channel on which rules and configuration changes are announced."""
    return site_prefix(site) + "config"


#: A queue leg's fields (see `RedisStore._leg`), sent as that many arguments in this
#: order: the functions read them with no JSON to decode (the prelude carries the order).
LEG_FIELDS = ("q", "thr", "nbf", "mw", "due", "pa", "pt", "sa", "tg", "plan", "ovq", "othr",
              "odue", "tgo")
#: the leg arguments of a call that fails before reading them (an unknown queue)
_NO_LEG = ("",) * len(LEG_FIELDS)


#: The stored layout this release reads and writes. A worker fences the libraries of older
#: layouts when it starts (`fence_older_layouts`); bump it with any change that workers
#: of the previous layout would misread.
LAYOUT = 7
#: omniroute's libraries: `omniroute_<digest>` (layouts up to 5) or `omniroute_v<n>_<digest>`
_STORE_LIBRARY = re.compile(r"omniroute_(?:v(\d+)_)?[0-9a-f]{12}")
#: the error code of a fenced library's functions
FENCED = "OMNIROUTE_FENCED"


def layout_of(library_name: str) -> int | None:
    """The stored layout of one of omniroute's function libraries, by its name (5 for
    every release before layouts were named); None for any other library."""
    found = _STORE_LIBRARY.fullmatch(library_name)
    if found is None:
        return None
    return int(found.group(1)) if found.group(1) else 5


def fence_code(library_name: str, functions: Iterable[tuple[str, Sequence[str]]]) -> str:
    """A library that takes the place of `library_name`: the same functions (names and
    flags), each answering only an `OMNIROUTE_FENCED` error, writing nothing; described as
    `OMNIROUTE_FENCED`, so FUNCTION LIST tells a fence without its code."""
    message = (f"{FENCED} this site's data is kept in layout {LAYOUT} now, by a newer"
               f" omniroute release; upgrade this worker ({library_name})")
    lines = [f"#!lua name={library_name}",
             f"local function fenced() return redis.error_reply({json.dumps(message)}) end"]
    for name, flags in functions:
        listed = ", ".join(json.dumps(flag) for flag in flags)
        lines.append(f"redis.register_function{{function_name={json.dumps(name)},"
                     f" callback=fenced, flags={{{listed}}}, description={json.dumps(FENCED)}}}")
    return "\n".join(lines) + "\n"


def _fields(entry: Any) -> dict[str, Any]:
    """A FUNCTION LIST entry as a dict (RESP2 sends it as a flat name/value list)."""
    if isinstance(entry, dict):
        return entry
    return {str(entry[i]): entry[i + 1] for i in range(0, len(entry), 2)}


async def fence_older_layouts(client: aioredis.Redis) -> list[str]:
    """Replace every omniroute library of a layout older than `LAYOUT` by its fence
    (`fence_code`); returns the names fenced now. Idempotent; FUNCTION LOAD REPLACE is
    atomic, so a call of the older library runs wholly before its fence or not at all."""
    fenced = []
    # (without the code: every release left a library of ~70 KB behind, and this runs at
    # every worker start)
    for entry in await client.function_list(library="omniroute_*"):
        library = _fields(entry)
        name = str(library["library_name"])
        layout = layout_of(name)
        functions = [_fields(f) for f in library["functions"]]
        if (layout is None or layout >= LAYOUT
                or any(f["description"] == FENCED for f in functions)):
            continue
        await client.function_load(
            fence_code(name, [(str(f["name"]), [str(flag) for flag in f["flags"]])
                              for f in functions]),
            replace=True)
        fenced.append(name)
    return fenced


@cache
def library() -> tuple[str, str]:
    """(library name, code): a generated prelude (the lifecycle table) + the Lua file.

    The name carries the layout and a digest of the code, so workers of two releases of
    one layout can share a Redis during a rolling deploy, each calling its own functions
    (those of an older layout are fenced, see `fence_older_layouts`).
    """
    transitions = ", ".join(
        f"{s.value} = {{{', '.join(f'{t.value} = true' for t in sorted(ts))}}}"
        for s, ts in TRANSITIONS.items()
    )
    channels = ", ".join(f"'{c.value}'" for c in _CHANNELS)
    legs = ", ".join(f"'{f}'" for f in LEG_FIELDS)
    batched = ", ".join(f"['{op}'] = true" for op in sorted(BATCHED))
    body = _LUA.read_text(encoding="utf-8")
    digest = hashlib.sha1(
        f"{channels}{transitions}{legs}{batched}{body}".encode()).hexdigest()[:12]
    name = f"omniroute_v{LAYOUT}_{digest}"
    prelude = (
        f"#!lua name={name}\n"
        f"local LIB = '{name}'\n"
        f"local CHANNELS = {{{channels}}}\n"
        f"local TRANSITIONS = {{{transitions}}}\n"
        f"local LEG_FIELDS = {{{legs}}}\n"
        f"local BATCHED_NAMES = {{{batched}}}\n"
    )
    return name, prelude + body


def connect(
    url: str, max_connections: int = 64, timeout: float = TIMEOUT, retries: int = RETRIES
) -> aioredis.Redis:
    """A client over a bounded, blocking pool, with timeouts and retry with backoff.

    Waiting for a pooled connection is bounded by `timeout` too, so a saturated worker
    answers 503 instead of queueing requests without limit.
    """
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.01), retries)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, decode_responses=True,
        socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry,
        retry_on_error=[RedisConnectionError],
    )
    return aioredis.Redis(connection_pool=pool)


def _f(value: float) -> str:
    """A float as text that round-trips exactly (Lua's tonumber reads it back as is)."""
    return repr(float(value))


def bucket_key(queue: str, channel: Channel, requirement: Requirement) -> str:
    """One bucket per (queue, channel, requirement set); the order of requirements is
    irrelevant to who may take the work, so it is normalized."""
    skills = ",".join(f"{r.skill}>={r.min_proficiency}" for r in sorted(requirement))
    return f"{queue}|{channel.value}|{skills}"


def _target_shapes(
    plan: RoutingPlan, channel: Channel
) -> list[tuple[int, list[str], list[str]]]:
    """(priority, queues, bucket keys) after 0..n steps: all but the score, memoized."""
    try:
        return _cached_shapes(plan, channel)
    except TypeError:  # an unhashable plan: compute it each time
        return _shapes(plan, channel)


@lru_cache(maxsize=4096)
def _cached_shapes(
    plan: RoutingPlan, channel: Channel
) -> list[tuple[int, list[str], list[str]]]:
    return _shapes(plan, channel)


def _shapes(plan: RoutingPlan, channel: Channel) -> list[tuple[int, list[str], list[str]]]:
    shapes = []
    for applied in range(len(plan.steps) + 1):
        target = target_after(plan, applied)
        keys = [bucket_key(q, channel, target.skills) for q in target.queues]
        shapes.append((target.priority, list(target.queues), keys))
    return shapes


#: where `_leg` puts the fields that depend on when a leg starts
_DUE, _TG, _ODUE, _TGO = (LEG_FIELDS.index(name) for name in ("due", "tg", "odue", "tgo"))
#: a placeholder for a score while the text around it is made, and its JSON form
_MARK = "\x00"
_MARK_JSON = "\\u0000"


class _TargetsText:
    """A plan's targets after 0..n escalation steps as the functions keep them ('tg'): a
    JSON array of {"p": priority, "s": score, "q": queues, "b": buckets}, of which only
    the scores depend on when the leg starts. The text around each score is made once:
    with the score put back it is the text of encoding the rows (a score is digits and a
    point, nothing JSON escapes)."""

    __slots__ = ("buckets", "first_bucket", "first_priority", "rows")

    def __init__(self, shapes: list[tuple[int, list[str], list[str]]]) -> None:
        self.rows: list[tuple[int, str, str]] = []  # (priority, text before, after score)
        self.buckets: list[str] = []
        for priority, queues, keys in shapes:
            self.buckets += keys
            text = COMPACT_ASCII_JSON.encode({"p": priority, "s": _MARK, "q": queues,
                                              "b": keys})
            before, after = text.split(_MARK_JSON, 1)
            self.rows.append((priority, before, after))
        first_priority, _, first_keys = shapes[0]
        self.first_bucket = first_keys[0] if len(first_keys) == 1 else ""
        self.first_priority = str(first_priority)

    def at(self, due: float) -> tuple[str, tuple[str, str, str]]:
        """The targets of a leg due at `due` as text, and its first target as ingest takes
        it: (its bucket if it has one only, else ''; its score; its priority)."""
        scores = [_f(redis_score(priority, due)) for priority, _, _ in self.rows]
        text = ",".join([before + score + after
                         for (_, before, after), score in zip(self.rows, scores, strict=True)])
        return "[" + text + "]", (self.first_bucket, scores[0], self.first_priority)


class _LegShape(NamedTuple):
    """A leg's fields but those that depend on when it starts (due, targets, and the
    overflow's), with what those are computed from."""

    fields: tuple[str, ...]
    deadline: Deadline
    targets: _TargetsText
    #: the overflow's targets and threshold, when the leg can overflow
    moved: tuple[_TargetsText, float] | None
    buckets: tuple[str, ...]


class RedisStore:
    """`Store` over Redis. Construct synchronously; connects and loads on first use."""

    def __init__(
        self,
        topology: Topology,
        clock: Clock,
        deadlines: DeadlinePolicy | None = None,
        settings: EngineSettings | None = None,
        *,
        url: str = "redis://127.0.0.1:6379/0",
        stream_maxlen: int = 100_000,
        max_connections: int = 64,
        fast_paths: bool = True,
    ) -> None:
        self.topology = topology
        self.clock = clock
        self.deadlines: DeadlinePolicy = deadlines or FixedDeadlines()
        self.settings = settings or EngineSettings()
        self.url = url
        # (no client to inject: the routing calls open their own connection from `url`,
        # so a client for another server would have split one store across two)
        self.client = connect(url, max_connections=max_connections)
        # The routing calls take the pipelined connection (see router.redis_mux); the
        # pooled client keeps the rest (library loading, reads, pub/sub, the stream).
        self._mux = Multiplexer(url)
        self.prefix = site_prefix(topology.site)
        self.bus = EventBus()
        self.library, self._code = library()
        # One argument for all of them: every argument costs an encode on each call.
        self._common = " ".join((
            self.settings.strategy.value, _f(self.settings.offer_timeout),
            str(self.settings.missed_offers_limit), _f(self.settings.wrap_up_timeout),
            str(self.settings.retain_finished), _f(self.settings.idempotency_ttl),
            str(stream_maxlen),
            # the common cases of ingest, pull, accept and complete have straight-line
            # versions (see omniroute.lua); off, every call takes the general path (tests)
            "1" if fast_paths else "0",
        ))
        self._heads: dict[str, tuple[str, ...]] = {}
        self._batch_head = ("FCALL", f"{self.library}_batch", "1", self.prefix, self._common)
        #: legs by (plan, channel, public) but for their start (`_leg_shape`), and the
        #: topology and SLA policies they were computed with
        self._legs: dict[tuple[RoutingPlan, Channel, bool], _LegShape] = {}
        self._legs_for: tuple[Topology | None, DeadlinePolicy | None] = (None, None)
        #: interactions this worker ingested, by their encoded facts (what views return)
        self._ready = False
        self._setting_up: asyncio.Task[None] | None = None
        self._defs_sent: set[str] = set()
        self._queues_of = {aid: topology.queues_of(p) for aid, p in topology.agents.items()}
        self._snapshot: Snapshot | None = None
        self._snapshot_taken = float("-inf")
        #: Redis round trips made by this store (the benchmark reports them per lifecycle)
        self.round_trips = 0

    @property
    def socket_writes(self) -> int:
        """Writes of routing calls to the socket so far: concurrent calls share one."""
        return self._mux.writes

    # ------------------------------------------------------------------ plumbing
    async def _ensure(self) -> None:
        """Load the library and register the agents, once for all concurrent callers."""
        if self._ready:
            return
        loop = asyncio.get_running_loop()
        task = self._setting_up
        if task is None or task.get_loop() is not loop:
            task = self._setting_up = loop.create_task(self._setup())
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._setting_up is task:
                self._setting_up = None

    async def _setup(self) -> None:
        await self._load_library()
        args: list[str] = []
        for aid, profile in self.topology.agents.items():
            blocking = "|" + "|".join(c.value for c in profile.blocking) + "|"
            args += [aid, blocking, *(str(profile.capacity.get(c, 0)) for c in _CHANNELS)]
        reply = await self._call("init", args, self.clock())
        if reply[0] != "ok":
            raise _error(reply[1])
        self._ready = True

    async def _reregister(self) -> None:
        self._ready = False
        self._defs_sent.clear()
        await self._ensure()

    async def _load_library(self) -> None:
        try:
            self.round_trips += 1
            await self.client.function_load(self._code)
        except ResponseError as exc:
            if "already exists" not in str(exc):
                raise
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc
        try:
            self.round_trips += 1
            fenced = await fence_older_layouts(self.client)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc
        if fenced:
            log.warning("fenced the functions of older layouts (workers still running"
                         " them fail until upgraded): %s", ", ".join(fenced))

    async def _call(self, op: str, args: Sequence[str], now: float) -> Any:
        """One FCALL of `op`, its raw reply; StoreUnavailable when Redis cannot be reached.
        A write transition may share one FCALL with those the worker's other coroutines
        issue in the same event-loop turn (the library's batch function)."""
        self.round_trips += 1
        call: Sequence[str] | Batchable
        if op in BATCHED:
            call = Batchable(self._batch_head, (op, str(len(args)), _f(now), *args))
        else:
            head = self._heads.get(op)
            if head is None:  # FCALL name 1 prefix: the same on every call of `op`
                head = self._heads[op] = ("FCALL", f"{self.library}_{op}", "1", self.prefix)
            call = (*head, _f(now), self._common, *args)
        try:
            return await self._mux.call(call)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc

    async def _fcall(self, op: str, args: Sequence[str], now: float) -> Any:
        """Run one transition; publish its events; raise its typed error, if any."""
        if not self._ready:
            await self._ensure()
        for attempt in (1, 2):
            try:
                reply = await self._call(op, args, now)
            except ResponseError as exc:
                # A server restarted without persistence (or flushed) lost the library
                # and the agents: load and register them again, then go again.
                if attempt == 1 and "Function not found" in str(exc):
                    await self._reregister()
                    continue
                raise
            if reply[0] == "ok":
                break
            # A configured agent Redis does not know: the data was flushed; register again.
            code, *details = reply[1]
            if attempt == 1 and code == "unknown_agent" and details[0] in self.topology.agents:
                await self._reregister()
                continue
            raise _error(reply[1])
        if reply[1] and self.bus.active:
            self._publish(reply[1])
        # The result: the reply's elements after the events. A table result's elements
        # come there (one table less for Redis to convert), any other result as the one
        # element.
        return reply[2:]

    def _publish(self, raw: str) -> None:
        for event in event_arrays(raw):
            self.bus.publish(decode_event(event, self.topology))
    # ------------------------------------------------------------------ pure policy
    def _leg(
        self, interaction: Interaction, plan: RoutingPlan, now: float
    ) -> tuple[tuple[str, ...], list[str], Deadline, tuple[str, str, str]]:
        """Everything about one queue leg that needs no state: (its fields, in the order of
        `LEG_FIELDS`, its buckets, the deadline they were taken from, and its first target
        as ingest takes it: its bucket if it has one only (else ''), score, priority)."""
        shape = self._leg_shape(plan, interaction.channel, interaction.public)
        fields = list(shape.fields)
        due = now + shape.deadline.threshold
        fields[_DUE], (fields[_TG], first) = _f(due), shape.targets.at(due)
        if shape.moved is not None:
            moved_targets, moved_threshold = shape.moved
            moved_due = now + moved_threshold
            fields[_ODUE], (fields[_TGO], _) = _f(moved_due), moved_targets.at(moved_due)
        return tuple(fields), list(shape.buckets), shape.deadline, first

    def _leg_shape(self, plan: RoutingPlan, channel: Channel, public: bool) -> _LegShape:
        """The part of a leg that does not depend on when it starts, memoized per (plan,
        channel, public) for the topology and SLA policies in force (both are replaced
        whole when they change, never changed in place)."""
        topology, deadlines = self._legs_for
        if topology is not self.topology or deadlines is not self.deadlines:
            self._legs.clear()
            self._legs_for = (self.topology, self.deadlines)
        key = (plan, channel, public)
        try:
            shape = self._legs.get(key)
        except TypeError:  # a plan built with an unhashable field: computed each time
            return self._new_leg_shape(plan, channel, public)
        if shape is None:
            if len(self._legs) >= 4096:
                self._legs.clear()
            shape = self._legs[key] = self._new_leg_shape(plan, channel, public)
        return shape

    def _new_leg_shape(self, plan: RoutingPlan, channel: Channel, public: bool) -> _LegShape:
        deadline = self.deadlines.deadline(
            self.topology.team_of(plan.queue), channel, plan.sla_class, public
        )
        max_wait = plan.max_wait if plan.max_wait is not None else deadline.max_wait
        overflow = overflow_queue(plan, deadline, self.topology.queues)
        targets = _TargetsText(_target_shapes(plan, channel))
        buckets = list(targets.buckets)
        fields = {
            "q": plan.queue, "thr": _f(deadline.threshold),
            "nbf": _f(deadline.near_breach_fraction),
            "mw": "" if max_wait is None else _f(max_wait),
            "due": "", "pa": plan.preferred_agent or "",
            "pt": _f(plan.preferred_timeout),
            "sa": json.dumps([step.after for step in plan.steps]),
            "tg": "", "plan": encode_plan(plan),
            "ovq": "", "othr": "", "odue": "", "tgo": "",
        }
        moved: tuple[_TargetsText, float] | None = None
        if overflow is not None:
            moved_plan = replace(plan, queue=overflow, max_wait=None)
            moved_deadline = self.deadlines.deadline(
                self.topology.team_of(overflow), channel, plan.sla_class, public
            )
            moved_targets = _TargetsText(_target_shapes(moved_plan, channel))
            buckets += moved_targets.buckets
            moved = (moved_targets, moved_deadline.threshold)
            fields.update(ovq=overflow, othr=_f(moved_deadline.threshold))
        return _LegShape(tuple(fields[name] for name in LEG_FIELDS), deadline, targets,
                         moved, tuple(buckets))

    def _bucket_defs(self, buckets: Iterable[str], force: bool) -> str:
        """{key: admitted agents} as JSON, for buckets this process has not sent yet."""
        defs: dict[str, str] = {}
        for key in dict.fromkeys(buckets):
            if key in self._defs_sent and not force:
                continue
            queue = key.split("|", 1)[0]
            requirement = self._requirement(key)
            admitted = [
                [aid, proficiency_score(profile, requirement)]
                for aid, profile in self.topology.agents.items()
                if queue in self._queues_of[aid] and meets(profile, requirement)
            ]
            defs[key] = COMPACT_ASCII_JSON.encode(admitted)
        return COMPACT_ASCII_JSON.encode(defs) if defs else "{}"

    @staticmethod
    def _requirement(key: str) -> Requirement:
        from router.plan import SkillRequirement

        skills = key.split("|", 2)[2]
        if not skills:
            return ()
        parts = (s.rsplit(">=", 1) for s in skills.split(","))
        return tuple(SkillRequirement(name, int(level)) for name, level in parts)

    async def _with_defs(
        self, op: str, head: list[str], legs: Sequence[str], buckets: list[str], now: float,
        tail: Sequence[str] = (),
    ) -> Any:
        """Call `op` sending the bucket definitions it may need (all of them on retry)."""
        try:
            result = await self._fcall(
                op, [*head, *legs, self._bucket_defs(buckets, False), *tail], now)
        except _MissingDefinition:
            result = await self._fcall(
                op, [*head, *legs, self._bucket_defs(buckets, True), *tail], now)
        self._defs_sent.update(buckets)
        return result

    def _offer_expiry(self, now: float) -> str:
        """When an offer made at `now` expires, as text: the double the functions would
        compute (a string.format less for them, a float repr here)."""
        return _f(now + self.settings.offer_timeout)

    # ------------------------------------------------------------------ transitions
    async def ingest(self, interaction: Interaction, plan: RoutingPlan) -> IngestResult:
        now = self.clock()
        dedup = f"{interaction.channel.value}:{interaction.idempotency_key}"
        known = plan.queue in self.topology.queues
        facts = encode_interaction(interaction)
        head = [dedup, interaction.id, interaction.channel.value, "1" if known else "0",
                facts, plan.queue]
        legs: Sequence[str] = _NO_LEG
        buckets: list[str] = []
        tail: tuple[str, ...] = ("",) * 6
        if known:
            legs, buckets, deadline, first = self._leg(interaction, plan, now)
            # Times the functions would otherwise format (a string.format is ~3k server
            # instructions, this ~0.2 µs here): the key's expiry, the SLA at-risk time and
            # the arrival score (whole µs), each the same double the functions compute;
            # then the first target as 'tg' has it (its JSON then need not be decoded).
            at_risk = now + deadline.threshold * deadline.near_breach_fraction
            tail = (_f(now + self.settings.idempotency_ttl), _f(at_risk),
                    str(math.floor(now * 1e6)), *first)
        created, iid, status = await self._with_defs("ingest", head, legs, buckets, now, tail)
        return IngestResult(iid, created == "1", STATUS_OF[status])

    async def pull(self, agent_id: str) -> Reservation | None:
        now = self.clock()
        raw = await self._fcall("pull", [agent_id, self._offer_expiry(now)], now)
        return _reservation(None if raw == [None] else raw)

    async def accept(self, agent_id: str, interaction_id: str) -> WorkView:
        return self._view(await self._fcall("accept", [agent_id, interaction_id], self.clock()))

    async def reject(
        self, agent_id: str, interaction_id: str, reason: str | None = None
    ) -> WorkView:
        raw = await self._fcall("reject", [agent_id, interaction_id, opt(reason)], self.clock())
        return self._view(raw)

    async def wrap_up(self, agent_id: str, interaction_id: str) -> WorkView:
        raw = await self._fcall("wrap_up", [agent_id, interaction_id], self.clock())
        return self._view(raw)

    async def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> WorkView:
        raw = await self._fcall(
            "complete", [agent_id, interaction_id, opt(disposition)], self.clock()
        )
        return self._view(raw)

    async def complete_and_pull(
        self, agent_id: str, interaction_id: str, disposition: str | None = None
    ) -> tuple[WorkView, Reservation | None]:
        now = self.clock()
        raw_view, raw_reservation = await self._fcall(
            "complete_pull",
            [agent_id, interaction_id, opt(disposition), self._offer_expiry(now)], now,
        )
        return self._view(raw_view), _reservation(raw_reservation)

    async def abandon(self, interaction_id: str, reason: str | None = None) -> WorkView:
        raw = await self._fcall("end", [interaction_id, "abandoned", opt(reason)], self.clock())
        return self._view(raw)

    async def cancel(self, interaction_id: str, reason: str | None = None) -> WorkView:
        raw = await self._fcall("end", [interaction_id, "cancelled", opt(reason)], self.clock())
        return self._view(raw)

    async def transfer(
        self, interaction_id: str, plan: RoutingPlan, reason: str | None = None
    ) -> WorkView:
        if not self._ready:
            await self._ensure()
        # The deadline depends on the interaction's channel and publicity (immutable
        # facts), so read them first; the transfer itself stays one atomic call.
        try:
            self.round_trips += 1
            # the client decodes responses (`connect`): a str, or None when unknown
            facts = cast("str | None", await self.client.hget(
                self.prefix + "i:" + interaction_id, "ix"))
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc
        now = self.clock()
        known = plan.queue in self.topology.queues
        legs: Sequence[str] = _NO_LEG
        buckets: list[str] = []
        if facts is not None and known:
            legs, buckets, _, _ = self._leg(decode_interaction(facts), plan, now)
        head = [interaction_id, "1" if known else "0", opt(reason), plan.queue]
        return self._view(await self._with_defs("transfer", head, legs, buckets, now))

    async def set_presence(
        self, agent_id: str, presence: Presence, reason: str | None = None,
        auto_offer: bool | None = None,
    ) -> AgentView:
        if presence not in SETTABLE_PRESENCES:
            raise ValueError(
                f"presence {presence!s} cannot be set; use one of"
                f" {sorted(p.value for p in SETTABLE_PRESENCES)}"
            )
        if agent_id not in self.topology.agents:
            raise UnknownAgent(agent_id)
        ao = "" if auto_offer is None else ("1" if auto_offer else "0")
        raw = await self._fcall(
            "presence", [agent_id, presence.value, opt(reason), ao], self.clock()
        )
        return self._agent_view(agent_id, raw)

    async def run_timers(self) -> int:
        # The service's timer loop must outlive a Redis outage: nothing fires while Redis
        # is down, and the loop retries on its next turn.
        try:
            (fired_text,) = await self._fcall("tick", [], self.clock())
            fired = int(fired_text)
            # The service's timer loop runs at least once a second: refresh the snapshot
            # the synchronous Prometheus collector reads (`latest_snapshot`) at that pace.
            if time.monotonic() - self._snapshot_taken >= SNAPSHOT_EVERY:
                await self.snapshot()
        except StoreUnavailable as exc:
            log.warning("timers not run: %s", exc)
            return 0
        return fired

    async def next_timer_at(self) -> float | None:
        try:
            (raw,) = await self._fcall("next_timer", [], self.clock())
        except StoreUnavailable:
            return None  # the service then sleeps its maximum and tries again
        return None if not raw else float(raw)

    # ------------------------------------------------------------------ live configuration
    # The topology is configuration every worker holds; a change here is applied to this
    # worker and to Redis. The runtime announces it to the other workers.
    async def upsert_team(self, team: Team) -> None:
        self.topology = self.topology.with_team(team)

    async def upsert_queue(self, queue: Queue) -> None:
        if self.topology.queue_moves_team(queue) and await self._waiting(queue.id):
            raise self.topology.queue_move_refused(queue)
        self.topology = self.topology.with_queue(queue)
        # Agents that serve "every queue of their teams" may gain or lose this one.
        for profile in list(self.topology.agents.values()):
            if not profile.queues:
                await self.upsert_agent(profile)

    async def _waiting(self, queue: str) -> bool:
        if not self._ready:
            await self._ensure()
        async with self.client.pipeline(transaction=False) as pipe:
            for channel in _CHANNELS:
                pipe.zcard(f"{self.prefix}arr:{queue}|{channel.value}")
            self.round_trips += 1
            return any(await pipe.execute())

    async def upsert_agent(self, profile: AgentProfile) -> AgentView:
        for team in profile.teams:
            if team not in self.topology.teams:
                raise ConfigError(f"agent {profile.id!r}: unknown team {team!r}")
        for queue in profile.queues:
            if queue not in self.topology.queues:
                raise UnknownQueue(queue)
        self.topology = self.topology.with_agent(profile)
        self._queues_of[profile.id] = self.topology.queues_of(profile)
        if not self._ready:
            await self._ensure()
        self.round_trips += 1
        # Every bucket defined so far, in use or not yet (escalation and overflow targets).
        defined = [str(k) for k in await self.client.hkeys(self.prefix + "bdef")]
        admitted: list[str] = []
        for key in defined:
            queue, channel, _ = key.split("|", 2)
            requirement = self._requirement(key)
            if queue in self._queues_of[profile.id] and meets(profile, requirement):
                admitted += [key, channel, str(proficiency_score(profile, requirement))]
        blocking = "|" + "|".join(c.value for c in profile.blocking) + "|"
        raw = await self._fcall("upsert_agent", [
            profile.id, blocking, *(str(profile.capacity.get(c, 0)) for c in _CHANNELS),
            str(len(admitted) // 3), *admitted,
        ], self.clock())
        self._defs_sent.clear()
        return self._agent_view(profile.id, raw)

    async def remove_agent(self, agent_id: str) -> None:
        if agent_id not in self.topology.agents:
            raise UnknownAgent(agent_id)
        await self._fcall("remove_agent", [agent_id], self.clock())
        self.topology = self.topology.without_agent(agent_id)
        self._queues_of.pop(agent_id, None)
        self._defs_sent.clear()

    def adopt_topology(self, topology: Topology) -> None:
        """Take a topology another worker changed (and already wrote to Redis): update
        this worker's view only; the next calls resend bucket definitions from it."""
        self.topology = topology
        self._queues_of = {aid: topology.queues_of(p) for aid, p in topology.agents.items()}
        self._defs_sent.clear()

    @property
    def events_key(self) -> str:
        """The site's event stream (every transition XADDs its events there)."""
        return self.prefix + "events"

    # ------------------------------------------------------------------ reading
    async def get(self, interaction_id: str) -> WorkView:
        return self._view(await self._fcall("get", [interaction_id], self.clock()))

    async def find_by_key(self, channel: Channel, idempotency_key: str) -> str | None:
        try:
            self.round_trips += 1
            found = await self.client.hget(
                self.prefix + "keys", f"{channel.value}:{idempotency_key}"
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc
        return None if found is None else str(found)

    async def agent(self, agent_id: str) -> AgentView:
        if agent_id not in self.topology.agents:
            raise UnknownAgent(agent_id)
        return self._agent_view(agent_id, await self._fcall("agent", [agent_id], self.clock()))

    async def snapshot(self) -> Snapshot:
        now = self.clock()
        raw_queues, raw_agents, raw_counts, raw_received = await self._fcall(
            "snapshot", [], now)
        received = {qc: int(n) for qc, n in zip(raw_received[::2], raw_received[1::2],
                                               strict=True)}
        lanes = {qc: (int(depth), oldest) for qc, depth, oldest in raw_queues}
        queues = []
        for qc in lanes.keys() | received.keys():
            queue, channel = qc.split("|", 1)
            depth, oldest = lanes.get(qc, (0, ""))
            queues.append((queue, Channel(channel), depth, oldest, received.get(qc, 0)))
        depths = tuple(
            QueueDepth(queue=q, team=self.topology.team_of(q), channel=c.value, depth=d,
                       oldest_enqueued_at=float(oldest) if oldest else None, received=n)
            for q, c, d, oldest, n in sorted(queues)
        )
        by_presence: dict[str, dict[str, int]] = {
            team: dict.fromkeys((p.value for p in Presence), 0) for team in self.topology.teams
        }
        occupancy: dict[str, tuple[int, int]] = {}
        for aid, shown, presence, held in raw_agents:
            profile = self.topology.agents.get(aid)
            if profile is None:
                continue  # an agent removed from the configuration since
            for team in profile.teams:
                by_presence[team][shown] += 1
                if presence != Presence.OFFLINE.value:
                    used, slots = occupancy.get(team, (0, 0))
                    occupancy[team] = (used + int(held), slots + sum(profile.capacity.values()))
        counts = dict(zip(raw_counts[::2], raw_counts[1::2], strict=True))
        snapshot = Snapshot(
            at=now, queues=depths, agents_by_presence=by_presence, occupancy=occupancy,
            statuses={s.value: int(counts.get(s.value, 0)) for s in Status},
        )
        self._snapshot, self._snapshot_taken = snapshot, time.monotonic()
        return snapshot

    def latest_snapshot(self) -> Snapshot:
        """The latest snapshot taken (at most `SNAPSHOT_EVERY` s old while the service runs);
        what a synchronous reader such as the Prometheus collector can have."""
        if self._snapshot is None:
            return Snapshot(at=self.clock(), queues=(), agents_by_presence={})
        return self._snapshot

    def _view(self, raw: list[Any]) -> WorkView:
        facts, plan_s, status, queue, priority, enqueued, due, agent_id, disposition, moved, \
            history = raw
        plan = decode_plan(plan_s)
        if moved == "1":  # overflowed: the core replaces the plan's queue and max wait
            plan = replace(plan, queue=queue, max_wait=None)
        return WorkView(
            interaction=decode_interaction(facts), plan=plan,
            status=STATUS_OF[status],
            queue=queue, team=self.topology.team_of(queue), priority=int(priority),
            enqueued_at=float(enqueued), due_at=float(due), agent_id=agent_id or None,
            disposition=unopt(disposition), history=_history(history),
        )

    def _agent_view(self, agent_id: str, raw: list[Any]) -> AgentView:
        shown, reason, auto_offer, held, active, missed = raw
        profile = self.topology.agents[agent_id]
        return AgentView(
            id=agent_id, teams=profile.teams, presence=Presence(shown),
            reason=unopt(reason), auto_offer=auto_offer == "1",
            held={held[i]: Channel(held[i + 1]) for i in range(0, len(held), 2)},
            active={c: int(n) for c, n in zip(_CHANNELS, active, strict=True) if int(n)},
            capacity=dict(profile.capacity), missed_offers=int(missed),
        )

    # ------------------------------------------------------------------ the rest
    async def ping(self) -> bool:
        try:
            self.round_trips += 1
            return bool(await self.client.ping())
        except (*_UNAVAILABLE, ResponseError):
            return False

    def subscribe(self, subscriber: Subscriber) -> None:
        self.bus.subscribe(subscriber)

    def set_deadlines(self, deadlines: DeadlinePolicy) -> None:
        self.deadlines = deadlines

    async def publish_config(self, message: str) -> int:
        """Announce a rules/config change (e.g. `rules:<version>`) to every worker."""
        try:
            return int(await self.client.publish(config_channel(self.topology.site), message))
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self.url, str(exc) or type(exc).__name__) from exc

    async def watch_config(self, on_message: Callable[[str], None]) -> asyncio.Task[None]:
        """Call `on_message` with every config announcement (from any worker, this one
        included) until the returned task is cancelled. Subscribed before returning, so
        no announcement made after this call is missed."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(config_channel(self.topology.site))

        async def listen() -> None:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_message(str(message["data"]))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

        return asyncio.create_task(listen(), name="omniroute-config-watch")

    async def close(self) -> None:
        await self._mux.aclose()
        await self.client.aclose()
        await self.client.connection_pool.disconnect()


class _MissingDefinition(Exception):
    """A bucket definition this process believed sent is gone (the server was flushed)."""


def _reservation(raw: list[str] | None) -> Reservation | None:
    if not raw:  # (Lua's false arrives as None)
        return None
    iid, aid, channel, queue, reserved, expires = raw
    return Reservation(iid, aid, CHANNEL_OF[channel], queue, float(reserved), float(expires))


_new_tuple = tuple.__new__


def _entries(raw: str) -> tuple[HistoryEntry, ...]:
    # (tuple.__new__: a NamedTuple's own constructor costs a Python call an entry)
    return tuple([
        _new_tuple(HistoryEntry, (float(at), event, agent_id or None, queue, unopt(reason)))
        for at, event, agent_id, queue, reason in stored_json(raw)
    ])


#: Histories this worker decoded last, by their text, for the next transition of the same
#: item, whose history is that text plus one entry (bounded: emptied when full).
_HISTORIES: dict[str, tuple[HistoryEntry, ...]] = {}
_HISTORIES_KEPT = 4096
# Outside string literals this occurs only between entries (arrays of strings). A string
# can end with ',[' (its closing quote then follows): a cut there leaves an unterminated
# string, text the functions never sent, so the look-up misses and the whole is decoded.
_LAST_ENTRY = ',["'


def _history(raw: str) -> tuple[HistoryEntry, ...]:
    """An item's history as the functions keep it ('hist'): a JSON array of
    [at, event, agent, queue, reason] entries, each transition appending one. Accept and
    complete both return it: a completion by the worker that took the acceptance decodes
    only its own entry."""
    cut = raw.rfind(_LAST_ENTRY)
    earlier = _HISTORIES.pop(raw[:cut] + "]", None) if cut > 0 else None
    history = _entries(raw) if earlier is None else earlier + _entries("[" + raw[cut + 1:])
    if len(_HISTORIES) >= _HISTORIES_KEPT:
        _HISTORIES.clear()
    _HISTORIES[raw] = history
    return history


def _error(raw: list[str]) -> Exception:
    code, *args = raw
    if code == "illegal":
        return IllegalTransition(args[0], args[1], args[2])
    if code == "unknown_interaction":
        return UnknownInteraction(args[0])
    if code == "unknown_agent":
        return UnknownAgent(args[0])
    if code == "not_held":
        return NotHeldByAgent(args[0], args[1], args[2] or None)
    if code == "unavailable":
        return AgentUnavailable(args[0], args[1])
    if code == "unknown_queue":
        return UnknownQueue(args[0])
    if code == "busy":
        return AgentBusy(args[0], args[1], int(args[2]))
    if code == "nodef":
        return _MissingDefinition(args[0])
    return RuntimeError(f"omniroute redis function failed: {raw!r}")
