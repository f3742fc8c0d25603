"""The ruleset document (YAML or JSON) as pydantic models — the config boundary.

Shape::

    calendars:
      support: {timezone: Europe/Madrid, hours: {mon: ["09:00-18:00"]}, holidays: [2025-12-25]}
    rules:
      - name: vip
        description: VIP and high-value customers
        when: customer.tier in ["platinum", "gold"] || customer.lifetime_value > 10000.0
        then:
          queue: vip
          skills: {vip: 3}
          priority: 7
          steps: [{after: 60s, lower_proficiency_by: 1}]
          preferred_agent: {expression: customer.account_owner, timeout: 30s}
          max_wait: {after: 10m, action: overflow, queue: general}
    default:
      queue: general

Rules are ordered, first match wins; `default` is required and always matches.
Only the shape is checked here; references (queues, skills, calendars) and the CEL
expressions are checked by `rules.compiler` against a topology and the schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.plan import MAX_PRIORITY, MIN_PRIORITY, MaxWaitAction
from rules.calendar import WEEKDAYS, Calendar, parse_interval
from rules.duration import Duration

NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepSpec(_Strict):
    """One escalation step, applied `after` the interaction was queued (cumulative)."""

    after: Duration
    lower_proficiency_by: int = Field(default=0, ge=0, le=4)
    drop_skills: tuple[str, ...] = ()
    add_queues: tuple[str, ...] = ()
    raise_priority_by: int = Field(default=0, ge=0, le=MAX_PRIORITY)

    @model_validator(mode="after")
    def _does_something(self) -> StepSpec:
        if not (self.lower_proficiency_by or self.drop_skills or self.add_queues
                or self.raise_priority_by):
            raise ValueError("an escalation step must change something")
        return self


class PreferredAgentSpec(_Strict):
    """Offer to one agent first, for `timeout`: a literal `agent` id or a CEL `expression`
    of type string (e.g. `customer.account_owner`); an empty result means no preference."""

    agent: str | None = None
    expression: str | None = None
    timeout: Duration = 30.0

    @model_validator(mode="after")
    def _exactly_one(self) -> PreferredAgentSpec:
        if (self.agent is None) == (self.expression is None):
            raise ValueError("preferred_agent needs exactly one of 'agent' or 'expression'")
        return self


class MaxWaitSpec(_Strict):
    after: Duration
    action: MaxWaitAction = MaxWaitAction.EXPIRE
    queue: str | None = None

    @model_validator(mode="after")
    def _queue_for_overflow(self) -> MaxWaitSpec:
        if self.action is MaxWaitAction.OVERFLOW and not self.queue:
            raise ValueError("max_wait action 'overflow' needs a 'queue'")
        if self.action is MaxWaitAction.EXPIRE and self.queue:
            raise ValueError("max_wait action 'expire' takes no 'queue'")
        return self


class ActionSpec(_Strict):
    """What a matching rule decides: the `then` of a rule, or the default."""

    queue: str = Field(min_length=1)
    team: str | None = None  # optional assertion: must be the queue's team
    skills: dict[str, int] = Field(default_factory=dict)  # skill -> minimum proficiency
    priority: int = Field(default=0, ge=MIN_PRIORITY, le=MAX_PRIORITY)
    sla_class: str | None = None
    steps: tuple[StepSpec, ...] = ()
    preferred_agent: PreferredAgentSpec | None = None
    max_wait: MaxWaitSpec | None = None
    tags: tuple[str, ...] = ()

    @field_validator("skills")
    @classmethod
    def _proficiency(cls, skills: dict[str, int]) -> dict[str, int]:
        for skill, level in skills.items():
            if not 1 <= level <= 5:
                raise ValueError(f"skill {skill!r}: minimum proficiency must be 1..5, got {level}")
        return skills

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: tuple[StepSpec, ...]) -> tuple[StepSpec, ...]:
        afters = [s.after for s in steps]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be ordered by 'after'")
        return steps


class RuleSpec(_Strict):
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    description: str = ""
    when: str = Field(min_length=1)
    then: ActionSpec

    @field_validator("when", mode="before")
    @classmethod
    def _yaml_bool(cls, value: Any) -> Any:
        # `when: true` is a YAML boolean; it is the CEL literal the supervisor meant.
        if isinstance(value, bool):
            return "true" if value else "false"
        return value


class CalendarSpec(_Strict):
    timezone: str
    hours: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # mon..sun -> HH:MM-HH:MM
    holidays: tuple[dt.date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {name!r}") from None
        return name

    @field_validator("hours")
    @classmethod
    def _hours(cls, hours: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, intervals in hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
            for interval in intervals:
                parse_interval(interval)
        return hours

    def build(self, name: str) -> Calendar:
        weekly = {
            WEEKDAYS.index(day): tuple(sorted(parse_interval(i) for i in intervals))
            for day, intervals in self.hours.items()
        }
        return Calendar(name, ZoneInfo(self.timezone), weekly, frozenset(self.holidays))


class RulesetSpec(_Strict):
    description: str = ""
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
    default: ActionSpec

    def canonical_yaml(self) -> str:
        """Stable text of the ruleset (defaults omitted, order kept): what diffs compare."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_data(cls, data: Any) -> RulesetSpec:
        return cls.model_validate(data)
