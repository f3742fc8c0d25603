"""The generic JSON interaction: what a system that already normalizes its contacts
sends (`POST /interactions`, the rules dry-run, `omniroute rules test`).

One validated record serves the API boundary and the runtime alike, so the hot ingest
path reads the body itself instead of copying it into another record first.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class InteractionIn(BaseModel):
    """A pre-normalized interaction (CTI, chat widget, CRM…): the generic ingest body."""

    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"examples": [{
            "channel": "email", "idempotency_key": "crm-case-81723",
            "address": "ana.lopez@example.com", "subject": "Invoice 2291 charged twice",
            "summary": "I was charged twice for invoice 2291.", "language": "en",
            "intent": "billing_dispute",
        }]},
    )

    channel: Literal["voice", "email", "sms", "social", "chat"]
    idempotency_key: str = Field(min_length=1, max_length=256,
                                 description="Provider or client id; a retry with the same "
                                             "key answers the same interaction id")
    address: str | None = Field(default=None, max_length=320,
                                description="Phone (E.164 or national), e-mail, or "
                                            "network:user-id for social")
    customer_id: str | None = Field(default=None, max_length=128)
    to: str | None = Field(default=None, max_length=320)
    conversation_key: str | None = Field(default=None, max_length=256,
                                         description="Messages sharing it join one open "
                                                     "interaction")
    subject: str = Field(default="", max_length=1000)
    summary: str = Field(default="", max_length=10_000)
    language: str | None = Field(default=None, max_length=16)
    intent: str | None = Field(default=None, max_length=128)
    sentiment: float | None = Field(default=None, ge=-1, le=1)
    public: bool = False
    reach: int = Field(default=0, ge=0)
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict,
                                                                   max_length=100)
