"""Voice: Twilio's incoming-call webhook and a generic CTI JSON call event.

A call arrives once as new work; a later status for the same call that says the
caller is gone (completed / canceled / no-answer while still queued) is a HANGUP of
that same interaction, found by the deterministic id of its CallSid.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.adapter import AdapterBase
from channels.addresses import voice_endpoint
from channels.errors import MalformedPayload, UnprocessablePayload
from channels.fields import clip, optional, provider_id, required, validation_problem
from channels.inbound import Inbound, InboundKind
from channels.keys import interaction_id
from channels.request import InboundRequest, parse_form, parse_json
from channels.settings import ChannelSettings
from channels.signatures import hex_sha256_signature, require_match, require_secret
from channels.twilio import TwilioFormAdapter, twilio_attributes
from router.interaction import Channel, Direction, Interaction

#: Twilio statuses that, for a call still waiting in queue, mean the caller left.
HANGUP_STATUSES = frozenset({"completed", "canceled", "no-answer"})
_TWILIO_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }
)
_CONSUMED = frozenset({"CallSid", "From", "To", "CallStatus", "Direction", "Caller", "Called"})
CTI_SIGNATURE_HEADER = "X-Signature-256"


def _to_address(raw: str | None, region: str) -> str | None:
    # The dialled number is informational: a short code or odd DNIS must not reject a call.
    if raw is None:
        return None
    try:
        return voice_endpoint(raw, region, "To")
    except UnprocessablePayload:
        return raw


def _direction(raw: str | None) -> Direction:
    if raw is None or raw == "inbound":
        return Direction.INBOUND
    return Direction.OUTBOUND


def _voice_item(
    *,
    kind: InboundKind,
    call_id: str,
    key: str,
    caller: str | None,
    to: str | None,
    now: float,
    direction: Direction,
    summary: str,
    language: str | None,
    intent: str | None,
    attributes: dict[str, Any],
) -> Inbound:
    call_interaction = interaction_id(Channel.VOICE, call_id)
    interaction = Interaction(
        id=interaction_id(Channel.VOICE, key),
        channel=Channel.VOICE,
        idempotency_key=key,
        created_at=now,
        direction=direction,
        address=caller,
        to=to,
        summary=summary,
        language=language,
        intent=intent,
        attributes=attributes,
    )
    return Inbound(
        kind=kind,
        interaction=interaction,
        addresses=() if caller is None else (caller,),
        conversation_key=f"voice:{call_id}",
        join_window=0.0,
        target_id=call_interaction if kind is InboundKind.HANGUP else None,
    )


class TwilioVoiceAdapter(TwilioFormAdapter):
    """Twilio Voice `incoming call` and call-status webhooks (form-urlencoded)."""

    name = "twilio-voice"
    channel = Channel.VOICE

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        form = parse_form(self.body(request))
        call_sid = provider_id(required(form, "CallSid"), "CallSid")
        status = (optional(form, "CallStatus") or "ringing").lower()
        if status not in _TWILIO_STATUSES:
            raise UnprocessablePayload("CallStatus", "unknown Twilio call status", status)
        region = self.settings.default_region
        caller = voice_endpoint(required(form, "From"), region, "From")
        attributes: dict[str, Any] = twilio_attributes(form, _CONSUMED)
        attributes["call_status"] = status
        if caller is None:
            attributes["caller_withheld"] = True
        hangup = status in HANGUP_STATUSES
        return (
            _voice_item(
                kind=InboundKind.HANGUP if hangup else InboundKind.MESSAGE,
                call_id=call_sid,
                # The status callback repeats the CallSid; its key must differ from the
                # incoming call's or the dedup gate would swallow the hang-up.
                key=f"{call_sid}:{status}" if hangup else call_sid,
                caller=caller,
                to=_to_address(optional(form, "To"), region),
                now=now,
                direction=_direction(optional(form, "Direction")),
                summary=clip(form.get("SpeechResult", ""), self.settings.summary_max_chars),
                language=None,
                intent=None,
                attributes=attributes,
            ),
        )


class CtiCallEvent(BaseModel):
    """A generic CTI/ACD call event, as a PBX or IVR integration would post it."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    event: Literal["call.offered", "call.abandoned", "call.ended"] = "call.offered"
    call_id: str = Field(min_length=1, max_length=256, pattern=r"^\S+$")
    ani: str = Field(min_length=1, max_length=64)
    dnis: str | None = Field(default=None, max_length=64)
    ivr_path: list[str] = Field(default_factory=list, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    intent: str | None = Field(default=None, max_length=128)
    intent_confidence: float | None = Field(default=None, ge=0, le=1)
    transcript: str | None = Field(default=None, max_length=100_000)
    attached_data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class CtiVoiceAdapter(AdapterBase):
    """Generic CTI JSON call events: call id, ANI, DNIS, IVR path, language, intent."""

    name = "cti"
    channel = Channel.VOICE

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings, settings.verify_cti)

    def _check_signature(self, request: InboundRequest) -> None:
        secret = require_secret(
            self.name, self.settings.cti_secret.get_secret_value(), "cti_secret"
        )
        expected = hex_sha256_signature(secret, request.body)
        require_match(
            self.name, CTI_SIGNATURE_HEADER, request.header(CTI_SIGNATURE_HEADER), expected
        )

    def parse(self, request: InboundRequest, now: float) -> tuple[Inbound, ...]:
        document = parse_json(self.body(request))
        if not isinstance(document, dict):
            raise MalformedPayload("body", "expected a JSON object", type(document).__name__)
        try:
            event = CtiCallEvent.model_validate(document)
        except ValidationError as exc:
            raise validation_problem(exc) from None
        region = self.settings.default_region
        caller = voice_endpoint(event.ani, region, "ani")
        attributes: dict[str, Any] = {"ivr_path": tuple(event.ivr_path), "cti_event": event.event}
        attributes.update(event.attached_data)
        if event.intent_confidence is not None:
            attributes["intent_confidence"] = event.intent_confidence
        if caller is None:
            attributes["caller_withheld"] = True
        hangup = event.event != "call.offered"
        return (
            _voice_item(
                kind=InboundKind.HANGUP if hangup else InboundKind.MESSAGE,
                call_id=event.call_id,
                key=f"{event.call_id}:{event.event}" if hangup else event.call_id,
                caller=caller,
                to=_to_address(event.dnis, region),
                now=now,
                direction=Direction.INBOUND,
                summary=clip(event.transcript or "", self.settings.summary_max_chars),
                language=event.language.lower() if event.language else None,
                intent=event.intent,
                attributes=attributes,
            ),
        )
