"""The API's JSON shapes (pydantic, boundary only) and the converters from domain records.

Request models forbid unknown fields and do not coerce types across kinds, so a typo
or a string where a number belongs is a 422 naming the field, not a silent default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agents.model import DEFAULT_BLOCKING, Presence
from router.customer import CustomerProfile
from router.interaction import Channel
from router.plan import RoutingPlan
from router.runtime import FollowUp, IngestOutcome
from router.work import AgentView, Reservation, WorkView
from rules import DryRun


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---------------------------------------------------------------------- requests
class ReasonIn(Strict):
    reason: str | None = Field(default=None, max_length=200, examples=["customer_request"])


class TransferIn(Strict):
    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{"queue": "billing", "skills": {"billing": 3},
                                         "priority": 5, "reason": "billing question"}]},
    )

    queue: str = Field(min_length=1, max_length=128)
    skills: dict[str, int] | None = None
    priority: int | None = Field(default=None, ge=0, le=9)
    agent_id: str | None = Field(default=None, max_length=128,
                                 description="Offer to this agent first (warm transfer)")
    reason: str | None = Field(default=None, max_length=200)


class PresenceIn(Strict):
    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{"presence": "not_ready", "reason": "break"}]},
    )

    presence: Literal["available", "not_ready", "offline"]
    reason: str | None = Field(default=None, max_length=100,
                               description="Reason code, kept for not_ready")
    auto_offer: bool | None = Field(default=None,
                                    description="Receive pushed offers (true) or only pull")


class LoginIn(Strict):
    presence: Literal["available", "not_ready"] = "available"
    reason: str | None = Field(default=None, max_length=100)
    auto_offer: bool | None = None


class CompleteIn(Strict):
    disposition: str | None = Field(default=None, max_length=200, examples=["resolved"])


# ---------------------------------------------------------------------- responses
class Accepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "interaction_id": "voice-d28a71683d9853b9a974ba7125e16c92", "decision": "new",
        "created": True, "status": "queued", "rule": "vip", "rule_version": 1,
    }]})

    interaction_id: str
    decision: str = Field(description="new | follow_up | hangup | auto_reply | duplicate")
    created: bool
    status: str | None = None
    rule: str | None = None
    rule_version: int | None = None


class AcceptedBatch(BaseModel):
    """A webhook delivery may carry several messages (Meta, X batch them)."""

    interaction_id: str | None = Field(description="The first item's id (single deliveries)")
    items: list[Accepted]


def accepted(outcome: IngestOutcome) -> Accepted:
    return Accepted(
        interaction_id=outcome.interaction_id, decision=outcome.decision.value,
        created=outcome.created,
        status=outcome.status.value if outcome.status is not None else None,
        rule=outcome.rule, rule_version=outcome.rule_version,
    )


def plan_json(plan: RoutingPlan) -> dict[str, Any]:
    return {
        "queue": plan.queue,
        "skills": {s.skill: s.min_proficiency for s in plan.skills},
        "priority": plan.priority,
        "sla_class": plan.sla_class,
        "steps": [
            {"after": s.after, "lower_proficiency_by": s.lower_proficiency_by,
             "drop_skills": list(s.drop_skills), "add_queues": list(s.add_queues),
             "raise_priority_by": s.raise_priority_by}
            for s in plan.steps
        ],
        "preferred_agent": plan.preferred_agent,
        "preferred_timeout": plan.preferred_timeout,
        "max_wait": plan.max_wait,
        "max_wait_action": plan.max_wait_action.value,
        "overflow_queue": plan.overflow_queue,
        "tags": list(plan.tags),
    }


class CustomerOut(BaseModel):
    """A customer profile as routing sees it; `known: false` is the unknown-customer
    default (an id nobody has a profile for is not an error)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "c-ana-lopez", "name": "Ana López", "tier": "gold", "lifetime_value": 12500.0,
        "language": "es", "segment": "consumer", "account_owner": "alice",
        "last_agent": None, "open_interactions": 0, "open_channels": [], "known": True,
        "tags": [],
    }]})

    id: str
    name: str
    tier: str
    lifetime_value: float
    language: str
    segment: str
    account_owner: str | None
    last_agent: str | None
    open_interactions: int
    open_channels: list[str]
    known: bool
    tags: list[str]


def customer_out(profile: CustomerProfile) -> CustomerOut:
    return CustomerOut(
        id=profile.id, name=profile.name, tier=profile.tier,
        lifetime_value=profile.lifetime_value, language=profile.language,
        segment=profile.segment, account_owner=profile.account_owner,
        last_agent=profile.last_agent, open_interactions=profile.open_interactions,
        open_channels=list(profile.open_channels), known=profile.known, tags=list(profile.tags),
    )


class InteractionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "email-7beef340182a52439d8d9d714e7f75de", "channel": "email", "status": "queued",
        "queue": "vip", "team": "csr", "priority": 7, "agent_id": None,
        "customer_id": "c-ana-lopez", "rule": "vip", "rule_version": 1,
    }]})

    id: str
    channel: str
    status: str
    queue: str
    team: str
    priority: int
    agent_id: str | None
    disposition: str | None
    customer_id: str | None
    address: str | None
    subject: str
    summary: str
    created_at: float
    enqueued_at: float
    due_at: float
    rule: str | None
    rule_version: int | None
    plan: dict[str, Any]
    history: list[dict[str, Any]]
    follow_ups: list[dict[str, Any]] = Field(default_factory=list)
    explain: dict[str, Any] | None = None
    customer: CustomerOut | None = Field(
        default=None, description="The customer's profile (supervisors, viewers and the "
        "agent the interaction is with; otherwise null; also `GET /customers/{id}`)")


def interaction_out(
    view: WorkView, follow_ups: list[FollowUp] | None = None, dry_run: DryRun | None = None,
    customer: CustomerProfile | None = None,
) -> InteractionOut:
    facts = view.interaction
    return InteractionOut(
        id=view.id, channel=facts.channel.value, status=view.status.value, queue=view.queue,
        team=view.team, priority=view.priority, agent_id=view.agent_id,
        disposition=view.disposition, customer_id=facts.customer_id, address=facts.address,
        subject=facts.subject, summary=facts.summary, created_at=facts.created_at,
        enqueued_at=view.enqueued_at, due_at=view.due_at, rule=view.plan.rule,
        rule_version=view.plan.rule_version, plan=plan_json(view.plan),
        history=[
            {"at": h.at, "event": h.event, "agent_id": h.agent_id, "queue": h.queue,
             "reason": h.reason}
            for h in view.history
        ],
        follow_ups=[
            {"at": f.at, "channel": f.channel.value, "idempotency_key": f.idempotency_key,
             "summary": f.summary}
            for f in follow_ups or ()
        ],
        explain=explain_json(dry_run) if dry_run is not None else None,
        customer=customer_out(customer) if customer is not None else None,
    )


def explain_json(dry_run: DryRun) -> dict[str, Any]:
    explanation = dry_run.explanation
    result = explanation.classification
    return {
        "version": dry_run.version,
        "rule": result.rule,
        "plan": plan_json(result.plan),
        "errors": [{"rule": e.rule, "message": e.message} for e in result.errors],
        "trace": [{"rule": t.rule, "outcome": t.outcome.value, "detail": t.detail}
                  for t in explanation.trace],
    }


class AgentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "alice", "name": "Alice Martin", "teams": ["csr"], "presence": "available",
        "reason": None, "auto_offer": True, "skills": {"billing": 5, "english": 5},
        "held": {"voice-d28a": "voice"}, "active": {"voice": 1},
        "capacity": {"voice": 1, "chat": 3, "sms": 3, "social": 3, "email": 5},
        "missed_offers": 0,
    }]})

    id: str
    name: str = ""
    teams: list[str]
    presence: Presence
    reason: str | None
    auto_offer: bool
    skills: dict[str, int] = Field(default_factory=dict)
    queues: list[str] = Field(default_factory=list)
    held: dict[str, str]
    active: dict[str, int]
    capacity: dict[str, int]
    #: channels whose active work blocks all other work (saved back unchanged by editors)
    blocking: list[str] = Field(default_factory=lambda: ["voice"])
    missed_offers: int


def agent_out(view: AgentView, name: str = "", skills: dict[str, int] | None = None,
              queues: tuple[str, ...] = (),
              blocking: frozenset[Channel] | None = None) -> AgentOut:
    return AgentOut(
        id=view.id, name=name, teams=list(view.teams), presence=view.presence,
        reason=view.reason, auto_offer=view.auto_offer, skills=dict(skills or {}),
        queues=list(queues),
        held={k: v.value for k, v in view.held.items()},
        active={k.value: v for k, v in view.active.items()},
        capacity={k.value: v for k, v in view.capacity.items()},
        blocking=sorted(c.value for c in (DEFAULT_BLOCKING if blocking is None else blocking)),
        missed_offers=view.missed_offers,
    )


class ReservationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "interaction_id": "voice-d28a71683d9853b9a974ba7125e16c92", "agent_id": "alice",
        "channel": "voice", "queue": "general", "reserved_at": 1795364121.8,
        "expires_at": 1795364141.8,
    }]})

    interaction_id: str
    agent_id: str
    channel: str
    queue: str
    reserved_at: float
    expires_at: float


