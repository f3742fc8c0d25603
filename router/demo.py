"""`omniroute demo`: the example contact center, live, with simulated customers and agents.

Traffic goes through the real adapters (Twilio voice/SMS forms, raw e-mail, Meta JSON)
via `Runtime.ingest`, exactly like webhooks; agents log in, long-poll `next`, accept,
handle for a random time and complete. The API is served alongside so curl and a
browser can watch (`/stats`, `/events`) with the demo tokens printed at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from pathlib import Path
from urllib.parse import urlencode

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from agents.model import Presence
from channels import InboundRequest
from router.auth import DEMO_TOKENS
from router.errors import OmnirouteError
from router.runtime import Runtime
from router.settings import Settings

#: Handle time (seconds) range per channel, scaled for a short demo.
_HANDLE = {"voice": (4, 12), "sms": (2, 6), "email": (3, 8), "social": (2, 6)}
_PHONES = ["+14155550134", "+12125550187", "+14155550111", "+13105550199", "+16175550123"]
_EMAILS = ["ana.lopez@example.com", "ben@carter-plumbing.test", "kim@example.org",
           "sam@example.net"]


def print_tokens(console: Console, port: int) -> None:
    table = Table(title="demo tokens (config/tokens.yaml holds their sha256 only)")
    table.add_column("name")
    table.add_column("roles")
    table.add_column("token")
    for name, (plaintext, roles, agent) in DEMO_TOKENS.items():
        label = ", ".join(roles) + (f" ({agent})" if agent else "")
        table.add_row(name, label, plaintext)
    console.print(table)
    if port:
        console.print(f"API: http://127.0.0.1:{port}/docs   e.g. curl -H 'Authorization: "
                      f"Bearer demo-viewer-token' http://127.0.0.1:{port}/stats")


def _voice(n: int, rng: random.Random) -> tuple[str, InboundRequest]:
    form = {"CallSid": f"CAdemo{n:06d}", "From": rng.choice(_PHONES), "To": "+18005550100",
            "CallStatus": "ringing", "Direction": "inbound", "AccountSid": "ACdemo"}
    return "twilio-voice", _form(form)


def _sms(n: int, rng: random.Random) -> tuple[str, InboundRequest]:
    form = {"MessageSid": f"SMdemo{n:06d}", "SmsSid": f"SMdemo{n:06d}",
            "From": rng.choice(_PHONES), "To": "+18005550100", "NumMedia": "0",
            "Body": rng.choice(["Where is my refund?", "¿Dónde está mi pedido?", "Thanks!"]),
            "AccountSid": "ACdemo"}
    return "twilio-sms", _form(form)


def _email(n: int, rng: random.Random) -> tuple[str, InboundRequest]:
    raw = (f"Message-ID: <demo{n}@example.com>\r\nFrom: {rng.choice(_EMAILS)}\r\n"
           "To: support@omniroute.test\r\nSubject: Billing question\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nI was charged twice.\r\n")
    return "email", InboundRequest.build(raw.encode(), {"content-type": "message/rfc822"})


def _social(n: int, rng: random.Random) -> tuple[str, InboundRequest]:
    body = {"object": "page", "entry": [{"id": "100", "time": 1, "messaging": [{
        "sender": {"id": str(6100000000 + rng.randrange(50))}, "recipient": {"id": "100"},
        "timestamp": 1, "message": {"mid": f"m.demo{n}", "text": "Your app is down again"}}]}]}
    return "meta", InboundRequest.build(json.dumps(body).encode(),
                                        {"content-type": "application/json"})


def _form(fields: dict[str, str]) -> InboundRequest:
    return InboundRequest.build(urlencode(fields).encode(),
                                {"content-type": "application/x-www-form-urlencoded"},
                                "http://demo/webhooks")


async def _traffic(runtime: Runtime, rate: float, rng: random.Random) -> None:
    makers = [_voice, _sms, _email, _social]
    n = 0
    while True:
        await asyncio.sleep(rng.expovariate(rate))
        n += 1
        adapter, request = rng.choice(makers)(n, rng)
        with contextlib.suppress(OmnirouteError):
            await runtime.ingest(adapter, request)


async def _agent(runtime: Runtime, agent_id: str, rng: random.Random) -> None:
    store = runtime.store
    await store.set_presence(agent_id, Presence.AVAILABLE, auto_offer=False)
    while True:
        try:
            reservation = await runtime.service.next(agent_id, wait=2.0)
            if reservation is None:
                continue
            await store.accept(agent_id, reservation.interaction_id)
            low, high = _HANDLE.get(reservation.channel.value, (2, 6))
            await asyncio.sleep(rng.uniform(low, high))
            await store.complete(agent_id, reservation.interaction_id, "resolved")
        except OmnirouteError:
            await asyncio.sleep(0.5)  # lost a race (offer expired, transferred): go on


async def _table(runtime: Runtime) -> Group:
    snapshot, sl = await runtime.stats()
    queues = Table(title="queues")
    for column in ("team", "queue", "channel", "depth", "oldest wait (s)"):
        queues.add_column(column)
    for q in snapshot.queues:
        queues.add_row(q.team, q.queue, q.channel, str(q.depth),
                       f"{q.oldest_wait(snapshot.at):.0f}")
    levels = Table(title="service level (5 min window / interval)")
    for column in ("team", "channel", "T (s)", "target", "SL now", "SL interval", "answered",
                   "abandoned"):
        levels.add_column(column)
    for s in sl.team_channels:
        if not s.interval.offered and not s.now.offered:
            continue
        levels.add_row(s.team, s.channel.value, f"{s.threshold:.0f}", f"{s.target:.0%}",
                       _pct(s.service_level_now), _pct(s.service_level_interval),
                       str(s.interval.answered), str(s.interval.abandoned))
    presence = Table(title="agents by presence")
    presence.add_column("team")
    presence.add_column("presence")
    for team, counts in snapshot.agents_by_presence.items():
        presence.add_row(team, ", ".join(f"{k}={v}" for k, v in counts.items() if v))
    return Group(queues, levels, presence)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


async def run_demo(console: Console, config_dir: Path, duration: float, port: int,
                   rate: float, rng: random.Random) -> None:
    settings = Settings.load(config_dir=config_dir, verify_signatures=False, port=port)
    runtime = Runtime.build(settings)
    tasks: list[asyncio.Task[None]] = []
    server = None
    if port:
        import uvicorn

        from router.app import create_app

        config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        tasks.append(asyncio.create_task(server.serve()))
        while not server.started:
            await asyncio.sleep(0.05)
    else:
        await runtime.start()
    tasks.append(asyncio.create_task(_traffic(runtime, rate, rng)))
    for agent_id in runtime.topology.agents:
        tasks.append(asyncio.create_task(_agent(runtime, agent_id, random.Random(rng.random()))))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    try:
        with Live(await _table(runtime), console=console, refresh_per_second=2) as live:
            while loop.time() < deadline:
                await asyncio.sleep(1.0)
                live.update(await _table(runtime))
    finally:
        for task in tasks[1 if server else 0:]:
            task.cancel()
        if server is not None:
            server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
        else:
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.stop()
