"""One pipelined Redis connection shared by every coroutine of a worker (the hot path).

Why not redis-py's pooled client for the routing calls: measured here, each
`await client.fcall(...)` costs ~100 µs of client CPU (pool checkout, per-call
`wait_for` timeout, retry wrapper, observability hooks, one `send` per command), about
as much as the routing work itself on the server, and every call is also one
read/write syscall pair on the server. Redis runs commands one at a time anyway, so
nothing is gained from several connections; many are gained from one:

- commands issued by any number of coroutines in one event-loop turn leave in one
  `write` (Redis then reads them with one `read` and answers with one `write`);
- replies come back in order, so a FIFO of futures pairs them with their callers;
- hiredis parses the replies (as redis-py does, minus the layers around it);
- calls marked `Batchable` that follow one another in a write, to the same batch
  function, become one command (at most `MAX_BATCH` calls): the server runs one function
  for them and answers with one reply per call, which go to their callers in order (the
  store's routing transitions, see router/redis_store.py).

This is how the multiplexing clients of other ecosystems work (Lettuce,
StackExchange.Redis). It carries only commands that never block the server (the
routing functions); blocking reads, pub/sub and administration stay on redis-py.

Failure handling mirrors the pooled client it replaces, so callers see the same
exceptions (`redis.exceptions.ConnectionError` / `TimeoutError` / `ResponseError`):
- a connection that makes no progress for `timeout` seconds while replies are owed is
  dropped, failing what it carried with `TimeoutError`;
- a command that failed with a connection error or timeout is sent again on a new
  connection, up to `retries` times with exponential backoff (as redis-py's `Retry`);
  like there, a command Redis ran before the connection broke may then run twice.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast
from urllib.parse import urlparse

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import RedisSSLContext, parse_url
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_RETRYABLE = (RedisConnectionError, RedisTimeoutError)
#: the TLS settings a `rediss://` URL may carry, less their `ssl_` prefix
_TLS_OPTIONS = frozenset(inspect.signature(RedisSSLContext.__init__).parameters) - {"self"}
#: redis-py's error reply -> exception mapping (untyped there)
_parse_error = cast(Callable[[str], Exception], BaseParser.parse_error)


def pack(args: Sequence[str]) -> bytes:
    """One command in the Redis protocol (RESP): an array of bulk strings. hiredis packs
    it in C: the routing calls carry up to ~40 arguments, and packing them in Python cost
    ~4 µs a call (measured), a tenth of the client's work per lifecycle."""
    # (hiredis's stub types the argument as a 1-tuple and the result as Any)
    packed: bytes = hiredis.pack_command(tuple(args))  # type: ignore[arg-type]
    return packed


#: the most calls one batch carries (a batch runs alone on the server, as one FCALL)
MAX_BATCH = 64


class Batchable(NamedTuple):
    """A call that travels in a batch: `head + part + the next call's part…` runs it with
    the others of the same head issued in the same event-loop turn (one FCALL of a batch
    function, one reply per call in order, an error element for a call that failed). A
    call alone in its turn is a batch of one."""

    head: tuple[str, ...]
    part: Sequence[str]


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():
        return  # its caller was cancelled; the reply is dropped, in order
    if type(reply) is ResponseError:
        # redis-py's classes (LOADING -> BusyLoadingError, a ConnectionError…), so
        # callers handle errors exactly as with the pooled client
        future.set_exception(_parse_error(str(reply)))
    else:
        future.set_result(reply)


def _settle_batch(futures: list[asyncio.Future[Any]], reply: Any) -> None:
    """One reply per call of the batch; a batch that failed as a whole (the function
    not found, a busy or read-only server) fails each of its calls alike."""
    if type(reply) is not list:
        for future in futures:
            _settle(future, reply)
        return
    for k, future in enumerate(futures):
        _settle(future, reply[k] if k < len(reply) else ResponseError(
            "omniroute batch: no reply for this call (a malformed batch)"))


