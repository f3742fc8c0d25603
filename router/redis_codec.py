"""JSON encodings the Redis store keeps: interactions, plans and domain events.

The routing scripts never read these (they get the fields they need as separate hash
fields); they travel so any worker can rebuild a `WorkView`. JSON rather than pickle:
the stream and the hashes stay readable by operators and by non-Python consumers.
Decoding is memoized on the encoded text, since one interaction is read many times; an
encoded interaction is remembered under its text at once, so its first view does not
decode it either.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable, Sequence
from dataclasses import MISSING, asdict, fields
from functools import lru_cache
from typing import Any, cast

from router.events import HANDLED_KINDS, AgentEvent, Event, EventKind, InteractionEvent
from router.interaction import Attachment, Channel, Direction, Interaction, Status
from router.plan import EscalationStep, MaxWaitAction, RoutingPlan, SkillRequirement
from router.topology import Topology

_COMPACT = (",", ":")
#: Encoders made once: `json.dumps` with any non-default option builds a new encoder on
#: every call (~0.7 µs), and the hot path encodes three documents per interaction.
#: `COMPACT_JSON` keeps non-ASCII text as is; `COMPACT_ASCII_JSON` escapes it.
COMPACT_JSON = json.JSONEncoder(separators=_COMPACT, ensure_ascii=False)
COMPACT_ASCII_JSON = json.JSONEncoder(separators=_COMPACT)


#: Encoded text -> interaction, for `decode_interaction` (bounded: the oldest half goes
#: when it is full).
_DECODED: dict[str, Interaction] = {}
_DECODED_KEPT = 65536
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _remember(text: str, interaction: Interaction) -> None:
    if len(_DECODED) >= _DECODED_KEPT:
        for old in list(_DECODED)[: _DECODED_KEPT // 2]:
            del _DECODED[old]
    _DECODED[text] = interaction


def _interaction_fields(interaction: Interaction) -> dict[str, Any]:
    return {
        "id": interaction.id,
        "channel": interaction.channel.value,
        "idempotency_key": interaction.idempotency_key,
        "created_at": interaction.created_at,
        "direction": interaction.direction.value,
        "customer_id": interaction.customer_id,
        "address": interaction.address,
        "to": interaction.to,
        "conversation_id": interaction.conversation_id,
        "subject": interaction.subject,
        "summary": interaction.summary,
        "language": interaction.language,
        "intent": interaction.intent,
        "sentiment": interaction.sentiment,
        "public": interaction.public,
        "reach": interaction.reach,
        "attachments": [asdict(a) for a in interaction.attachments],
        "attributes": dict(interaction.attributes),
    }


def _plan_fields(plan: RoutingPlan) -> dict[str, Any]:
    return {
        "queue": plan.queue,
        "skills": [list(r) for r in plan.skills],
        "priority": plan.priority,
        "sla_class": plan.sla_class,
        "steps": [asdict(s) for s in plan.steps],
        "preferred_agent": plan.preferred_agent,
        "preferred_timeout": plan.preferred_timeout,
        "max_wait": plan.max_wait,
        "max_wait_action": plan.max_wait_action.value,
        "overflow_queue": plan.overflow_queue,
        "rule": plan.rule,
        "rule_version": plan.rule_version,
        "tags": list(plan.tags),
    }


# Keys at their default value are left out of the stored JSON (decoding fills them in):
# the functions move these texts through their arguments, the item's hash and two view
# replies a lifecycle, and Redis's Lua hashes every byte of every string it makes (~6
# server instructions a byte). A plain interaction shrank from ~330 bytes to 68, a plain
# plan from ~250 to 19. Texts stored in full (before this) decode alike.
def _encoded_defaults(blank: Any, encoded: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The encoded value of every field of `blank`'s dataclass that has a default (from the
    dataclass itself, through the same encoding: nothing to keep in step by hand)."""
    required = {f.name for f in fields(blank)
                if f.default is MISSING and f.default_factory is MISSING}
    return {k: v for k, v in encoded(blank).items() if k not in required}


_INTERACTION_DEFAULTS = _encoded_defaults(
    Interaction(id="", channel=Channel.CHAT, idempotency_key="", created_at=0.0),
    _interaction_fields)
_PLAN_DEFAULTS = _encoded_defaults(RoutingPlan(queue=""), _plan_fields)


