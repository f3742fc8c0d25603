"""The pipelined connection the routing calls share (router.redis_mux), on a real server."""

from __future__ import annotations

import asyncio

import pytest
import redis
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.devserver import DevServer
from router.redis_mux import MAX_BATCH, Batchable, Multiplexer, pack


def test_pack_is_the_redis_protocol() -> None:
    assert pack(["SET", "k", "é"]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\xc3\xa9\r\n"


async def test_concurrent_calls_share_writes_and_get_their_own_replies(redis_url: str) -> None:
    mux = Multiplexer(redis_url)
    try:
        replies = await asyncio.gather(*(mux.call(["ECHO", f"m{n}"]) for n in range(200)))
        assert replies == [f"m{n}" for n in range(200)]
        # issued in one loop turn, so they left together (the first connect aside)
        assert mux.writes <= 3
        assert await mux.call(["INCR", "n"]) == 1
        assert await mux.call(["GET", "missing"]) is None
    finally:
        await mux.aclose()


async def test_error_replies_raise_redis_py_classes_and_keep_the_order(redis_url: str) -> None:
    mux = Multiplexer(redis_url)
    try:
        results = await asyncio.gather(
            mux.call(["SET", "k", "v"]), mux.call(["INCR", "k"]), mux.call(["GET", "k"]),
            return_exceptions=True,
        )
        assert results[0] == "OK" and results[2] == "v"
        assert type(results[1]) is ResponseError and "not an integer" in str(results[1])
    finally:
        await mux.aclose()


async def test_a_cancelled_caller_does_not_shift_the_replies(redis_url: str) -> None:
    mux = Multiplexer(redis_url)
    sync = redis.Redis.from_url(redis_url)
    try:
        await mux.call(["PING"])
        sync.client_pause(300)  # the next commands wait on the server
        first = asyncio.ensure_future(mux.call(["ECHO", "first"]))
        second = asyncio.ensure_future(mux.call(["ECHO", "second"]))
        await asyncio.sleep(0.05)
        first.cancel()
        assert await second == "second"
        assert await mux.call(["ECHO", "third"]) == "third"
    finally:
        sync.close()
        await mux.aclose()


async def test_no_reply_within_the_timeout_fails_the_call(redis_url: str) -> None:
    mux = Multiplexer(redis_url, timeout=0.2, retries=0)
    sync = redis.Redis.from_url(redis_url)
    try:
        await mux.call(["PING"])
        sync.client_pause(1000)
        with pytest.raises(RedisTimeoutError):
            await mux.call(["PING"])
        sync.client_unpause()
        assert await mux.call(["PING"]) == "PONG"  # a new connection, by itself
    finally:
        sync.close()
        await mux.aclose()


async def test_server_down_raises_connection_error_and_recovers() -> None:
    with DevServer() as server:
        mux = Multiplexer(server.url, timeout=1.0, retries=2)
        try:
            assert await mux.call(["PING"]) == "PONG"
            server.kill()
            with pytest.raises(RedisConnectionError):
                await mux.call(["PING"])
            server.start()
            assert await mux.call(["PING"]) == "PONG"
        finally:
            await mux.aclose()


async def test_loading_reply_is_a_busy_loading_error(redis_url: str) -> None:
    # Redis answers LOADING while it reads its data after a restart; redis-py makes that a
    # ConnectionError subclass (retried, then 503), and so must the multiplexer.
    mux = Multiplexer(redis_url, retries=0)
    try:
        with pytest.raises(BusyLoadingError):
            await mux.call(["EVAL", "return redis.error_reply('LOADING not yet')", "0"])
    finally:
        await mux.aclose()


def test_works_on_uvloop(redis_url: str) -> None:
    # the service runs on uvloop (router.service.run), whose transports differ
    import uvloop

    async def go() -> list[str]:
        mux = Multiplexer(redis_url)
        try:
            return list(await asyncio.gather(*(mux.call(["ECHO", str(n)]) for n in range(50))))
        finally:
            await mux.aclose()

    assert uvloop.run(go()) == [str(n) for n in range(50)]


def test_each_event_loop_gets_its_own_connection(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/3"  # another database: SELECT on connect
    mux = Multiplexer(url)
    for n in range(3):
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(mux.call(["SET", "k", str(n)])) == "OK"
        finally:
            loop.close()
    check = redis.Redis.from_url(url, decode_responses=True)
    assert check.get("k") == "2"
    check.close()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(mux.aclose())
    loop.close()


# A batch function for the tests: its arguments are one part per call (a word); it answers
# each with the word upper-cased, an error element for "fail", and counts its runs.
_BATCH_LIBRARY = """#!lua name=muxtest
redis.register_function('muxtest_batch', function(keys, args)
  redis.call('INCR', keys[1])
  local out = {}
  for i = 1, #args do
    if args[i] == 'fail' then out[i] = {err = 'ERR this call failed'}
    else out[i] = string.upper(args[i]) end
  end
  return out
end)
"""
_HEAD = ("FCALL", "muxtest_batch", "1", "muxtest:runs")


async def test_batchable_calls_of_one_turn_share_one_command(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    sync.function_load(_BATCH_LIBRARY, replace=True)
    mux = Multiplexer(redis_url)
    try:
        await mux.call(["PING"])  # connected: the calls below all leave in one turn
        words = [f"w{n}" for n in range(100)]
        replies = await asyncio.gather(*(mux.call(Batchable(_HEAD, (w,))) for w in words))
        assert replies == [w.upper() for w in words]
        # a hundred calls, at most MAX_BATCH a command: two runs of the function
        assert int(sync.get("muxtest:runs") or 0) == -(-len(words) // MAX_BATCH)
        # alone in its turn, a call is a batch of one
        assert await mux.call(Batchable(_HEAD, ("solo",))) == "SOLO"
        assert int(sync.get("muxtest:runs") or 0) == -(-len(words) // MAX_BATCH) + 1
    finally:
        sync.function_delete("muxtest")
        sync.close()
        await mux.aclose()


async def test_a_failed_call_in_a_batch_fails_alone_and_order_holds(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    sync.function_load(_BATCH_LIBRARY, replace=True)
    mux = Multiplexer(redis_url)
    try:
        await mux.call(["PING"])
        results = await asyncio.gather(
            mux.call(Batchable(_HEAD, ("a",))), mux.call(["ECHO", "between"]),
            mux.call(Batchable(_HEAD, ("fail",))), mux.call(Batchable(_HEAD, ("c",))),
            return_exceptions=True,
        )
        assert results[:2] == ["A", "between"]
        assert type(results[2]) is ResponseError and "this call failed" in str(results[2])
        assert results[3] == "C"
        # a command in between splits the run: [a], ECHO, [fail, c]
        assert int(sync.get("muxtest:runs") or 0) == 2
    finally:
        sync.function_delete("muxtest")
        sync.close()
        await mux.aclose()


async def test_a_batch_that_fails_whole_fails_each_call(redis_url: str) -> None:
    mux = Multiplexer(redis_url)
    try:
        # no such function: Redis refuses the one command, and every caller hears it
        results = await asyncio.gather(
            *(mux.call(Batchable(("FCALL", "muxtest_missing", "0"), (str(n),)))
              for n in range(3)),
            return_exceptions=True,
        )
        assert all(type(r) is ResponseError and "Function not found" in str(r)
                   for r in results), results
        assert await mux.call(["PING"]) == "PONG"
    finally:
        await mux.aclose()


async def test_a_batch_cut_short_by_a_lost_connection_fails_each_call(redis_url: str) -> None:
    sync = redis.Redis.from_url(redis_url)
    sync.function_load(_BATCH_LIBRARY, replace=True)
    mux = Multiplexer(redis_url, retries=0)
    try:
        await mux.call(["PING"])
        sync.client_pause(300)  # the batch waits on the server while the link drops
        calls = [asyncio.ensure_future(mux.call(Batchable(_HEAD, (str(n),))))
                 for n in range(3)]
        await asyncio.sleep(0.05)
        assert mux._conn is not None and mux._conn.transport is not None
        mux._conn.transport.abort()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        sync.client_unpause()
        assert await mux.call(Batchable(_HEAD, ("again",))) == "AGAIN"
    finally:
        sync.function_delete("muxtest")
        sync.close()
        await mux.aclose()
