"""Several workers on one Redis site: rules, topology and SLA changes announced by one
reach the others, and offers made by one reach desktops connected to another.

Two apps in this process over the same private Redis (each with its own runtime, Redis
clients and config watcher); the SSE test serves worker B with uvicorn on a free port,
since an in-process ASGI client does not stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import uvicorn
import yaml

from agents.model import Presence
from router.app import create_app
from router.devserver import free_port
from router.interaction_in import InteractionIn
from router.runtime import Runtime
from tests.api.conftest import api_client, auth, first_offer, settings

SUP = auth("supervisor")


@asynccontextmanager
async def worker(url: str) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = Runtime.build(settings(store_url=url))
    async with api_client(create_app(runtime)) as client:
        yield runtime, client


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "the other worker never caught up"
        await asyncio.sleep(0.02)


async def test_rules_published_on_a_classify_the_next_ingest_on_b(redis_url: str) -> None:
    async with worker(redis_url) as (_a, api_a), worker(redis_url) as (b, api_b):
        assert b.rules.active.version == 1  # seeded once, shared
        current = await api_a.get("/rules", headers=SUP)
        data = yaml.safe_load(current.json()["yaml"])
        data["rules"].insert(0, {"name": "marker", "when": 'interaction.summary == "marker"',
                                 "then": {"queue": "general", "priority": 9}})
        published = await api_a.post("/rules/publish", content=json.dumps(data), headers={
            **SUP, "If-Match": current.headers["etag"], "content-type": "application/json"})
        assert published.status_code == 201, published.text
        await until(lambda: b.rules.active.version == 2)
        outcome = await b.ingest_normalized(InteractionIn(
            channel="chat", idempotency_key="w-1", summary="marker"))
        assert (outcome.rule, outcome.rule_version) == ("marker", 2)
        assert [v["version"] for v in (await api_b.get("/rules/versions",
                                                        headers=SUP)).json()] == [1, 2]

        rolled = await api_a.post("/rules/rollback", json={"to_version": 1},
                                  headers={**SUP, "If-Match": '"2"'})
        assert rolled.status_code == 201, rolled.text
        await until(lambda: b.rules.active.version == 3)
        outcome = await b.ingest_normalized(InteractionIn(
            channel="chat", idempotency_key="w-2", summary="marker"))
        assert outcome.rule != "marker" and outcome.rule_version == 3


async def test_agent_added_on_a_is_routed_to_by_b(redis_url: str) -> None:
    async with worker(redis_url) as (_a, api_a), worker(redis_url) as (b, api_b):
        put = await api_a.put("/agents/zed", headers=SUP, json={
            "name": "Zed", "teams": ["csr"], "skills": {"english": 5, "billing": 5},
            "capacity": {"chat": 2}})
        assert put.status_code == 201, put.text
        await until(lambda: "zed" in b.topology.agents)
        assert b.store.topology.agents["zed"].skills == {"english": 5, "billing": 5}
        await b.store.set_presence("zed", Presence.AVAILABLE)
        outcome = await b.ingest_normalized(InteractionIn(
            channel="chat", idempotency_key="w-3", summary="hello"))
        view = await b.store.get(outcome.interaction_id)
        assert view.agent_id == "zed", view

        await b.store.set_presence("zed", Presence.OFFLINE)
        other = await b.store.get(outcome.interaction_id)
        assert other.agent_id is None  # the offer went back to the queue
        deleted = await api_a.delete("/agents/zed", headers=SUP)
        assert deleted.status_code == 204, deleted.text
        await until(lambda: "zed" not in b.topology.agents)
        assert (await api_b.get("/agents/zed", headers=SUP)).status_code == 404


async def test_sla_policies_put_on_redis_reach_the_other_worker(redis_url: str) -> None:
    async with worker(redis_url) as (a, api_a), worker(redis_url) as (b, _api_b):
        policies = [{"team": "csr", "channel": "chat", "threshold": 42, "target": 0.5}]
        put = await api_a.put("/sla/policies", json=policies, headers=SUP)
        assert put.status_code == 200, put.text
        await until(lambda: b.policies is not a.policies
                    and b.policies.policies() == a.policies.policies())
        assert b.store.deadlines is b.policies  # type: ignore[attr-defined]
        outcome = await b.ingest_normalized(InteractionIn(
            channel="chat", idempotency_key="w-4", summary="hello"))
        view = await b.store.get(outcome.interaction_id)
        assert view.due_at - view.enqueued_at == 42


async def test_offer_made_through_a_reaches_the_desktop_on_b(redis_url: str) -> None:
    port = free_port()
    b = Runtime.build(settings(store_url=redis_url))
    server = uvicorn.Server(uvicorn.Config(create_app(b), host="127.0.0.1", port=port,
                                           log_level="error", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        async with worker(redis_url) as (_a, api_a), httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10
        ) as api_b:
            await until(lambda: server.started)
            ready = asyncio.Event()
            listener = asyncio.create_task(first_offer(api_b, ready))
            await asyncio.wait_for(ready.wait(), 5)
            login = await api_a.post("/agents/bruno/login", headers=auth("bruno"))
            assert login.status_code == 200, login.text
            pushed = await api_a.post("/interactions", headers=auth("ingest"), json={
                "channel": "chat", "idempotency_key": "w-5", "language": "es"})
            assert pushed.status_code == 202, pushed.text
            offer = await asyncio.wait_for(listener, 5)
            assert offer["interaction_id"] == pushed.json()["interaction_id"]
            assert offer["agent_id"] == "bruno" and offer["queue"]
            assert isinstance(offer["detail"], dict) and "expires_at" in offer["detail"]
    finally:
        server.should_exit = True
        await serving
