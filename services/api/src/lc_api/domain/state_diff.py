"""What changed between two state documents, field by field, and which events did it.

Pure. `diff` compares two documents of `project_history` (keyed by project slug) and
lists each project, service and domain that was created, deleted or changed, with the
changed fields as RFC 6901 JSON pointers (relative to the object) and their old and new
values. `attribute` hangs on each change the events of the window that touched its
object, found by their subjects.

Callers: lc_api.app.audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lc_api.domain.project_history import Document
from lc_api.domain.validation import pointer
from lc_contracts.subjects import domain_subject, project_subject, service_subject

ChangeKind = Literal["created", "deleted", "changed"]
ObjectKind = Literal["project", "service", "domain"]


@dataclass(frozen=True)
class FieldChange:
    pointer: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Cause:
    """An event of the window, as much of it as a change names."""

    seq: int
    subject: str
    id: str
    type: str
    time: datetime
    actor: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class ObjectChange:
    kind: ObjectKind
    project: str
    key: str  # the slug, the service name or the domain id
    change: ChangeKind
    fields: list[FieldChange]
    events: list[Cause] = field(default_factory=list)

    @property
    def subject(self) -> str:
        if self.kind == "project":
            return project_subject(self.key)
        if self.kind == "service":
            return service_subject(self.project, self.key)
        return domain_subject(self.key)


def field_changes(old: Any, new: Any, at: tuple[str, ...] = ()) -> Iterator[FieldChange]:
    """Differences of two JSON values, as deep as both sides are objects; lists and a
    value that appears or disappears compare whole (a missing key reads as null)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            yield from field_changes(old.get(key), new.get(key), (*at, str(key)))
    elif old != new:
        yield FieldChange(pointer(at), old, new)


def _objects(projects: Mapping[str, Document]) -> dict[tuple[ObjectKind, str, str], Any]:
    found: dict[tuple[ObjectKind, str, str], Any] = {}
    for slug, state in projects.items():
        found["project", slug, slug] = state["project"]
        for name, service in state["services"].items():
            found["service", slug, name] = service
        for domain_id, domain in state["domains"].items():
            found["domain", slug, domain_id] = domain
    return found


def diff(before: Mapping[str, Document], after: Mapping[str, Document]) -> list[ObjectChange]:
    """Changes from `before` to `after`, each a mapping of project slug to its document."""
    old, new = _objects(before), _objects(after)
    changes: list[ObjectChange] = []
    for kind, project, key in sorted(set(old) | set(new), key=_order):
        was, now = old.get((kind, project, key)), new.get((kind, project, key))
        if was is None:
            changes.append(
                ObjectChange(kind, project, key, "created", list(field_changes({}, now)))
            )
        elif now is None:
            changes.append(
                ObjectChange(kind, project, key, "deleted", list(field_changes(was, {})))
            )
        else:
            fields = list(field_changes(was, now))
            if fields:
                changes.append(ObjectChange(kind, project, key, "changed", fields))
    return changes


_KIND_ORDER = {"project": 0, "service": 1, "domain": 2}


def _order(item: tuple[ObjectKind, str, str]) -> tuple[str, int, str]:
    kind, project, key = item
    return project, _KIND_ORDER[kind], key


def attribute(changes: list[ObjectChange], window: Iterable[Cause]) -> list[ObjectChange]:
    """Each change with the events of `window` (the events after the first moment, up to
    the second) written to its object's subject, in stream order."""
    by_subject: dict[str, list[Cause]] = {}
    for event in window:
        by_subject.setdefault(event.subject, []).append(event)
    return [
        ObjectChange(c.kind, c.project, c.key, c.change, c.fields, by_subject.get(c.subject, []))
        for c in changes
    ]
