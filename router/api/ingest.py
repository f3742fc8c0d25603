"""Ingest endpoints: provider webhooks in their native formats, and generic JSON.

Each endpoint only turns the HTTP request into an `InboundRequest` (body bytes, headers,
the URL the provider signed, query) and hands it to `Runtime.ingest`; verification,
parsing, dedup and routing all happen there. Answers are 202 with the interaction id;
a provider retry answers the same id with `decision: duplicate`.

Authentication (`deps.webhook_caller`): a presented token must be a valid ingest or
supervisor token; without one, a webhook whose provider signature is verified is
authenticated by the signature alone (unless `OMNIROUTE_WEBHOOK_AUTH=true`), and any
other webhook answers 401. The signature itself is always checked when verification
is on, token or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from channels import InboundRequest, MetaAdapter, XAdapter
from router.api.deps import Ingest, RuntimeDep, webhook_caller
from router.api.ingest_lane import encode_accepted
from router.api.problems import problem_responses
from router.api.schemas import Accepted, AcceptedBatch, accepted
from router.auth import Principal
from router.interaction_in import InteractionIn
from router.runtime import Runtime

router = APIRouter(tags=["ingest"])

_WEBHOOK_ERRORS = problem_responses(400, 401, 403, 413, 415, 422)


# Who posts a webhook: a token's principal, or None when the signature alone suffices.
VoiceCaller = Annotated[Principal | None, Depends(webhook_caller("twilio-voice"))]
SmsCaller = Annotated[Principal | None, Depends(webhook_caller("twilio-sms"))]
EmailCaller = Annotated[Principal | None, Depends(webhook_caller("email"))]
MetaCaller = Annotated[Principal | None, Depends(webhook_caller("meta"))]
XCaller = Annotated[Principal | None, Depends(webhook_caller("x"))]
#: X CRC tokens are opaque random strings. The CRC answer is an HMAC of the token with
#: the same secret that signs deliveries, so the charset excludes `{` and `"`: no JSON
#: delivery body can be passed off as a token to obtain its signature.
CrcToken = Annotated[str, Query(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.~+/=-]+$",
                                description="X's random CRC token",
                                examples=["m6Xh2sFQ3yGZ0w"])]


def _body_doc(media_type: str, example: Any, schema: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        media_type: {"schema": schema or {"type": "string"}, "example": example}}}}


_E164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$", "example": "+14155550134"}


def _form(required: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    """A Twilio form body: the fields the adapter needs; any other field is kept."""
    return {"type": "object", "required": list(required),
            "properties": {**required, **optional},
            "additionalProperties": {"type": "string"}}


_VOICE_FORM = _form(
    {"CallSid": {"type": "string", "pattern": "^CA[0-9a-f]{32}$"}, "From": _E164},
    {"To": _E164, "CallStatus": {"enum": ["queued", "ringing", "in-progress", "completed",
                                          "busy", "failed", "no-answer", "canceled"]},
     "Direction": {"enum": ["inbound", "outbound-api", "outbound-dial"]}},
)
_SMS_FORM = _form(
    {"MessageSid": {"type": "string", "pattern": "^(SM|MM)[0-9a-f]{32}$"}, "From": _E164},
    {"To": _E164, "Body": {"type": "string", "maxLength": 1600},
     "NumMedia": {"type": "string", "pattern": "^[0-9]$"}},
)
# What the adapters check, no more: the provider's payload is the contract.
_ID = {"type": "string", "minLength": 1, "maxLength": 256, "example": "17841400000000000"}
_META_JSON = {
    "type": "object", "required": ["object", "entry"],
    "properties": {
        "object": {"enum": ["page", "instagram"]},
        "entry": {"type": "array", "maxItems": 1000, "items": {
            "type": "object", "required": ["id"],
            "properties": {"id": _ID, "time": {"description": "Epoch milliseconds"},
                           "messaging": {"type": "array", "items": {"type": "object"}},
                           "changes": {"type": "array", "items": {"type": "object"}}}}},
    },
}
_X_JSON = {
    "type": "object", "required": ["for_user_id"],
    "properties": {
        "for_user_id": _ID,
        "tweet_create_events": {"type": "array", "items": {"type": "object"}},
        "direct_message_events": {"type": "array", "items": {"type": "object"}},
        "users": {"type": "object"},
    },
}


async def _inbound(request: Request, runtime: Runtime) -> InboundRequest:
    body = await request.body()
    url = str(request.url)
    base = runtime.settings.public_url
    if base:  # what the provider called (and signed), not what the proxy forwarded
        url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return InboundRequest.build(body, dict(request.headers), url, request.method,
                                dict(request.query_params))


async def _webhook(adapter: str, request: Request, runtime: Runtime,
                   media_types: tuple[str, ...]) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in media_types:
        raise HTTPException(415, f"content-type {content_type or '(none)'!r} is not accepted;"
                                 f" send {' or '.join(media_types)}")
    outcomes = await runtime.ingest(adapter, await _inbound(request, runtime))
    items = [accepted(o) for o in outcomes]
    batch = AcceptedBatch(interaction_id=items[0].interaction_id if items else None, items=items)
    return JSONResponse(batch.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


_FORM = ("application/x-www-form-urlencoded",)
_JSON = ("application/json",)


@router.post("/webhooks/voice", status_code=202, response_model=AcceptedBatch,
             responses=_WEBHOOK_ERRORS, summary="Twilio Voice webhook (incoming call, status)",
             openapi_extra=_body_doc(_FORM[0], {
                 "CallSid": "CA5a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d", "From": "+14155550134",
                 "To": "+18005550100", "CallStatus": "ringing", "Direction": "inbound"},
                 _VOICE_FORM))
async def voice(request: Request, runtime: RuntimeDep, _: VoiceCaller) -> JSONResponse:
    return await _webhook("twilio-voice", request, runtime, _FORM)


@router.post("/webhooks/sms", status_code=202, response_model=AcceptedBatch,
             responses=_WEBHOOK_ERRORS, summary="Twilio Messaging webhook (SMS/MMS)",
             openapi_extra=_body_doc(_FORM[0], {
                 "MessageSid": "SM8c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a", "From": "+14155550134",
                 "To": "+18005550100", "Body": "Where is my refund?", "NumMedia": "0"},
                 _SMS_FORM))
async def sms(request: Request, runtime: RuntimeDep, _: SmsCaller) -> JSONResponse:
    return await _webhook("twilio-sms", request, runtime, _FORM)


@router.post("/webhooks/email", status_code=202, response_model=AcceptedBatch,
             responses=_WEBHOOK_ERRORS, summary="Raw e-mail (message/rfc822)",
             openapi_extra=_body_doc("message/rfc822",
                                     "Message-ID: <a1@example.com>\r\nFrom: ana@example.com\r\n"
                                     "To: support@omniroute.test\r\nSubject: Refund\r\n\r\n"
                                     "Where is my refund?\r\n"))
async def email(request: Request, runtime: RuntimeDep, _: EmailCaller) -> JSONResponse:
    return await _webhook("email", request, runtime, ("message/rfc822",))


@router.get("/webhooks/meta", response_class=PlainTextResponse, responses=_WEBHOOK_ERRORS,
            summary="Meta subscription handshake (hub.challenge)")
async def meta_verify(request: Request, runtime: RuntimeDep,
                      _: MetaCaller) -> PlainTextResponse:
    adapter = runtime.adapters["meta"]
    assert isinstance(adapter, MetaAdapter)
    return PlainTextResponse(adapter.handshake(dict(request.query_params)))


@router.post("/webhooks/meta", status_code=202, response_model=AcceptedBatch,
             responses=_WEBHOOK_ERRORS, summary="Meta Messenger / Instagram webhook",
             openapi_extra=_body_doc(_JSON[0], {"object": "page", "entry": [{
                 "id": "1", "time": 1, "messaging": [{
                     "sender": {"id": "6123"}, "recipient": {"id": "1"}, "timestamp": 1,
                     "message": {"mid": "m.1", "text": "Hi"}}]}]}, _META_JSON))
async def meta(request: Request, runtime: RuntimeDep, _: MetaCaller) -> JSONResponse:
    return await _webhook("meta", request, runtime, _JSON)


@router.get("/webhooks/x", responses=_WEBHOOK_ERRORS, summary="X Account Activity CRC check")
async def x_crc(crc_token: CrcToken, runtime: RuntimeDep, _: XCaller) -> dict[str, str]:
    adapter = runtime.adapters["x"]
    assert isinstance(adapter, XAdapter)
    return adapter.crc_response(crc_token)


@router.post("/webhooks/x", status_code=202, response_model=AcceptedBatch,
             responses=_WEBHOOK_ERRORS, summary="X Account Activity webhook",
             openapi_extra=_body_doc(_JSON[0], {"for_user_id": "42",
                                                "tweet_create_events": []}, _X_JSON))
async def x_activity(request: Request, runtime: RuntimeDep, _: XCaller) -> JSONResponse:
    return await _webhook("x", request, runtime, _JSON)


@router.post("/interactions", status_code=202, response_model=Accepted,
             responses=problem_responses(401, 403, 413, 415, 422),
             summary="Ingest a pre-normalized interaction (generic JSON)")
async def create_interaction(body: InteractionIn, runtime: RuntimeDep, _: Ingest) -> Response:
    # `create_app` serves this route with `IngestLane`, in front of the router, for speed;
    # this declaration generates its OpenAPI operation and answers the same way when the
    # lane is not installed (tests/api/test_ingest_lane.py compares the two).
    outcome = await runtime.ingest_normalized(body)
    return Response(encode_accepted(outcome), status.HTTP_202_ACCEPTED,
                    media_type="application/json")
