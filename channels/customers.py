"""Where customer profiles come from: the `CustomerDirectory` protocol and its YAML form.

The directory also lists each customer's known addresses (phones, e-mails, social
ids), which `IdentityIndex.from_directory` links to the customer id. An unknown id
gets `router.customer.unknown_customer`, never an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.customer import CustomerProfile, unknown_customer
from router.errors import ConfigError


class CustomerDirectory(Protocol):
    def profile(self, customer_id: str) -> CustomerProfile:
        """The profile of `customer_id`, or an unknown-customer default."""
        ...

    def addresses(self) -> Iterator[tuple[str, CustomerAddresses]]:
        """Every customer's raw (not yet normalized) addresses, by customer id."""
        ...


@dataclass(frozen=True, slots=True)
class CustomerAddresses:
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    facebook: tuple[str, ...] = ()
    instagram: tuple[str, ...] = ()
    x: tuple[str, ...] = ()  # numeric user ids
    x_handles: tuple[str, ...] = ()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressesSpec(_Strict):
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    facebook: list[str] = Field(default_factory=list)
    instagram: list[str] = Field(default_factory=list)
    x: list[str] = Field(default_factory=list)
    x_handles: list[str] = Field(default_factory=list)


class CustomerSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str = ""
    tier: Literal["standard", "gold", "platinum"] = "standard"
    lifetime_value: float = Field(default=0.0, ge=0)
    language: str = Field(default="en", min_length=2, max_length=16)
    segment: str = "consumer"
    account_owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    addresses: AddressesSpec = Field(default_factory=AddressesSpec)


class CustomersFile(_Strict):
    customers: list[CustomerSpec] = Field(default_factory=list)


class InMemoryCustomerDirectory:
    """A real, dictionary-backed directory; the YAML file is one way to fill it."""

    def __init__(
        self,
        profiles: Mapping[str, CustomerProfile],
        addresses: Mapping[str, CustomerAddresses] | None = None,
    ) -> None:
        self._profiles = dict(profiles)
        self._addresses = dict(addresses or {})

    def profile(self, customer_id: str) -> CustomerProfile:
        found = self._profiles.get(customer_id)
        return found if found is not None else unknown_customer(customer_id)

    def addresses(self) -> Iterator[tuple[str, CustomerAddresses]]:
        yield from self._addresses.items()

    def __len__(self) -> int:
        return len(self._profiles)

    @classmethod
    def from_yaml(cls, path: Path | str) -> InMemoryCustomerDirectory:
        source = Path(path)
        try:
            document = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{source}: cannot read customers: {exc}") from None
        try:
            parsed = CustomersFile.model_validate(document)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"{source}: {where}: {first['msg']} (got {first.get('input')!r})"
            ) from None
        return cls.from_specs(parsed.customers, source)

    @classmethod
    def from_specs(
        cls, specs: list[CustomerSpec], source: Path | str = "<memory>"
    ) -> InMemoryCustomerDirectory:
        profiles: dict[str, CustomerProfile] = {}
        addresses: dict[str, CustomerAddresses] = {}
        for spec in specs:
            if spec.id in profiles:
                raise ConfigError(f"{source}: customers: duplicate customer id {spec.id!r}")
            profiles[spec.id] = CustomerProfile(
                id=spec.id,
                name=spec.name,
                tier=spec.tier,
                lifetime_value=spec.lifetime_value,
                language=spec.language,
                segment=spec.segment,
                account_owner=spec.account_owner,
                tags=tuple(spec.tags),
            )
            given = spec.addresses
            addresses[spec.id] = CustomerAddresses(
                phones=tuple(given.phones),
                emails=tuple(given.emails),
                facebook=tuple(given.facebook),
                instagram=tuple(given.instagram),
                x=tuple(given.x),
                x_handles=tuple(given.x_handles),
            )
        return cls(profiles, addresses)
