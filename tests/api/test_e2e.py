"""End to end over real HTTP: uvicorn on a free port, a full lifecycle and an SSE offer."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import uvicorn

from router.app import create_app
from router.devserver import free_port
from router.runtime import Runtime
from tests.api.conftest import auth, first_offer, settings

pytestmark = pytest.mark.e2e


async def test_lifecycle_and_sse_offer_over_http() -> None:
    port = free_port()
    app = create_app(Runtime.build(settings()))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            # pull: alice logs in without push offers and long-polls
            await client.post("/agents/alice/login", json={"auto_offer": False},
                              headers=auth("alice"))
            poll = asyncio.create_task(
                client.post("/agents/alice/next?wait=5", headers=auth("alice")))
            await asyncio.sleep(0.2)
            ingest = await client.post("/interactions", headers=auth("ingest"), json={
                "channel": "chat", "idempotency_key": "e2e-1", "summary": "hello"})
            assert ingest.status_code == 202
            iid = ingest.json()["interaction_id"]
            pulled = await poll
            assert pulled.status_code == 200, pulled.text
            assert pulled.json()["reservation"]["interaction_id"] == iid
            for step, body in (("accept", None), ("complete", {"disposition": "resolved"})):
                done = await client.post(f"/agents/alice/interactions/{iid}/{step}",
                                         json=body, headers=auth("alice"))
                assert done.status_code == 200, done.text
            assert done.json()["status"] == "completed"

            # push: bruno listens for offers, then a Spanish chat arrives
            await client.post("/agents/alice/logout", headers=auth("alice"))
            ready = asyncio.Event()
            listener = asyncio.create_task(first_offer(client, ready))
            await asyncio.wait_for(ready.wait(), 5)
            await client.post("/agents/bruno/login", headers=auth("bruno"))
            pushed = await client.post("/interactions", headers=auth("ingest"), json={
                "channel": "chat", "idempotency_key": "e2e-2", "language": "es"})
            offer = await asyncio.wait_for(listener, 5)
            assert offer["interaction_id"] == pushed.json()["interaction_id"]
            assert offer["agent_id"] == "bruno"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
