"""The Service aggregate: events on `lc.events.service.<slug>.<name>`.

Every apply is a new revision and the spec of every revision of the current incarnation is
kept, so a rollback is "apply revision N again". A deletion ends the incarnation; a later
create starts again at revision 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from typing import Any

from pydantic import ValidationError

from lc_api.domain.errors import (
    AlreadyExists,
    FieldError,
    InvalidCommand,
    NotFound,
    PreconditionFailed,
)
from lc_api.domain.validation import from_validation_error
from lc_contracts.events import Payload, ServiceApplied, ServiceDeleted
from lc_contracts.merge_patch import merge_patch
from lc_contracts.recorded import RecordedEvent
from lc_contracts.specs import ServiceSpec


@dataclass(frozen=True)
class ServiceState:
    project_slug: str
    name: str
    exists: bool = False
    revision: int = 0
    spec: ServiceSpec | None = None
    revisions: dict[int, ServiceSpec] = field(default_factory=dict)
    version: int = 0


def evolve(state: ServiceState, event: RecordedEvent) -> ServiceState:
    return _evolve(event.payload, state, event.seq)


@singledispatch
def _evolve(event: Payload, state: ServiceState, seq: int) -> ServiceState:
    return replace(state, version=seq)


@_evolve.register
def _(event: ServiceApplied, state: ServiceState, seq: int) -> ServiceState:
    return replace(
        state,
        exists=True,
        revision=event.revision,
        spec=event.spec,
        revisions={**state.revisions, event.revision: event.spec},
        version=seq,
    )


@_evolve.register
def _(event: ServiceDeleted, state: ServiceState, seq: int) -> ServiceState:
    return ServiceState(project_slug=state.project_slug, name=state.name, version=seq)


def _where(state: ServiceState) -> str:
    return f"service '{state.name}' in project '{state.project_slug}'"


def require(state: ServiceState) -> ServiceSpec:
    if not state.exists or state.spec is None:
        raise NotFound(f"{_where(state)} does not exist")
    return state.spec


def check_revision(state: ServiceState, if_match: int | None) -> None:
    if if_match is not None and if_match != state.revision:
        raise PreconditionFailed(
            f"{_where(state)} is at revision {state.revision}, not {if_match}; fetch it again and retry"
        )


def _applied(
    state: ServiceState, spec: ServiceSpec, rollback_of: int | None = None
) -> ServiceApplied:
    return ServiceApplied(
        project_slug=state.project_slug,
        revision=state.revision + 1,
        spec=spec,
        rollback_of=rollback_of,
    )


def _check_name(state: ServiceState, spec: ServiceSpec) -> None:
    if spec.name != state.name:
        raise InvalidCommand(
            "the body's name must match the URL",
            [FieldError("/name", f"must be '{state.name}' (services cannot be renamed)")],
        )


def create(state: ServiceState, spec: ServiceSpec) -> list[Payload]:
    _check_name(state, spec)
    if state.exists:
        raise AlreadyExists(f"{_where(state)} already exists; use PUT to apply a new revision")
    return [_applied(state, spec)]


def apply(state: ServiceState, spec: ServiceSpec, if_match: int | None) -> list[Payload]:
    """PUT: create or replace. `If-Match` on a missing service fails (RFC 9110 §13.1.1)."""
    _check_name(state, spec)
    if if_match is not None:
        require(state)
        check_revision(state, if_match)
    return [_applied(state, spec)]


def patch(state: ServiceState, changes: dict[str, Any], if_match: int | None) -> list[Payload]:
    current = require(state)
    check_revision(state, if_match)
    merged = merge_patch(current.to_wire(), changes)
    try:
        spec = ServiceSpec.model_validate(merged, by_name=False)
    except ValidationError as exc:
        raise InvalidCommand(
            "the patched service is not valid", from_validation_error(exc)
        ) from None
    _check_name(state, spec)
    return [_applied(state, spec)]


def rollback(state: ServiceState, revision: int, if_match: int | None) -> list[Payload]:
    require(state)
    check_revision(state, if_match)
    spec = state.revisions.get(revision)
    if spec is None:
        known = ", ".join(str(r) for r in sorted(state.revisions))
        raise InvalidCommand(
            f"{_where(state)} has no revision {revision}",
            [FieldError("/revision", f"must be one of: {known}")],
        )
    return [_applied(state, spec, rollback_of=revision)]


def delete(state: ServiceState, if_match: int | None) -> list[Payload]:
    require(state)
    check_revision(state, if_match)
    return [ServiceDeleted(project_slug=state.project_slug, name=state.name)]
