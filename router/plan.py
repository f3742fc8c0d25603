"""What classification decides for one interaction: where it waits and who may take it.

The rule engine (`rules/`) produces a `RoutingPlan`; the routing core only reads it.
Escalation steps widen the target over time, like Genesys bullseye rings or Amazon
Connect routing-criteria steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple


class SkillRequirement(NamedTuple):
    """A required skill and its minimum proficiency (1–5).

    A tuple, not a dataclass: requirements are part of the routing index keys, and
    tuples hash and compare in C. The range is validated where plans are built from
    outside input (the rules model, the API); `requirement()` checks it too.
    """

    skill: str
    min_proficiency: int = 1


def requirement(skill: str, min_proficiency: int = 1) -> SkillRequirement:
    if not 1 <= min_proficiency <= 5:
        raise ValueError(
            f"min_proficiency for skill {skill!r} must be 1..5, got {min_proficiency!r}"
        )
    return SkillRequirement(skill, min_proficiency)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Applied `after` seconds from enqueue (cumulatively, in order).

    `lower_proficiency_by` lowers every requirement's minimum (never below 1);
    `drop_skills` removes requirements; `add_queues` widens to overflow queues;
    `raise_priority_by` raises the priority tier.
    """

    after: float
    lower_proficiency_by: int = 0
    drop_skills: tuple[str, ...] = ()
    add_queues: tuple[str, ...] = ()
    raise_priority_by: int = 0


class MaxWaitAction(StrEnum):
    OVERFLOW = "overflow"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    """Target queue, requirements, priority tier (higher goes first) and how to widen.

    `rule` and `rule_version` record which rule produced the plan (explain).
    """

    queue: str
    skills: tuple[SkillRequirement, ...] = ()
    priority: int = 0
    sla_class: str | None = None
    steps: tuple[EscalationStep, ...] = ()
    preferred_agent: str | None = None
    preferred_timeout: float = 0.0
    max_wait: float | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.EXPIRE
    overflow_queue: str | None = None
    rule: str | None = None
    rule_version: int | None = None
    tags: tuple[str, ...] = field(default=())

    def with_queue(self, queue: str) -> RoutingPlan:
        return replace(self, queue=queue)


MIN_PRIORITY = 0
MAX_PRIORITY = 9


@dataclass(frozen=True, slots=True)
class Target:
    """The effective routing target at one moment, after escalation steps applied."""

    queues: tuple[str, ...]
    skills: tuple[SkillRequirement, ...]
    priority: int


def target_after(plan: RoutingPlan, applied: int) -> Target:
    """The plan's target once its first `applied` escalation steps have fired (pure).

    Steps fire on the clock (`after` seconds from enqueue) or early, on SLA near-breach;
    counting applied steps rather than reading the clock keeps both paths one function.
    """
    if applied == 0:  # the common case, on every enqueue: no copying, no sorting
        return Target((plan.queue,), plan.skills, plan.priority)
    queues = [plan.queue]
    skills = {req.skill: req.min_proficiency for req in plan.skills}
    priority = plan.priority
    for step in plan.steps[:applied]:
        for name in step.drop_skills:
            skills.pop(name, None)
        if step.lower_proficiency_by:
            skills = {k: max(1, v - step.lower_proficiency_by) for k, v in skills.items()}
        for queue in step.add_queues:
            if queue not in queues:
                queues.append(queue)
        priority = min(MAX_PRIORITY, priority + step.raise_priority_by)
    return Target(
        queues=tuple(queues),
        skills=tuple(sorted(SkillRequirement(k, v) for k, v in skills.items())),
        priority=priority,
    )
