"""A project as it was at one moment, folded from its events in the audit log.

Pure: `fold` takes the project's events in stream order (each an envelope with its
sequence) and returns the project's state document, or None where the project did not
exist. The document is plain JSON, the shape `GET /api/v1/projects/{slug}/state`
answers and `state_diff` compares:

    {"project": {"slug", "name"},
     "services": {name: {"name", "tier", "spec", "revision", "phase", "phaseMessage"}},
     "domains": {id: {"id", "fqdn", "serviceName", "status", "lastFailure"}}}

Callers: lc_api.app.audit (state at a moment, diffs between two moments).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any, Final

from lc_api.domain.custom_domain import DomainStatus
from lc_contracts.errors import ContractError
from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.trusted import TrustedServiceApplied, decode_trusted

Document = dict[str, Any]


@dataclass(frozen=True)
class LoggedEvent:
    """One event of the log: its stream sequence, its envelope's `type`, `dataversion` and
    `data`, and the project it is about."""

    seq: int
    type: str
    dataversion: int
    data: dict[str, Any]
    project: str | None = None


def fold(events: Iterable[LoggedEvent], state: Document | None = None) -> Document | None:
    """The state after `events` (a project's, in stream order) have happened to `state`
    (left as it was: the fold works on its own copy).

    The events come from the platform's own log, validated when they were appended: they
    are decoded without validating them again where that pays (`lc_contracts.trusted`)."""
    state = copy.deepcopy(state)
    for event in events:
        try:
            payload = decode_trusted(event.type, event.dataversion, event.data)
        except ContractError:
            continue  # the audit log keeps what it cannot read; the state cannot use it
        state = evolve(payload, state)
    return state


# Each `evolve` changes the document it is given in place and returns it (or None, or a
# new one): `fold` owns it. A copy per event would make a fold quadratic in the number of
# services (a thousand services, two thousand events: two million entries copied).
@singledispatch
def evolve(event: Payload | TrustedServiceApplied, state: Document | None) -> Document | None:
    """Events that change nothing a project's state shows (claims, GPU health)."""
    return state


@evolve.register
def _(event: ProjectCreated, state: Document | None) -> Document | None:
    return {"project": {"slug": event.slug, "name": event.name}, "services": {}, "domains": {}}


@evolve.register
def _(event: ProjectUpdated, state: Document | None) -> Document | None:
    if state is None:
        return None
    state["project"]["name"] = event.name
    return state


@evolve.register
def _(event: ProjectDeleted, state: Document | None) -> Document | None:
    return None


@evolve.register
def _(event: ServiceApplied, state: Document | None) -> Document | None:
    return _applied(
        state, event.spec.name, str(event.spec.tier), event.spec.to_wire(), event.revision
    )


@evolve.register
def _(event: TrustedServiceApplied, state: Document | None) -> Document | None:
    return _applied(state, event.name, event.tier, event.spec, event.revision)


def _applied(
    state: Document | None, name: str, tier: str, spec: Document, revision: int
) -> Document | None:
    if state is None:
        return None
    previous = state["services"].get(name, {})
    service = {
        "name": name,
        "tier": tier,
        "spec": spec,
        "revision": revision,
        "phase": previous.get("phase"),
        "phaseMessage": previous.get("phaseMessage"),
    }
    return _with(state, "services", name, service)


@evolve.register
def _(event: ServiceDeleted, state: Document | None) -> Document | None:
    if state is None:
        return None
    return _without(state, "services", event.name)


@evolve.register
def _(event: ServiceStatusChanged, state: Document | None) -> Document | None:
    if state is None or event.name not in state["services"]:
        return state
    service = {
        **state["services"][event.name],
        "phase": str(event.phase),
        "phaseMessage": event.message or None,
    }
    return _with(state, "services", event.name, service)


@evolve.register
def _(event: DomainRegistered, state: Document | None) -> Document | None:
    if state is None:
        return None
    domain = {
        "id": event.id,
        "fqdn": event.fqdn,
        "serviceName": event.service_name,
        "status": DomainStatus.PENDING.value,
        "lastFailure": None,
    }
    return _with(state, "domains", event.id, domain)


def _domain(state: Document | None, domain_id: str, **changes: Any) -> Document | None:
    if state is None or domain_id not in state["domains"]:
        return state
    return _with(state, "domains", domain_id, {**state["domains"][domain_id], **changes})


@evolve.register
def _(event: DomainVerificationRequested, state: Document | None) -> Document | None:
    return _domain(state, event.id, status=DomainStatus.VERIFYING.value)


@evolve.register
def _(event: DomainVerified, state: Document | None) -> Document | None:
    return _domain(state, event.id, status=DomainStatus.VERIFIED.value, lastFailure=None)


@evolve.register
def _(event: DomainVerificationFailed, state: Document | None) -> Document | None:
    if event.final:
        return _domain(state, event.id, status=DomainStatus.FAILED.value, lastFailure=event.reason)
    return _domain(state, event.id, lastFailure=event.reason)


@evolve.register
def _(event: DomainVerificationLost, state: Document | None) -> Document | None:
    return _domain(state, event.id, status=DomainStatus.FAILED.value, lastFailure=event.reason)


@evolve.register
def _(event: DomainDeleted, state: Document | None) -> Document | None:
    if state is None:
        return None
    return _without(state, "domains", event.id)


FOLDED_TYPES: Final = frozenset(
    kind.TYPE for kind in evolve.registry if kind is not Payload and kind is not object
)
"""The event types that change a project's state (the others leave it as it was)."""


def _with(state: Document, collection: str, key: str, value: Document) -> Document:
    state[collection][key] = value
    return state


def _without(state: Document, collection: str, key: str) -> Document:
    state[collection].pop(key, None)
    return state


def service_of(state: Document | None, name: str) -> Document | None:
    """One service of a state document (a copy), or None where it did not exist."""
    if state is None or name not in state["services"]:
        return None
    service: Document = copy.deepcopy(state["services"][name])
    return service