class _Connection(asyncio.Protocol):
    """One socket: commands out in batches, replies matched to a FIFO of futures."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(
            protocolError=RedisConnectionError, replyError=ResponseError, encoding="utf-8"
        )
        #: what replies are owed to, in order: a caller, or the callers of one batch
        self.pending: collections.deque[
            asyncio.Future[Any] | list[asyncio.Future[Any]]] = collections.deque()
        #: what was issued since the last write, with its caller
        self.out: list[tuple[bytes | Batchable, asyncio.Future[Any]]] = []
        self.flush_scheduled = False
        self.closed = False
        self.progress = 0.0  # monotonic time of the last reply (or of the first owed)
        self.watchdog: asyncio.TimerHandle | None = None
        #: socket writes made (each carries every command issued since the previous one)
        self.writes = 0

    # ---------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses, but behave as one)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.pending
        while pending:
            try:
                reply = self.reader.gets()
            except RedisConnectionError as exc:  # a protocol error: the stream is lost
                self._fail(exc)
                return
            if reply is False:
                break
            waiting = pending.popleft()
            if isinstance(waiting, list):
                _settle_batch(waiting, reply)
            else:
                _settle(waiting, reply)
        self.progress = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    # ---------------------------------------------------------------- commands
    def request(self, payload: bytes | Batchable) -> asyncio.Future[Any]:
        if self.closed:
            raise RedisConnectionError("connection to Redis closed")
        future = self.loop.create_future()
        self.out.append((payload, future))
        if not self.flush_scheduled:
            # Everything issued until the loop's next turn goes out in one write.
            self.flush_scheduled = True
            self.loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.closed or not self.out or self.transport is None:
            return
        out, self.out = self.out, []
        pending = self.pending
        if not pending:
            self.progress = time.monotonic()
            if self.watchdog is None:
                self.watchdog = self.loop.call_later(self.timeout, self._check)
        chunks: list[bytes] = []
        i, n = 0, len(out)
        while i < n:
            payload, future = out[i]
            if isinstance(payload, bytes):
                chunks.append(payload)
                pending.append(future)
                i += 1
                continue
            # A run of batchable calls to one batch function: one command.
            head = payload.head
            j = i + 1
            while j < n and j - i < MAX_BATCH:
                other = out[j][0]
                if isinstance(other, bytes) or other.head != head:
                    break
                j += 1
            args = list(head)
            futures: list[asyncio.Future[Any]] = []
            for k in range(i, j):
                call, waiter = out[k]
                args += call.part  # type: ignore[union-attr]
                futures.append(waiter)
            chunks.append(pack(args))
            pending.append(futures)
            i = j
        self.writes += 1
        self.transport.write(b"".join(chunks) if len(chunks) > 1 else chunks[0])

    def _check(self) -> None:
        self.watchdog = None
        if self.closed or not self.pending:
            return
        idle = time.monotonic() - self.progress
        if idle >= self.timeout:
            self._fail(RedisTimeoutError(f"no reply from Redis for {idle:.1f} s"))
        else:
            self.watchdog = self.loop.call_later(self.timeout - idle, self._check)

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        if self.loop.is_closed():
            # Left behind by a finished event loop: nothing can run there any more.
            self.pending.clear()
            self.out.clear()
            return
        if self.transport is not None:
            self.transport.abort()
        owed: list[asyncio.Future[Any]] = []
        for waiting in self.pending:
            owed += waiting if isinstance(waiting, list) else (waiting,)
        owed += [future for _, future in self.out]
        self.pending.clear()
        self.out.clear()
        for future in owed:
            if not future.done():
                future.set_exception(exc)

    def close(self) -> None:
        if not self.closed:
            self._fail(RedisConnectionError("connection to Redis closed by the client"))


#: Seconds a connect or a reply may take, and retries of a failed call: the defaults of
#: both the multiplexer and the Redis store's pooled client (`redis_store.connect`).
TIMEOUT = 5.0
RETRIES = 3


def _tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    """The TLS context redis-py builds from a `rediss://` URL's `ssl_*` options
    (`ssl_cert_reqs`, `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_check_hostname`,
    …): a certificate setting the pooled client accepts is accepted here too."""
    given = {name[len("ssl_"):]: value for name, value in options.items()
             if name.startswith("ssl_")}
    return RedisSSLContext(**{k: v for k, v in given.items() if k in _TLS_OPTIONS}).get()


class Multiplexer:
    """Commands from any number of coroutines over one lazily (re)opened connection.

    Bound to the event loop that uses it; a call from another loop (tests that run each
    step in a fresh loop) opens a new connection there.
    """

    def __init__(self, url: str, timeout: float = TIMEOUT, retries: int = RETRIES) -> None:
        parts = urlparse(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r} in {url!r}")
        self.url = url
        # The URL as redis-py reads it for the pooled client, so both connections of a
        # worker go to the same place the same way (database, credentials, TLS options).
        options = cast("dict[str, Any]", parse_url(url))
        self._unix: str | None = options.get("path")
        self._host = str(options.get("host") or "127.0.0.1")
        self._port = int(options.get("port") or 6379)
        self._username: str | None = options.get("username")
        self._password: str | None = options.get("password")
        self._db = int(options.get("db") or 0)
        self._tls = _tls_context(options) if parts.scheme == "rediss" else None
        self.timeout = timeout
        self.retries = retries
        self._backoff = ExponentialBackoff(cap=0.5, base=0.01)
        self._conn: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None
        #: socket writes of closed connections (the live one counts its own)
        self._writes_before = 0

    @property
    def writes(self) -> int:
        """Socket writes so far: a batch of pipelined commands is one."""
        return self._writes_before + (self._conn.writes if self._conn else 0)

    async def call(self, args: Sequence[str] | Batchable) -> Any:
        """Send one command; its reply, or the `ResponseError` Redis answered with. A
        `Batchable` call may share one command with others (see `Batchable`)."""
        payload = args if type(args) is Batchable else pack(cast(Sequence[str], args))
        attempt = 0
        while True:
            conn = self._conn
            try:
                # (a connection of a loop no longer running, e.g. an earlier asyncio.run,
                # is replaced: is_running rather than `is get_running_loop()`, which
                # makes a getpid system call, a tenth of this client's CPU when measured)
                if conn is None or conn.closed or not conn.loop.is_running():
                    conn = await self._connect()
                return await conn.request(payload)
            except _RETRYABLE:
                attempt += 1
                if attempt > self.retries:
                    raise
                await asyncio.sleep(self._backoff.compute(attempt))

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        pending = self._connecting
        if pending is not None and pending.get_loop() is loop:
            return await asyncio.shield(pending)  # one connect for every waiting caller
        self._retire()
        self._connecting = loop.create_future()
        try:
            conn = await self._open(loop)
        except BaseException as exc:
            self._connecting.set_exception(exc)
            self._connecting.exception()  # retrieved: the other waiters get it too
            self._connecting = None
            raise
        self._conn = conn
        self._connecting.set_result(conn)
        self._connecting = None
        return conn

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        def factory() -> _Connection:
            return _Connection(loop, self.timeout)

        try:
            if self._unix is not None:
                connecting = loop.create_unix_connection(factory, self._unix)
            else:
                connecting = loop.create_connection(
                    factory, self._host, self._port, ssl=self._tls
                )
            _, conn = await asyncio.wait_for(connecting, self.timeout)
        except TimeoutError as exc:
            raise RedisTimeoutError(f"connecting to {self.url}: timed out") from exc
        except OSError as exc:
            raise RedisConnectionError(f"connecting to {self.url}: {exc}") from exc
        hello: list[Sequence[str]] = []
        if self._password is not None:
            user = [self._username] if self._username else []
            hello.append(["AUTH", *user, self._password])
        if self._db:
            hello.append(["SELECT", str(self._db)])
        for command in hello:
            try:
                await conn.request(pack(command))
            except BaseException:
                conn.close()
                raise
        return conn

    def _retire(self) -> None:
        if self._conn is not None:
            self._writes_before += self._conn.writes
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        self._retire()
