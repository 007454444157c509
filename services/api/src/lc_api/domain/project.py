"""The Project aggregate: events on `lc.events.project.<slug>`.

A project can be created, renamed and deleted; after a deletion the slug is free again
and a new incarnation starts from a clean state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import singledispatch

from lc_api.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from lc_contracts.events import Payload, ProjectCreated, ProjectDeleted, ProjectUpdated
from lc_contracts.recorded import RecordedEvent
from lc_contracts.specs import ProjectSpec


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


def create(state: ProjectState, spec: ProjectSpec) -> list[Payload]:
    if state.exists:
        raise AlreadyExists(f"project '{spec.slug}' already exists; choose another slug")
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
