"""Process settings: typed, read from `OMNIROUTE_*` environment variables, failing fast.

Every value has a safe default except secrets, which default to empty and are only
required by the features that use them (a webhook whose signature is checked needs its
provider secret). `Settings.load(**overrides)` turns a pydantic validation error into a
`ConfigError` whose message names the environment variable and the offending value, so
an operator sees `OMNIROUTE_PORT: ...` rather than a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from channels.settings import ChannelSettings
from router.errors import ConfigError

ENV_PREFIX = "OMNIROUTE_"
KIB = 1024
MIB = 1024 * KIB

#: Store URL schemes this build can open: embedded, or Redis (`redis://host:port/db`).
SUPPORTED_STORES = ("memory://", "redis://", "rediss://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    config_dir: Path = Path("config")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    store_url: str = "memory://"
    #: Hashed bearer tokens; default `<config_dir>/tokens.yaml`.
    tokens_file: Path | None = None
    #: Browser origins allowed by CORS; empty (the default) means CORS stays off.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    #: Body caps (bytes): JSON APIs, form/JSON webhooks, raw e-mail.
    max_json_bytes: int = Field(default=64 * KIB, gt=0)
    max_webhook_bytes: int = Field(default=256 * KIB, gt=0)
    max_email_bytes: int = Field(default=10 * MIB, gt=0)

    #: Require an `ingest` bearer (or basic-auth password) on every webhook, even one
    #: with a valid provider signature. Off (the default), a webhook whose signature is
    #: verified is authenticated by that signature alone (Meta and X cannot send a
    #: token); a webhook without a signature check (raw e-mail, or verification turned
    #: off) always needs a token. A presented token is always checked.
    webhook_auth: bool = False
    #: Provider signature checks. Off only for demos; startup logs a warning.
    verify_signatures: bool = True
    #: The externally visible base URL (scheme://host[:port]) Twilio signs; behind a
    #: proxy the URL the app sees differs from the one Twilio called.
    public_url: str | None = None
    twilio_auth_token: SecretStr = SecretStr("")
    meta_app_secret: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    x_consumer_secret: SecretStr = SecretStr("")
    cti_secret: SecretStr = SecretStr("")
    default_region: str = "US"

    #: Longest `wait` a long-poll `next` may ask for (seconds).
    max_long_poll: float = Field(default=30.0, gt=0)
    log_level: str = "info"
    #: One uvicorn log line per request. Off by default: at ingest rates it costs CPU
    #: on every request (the line is formatted even when the level filters it out) and
    #: the proxy in front usually keeps an access log already.
    access_log: bool = False

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        # Env vars are one string: accept "a,b" as well as a JSON list.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("store_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_STORES):
            raise ValueError(
                f"unsupported store URL {value!r}; this build supports"
                f" {', '.join(SUPPORTED_STORES)}"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment (overrides win); a bad value raises ConfigError naming it."""
        given = {key: value for key, value in overrides.items() if value is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None

    @property
    def tokens_path(self) -> Path:
        return self.tokens_file if self.tokens_file is not None else self.config_dir / "tokens.yaml"

    def channel_settings(self) -> ChannelSettings:
        """The channel adapters' settings, built from ours (one place to configure)."""
        verify = self.verify_signatures
        try:
            return ChannelSettings(
                twilio_auth_token=self.twilio_auth_token,
                meta_app_secret=self.meta_app_secret,
                meta_verify_token=self.meta_verify_token,
                x_consumer_secret=self.x_consumer_secret,
                cti_secret=self.cti_secret,
                verify_twilio=verify,
                verify_meta=verify,
                verify_x=verify,
                verify_cti=verify,
                default_region=self.default_region,
                max_payload_bytes=max(self.max_webhook_bytes, self.max_email_bytes),
            )
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """`OMNIROUTE_KEY: problem (got value)` for every error, joined."""
    parts = []
    for err in exc.errors(include_url=False):
        key = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{key}: {message}{shown}")
    return "; ".join(parts)