def _without_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`data` less the keys holding their default (the same type too: 0 is not 0.0 or
    False, so a value always decodes as it was)."""
    return {k: v for k, v in data.items()
            if k not in defaults or type(v) is not type(defaults[k]) or v != defaults[k]}


def encode_interaction(interaction: Interaction) -> str:
    text = COMPACT_JSON.encode(
        _without_defaults(_interaction_fields(interaction), _INTERACTION_DEFAULTS))
    # Remembered only when decoding would give an equal object (JSON turns tuples into
    # lists, so attributes holding them are decoded afresh).
    if all(type(v) in _JSON_SCALARS for v in interaction.attributes.values()):
        _remember(text, interaction)
    return text


def decode_interaction(text: str) -> Interaction:
    found = _DECODED.get(text)
    if found is None:
        data: dict[str, Any] = {**_INTERACTION_DEFAULTS, **json.loads(text)}
        data["channel"] = Channel(data["channel"])
        data["direction"] = Direction(data["direction"])
        data["attachments"] = tuple(Attachment(**a) for a in data["attachments"])
        if data["attributes"] is _INTERACTION_DEFAULTS["attributes"]:
            data["attributes"] = {}  # (its own, not the shared default)
        found = Interaction(**data)
        _remember(text, found)
    return found


def encode_plan(plan: RoutingPlan) -> str:
    """Memoized: rules hand out a few distinct plans, each encoded once."""
    try:
        return _encode_plan_cached(plan)
    except TypeError:  # a plan built with an unhashable field (a list for a tuple)
        return _encode_plan(plan)


@lru_cache(maxsize=4096)
def _encode_plan_cached(plan: RoutingPlan) -> str:
    return _encode_plan(plan)


def _encode_plan(plan: RoutingPlan) -> str:
    return COMPACT_JSON.encode(_without_defaults(_plan_fields(plan), _PLAN_DEFAULTS))


@lru_cache(maxsize=4096)
def decode_plan(text: str) -> RoutingPlan:
    data: dict[str, Any] = {**_PLAN_DEFAULTS, **json.loads(text)}
    data["skills"] = tuple(SkillRequirement(s, m) for s, m in data["skills"])
    data["steps"] = tuple(
        EscalationStep(
            after=s["after"], lower_proficiency_by=s["lower_proficiency_by"],
            drop_skills=tuple(s["drop_skills"]), add_queues=tuple(s["add_queues"]),
            raise_priority_by=s["raise_priority_by"],
        )
        for s in data["steps"]
    )
    data["max_wait_action"] = MaxWaitAction(data["max_wait_action"])
    data["tags"] = tuple(data["tags"])
    return RoutingPlan(**data)


def opt(value: str | None) -> str:
    """An optional string as the functions keep it: '' for None, else '~' + the value."""
    return "" if value is None else "~" + value


def unopt(value: str | None) -> str | None:
    """The value `opt` kept (None for '')."""
    return value[1:] if value else None


#: enum members by value, looked up rather than called: `Status(text)` runs the Enum
#: machinery's Python code, and a worker decodes several per transition
STATUS_OF: dict[str, Status] = {s.value: s for s in Status}
CHANNEL_OF: dict[str, Channel] = {c.value: c for c in Channel}
_KIND: dict[str, EventKind] = {k.value: k for k in EventKind}

#: The C scanner `json.loads` ends in, called directly: loads adds two regular-expression
#: matches (leading and trailing whitespace) and two Python calls around it, and a
#: lifecycle decodes ~6 documents (events, history, offer details): a tenth of a
#: worker's Python when profiled.
# (typeshed types make_scanner's argument as itself; it takes a decoder's settings)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    cast(Any, json.JSONDecoder()))


def stored_json(text: str) -> Any:
    """A JSON document the functions wrote (cjson: one value, no surrounding whitespace),
    as `json.loads` decodes it, and `json.JSONDecodeError` for anything else (whitespace
    around the value included)."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration as missing:
        raise json.JSONDecodeError("Expecting value", text, missing.value) from None
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def event_arrays(text: str) -> list[Any]:
    """The events of a text the functions wrote, each as its array: one event ('["…'), or
    the array of several ('[[…': a call that made several, or a batch's stream entry).
    A call's reply and a stream entry's `e` field share the form."""
    decoded = stored_json(text)
    return cast("list[Any]", decoded) if text[1] == "[" else [decoded]


def decode_event(raw: Sequence[str], topology: Topology) -> Event:
    """One event as the functions encode it (`emit` and `emit_presence` in omniroute.lua):
    the element of a call's reply and the `e` field of a stream entry are the same array.

    Teams come from `topology`; a queue or agent it does not know (yet: another worker
    may have changed the configuration first) gets no team rather than failing the call
    that already ran.
    """
    if raw[0] == "a":
        _, agent_id, presence, previous, reason, changed_at = raw
        profile = topology.agents.get(agent_id)
        return AgentEvent(
            kind=EventKind.AGENT_PRESENCE, at=float(changed_at), agent_id=agent_id,
            teams=profile.teams if profile is not None else (), presence=presence,
            previous=previous, reason=unopt(reason),
        )
    (_, kind_s, iid, channel, queue, status, previous, agent_id, priority, enqueued,
     assigned, reason, threshold, detail, at_s) = raw
    kind = _KIND[kind_s]
    at, enqueued_at = float(at_s), float(enqueued)
    known = topology.queues.get(queue)
    # Positional, in the dataclass's field order (mypy checks each type): a served worker
    # decodes every event of every reply, and sixteen keyword arguments cost half a µs
    # more an event than positions.
    return InteractionEvent(
        kind, at, iid, CHANNEL_OF[channel], queue,
        known.team if known is not None else "", STATUS_OF[status],
        STATUS_OF[previous] if previous else None, agent_id or None,
        int(priority), enqueued_at, at - enqueued_at,
        at - float(assigned) if kind in HANDLED_KINDS and assigned else None,
        unopt(reason), stored_json(detail) if detail else {}, float(threshold),
    )
