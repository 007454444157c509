"""The worker's view of the subscriptions, folded from their events, and which events
each one receives.

`fold(subscriptions, event)` keeps, per subscription: its URL and patterns, project
scope, sealed secrets with the time each stops signing, whether it is paused, where it
starts, its latest replay request, and where it ends when it was deleted with its project
(the courier removes it once there, `ended`). `wants(subscription, envelope)` is the filter.

Pure. Callers: the worker (fold, on start and live) and the courier (wants).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from lc_contracts.envelope import Envelope
from lc_contracts.events import (
    DomainRegistered,
    Payload,
    WebhookDeleted,
    WebhookPaused,
    WebhookReplayRequested,
    WebhookResumed,
    WebhookSecretRotated,
    WebhookSubscribed,
    WebhookUpdated,
)
from lc_contracts.sealing import SealedValue
from lc_contracts.webhooks import TEST_EVENT, matches

DOMAIN_REGISTERED: Final = DomainRegistered.TYPE


@dataclass(frozen=True)
class Replay:
    seq: int  # of the request: a consumer stamped with it has applied it
    from_sequence: int | None
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]
    project_slug: str | None
    start_seq: int  # the first event after the subscription
    # (sealed secret, the time it stops signing: None while it is the current one)
    secrets: tuple[tuple[SealedValue, datetime | None], ...]
    paused: bool = False
    replay: Replay | None = None
    # Deleted with its project at this sequence: receives the events before it, then ends.
    ends_at: int | None = None


@dataclass
class Subscriptions:
    by_id: dict[str, Subscription] = field(default_factory=dict)
    # The project of every domain registered so far: most domain events name only the
    # domain's id, and a subscription may be scoped to one project.
    domain_projects: dict[str, str] = field(default_factory=dict)


def note_domain(state: Subscriptions, envelope: Envelope) -> None:
    """Remember a registered domain's project (from `domain.registered`)."""
    if envelope.type == DOMAIN_REGISTERED:
        domain_id, slug = envelope.data.get("id"), envelope.data.get("projectSlug")
        if isinstance(domain_id, str) and isinstance(slug, str):
            state.domain_projects[domain_id] = slug


def fold(state: Subscriptions, seq: int, payload: Payload) -> Subscription | None:
    """Apply one webhook event; the subscription it concerns as it is now (None if gone)."""
    if isinstance(payload, WebhookSubscribed):
        sub = Subscription(
            id=payload.id,
            url=payload.url,
            event_types=tuple(payload.event_types),
            project_slug=payload.project_slug,
            start_seq=seq + 1,
            secrets=((payload.sealed_secret, None),),
        )
        state.by_id[sub.id] = sub
        return sub
    sub_id = getattr(payload, "id", None)
    current = state.by_id.get(sub_id) if isinstance(sub_id, str) else None
    if current is None:
        return None
    if isinstance(payload, WebhookDeleted):
        if not payload.with_project or current.paused:
            del state.by_id[current.id]
            return None
        current = replace(current, ends_at=seq)
    if isinstance(payload, WebhookUpdated):
        current = replace(current, url=payload.url, event_types=tuple(payload.event_types))
    elif isinstance(payload, WebhookSecretRotated):
        previous = current.secrets[0][0]
        current = replace(
            current,
            secrets=((payload.sealed_secret, None), (previous, payload.previous_expires_at)),
        )
    elif isinstance(payload, WebhookPaused):
        current = replace(current, paused=True)
    elif isinstance(payload, WebhookResumed):
        current = replace(current, paused=False)
    elif isinstance(payload, WebhookReplayRequested):
        current = replace(
            current,
            replay=Replay(seq, payload.from_sequence, payload.since, payload.until),
        )
    state.by_id[current.id] = current
    return current


def ended(state: Subscriptions, subscription_id: str) -> None:
    """A subscription deleted with its project is done with the events before its end."""
    state.by_id.pop(subscription_id, None)


def signing_secrets(sub: Subscription, now: datetime) -> list[SealedValue]:
    """The sealed secrets that sign a delivery at `now`: the current one first."""
    return [sealed for sealed, until in sub.secrets if until is None or now < until]


def event_project(envelope: Envelope, domain_projects: Mapping[str, str]) -> str | None:
    data = envelope.data
    value = data.get("projectSlug")
    if value is None and envelope.type.startswith("project."):
        value = data.get("slug")
    if value is None and envelope.type.startswith("domain."):
        value = domain_projects.get(str(data.get("id")))
    return value if isinstance(value, str) else None


def wants(
    sub: Subscription, envelope: Envelope, domain_projects: Mapping[str, str] | None = None
) -> bool:
    if envelope.type == TEST_EVENT:
        return envelope.data.get("id") == sub.id
    if not matches(sub.event_types, envelope.type):
        return False
    if sub.project_slug is None:
        return True
    return event_project(envelope, domain_projects or {}) == sub.project_slug
