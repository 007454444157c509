"""The webhook subscription aggregate: events on `lc.events.webhook.<id>`.

A subscription is created with its URL, event patterns and sealed signing secret; it can
be changed, paused (by an admin, or by the worker when retries are spent or the receiver
answered 410) and resumed, given a new secret, asked to replay or to send a test event,
and deleted. Pure: the URL was checked and the secret sealed before anything here runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import singledispatch

from lc_api.domain.errors import AlreadyExists, NotFound
from lc_contracts.events import (
    Payload,
    WebhookDeleted,
    WebhookPaused,
    WebhookReplayRequested,
    WebhookResumed,
    WebhookSecretRotated,
    WebhookSubscribed,
    WebhookTest,
    WebhookUpdated,
)
from lc_contracts.recorded import RecordedEvent
from lc_contracts.sealing import SealedValue
from lc_contracts.webhooks import WebhookCreate, WebhookReplay


@dataclass(frozen=True)
class WebhookState:
    id: str
    exists: bool = False
    url: str = ""
    event_types: tuple[str, ...] = ()
    description: str = ""
    paused: bool = False
    seq: int = 0


def evolve(state: WebhookState, event: RecordedEvent) -> WebhookState:
    return replace(_evolve(event.payload, state), seq=event.seq)


@singledispatch
def _evolve(event: Payload, state: WebhookState) -> WebhookState:
    return state


@_evolve.register
def _(event: WebhookSubscribed, state: WebhookState) -> WebhookState:
    return replace(
        state,
        exists=True,
        url=event.url,
        event_types=tuple(event.event_types),
        description=event.description,
        paused=False,
    )


@_evolve.register
def _(event: WebhookUpdated, state: WebhookState) -> WebhookState:
    return replace(
        state, url=event.url, event_types=tuple(event.event_types), description=event.description
    )


@_evolve.register
def _(event: WebhookPaused, state: WebhookState) -> WebhookState:
    return replace(state, paused=True)


@_evolve.register
def _(event: WebhookResumed, state: WebhookState) -> WebhookState:
    return replace(state, paused=False)


@_evolve.register
def _(event: WebhookDeleted, state: WebhookState) -> WebhookState:
    return replace(state, exists=False)


def require(state: WebhookState) -> None:
    if not state.exists:
        raise NotFound(f"webhook '{state.id}' does not exist")


def subscribe(state: WebhookState, request: WebhookCreate, sealed: SealedValue) -> list[Payload]:
    if state.exists:
        raise AlreadyExists(f"webhook '{state.id}' already exists")
    return [
        WebhookSubscribed(
            id=state.id,
            url=request.url,
            event_types=request.event_types,
            project_slug=request.project_slug,
            description=request.description,
            sealed_secret=sealed,
        )
    ]


def update(
    state: WebhookState,
    url: str | None,
    event_types: list[str] | None,
    description: str | None,
    enabled: bool | None,
) -> list[Payload]:
    require(state)
    out: list[Payload] = []
    changed = WebhookUpdated(
        id=state.id,
        url=url if url is not None else state.url,
        event_types=event_types if event_types is not None else list(state.event_types),
        description=description if description is not None else state.description,
    )
    if (changed.url, tuple(changed.event_types), changed.description) != (
        state.url,
        state.event_types,
        state.description,
    ):
        out.append(changed)
    if enabled is not None:
        out.extend(resume(state) if enabled else pause(state))
    return out


def pause(state: WebhookState) -> list[Payload]:
    require(state)
    return [] if state.paused else [WebhookPaused(id=state.id, reason="admin")]


def resume(state: WebhookState) -> list[Payload]:
    require(state)
    return [WebhookResumed(id=state.id)] if state.paused else []


def rotate(
    state: WebhookState, sealed: SealedValue, previous_expires_at: datetime
) -> list[Payload]:
    require(state)
    return [
        WebhookSecretRotated(
            id=state.id, sealed_secret=sealed, previous_expires_at=previous_expires_at
        )
    ]


def replay(state: WebhookState, request: WebhookReplay) -> list[Payload]:
    require(state)
    return [
        WebhookReplayRequested(
            id=state.id,
            from_sequence=request.from_sequence,
            since=request.since,
            until=request.until,
        )
    ]


def send_test(state: WebhookState) -> list[Payload]:
    require(state)
    return [WebhookTest(id=state.id)]


def delete(state: WebhookState, with_project: bool = False) -> list[Payload]:
    require(state)
    return [WebhookDeleted(id=state.id, with_project=with_project)]
