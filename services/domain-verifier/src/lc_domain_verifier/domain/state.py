"""One domain's verification state, derived only from the events on its subject.

    registered ──verify──► pending ──found──► verified ──N failed re-checks──► lost
                             │                  │  a failure < N: retried soon;
                    window   │                  │  found again: count reset
                    closes   ▼
                           failed
    failed, lost ──verify──► pending (a new window)
    any ──deleted──► deleted (never checked again)

Nothing is checked before the first verification request: the user publishes the record
between registering and asking (and the API's request cannot race an early check).

`evolve` is called by the worker for every event it reads (or appends) and by the
conflict path when it reloads an aggregate. Times come from the events' envelopes, so a
restarted worker rebuilds exactly the schedule the previous one had.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
)
from lc_contracts.fqdn import normalise_fqdn
from lc_contracts.recorded import RecordedEvent
from lc_domain_verifier.domain.lookup import CnameObservation
from lc_domain_verifier.domain.policy import VerificationPolicy

Status = Literal["registered", "pending", "verified", "failed", "lost", "deleted"]


@dataclass(frozen=True)
class DomainState:
    domain_id: str
    fqdn: str
    """Canonical form: lowercase A-labels, no trailing dot."""
    project_slug: str
    service_name: str
    token: str = field(repr=False)
    """The challenge token. Public in DNS by design, but kept out of reprs and logs."""
    status: Status
    version: int
    """Stream sequence of the last event applied: the expectation for the next append."""
    cycle_started_at: datetime
    """When the current pending cycle began (registration until the first request);
    expiry counts from here."""
    attempt: int = 0
    """Failed checks in the current pending cycle."""
    backoff_failures: int = 0
    """Failed checks since the last verification request (drives the back-off)."""
    consecutive_failures: int = 0
    """Failed re-verifications in a row while verified."""
    next_check_at: datetime | None = None
    """When the record should be looked up next; None when nothing is to be checked."""
    cname: CnameObservation = field(default_factory=CnameObservation)
    """The CNAME observation last published."""
    verify_requested: bool = False
    """A verification was asked for a verified domain and not yet answered with an event
    (readers such as the API show the domain as being verified until one comes)."""

    def expires_at(self, policy: VerificationPolicy) -> datetime:
        return self.cycle_started_at + policy.expiry


def evolve(
    state: DomainState | None, event: RecordedEvent, *, policy: VerificationPolicy
) -> DomainState | None:
    """The state after `event` (its payload, appended at its sequence and envelope time).

    Events of other types, and events about a domain this worker never saw registered
    (nothing to verify without its token), leave the state as it was.
    """
    payload, seq, at = event.payload, event.seq, _as_utc(event.envelope.time)
    if state is not None and seq <= state.version:
        return state  # already applied
    if isinstance(payload, DomainRegistered):
        return DomainState(
            domain_id=payload.id,
            fqdn=normalise_fqdn(payload.fqdn),
            project_slug=payload.project_slug,
            service_name=payload.service_name,
            token=payload.challenge_token,
            status="registered",
            version=seq,
            cycle_started_at=at,
        )
    if state is None:
        return None
    moved = dataclasses.replace(state, version=seq)
    if state.status == "deleted":
        return moved
    if isinstance(payload, DomainVerificationRequested):
        return _requested(moved, at)
    if isinstance(payload, DomainVerified):
        return dataclasses.replace(
            moved,
            status="verified",
            attempt=0,
            backoff_failures=0,
            consecutive_failures=0,
            next_check_at=at + policy.reverify_interval,
            cname=CnameObservation(payload.cname_target, payload.points_at_ingress),
            verify_requested=False,
        )
    if isinstance(payload, DomainVerificationFailed):
        return _failed(moved, payload, at, policy)
    if isinstance(payload, DomainVerificationLost):
        return dataclasses.replace(moved, status="lost", next_check_at=None, verify_requested=False)
    if isinstance(payload, DomainDeleted):
        return dataclasses.replace(moved, status="deleted", next_check_at=None)
    return moved


def _as_utc(moment: datetime) -> datetime:
    # Envelopes written by other producers may carry a naive time; it is UTC by contract.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _requested(state: DomainState, at: datetime) -> DomainState:
    if state.status in ("registered", "failed", "lost"):
        # A (new) attempt at verification: a fresh pending cycle with its own expiry.
        return dataclasses.replace(
            state,
            status="pending",
            cycle_started_at=at,
            attempt=0,
            backoff_failures=0,
            consecutive_failures=0,
            next_check_at=at,
        )
    # Pending: check now and restart the back-off (the user has probably just published
    # the record). Verified: re-check now and answer with an event whatever the outcome;
    # failures still count towards loss.
    return dataclasses.replace(
        state,
        backoff_failures=0,
        next_check_at=at,
        verify_requested=state.status == "verified",
    )


def _failed(
    state: DomainState,
    payload: DomainVerificationFailed,
    at: datetime,
    policy: VerificationPolicy,
) -> DomainState:
    if payload.final:
        return dataclasses.replace(
            state, status="failed", attempt=payload.attempt, next_check_at=None
        )
    cname = CnameObservation(payload.cname_target, payload.points_at_ingress)
    if state.status == "verified":
        return dataclasses.replace(
            state,
            consecutive_failures=payload.attempt,
            next_check_at=at + policy.reverify_retry,
            cname=cname,
            verify_requested=False,
        )
    if state.status == "pending":
        failures = state.backoff_failures + 1
        return dataclasses.replace(
            state,
            attempt=payload.attempt,
            backoff_failures=failures,
            next_check_at=at + policy.recheck_delay(failures),
            cname=cname,
        )
    return state
