"""Faults with a real server: Redis crashes with an append-only file, Redis down under the
API, and configuration announcements reaching every worker."""

from __future__ import annotations

import asyncio
import time

from test_concurrency import check_site, lines, start

from router.app import create_app
from router.devserver import DevServer
from router.redis_store import RedisStore
from router.runtime import Runtime
from tests.api.conftest import api_client, auth, settings
from tests.conftest import small_topology


def test_acknowledged_interactions_survive_a_redis_crash() -> None:
    """appendonly yes + appendfsync always: what a worker was told is stored, stays."""
    with DevServer(appendonly=True, appendfsync="always") as server:
        worker = start(server.url, 4.0, 11, "mixed", [f"ag{n}" for n in range(8)])
        time.sleep(1.5)
        server.restart(crash=True)  # SIGKILL mid-load, then start on the same files
        out = lines(worker)
        acked = {words[1] for words in out if words[0] == "ack"}
        status = check_site(server.url, acked, [w for w in out if w[0] == "assigned"])
        assert len(acked) > 20 and acked <= set(status)


async def test_api_answers_503_while_redis_is_down_and_recovers() -> None:
    with DevServer() as server:
        runtime = Runtime.build(settings(store_url=server.url))
        async with api_client(create_app(runtime)) as client:
            body = {"channel": "chat", "idempotency_key": "before", "summary": "hello"}
            assert (await client.post("/interactions", json=body,
                                      headers=auth("ingest"))).status_code == 202
            assert (await client.get("/readyz")).status_code == 200

            server.kill()
            down = await client.post("/interactions", headers=auth("ingest"),
                                     json={**body, "idempotency_key": "during"})
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] == "1"
            assert down.json()["type"].endswith("/store-unavailable")
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["store"] is False

            server.start()  # an empty server: the store reloads its functions by itself
            for _ in range(50):
                again = await client.post("/interactions", headers=auth("ingest"),
                                          json={**body, "idempotency_key": "after"})
                if again.status_code == 202:
                    break
                await asyncio.sleep(0.1)
            assert again.status_code == 202, again.text
            assert (await client.get("/readyz")).status_code == 200


async def test_config_announcements_reach_every_worker(redis_url: str) -> None:
    topology = small_topology()
    first = RedisStore(topology, time.time, url=redis_url)
    second = RedisStore(topology, time.time, url=redis_url)
    heard: list[str] = []
    arrived = asyncio.Event()

    def on_message(message: str) -> None:
        heard.append(message)
        arrived.set()

    watcher = await second.watch_config(on_message)
    try:
        assert await first.publish_config("rules:7") == 1
        await asyncio.wait_for(arrived.wait(), 5)
        assert heard == ["rules:7"]
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await first.close()
        await second.close()
