"""Bearer-token authentication and role checks.

Tokens are configured hashed (`sha256` hex of the plaintext) in a YAML file, so the
file can sit in a repository or a config map without granting anything. A presented
token is hashed and compared against every configured hash with
`hmac.compare_digest`, visiting all entries, so timing says nothing about which or
how many characters matched. An `Authorization` header that verified is remembered
(`TokenRegistry.from_header`), so a client's later requests skip the hash and the scan.

Roles:
- `ingest`: posts interactions and webhooks;
- `agent`: acts as exactly one agent (`agent: <id>` in the file);
- `supervisor`: reads everything and changes rules, routing and agents;
- `viewer`: read-only wallboards and dashboards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.errors import ConfigError, OmnirouteError

log = logging.getLogger("omniroute.auth")


class Role(StrEnum):
    INGEST = "ingest"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


#: Roles that may read supervisor data (queues, stats, rules, events).
READERS: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.VIEWER})


class Unauthenticated(OmnirouteError):
    """Raised when a request carries no token, a malformed one, or one nobody configured."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Forbidden(OmnirouteError):
    """Raised when an authenticated caller lacks the role (or agent binding) a route needs."""

    def __init__(self, principal: str, needed: str) -> None:
        self.principal = principal
        self.needed = needed
        super().__init__(f"token {principal!r} is not allowed to {needed}")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name (never the token), its roles, its agent."""

    name: str
    roles: frozenset[Role]
    agent_id: str | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def may_act_for(self, agent_id: str) -> bool:
        """Supervisors may act for any agent; an agent token only for its own agent."""
        if Role.SUPERVISOR in self.roles:
            return True
        return Role.AGENT in self.roles and self.agent_id == agent_id


class TokenSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    roles: list[Role] = Field(min_length=1)
    agent: str | None = None

    @model_validator(mode="after")
    def _agent_binding(self) -> TokenSpec:
        if Role.AGENT in self.roles and not self.agent:
            raise ValueError(f"token {self.name!r} has role 'agent' but no 'agent' id")
        if self.agent and Role.AGENT not in self.roles:
            raise ValueError(f"token {self.name!r} names agent {self.agent!r} without role 'agent'")
        return self


class TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: list[TokenSpec] = Field(default_factory=list)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenRegistry:
    #: Verified headers remembered at most; a full cache is emptied and refilled. Only
    #: valid tokens get in, but `Basic` credentials can spell one token many ways.
    VERIFIED_CACHE_SIZE = 1024

    def __init__(self, specs: list[TokenSpec]) -> None:
        names: set[str] = set()
        digests: set[str] = set()
        for spec in specs:
            if spec.name in names:
                raise ConfigError(f"tokens: duplicate token name {spec.name!r}")
            if spec.sha256 in digests:
                raise ConfigError(f"tokens: token {spec.name!r} reuses another token's hash")
            names.add(spec.name)
            digests.add(spec.sha256)
        self._entries = [
            (bytes.fromhex(s.sha256), Principal(s.name, frozenset(s.roles), s.agent))
            for s in specs
        ]
        # Header value → principal, for headers that verified. Only successes are kept,
        # so a guess never lands here, and a lookup only finds an entry when the whole
        # header equals one that carried a valid token: it answers nothing the
        # constant-time scan would not. This spares every request of a keep-alive client
        # a SHA-256 and a scan of all configured tokens.
        self._verified: dict[str, Principal] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, path: Path, known_agents: frozenset[str] | None = None) -> TokenRegistry:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read tokens: {exc}") from None
        try:
            parsed = TokensFile.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{path}: {where}: {err['msg']}") from None
        for spec in parsed.tokens:
            if known_agents is not None and spec.agent and spec.agent not in known_agents:
                raise ConfigError(f"{path}: token {spec.name!r}: unknown agent {spec.agent!r}")
        registry = cls(parsed.tokens)
        if not len(registry):
            log.warning("%s configures no tokens: every authenticated route answers 401", path)
        return registry

    def authenticate(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for expected, principal in self._entries:
            # No early exit: every entry is compared whatever matched.
            if hmac.compare_digest(digest, expected):
                found = principal
        if found is None:
            raise Unauthenticated("the bearer token is not valid")
        return found

    def from_header(self, authorization: str | None) -> Principal:
        """`Bearer <token>`, or `Basic` with the token as password (Twilio webhook URLs)."""
        if not authorization:
            raise Unauthenticated("missing Authorization header (expected 'Bearer <token>')")
        known = self._verified.get(authorization)
        if known is not None:
            return known
        principal = self._verify_header(authorization)
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[authorization] = principal
        return principal

    def _verify_header(self, authorization: str) -> Principal:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return self.authenticate(credentials)
        if scheme.lower() == "basic" and credentials:
            return self.authenticate(_basic_password(credentials))
        raise Unauthenticated(
            f"unsupported Authorization scheme {scheme!r} (expected 'Bearer <token>')"
        )

    def uses_any(self, digests: set[str]) -> list[str]:
        """Names of configured tokens whose hash is in `digests` (demo-token warning)."""
        wanted = {bytes.fromhex(d) for d in digests}
        return [p.name for expected, p in self._entries if expected in wanted]


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    _, sep, password = decoded.partition(":")
    if not sep or not password:
        raise Unauthenticated("Basic credentials carry no password (the token)")
    return password


#: The demo token set: plaintexts printed by `omniroute demo`; config/tokens.yaml holds
#: only their hashes. Any deployment still accepting one of these gets a startup warning.
DEMO_AGENTS = ("alice", "bruno", "chen", "dana", "emil", "farah", "gus", "hana")
DEMO_TOKENS: dict[str, tuple[str, tuple[Role, ...], str | None]] = {
    "demo-ingest": ("demo-ingest-token", (Role.INGEST,), None),
    "demo-supervisor": ("demo-supervisor-token", (Role.SUPERVISOR,), None),
    "demo-viewer": ("demo-viewer-token", (Role.VIEWER,), None),
    **{
        f"demo-agent-{agent}": (f"demo-agent-{agent}-token", (Role.AGENT,), agent)
        for agent in DEMO_AGENTS
    },
}


def demo_token(name: str) -> str:
    return DEMO_TOKENS[name][0]


def demo_digests() -> set[str]:
    return {hash_token(plaintext) for plaintext, _, _ in DEMO_TOKENS.values()}
