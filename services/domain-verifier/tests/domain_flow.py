"""Appending the events the API appends for a domain, and waiting for the verifier's."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import Callable

from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationRequested,
    Payload,
    build,
)
from lc_contracts.subjects import domain_subject
from lc_eventstore import ConcurrencyConflict, EventStore, StoredEvent

DEFAULT_TIMEOUT = 10.0

# Short intervals so whole life cycles fit in a few seconds.
FAST: dict[str, float] = {
    "dns_timeout_s": 0.6,
    "domain_recheck_initial_s": 0.2,
    "domain_recheck_factor": 2.0,
    "domain_recheck_max_s": 0.8,
    "domain_expiry_h": 60 / 3600,
    "domain_reverify_interval_s": 0.3,
    "domain_reverify_retry_s": 0.2,
    "domain_lost_after": 2,
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def register(
    store: EventStore,
    fqdn: str,
    token: str,
    *,
    project: str = "default",
    service: str = "llama-3-8b",
    request: bool = True,
) -> str:
    """domain.registered (POST /domains), then domain.verification_requested
    (POST /domains/{id}/verify), appended as the API appends them."""
    domain_id = str(uuid.uuid4())
    subject = domain_subject(domain_id)
    registered = build(
        DomainRegistered(
            id=domain_id,
            fqdn=fqdn,
            project_slug=project,
            service_name=service,
            challenge_token=token,
        ),
        subject=subject,
        source="tests",
    )
    await store.append(subject, [registered], 0)
    if request:
        await request_verification(store, domain_id)
    return domain_id


async def _append_latest(store: EventStore, domain_id: str, payload: Payload) -> None:
    subject = domain_subject(domain_id)
    for _ in range(10):
        aggregate = await store.load(subject)
        try:
            await store.append(
                subject, [build(payload, subject=subject, source="tests")], aggregate.version
            )
            return
        except ConcurrencyConflict:  # a verifier appended in between: reload and retry
            continue
    raise AssertionError(f"could not append {payload.TYPE} to {subject}")


async def request_verification(store: EventStore, domain_id: str) -> None:
    await _append_latest(store, domain_id, DomainVerificationRequested(id=domain_id))


async def delete(store: EventStore, domain_id: str, fqdn: str) -> None:
    await _append_latest(
        store,
        domain_id,
        DomainDeleted(id=domain_id, fqdn=fqdn, project_slug="default", service_name="llama-3-8b"),
    )


async def events_of(store: EventStore, domain_id: str) -> list[StoredEvent]:
    aggregate = await store.load(domain_subject(domain_id))
    return [message.event() for message in aggregate.messages]


async def types_of(store: EventStore, domain_id: str) -> list[str]:
    return [event.envelope.type for event in await events_of(store, domain_id)]


async def wait_for_event(
    store: EventStore,
    domain_id: str,
    event_type: str,
    *,
    where: Callable[[Payload], bool] = lambda _: True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Payload:
    """The first event of `event_type` on the domain matching `where`, polled until the
    deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for event in await events_of(store, domain_id):
            if event.envelope.type == event_type and where(event.payload):
                return event.payload
        if asyncio.get_running_loop().time() > deadline:
            seen = await types_of(store, domain_id)
            raise AssertionError(f"no {event_type} on domain {domain_id} in {timeout}s; saw {seen}")
        await asyncio.sleep(0.05)


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a running verifier and wait until it has shut down."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
