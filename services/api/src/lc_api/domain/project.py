"""The Project aggregate: events on `lc.events.project.<slug>`.

A project can be created, renamed and deleted; after a deletion the slug is free again
and a new incarnation starts from a clean state. A project is not created when its
namespace is known to exist without the platform having made it: the reconciler would
never adopt it, so the project could never run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import singledispatch

from lc_api.domain.errors import (
    AlreadyExists,
    FieldError,
    InvalidCommand,
    NotFound,
    PreconditionFailed,
)
from lc_contracts.events import Payload, ProjectCreated, ProjectDeleted, ProjectUpdated
from lc_contracts.recorded import RecordedEvent
from lc_contracts.specs import ProjectSpec
from lc_contracts.status import foreign_namespace_message


@dataclass(frozen=True)
class ProjectState:
    slug: str
    exists: bool = False
    name: str = ""
    version: int = 0  # stream sequence of the subject's last event; the project's ETag


def evolve(state: ProjectState, event: RecordedEvent) -> ProjectState:
    return _evolve(event.payload, state, event.seq)


@singledispatch
def _evolve(event: Payload, state: ProjectState, seq: int) -> ProjectState:
    return replace(state, version=seq)


@_evolve.register
def _(event: ProjectCreated, state: ProjectState, seq: int) -> ProjectState:
    return replace(state, exists=True, name=event.name, version=seq)


@_evolve.register
def _(event: ProjectUpdated, state: ProjectState, seq: int) -> ProjectState:
    return replace(state, name=event.name, version=seq)


@_evolve.register
def _(event: ProjectDeleted, state: ProjectState, seq: int) -> ProjectState:
    return ProjectState(slug=state.slug, version=seq)


def check_version(state: ProjectState, if_match: int | None) -> None:
    if if_match is not None and if_match != state.version:
        raise PreconditionFailed(
            f"project '{state.slug}' is at version {state.version}, not {if_match}; "
            "fetch it again and retry"
        )


def require(state: ProjectState) -> None:
    if not state.exists:
        raise NotFound(f"project '{state.slug}' does not exist")


def create(
    state: ProjectState, spec: ProjectSpec, foreign_namespace: str | None = None
) -> list[Payload]:
    """`foreign_namespace`: the project's namespace, when it is known to exist and not to
    be the platform's."""
    if state.exists:
        raise AlreadyExists(f"project '{spec.slug}' already exists; choose another slug")
    if foreign_namespace is not None:
        message = foreign_namespace_message(foreign_namespace)
        raise InvalidCommand(message, [FieldError("/slug", message)])
    return [ProjectCreated(slug=spec.slug, name=spec.name)]


def rename(state: ProjectState, name: str, if_match: int | None) -> list[Payload]:
    require(state)
    check_version(state, if_match)
    if name == state.name:
        return []
    return [ProjectUpdated(slug=state.slug, name=name)]


def delete(state: ProjectState, if_match: int | None) -> list[Payload]:
    require(state)
    check_version(state, if_match)
    return [ProjectDeleted(slug=state.slug)]
