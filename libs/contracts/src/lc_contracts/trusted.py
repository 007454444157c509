"""Events read back from the platform's own log, decoded without validating them again.

Every event on LC_EVENTS was validated when it was appended (`events.build` takes a
validated payload and stores its `to_wire()`), so a reader that only shows what the log
holds may skip the validators. For a `service.applied` they are most of the cost of
reading it (the spec's field validators: about 35 of 50 us per event), and a state at a
moment reads one per service. `decode_trusted` returns a current-version `service.applied`
as `TrustedServiceApplied`, its spec the stored wire JSON in the model's field order:
equal, key for key and in order, to `decode(...).spec.to_wire()`. Every other type, and
an older version of `service.applied` (upcast first), is validated by `events.decode_data`
as `decode` does.

Callers: lcd's state at a moment and diffs (`lc_api.domain.project_history`). Data that
did not come out of the log must be decoded with `events.decode`.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel

from lc_contracts.events import EVENT_TYPES, Payload, ServiceApplied, decode_data
from lc_contracts.specs import ServiceSpec

_APPLIED_KEYS = {name: field.alias or name for name, field in ServiceApplied.model_fields.items()}


@dataclass(frozen=True, slots=True)
class TrustedServiceApplied:
    """A current-version `service.applied` as the log holds it: `spec` is the wire JSON of
    the `ServiceSpec` validated when it was appended (`ServiceSpec.to_wire()`)."""

    TYPE: ClassVar[str] = ServiceApplied.TYPE

    project_slug: str
    revision: int
    spec: dict[str, Any]
    rollback_of: int | None = None

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def tier(self) -> str:
        return str(self.spec["tier"])


def decode_trusted(
    event_type: str, dataversion: int, data: dict[str, Any]
) -> Payload | TrustedServiceApplied:
    """The payload of an event read back from LC_EVENTS (type, `dataversion` and `data` of
    its envelope), validated again only where that is cheap or the version is older.

    Raises UnknownEventType as `decode` does."""
    if event_type == ServiceApplied.TYPE and dataversion == EVENT_TYPES[event_type].version:
        return TrustedServiceApplied(
            project_slug=data[_APPLIED_KEYS["project_slug"]],
            revision=data[_APPLIED_KEYS["revision"]],
            spec=in_field_order(ServiceSpec, data[_APPLIED_KEYS["spec"]]),
            rollback_of=data.get(_APPLIED_KEYS["rollback_of"]),
        )
    return decode_data(event_type, dataversion, data)


def in_field_order(model: type[BaseModel], wire: dict[str, Any]) -> dict[str, Any]:
    """`wire` (a `model`'s wire JSON whose keys came back in another order, as from jsonb)
    with its keys in the model's field order, as `to_wire()` writes them, nested models too.
    Keys the model does not know stay, after the others."""
    ordered: dict[str, Any] = {}
    for key, nested in _plan(model):
        if key not in wire:
            continue
        value = wire[key]
        if nested is not None and isinstance(value, dict):
            value = in_field_order(nested, value)
        elif nested is not None and isinstance(value, list):
            value = [in_field_order(nested, v) if isinstance(v, dict) else v for v in value]
        ordered[key] = value
    if len(ordered) != len(wire):
        ordered.update((k, v) for k, v in wire.items() if k not in ordered)
    return ordered


@functools.cache
def _plan(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    """Each field's wire key, in order, with the model its values (or items) are, if any."""
    return tuple(
        (field.alias or name, _model_in(field.annotation))
        for name, field in model.model_fields.items()
    )


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly, optionally or as list items; else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list):
        found = {_model_in(arg) for arg in get_args(annotation)} - {None}
        return found.pop() if len(found) == 1 else None
    return None
