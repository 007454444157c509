"""The project Secret aggregate: events on `lc.events.secret.<slug>.<name>`.

A secret is created with a value, given new values (each one a new version) and deleted.
The value reaches this module already sealed (`lc_contracts.sealing`), so nothing here,
nor in any event, holds it in the clear. Versions keep counting across a deletion, so a
re-created secret never repeats a version a Service may have seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import singledispatch

from lc_api.domain.errors import AlreadyExists, NotFound
from lc_contracts.events import Payload, SecretDeleted, SecretSet
from lc_contracts.recorded import RecordedEvent
from lc_contracts.sealing import SealedValue


@dataclass(frozen=True)
class SecretState:
    project_slug: str
    name: str
    exists: bool = False
    version: int = 0  # the secret's own counter: 1 for its first value
    seq: int = 0  # stream sequence of the subject's last event


def evolve(state: SecretState, event: RecordedEvent) -> SecretState:
    return _evolve(event.payload, state, event.seq)


@singledispatch
def _evolve(event: Payload, state: SecretState, seq: int) -> SecretState:
    return replace(state, seq=seq)


@_evolve.register
def _(event: SecretSet, state: SecretState, seq: int) -> SecretState:
    return replace(state, exists=True, version=event.version, seq=seq)


@_evolve.register
def _(event: SecretDeleted, state: SecretState, seq: int) -> SecretState:
    return replace(state, exists=False, seq=seq)


def require(state: SecretState) -> None:
    if not state.exists:
        raise NotFound(f"project '{state.project_slug}' has no secret '{state.name}'")


def _set(state: SecretState, sealed: SealedValue) -> list[Payload]:
    return [
        SecretSet(
            project_slug=state.project_slug,
            name=state.name,
            version=state.version + 1,
            sealed=sealed,
        )
    ]


def create(state: SecretState, sealed: SealedValue) -> list[Payload]:
    if state.exists:
        raise AlreadyExists(
            f"project '{state.project_slug}' already has a secret '{state.name}'; "
            "PUT a new value to rotate it"
        )
    return _set(state, sealed)


def rotate(state: SecretState, sealed: SealedValue) -> list[Payload]:
    require(state)
    return _set(state, sealed)


def delete(state: SecretState) -> list[Payload]:
    require(state)
    return [SecretDeleted(project_slug=state.project_slug, name=state.name)]
