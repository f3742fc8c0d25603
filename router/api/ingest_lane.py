"""`POST /interactions` served as a plain ASGI step, in front of FastAPI's router.

Generic JSON ingest is the one route that carries provider-scale traffic, and FastAPI
spends more CPU on each request than omniroute does: it matches the path against every
route of every included router (twice), resolves the dependency graph, validates the
body twice over (JSON to dict, dict to model) and serializes the answer through the
response model. `IngestLane` answers this one route itself, doing only what the route
means: authenticate (`deps.require_ingest`), check the media type, validate the body
straight from bytes into `InteractionIn`, ingest, and send a pre-encoded 202.

The route stays declared in `router.api.ingest`, so the OpenAPI document is generated
from the same models (schemathesis checks this lane against it), and errors go through
the very handlers the rest of the API uses (`problems.answer`), so a 401, 403, 415 or
422 here is the same problem+json as anywhere else. The lane sits inside `BodyLimit`
and CORS (`create_app`), so the body cap and CORS headers apply as before.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.api import problems
from router.api.deps import require_ingest
from router.api.limits import BodyTooLarge
from router.interaction_in import InteractionIn
from router.runtime import IngestOutcome, Runtime

PATH = "/interactions"
_JSON_HEADERS = [(b"content-type", b"application/json")]


class ClientGone(Exception):
    """Raised when the client disconnects before its body arrived: nothing to answer."""


class IngestLane:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or _route_path(scope) != PATH):
            await self.app(scope, receive, send)
            return
        try:
            body = await self.ingest(scope, receive)
        except BodyTooLarge:
            raise  # BodyLimit, outside, answers the 413
        except ClientGone:
            return
        except Exception as exc:
            await problems.answer(Request(scope), exc)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 202,
                    "headers": [*_JSON_HEADERS, (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def ingest(self, scope: Scope, receive: Receive) -> bytes:
        headers = _headers(scope)
        authorization = headers.get(b"authorization")
        require_ingest(self.runtime.tokens.from_header(
            None if authorization is None else authorization.decode("latin-1")))
        body = await _read_body(receive)
        content_type = headers.get(b"content-type")
        # A missing body is a missing field (422), whatever it was labelled.
        if body and not _is_json(content_type):
            shown = content_type.decode("latin-1") if content_type else "(none)"
            raise HTTPException(415, f"content-type {shown!r} is not accepted;"
                                     " send application/json")
        data = parse_interaction(body)
        return encode_accepted(await self.runtime.ingest_normalized(data))


def parse_interaction(body: bytes) -> InteractionIn:
    """The body as `InteractionIn`, or a `RequestValidationError` located under `body`
    like FastAPI's own (so the 422 problem names the field the same way)."""
    if not body:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return InteractionIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None


def encode_accepted(outcome: IngestOutcome) -> bytes:
    """The `Accepted` schema's JSON, written directly (it is five scalar members)."""
    document: dict[str, Any] = {
        "interaction_id": outcome.interaction_id,
        "decision": outcome.decision.value,
        "created": outcome.created,
        "status": outcome.status.value if outcome.status is not None else None,
        "rule": outcome.rule,
        "rule_version": outcome.rule_version,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _headers(scope: Scope) -> dict[bytes, bytes]:
    # ASGI header names are lower-case; the first of a repeated header wins, as in
    # Starlette's `Headers.get`.
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _is_json(content_type: bytes | None) -> bool:
    """`application/json` or any `application/*+json`, parameters ignored (as FastAPI)."""
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json"))


async def _read_body(receive: Receive) -> bytes:
    message: Message = await receive()
    _check(message)
    if not message.get("more_body", False):  # the usual case: one message
        body: bytes = message.get("body", b"")
        return body
    chunks = [message.get("body", b"")]
    while message.get("more_body", False):
        message = await receive()
        _check(message)
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _check(message: Message) -> None:
    if message["type"] == "http.disconnect":
        raise ClientGone()
