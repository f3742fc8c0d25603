"""One base error for the engine; each subclass says when it is raised.

Messages name the ids and values involved so an operator can act on them without
reading the code.
"""

from __future__ import annotations


class OmnirouteError(Exception):
    """Base class of every error omniroute raises on purpose."""


class IllegalTransition(OmnirouteError):
    """Raised when an interaction is asked to move between two states the lifecycle forbids."""

    def __init__(self, interaction_id: str, current: str, target: str) -> None:
        # str() so enum members read as their values in messages and comparisons
        current, target = str(current), str(target)
        self.interaction_id = interaction_id
        self.current = current
        self.target = target
        super().__init__(
            f"interaction {interaction_id!r} cannot go from {current!r} to {target!r}"
        )


class UnknownInteraction(OmnirouteError):
    """Raised when an operation names an interaction id the store does not hold."""

    def __init__(self, interaction_id: str) -> None:
        self.interaction_id = interaction_id
        super().__init__(f"unknown interaction {interaction_id!r}")


class UnknownAgent(OmnirouteError):
    """Raised when an operation names an agent id that is not configured."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        super().__init__(f"unknown agent {agent_id!r}")


class UnknownQueue(OmnirouteError):
    """Raised when a plan or transfer targets a queue that is not configured."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f"unknown queue {queue!r}")


class NotHeldByAgent(OmnirouteError):
    """Raised when an agent acts on an interaction it does not hold (or no longer holds)."""

    def __init__(self, interaction_id: str, agent_id: str, holder: str | None) -> None:
        self.interaction_id = interaction_id
        self.agent_id = agent_id
        self.holder = holder
        super().__init__(
            f"interaction {interaction_id!r} is not held by agent {agent_id!r}"
            f" (holder: {holder!r})"
        )


class AgentUnavailable(OmnirouteError):
    """Raised when an agent that is offline (not logged in) tries to pull or be offered work."""

    def __init__(self, agent_id: str, presence: str) -> None:
        presence = str(presence)
        self.agent_id = agent_id
        self.presence = presence
        super().__init__(f"agent {agent_id!r} is {presence!r} and cannot take work")


class AgentBusy(OmnirouteError):
    """Raised when an agent is removed while logged in or holding work."""

    def __init__(self, agent_id: str, presence: str, held: int) -> None:
        presence = str(presence)
        self.agent_id = agent_id
        self.presence = presence
        self.held = held
        super().__init__(
            f"agent {agent_id!r} is {presence!r} holding {held} interaction(s);"
            " log it out and let it finish its work first"
        )


class ConfigError(OmnirouteError):
    """Raised when configuration is invalid; the message names the file, key and value."""


class StoreUnavailable(OmnirouteError):
    """Raised when the store cannot be reached (Redis down, timed out); retry later.

    The API answers 503 with `Retry-After: retry_after`; nothing was changed.
    """

    def __init__(self, url: str, cause: str, retry_after: int = 1) -> None:
        self.url = url
        self.cause = cause
        self.retry_after = retry_after
        super().__init__(f"store {url!r} is unavailable: {cause}")
