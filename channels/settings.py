"""Channel settings: provider secrets, identity defaults, conversation windows, size cap.

Typed and read from the environment (prefix `OMNIROUTE_CHANNELS_`). Signature checks
are on by default; each channel's check can only be switched off by its own flag, and
doing so is logged as a warning every time an adapter is built with it.
"""

from __future__ import annotations

import phonenumbers
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ONE_MIB = 1024 * 1024


class ChannelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIROUTE_CHANNELS_", frozen=True)

    twilio_auth_token: SecretStr = SecretStr("")
    meta_app_secret: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    x_consumer_secret: SecretStr = SecretStr("")
    #: Shared secret for the generic CTI integration (hex HMAC-SHA256 of the body).
    cti_secret: SecretStr = SecretStr("")

    verify_twilio: bool = True
    verify_meta: bool = True
    verify_x: bool = True
    verify_cti: bool = True

    default_region: str = "US"
    sms_window_seconds: float = Field(default=30 * 60, ge=0)
    dm_window_seconds: float = Field(default=30 * 60, ge=0)
    max_payload_bytes: int = Field(default=ONE_MIB, gt=0)
    summary_max_chars: int = Field(default=1000, gt=0)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"default_region {value!r} is not a known ISO 3166 region")
        return region
