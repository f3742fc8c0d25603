"""Per-route request body caps, enforced before the body is read into memory.

A pure ASGI middleware: a declared `Content-Length` over the cap is refused at once
(and one within it passes untouched); a chunked body is counted as it streams and cut
off when it passes the cap. Either
way the answer is a 413 problem naming the limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.api.problems import PROBLEM_JSON


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """`rules` maps path prefixes to caps (first match wins); `default` for the rest."""

    def __init__(self, app: ASGIApp, rules: Sequence[tuple[str, int]], default: int) -> None:
        self.app = app
        self.rules = tuple(rules)
        self.default = default

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.rules:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_for(path)
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _too_large(send, path, limit, declared)
            else:
                # The server frames the body by Content-Length (HTTP/1.1 reads exactly
                # that many bytes; HTTP/2 refuses a mismatch), so it cannot grow past
                # the declared size: no need to count it.
                await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _too_large(send, path, limit, received)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, path: str, limit: int, size: int) -> None:
    body = json.dumps({
        "type": "https://omniroute.dev/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"request body of {size} bytes exceeds the limit of {limit} bytes for {path}",
        "instance": path,
        "limit": limit,
    }).encode()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
