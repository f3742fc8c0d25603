"""One customer across channels: every canonical address maps to one customer id.

The index is built from the customer directory (so a customer who calls, e-mails
and tweets is one customer) and can learn new addresses as conversations link them.
Resolution never fails: an address nobody knows yields a stable generated id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from channels.addresses import Network, normalize_email, normalize_phone, social_address, x_handle
from channels.customers import CustomerAddresses, CustomerDirectory
from channels.errors import UnprocessablePayload
from channels.keys import generated_customer_id
from router.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Resolution:
    customer_id: str
    known: bool
    matched_address: str | None


def canonical_addresses(entry: CustomerAddresses, region: str) -> Iterable[str]:
    """A directory entry's addresses in the same canonical form adapters produce."""
    yield from (normalize_phone(phone, region, "phones") for phone in entry.phones)
    yield from (normalize_email(mail, "emails") for mail in entry.emails)
    yield from (social_address(Network.FACEBOOK, user, "facebook") for user in entry.facebook)
    yield from (social_address(Network.INSTAGRAM, user, "instagram") for user in entry.instagram)
    yield from (social_address(Network.X, user, "x") for user in entry.x)
    yield from (x_handle(handle) for handle in entry.x_handles)


class IdentityIndex:
    def __init__(self) -> None:
        self._owner: dict[str, str] = {}

    @classmethod
    def from_directory(cls, directory: CustomerDirectory, region: str) -> IdentityIndex:
        index = cls()
        for customer_id, entry in directory.addresses():
            try:
                addresses = list(canonical_addresses(entry, region))
            except UnprocessablePayload as exc:
                raise ConfigError(
                    f"customer {customer_id!r}: {exc.field}: {exc.problem} ({exc.value!r})"
                ) from None
            for address in addresses:
                owner = index._owner.get(address)
                if owner is not None and owner != customer_id:
                    raise ConfigError(
                        f"address {address!r} belongs to both {owner!r} and {customer_id!r}"
                    )
                index._owner[address] = customer_id
        return index

    def link(self, address: str, customer_id: str) -> None:
        """Record that `address` belongs to `customer_id` (a known owner is never replaced)."""
        self._owner.setdefault(address, customer_id)

    def owner(self, address: str) -> str | None:
        return self._owner.get(address)

    def resolve(self, addresses: Sequence[str], fallback: str) -> Resolution:
        """The customer of the first known address; else a stable id from the first address.

        `fallback` seeds the generated id when there is no address at all (a withheld
        caller id), so such a contact is its own one-off customer.
        """
        for address in addresses:
            owner = self._owner.get(address)
            if owner is not None:
                return Resolution(owner, True, address)
        seed = addresses[0] if addresses else f"anonymous:{fallback}"
        return Resolution(generated_customer_id(seed), False, None)

    def __len__(self) -> int:
        return len(self._owner)
