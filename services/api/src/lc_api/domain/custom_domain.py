"""The custom-domain aggregate (`lc.events.domain.<id>`) and the FQDN reservation
(`lc.events.fqdn.<fqdn>`) that lets one domain at a time claim a hostname.

A claim does not block an FQDN forever: a domain registered longer ago than the
verification window (the domain verifier's `LC_DOMAIN_EXPIRY_H`) and never verified has
lapsed; a registration of the same FQDN deletes it (`lapse`) and takes the claim over.
Hostnames under the platform's own domain are never custom domains (`check_fqdn`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import singledispatch

from lc_api.domain.errors import AlreadyExists, Conflict, FieldError, InvalidCommand, NotFound
from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
    FqdnClaimed,
    FqdnReleased,
    Payload,
)
from lc_contracts.recorded import RecordedEvent
from lc_contracts.specs import DomainRegistration

# A claim whose domain never got registered (the writer died in between) is stale after this.
STALE_CLAIM = timedelta(seconds=60)
# The domain verifier's default window (`LC_DOMAIN_EXPIRY_H`): a domain not verified this
# long after its registration has lapsed, and its claim with it.
VERIFICATION_WINDOW = timedelta(hours=72)


class DomainStatus(StrEnum):
    PENDING = "pending"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True)
class DomainState:
    id: str
    exists: bool = False
    deleted: bool = False
    fqdn: str = ""
    project_slug: str = ""
    service_name: str = ""
    status: DomainStatus = DomainStatus.PENDING
    version: int = 0
    registered_at: datetime | None = None
    ever_verified: bool = False


def evolve(state: DomainState, event: RecordedEvent) -> DomainState:
    state = _evolve(event.payload, state, event.seq)
    if isinstance(event.payload, DomainRegistered):
        at = event.envelope.time
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # UTC by contract
        state = replace(state, registered_at=at, ever_verified=False)
    return state


@singledispatch
def _evolve(event: Payload, state: DomainState, seq: int) -> DomainState:
    return replace(state, version=seq)


@_evolve.register
def _(event: DomainRegistered, state: DomainState, seq: int) -> DomainState:
    return replace(
        state,
        exists=True,
        deleted=False,
        fqdn=event.fqdn,
        project_slug=event.project_slug,
        service_name=event.service_name,
        status=DomainStatus.PENDING,
        version=seq,
    )


@_evolve.register
def _(event: DomainVerificationRequested, state: DomainState, seq: int) -> DomainState:
    return replace(state, status=DomainStatus.VERIFYING, version=seq)


@_evolve.register
def _(event: DomainVerified, state: DomainState, seq: int) -> DomainState:
    return replace(state, status=DomainStatus.VERIFIED, ever_verified=True, version=seq)


@_evolve.register
def _(event: DomainVerificationFailed, state: DomainState, seq: int) -> DomainState:
    status = DomainStatus.FAILED if event.final else state.status
    return replace(state, status=status, version=seq)


@_evolve.register
def _(event: DomainVerificationLost, state: DomainState, seq: int) -> DomainState:
    return replace(state, status=DomainStatus.FAILED, version=seq)


@_evolve.register
def _(event: DomainDeleted, state: DomainState, seq: int) -> DomainState:
    return replace(state, exists=False, deleted=True, version=seq)


def require(state: DomainState) -> None:
    if not state.exists:
        raise NotFound(f"domain '{state.id}' does not exist")


def check_fqdn(fqdn: str, platform_domain: str | None) -> None:
    """InvalidCommand for the platform's own domain or a name under it: those hostnames
    are the platform's to give out (`<service>-<project>.<platformDomain>`)."""
    if platform_domain and (fqdn == platform_domain or fqdn.endswith("." + platform_domain)):
        raise InvalidCommand(
            f"'{fqdn}' is under the platform domain '{platform_domain}', whose hostnames "
            "the platform gives out itself; register a domain of your own",
            [FieldError("/fqdn", f"must not be '{platform_domain}' or under it")],
        )


def lapsed(state: DomainState, now: datetime, window: timedelta) -> bool:
    """Whether a live domain's claim has lapsed: registered longer ago than the
    verification window, and never verified."""
    return (
        state.exists
        and not state.ever_verified
        and state.registered_at is not None
        and now - state.registered_at > window
    )


def lapse(state: DomainState, now: datetime, window: timedelta) -> list[Payload]:
    """Delete a domain whose claim has lapsed (nothing if it has not, or is gone)."""
    if not lapsed(state, now, window):
        return []
    return delete(state)


def register(state: DomainState, registration: DomainRegistration, token: str) -> list[Payload]:
    if state.exists or state.deleted:
        raise AlreadyExists(f"domain '{state.id}' already exists")
    return [
        DomainRegistered(
            id=state.id,
            fqdn=registration.fqdn,
            project_slug=registration.project_slug,
            service_name=registration.service_name,
            challenge_token=token,
        )
    ]


def request_verification(state: DomainState) -> list[Payload]:
    require(state)
    return [DomainVerificationRequested(id=state.id)]


def delete(state: DomainState) -> list[Payload]:
    require(state)
    return [
        DomainDeleted(
            id=state.id,
            fqdn=state.fqdn,
            project_slug=state.project_slug,
            service_name=state.service_name,
        )
    ]


@dataclass(frozen=True)
class FqdnClaim:
    """The last event on an FQDN's reservation subject."""

    fqdn: str
    holder: str | None = None  # domain id holding the claim
    project_slug: str | None = None
    claimed_at: datetime | None = None
    version: int = 0


def claim_evolve(state: FqdnClaim, event: RecordedEvent) -> FqdnClaim:
    payload, seq = event.payload, event.seq
    if isinstance(payload, FqdnClaimed):
        at = event.envelope.time
        return FqdnClaim(state.fqdn, payload.domain_id, payload.project_slug, at, seq)
    if isinstance(payload, FqdnReleased):
        return FqdnClaim(state.fqdn, version=seq)
    return replace(state, version=seq)


def claim(
    state: FqdnClaim,
    domain_id: str,
    project_slug: str,
    holder: DomainState | None,
    now: datetime,
) -> list[Payload]:
    """Reserve the FQDN for `domain_id`, unless a live domain holds it.

    `holder` is the state of the domain currently holding the claim, if any. A claim whose
    domain was deleted, or never registered and is older than STALE_CLAIM, is taken over.
    """
    if state.holder == domain_id:
        return []
    if state.holder is not None and holder is not None:
        abandoned = holder.deleted or (
            not holder.exists
            and state.claimed_at is not None
            and now - state.claimed_at > STALE_CLAIM
        )
        if not abandoned:
            if state.project_slug == project_slug:
                raise Conflict(
                    f"'{state.fqdn}' is already registered in project '{project_slug}' "
                    f"(domain {state.holder})"
                )
            raise Conflict(f"'{state.fqdn}' is claimed by another project")
    return [FqdnClaimed(fqdn=state.fqdn, domain_id=domain_id, project_slug=project_slug)]


def release(state: FqdnClaim, domain_id: str) -> list[Payload]:
    if state.holder != domain_id:
        return []
    return [FqdnReleased(fqdn=state.fqdn, domain_id=domain_id)]
