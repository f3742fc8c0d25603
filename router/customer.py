"""The customer as routing sees it: the criteria rules classify on.

Profiles come from a provider (YAML now, Redis with the Redis store); an unknown
customer gets a default profile, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    id: str
    name: str = ""
    tier: str = "standard"  # e.g. standard | gold | platinum
    lifetime_value: float = 0.0
    language: str = "en"
    segment: str = "consumer"
    account_owner: str | None = None  # preferred agent
    last_agent: str | None = None
    open_interactions: int = 0
    open_channels: tuple[str, ...] = ()
    known: bool = True
    tags: tuple[str, ...] = field(default=())


def unknown_customer(customer_id: str) -> CustomerProfile:
    """Defaults for a customer nobody has a profile for yet."""
    return CustomerProfile(id=customer_id, known=False)
