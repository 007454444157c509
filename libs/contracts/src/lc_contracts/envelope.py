"""The CloudEvents 1.0 envelope every event on LC_EVENTS travels in.

Attribute names are CloudEvents' own (`specversion`, `datacontenttype`, ...) plus the
extensions `actor`, `correlationid`, `causationid` and `dataversion`. The envelope's
`id` is also the JetStream `Nats-Msg-Id`, which is what makes appends idempotent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lc_contracts.errors import InvalidEnvelope


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=400)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataversion: int = Field(ge=1)
    actor: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEnvelope(
                f"not a valid event envelope: {exc.error_count()} error(s)"
            ) from None


def new_event_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)
