"""Webhook subscriptions: what a client sends, which events a subscription receives, and
how its signing secret is made and kept sealed.

A subscription names event types (`service.applied`), families (`service.*`) or
everything (`*`), optionally within one project. Its signing secret is `whsec_` and the
base64 of random bytes (Standard Webhooks); lcd shows it once, and the events carry it
sealed with `LC_SECRET_KEY`, bound to the subscription, never in the clear.

Callers: lcd's webhook routes and commands, the webhooks worker (matching, opening).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from pydantic import Field, field_validator, model_validator

from lc_contracts.base import Contract
from lc_contracts.names import ProjectSlug
from lc_contracts.outbound import MAX_URL_LENGTH
from lc_contracts.sealing import SealedValue, SecretKey

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32
MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64
# Management events of subscriptions never go out to subscribers (they hold sealed secrets).
PRIVATE_FAMILY: Final = "webhook"
TEST_EVENT: Final = "webhook.test"
ROTATION_OVERLAP_H: Final = 24
PATTERN: Final = re.compile(r"^(\*|[a-z][a-z_]*\.\*|[a-z][a-z_]*\.[a-z][a-z_]*)$")


def new_secret(n_bytes: int = SECRET_BYTES) -> str:
    if not MIN_SECRET_BYTES <= n_bytes <= MAX_SECRET_BYTES:
        raise ValueError(f"a signing secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(os.urandom(n_bytes)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def _bound_name(subscription_id: str) -> str:
    return f"webhook/{subscription_id}"


def seal_secret(key: SecretKey, subscription_id: str, secret: str) -> SealedValue:
    # Project slugs are never empty, so the empty slug keeps these apart from project secrets.
    return key.seal("", _bound_name(subscription_id), secret)


def open_secret(key: SecretKey, subscription_id: str, sealed: SealedValue) -> str:
    return key.open("", _bound_name(subscription_id), sealed)


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether an event of `event_type` goes to a subscription with these patterns.
    Subscription management events never do; `webhook.test` goes only where it is sent."""
    family = event_type.split(".", 1)[0]
    if family == PRIVATE_FAMILY:
        return False
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and pattern[:-2] == family:
            return True
    return False


def _event_types(value: list[str]) -> list[str]:
    for pattern in value:
        if not PATTERN.match(pattern):
            raise ValueError(
                f"{pattern!r} is not an event type (service.applied), a family (service.*) or *"
            )
        if pattern.split(".", 1)[0] == PRIVATE_FAMILY:
            raise ValueError("webhook.* events are not delivered; send POST .../test instead")
    return sorted(set(value))


class WebhookCreate(Contract):
    """POST /api/v1/webhooks."""

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[str] = Field(min_length=1, max_length=64)
    project_slug: ProjectSlug | None = None
    description: str = Field(default="", max_length=500)

    _types = field_validator("event_types")(_event_types)


class WebhookUpdate(Contract):
    """PATCH /api/v1/webhooks/{id}: the fields given change, the others stay."""

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)


class WebhookReplay(Contract):
    """POST /api/v1/webhooks/{id}/replay: from a stream sequence or from a time, up to an
    optional time."""

    from_sequence: int | None = Field(default=None, ge=1)
    since: datetime | None = None
    until: datetime | None = None

    @model_validator(mode="after")
    def _one_start(self) -> WebhookReplay:
        if (self.from_sequence is None) == (self.since is None):
            raise ValueError("give exactly one of fromSequence and since")
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (2026-11-30T03:00:00Z)")
        if self.since and self.until and self.until <= self.since:
            raise ValueError("until must be after since")
        return self
