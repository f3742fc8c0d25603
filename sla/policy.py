"""SLA policies per team × channel (optionally per SLA class and public/private).

A policy says: answer `target` of the interactions within `threshold` seconds; warn
at `near_breach` of the threshold; abandons within `short_abandon` seconds are not
counted against us; after `max_wait` overflow to another queue or expire.

`SlaPolicies` is what the routing core asks for deadlines (it implements
`router.deadlines.DeadlinePolicy`) and what measurement asks for targets. The YAML is
validated with pydantic at this boundary; the rest of the code sees frozen records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from router.deadlines import DEFAULT_THRESHOLDS, Deadline
from router.errors import ConfigError
from router.interaction import Channel
from router.plan import MaxWaitAction
from router.topology import Topology
from sla.duration import parse_duration

DEFAULT_NEAR_BREACH = 0.8
DEFAULT_SHORT_ABANDON = 5.0

#: Industry-usual targets, used for any team × channel the file does not mention, so
#: the core always gets a deadline (an unconfigured team must still be ordered).
DEFAULT_TARGETS: Mapping[Channel, float] = {
    Channel.VOICE: 0.8,
    Channel.CHAT: 0.8,
    Channel.SMS: 0.8,
    Channel.SOCIAL: 0.9,
    Channel.EMAIL: 0.9,
}
#: Private social messages are less urgent than public posts everyone can see.
DEFAULT_PRIVATE_SOCIAL_THRESHOLD = 1800.0


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """One resolved policy. `public`/`sla_class` of None mean "any"."""

    team: str
    channel: Channel
    threshold: float
    target: float
    near_breach: float = DEFAULT_NEAR_BREACH
    short_abandon: float = DEFAULT_SHORT_ABANDON
    sla_class: str | None = None
    public: bool | None = None
    max_wait: float | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.EXPIRE
    overflow_queue: str | None = None

    def deadline(self) -> Deadline:
        return Deadline(
            threshold=self.threshold,
            near_breach_fraction=self.near_breach,
            max_wait=self.max_wait,
            max_wait_action=self.max_wait_action,
            overflow_queue=self.overflow_queue,
        )

    def within(self, waited: float) -> bool:
        """Answered in time: a wait of exactly T still meets the SLA."""
        return waited <= self.threshold

    def short(self, waited: float) -> bool:
        """An abandon this quick is a misdial or an instant hang-up, not a lost customer."""
        return waited <= self.short_abandon


# ---------------------------------------------------------------- config (pydantic)


def _duration(value: Any) -> float:
    return parse_duration(value)


def _fraction(value: Any) -> Any:
    """Accept 0.8 or "80%"; range is checked by the field constraints."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"invalid percentage {value!r}") from None
    return value