def reservation_out(r: Reservation) -> ReservationOut:
    return ReservationOut(interaction_id=r.interaction_id, agent_id=r.agent_id,
                          channel=r.channel.value, queue=r.queue, reserved_at=r.reserved_at,
                          expires_at=r.expires_at)


# ---------------------------------------------------------------------- topology (supervisor)
#: Team, queue and agent ids: what the config files accept, bounded.
TopologyId = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9_.-]+$")]
SkillName = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                             pattern=r"^[A-Za-z0-9_.-]+$")]
Proficiency = Annotated[int, Field(ge=1, le=5)]
Slots = Annotated[int, Field(ge=0, le=100)]
ChannelName = Literal["voice", "email", "sms", "social", "chat"]
#: Seconds, at most 30 days.
Seconds = Annotated[float, Field(gt=0, le=30 * 86_400)]


class TeamIn(Strict):
    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{"name": "Social care", "social_care": True}]},
    )

    name: str = Field(default="", max_length=200)
    social_care: bool = Field(default=False,
                              description="The dedicated social-care team (its own SLAs)")


class QueueIn(Strict):
    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{"team": "csr", "name": "Returns"}]},
    )

    team: TopologyId = Field(description="The owning team; a queue with waiting work "
                                         "cannot change team")
    name: str = Field(default="", max_length=200)


class AgentIn(Strict):
    """An agent's configuration; the path names it. Omitted capacity channels keep the
    defaults (voice 1, chat 3, sms 3, social 3, email 5)."""

    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{
            "name": "Iris Costa", "teams": ["csr"], "skills": {"english": 4, "billing": 3},
            "capacity": {"voice": 1, "email": 4}, "queues": ["general", "billing"],
        }]},
    )

    name: str = Field(default="", max_length=200)
    teams: list[TopologyId] = Field(min_length=1, max_length=20)
    skills: dict[SkillName, Proficiency] = Field(default_factory=dict, max_length=100,
                                                 description="Skill → proficiency 1..5")
    capacity: dict[ChannelName, Slots] = Field(default_factory=dict,
                                               description="Concurrent work per channel")
    blocking: list[ChannelName] | None = Field(
        default=None, max_length=5,
        description="Channels whose active work blocks all others (default: voice)")
    queues: list[TopologyId] = Field(default_factory=list, max_length=100,
                                     description="Restrict to these queues of its teams "
                                                 "(empty: all of them)")


class TeamOut(BaseModel):
    id: str
    name: str
    social_care: bool
    queues: list[str]
    agents: list[str]


class QueueOut(BaseModel):
    id: str
    team: str
    name: str


class RuleFinding(BaseModel):
    """A finding of the published ruleset against the topology (warnings here)."""

    kind: str
    severity: str
    message: str
    rule: str | None = None
    field: str | None = None
    value: str | None = None
    line: int | None = None
    column: int | None = None


class TeamChange(BaseModel):
    team: TeamOut
    created: bool
    rule_warnings: list[RuleFinding] = Field(default_factory=list)


class QueueChange(BaseModel):
    queue: QueueOut
    created: bool
    rule_warnings: list[RuleFinding] = Field(default_factory=list)


class AgentChange(BaseModel):
    agent: AgentOut
    created: bool
    rule_warnings: list[RuleFinding] = Field(default_factory=list)


class SlaPolicyIn(Strict):
    """One SLA policy; `PUT /sla/policies` takes the whole list (what GET answers)."""

    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{
            "team": "csr", "channel": "voice", "threshold": 20, "target": 0.8,
            "max_wait": 600, "max_wait_action": "expire",
        }]},
    )

    team: TopologyId
    channel: ChannelName
    sla_class: str | None = Field(default=None, min_length=1, max_length=64)
    public: bool | None = Field(default=None, description="Social: public posts vs private")
    threshold: Seconds = Field(description="Answer within this many seconds")
    target: float = Field(gt=0, le=1, description="Fraction to answer within threshold")
    near_breach: float | None = Field(default=None, gt=0, le=1)
    short_abandon: float | None = Field(default=None, ge=0, le=3600)
    max_wait: Seconds | None = None
    max_wait_action: Literal["expire", "overflow"] = "expire"
    overflow_queue: TopologyId | None = None


class SlaPolicyOut(BaseModel):
    team: str
    channel: str
    sla_class: str | None
    public: bool | None
    threshold: float
    target: float
    near_breach: float
    short_abandon: float
    max_wait: float | None
    max_wait_action: str
    overflow_queue: str | None