Duration = Annotated[float, BeforeValidator(_duration)]
Fraction = Annotated[float, BeforeValidator(_fraction), Field(gt=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsSpec(_Strict):
    near_breach: Fraction = DEFAULT_NEAR_BREACH
    short_abandon: Duration = DEFAULT_SHORT_ABANDON


class PolicySpec(_Strict):
    team: str = Field(min_length=1)
    channel: Channel
    sla_class: str | None = None
    public: bool | None = None
    threshold: Duration
    target: Fraction
    near_breach: Fraction | None = None
    short_abandon: Duration | None = None
    max_wait: Duration | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.EXPIRE
    overflow_queue: str | None = None

    @field_validator("threshold", "max_wait")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be greater than 0 seconds")
        return value

    @model_validator(mode="after")
    def _max_wait_rule(self) -> PolicySpec:
        if self.max_wait_action is MaxWaitAction.OVERFLOW:
            if self.overflow_queue is None:
                raise ValueError("max_wait_action 'overflow' needs an overflow_queue")
            if self.max_wait is None:
                raise ValueError("max_wait_action 'overflow' needs a max_wait")
        elif self.overflow_queue is not None:
            raise ValueError(
                f"overflow_queue {self.overflow_queue!r} is set but max_wait_action is"
                f" {self.max_wait_action.value!r}"
            )
        return self

    def key(self) -> tuple[str, Channel, str | None, bool | None]:
        return (self.team, self.channel, self.sla_class, self.public)


class SlaFileSpec(_Strict):
    defaults: DefaultsSpec = DefaultsSpec()
    policies: list[PolicySpec] = Field(min_length=1)


# ---------------------------------------------------------------- the policy set


class SlaPolicies:
    """Every configured policy, resolved most-specific-first.

    Lookup for (team, channel, sla_class, public): among the team × channel policies,
    one naming this sla_class beats one for any class, then one naming this
    public/private beats one for both. Nothing configured ⇒ the channel default.
    """

    __slots__ = ("_by_team_channel", "_deadlines", "_policies", "_resolved", "source")

    def __init__(self, policies: Iterable[SlaPolicy], source: str = "<policies>") -> None:
        self._policies = tuple(policies)
        self.source = source
        index: dict[tuple[str, Channel], list[SlaPolicy]] = {}
        for policy in self._policies:
            index.setdefault((policy.team, policy.channel), []).append(policy)
        self._by_team_channel = index
        # Lookups run on every enqueue and every measured event; the set is immutable,
        # so each distinct key is resolved once.
        self._resolved: dict[tuple[str, Channel, str | None, bool], SlaPolicy] = {}
        self._deadlines: dict[tuple[str, Channel, str | None, bool], Deadline] = {}

    # -- DeadlinePolicy ---------------------------------------------------------
    def deadline(
        self, team: str, channel: Channel, sla_class: str | None, public: bool
    ) -> Deadline:
        key = (team, channel, sla_class, public)
        found = self._deadlines.get(key)
        if found is None:
            found = self._deadlines[key] = self.policy(team, channel, sla_class, public).deadline()
        return found

    # -- lookups ----------------------------------------------------------------
    def policy(
        self, team: str, channel: Channel, sla_class: str | None = None, public: bool = False
    ) -> SlaPolicy:
        key = (team, channel, sla_class, public)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        resolved = self._resolve(team, channel, sla_class, public)
        self._resolved[key] = resolved
        return resolved

    def _resolve(
        self, team: str, channel: Channel, sla_class: str | None, public: bool
    ) -> SlaPolicy:
        best: SlaPolicy | None = None
        best_score = (-1, -1)
        for candidate in self._by_team_channel.get((team, channel), ()):
            score = _specificity(candidate, sla_class, public)
            if score is not None and score > best_score:
                best, best_score = candidate, score
        return best if best is not None else default_policy(team, channel, public)

    def headline(self, team: str, channel: Channel) -> SlaPolicy:
        """The policy a team × channel is reported against (wallboards, gauges, alerts).

        That is the any-class policy for public interactions: for social, public posts
        carry the stricter, advertised SLA; other channels rarely split on `public`.
        """
        return self.policy(team, channel, None, public=True)

    def policies(self) -> tuple[SlaPolicy, ...]:
        return self._policies

    def team_channels(self) -> tuple[tuple[str, Channel], ...]:
        """Configured team × channel pairs, in file order (what dashboards list)."""
        return tuple(self._by_team_channel)

    def thresholds(self) -> tuple[float, ...]:
        """Every distinct T a deadline can carry, ascending (histogram bucket edges).

        Channel defaults are included because unconfigured teams fall back to them.
        """
        values = {p.threshold for p in self._policies}
        values.update(DEFAULT_THRESHOLDS.values())
        values.add(DEFAULT_PRIVATE_SOCIAL_THRESHOLD)
        return tuple(sorted(values))

    # -- construction -----------------------------------------------------------
    @classmethod
    def defaults(cls) -> SlaPolicies:
        return cls((), source="<defaults>")

    @classmethod
    def from_spec(cls, spec: SlaFileSpec, source: str = "<mapping>") -> SlaPolicies:
        d = spec.defaults
        return cls(
            (
                SlaPolicy(
                    team=p.team,
                    channel=p.channel,
                    threshold=p.threshold,
                    target=p.target,
                    near_breach=d.near_breach if p.near_breach is None else p.near_breach,
                    short_abandon=d.short_abandon if p.short_abandon is None else p.short_abandon,
                    sla_class=p.sla_class,
                    public=p.public,
                    max_wait=p.max_wait,
                    max_wait_action=p.max_wait_action,
                    overflow_queue=p.overflow_queue,
                )
                for p in spec.policies
            ),
            source=source,
        )

    @classmethod
    def from_mapping(
        cls, data: Any, source: str = "<mapping>", topology: Topology | None = None
    ) -> SlaPolicies:
        try:
            spec = SlaFileSpec.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_describe(exc)}") from None
        check_unique(spec, source)
        if topology is not None:
            check_topology(spec, topology, source)
        return cls.from_spec(spec, source)

    @classmethod
    def load(cls, path: str | Path, topology: Topology | None = None) -> SlaPolicies:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_mapping(data, str(path), topology)


def _specificity(
    policy: SlaPolicy, sla_class: str | None, public: bool
) -> tuple[int, int] | None:
    if policy.sla_class is not None and policy.sla_class != sla_class:
        return None
    if policy.public is not None and policy.public != public:
        return None
    return (policy.sla_class is not None, policy.public is not None)


def default_policy(team: str, channel: Channel, public: bool = False) -> SlaPolicy:
    threshold = DEFAULT_THRESHOLDS[channel]
    if channel is Channel.SOCIAL and not public:
        threshold = max(threshold, DEFAULT_PRIVATE_SOCIAL_THRESHOLD)
    return SlaPolicy(
        team=team, channel=channel, threshold=threshold, target=DEFAULT_TARGETS[channel]
    )


def check_unique(spec: SlaFileSpec, source: str) -> None:
    """Two policies for the same key would make the lookup depend on file order."""
    seen: dict[tuple[str, Channel, str | None, bool | None], int] = {}
    for index, policy in enumerate(spec.policies):
        key = policy.key()
        if key in seen:
            raise ConfigError(
                f"{source}: policies.{index}: duplicate policy for team {policy.team!r}"
                f" channel {policy.channel.value!r} sla_class {policy.sla_class!r}"
                f" public {policy.public!r} (first at policies.{seen[key]})"
            )
        seen[key] = index


def check_topology(spec: SlaFileSpec, topology: Topology, source: str) -> None:
    """Every team and overflow queue must exist; the message names key and value."""
    for index, policy in enumerate(spec.policies):
        if policy.team not in topology.teams:
            known = ", ".join(sorted(topology.teams))
            raise ConfigError(
                f"{source}: policies.{index}.team: unknown team {policy.team!r} (known: {known})"
            )
        queue = policy.overflow_queue
        if queue is not None and queue not in topology.queues:
            known = ", ".join(sorted(topology.queues))
            raise ConfigError(
                f"{source}: policies.{index}.overflow_queue: unknown queue {queue!r}"
                f" (known: {known})"
            )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
        parts.append(f"{loc}: {msg}{shown}")
    return "; ".join(parts)
