"""The names of the cluster's namespaces the platform did not create, kept current by a
watch over every namespace.

Who calls it: the runtime's namespace watch (`kube.watch.ObjectWatch`, as its sink), and
`findings`, which publishes what it holds. `on_change` runs whenever the set changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lc_reconciler.domain.foreign_namespaces import is_foreign


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


class NamespaceMirror:
    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.foreign: set[str] = set()
        self.synced = False
        """Set by the first list: before it, the mirror knows nothing and says nothing."""
        self._on_change = on_change

    def replace(self, objects: list[Mapping[str, Any]]) -> None:
        foreign = {_name(obj) for obj in objects if is_foreign(obj)}
        changed = foreign != self.foreign or not self.synced
        self.foreign = foreign
        self.synced = True
        if changed:
            self._on_change()

    def upsert(self, obj: Mapping[str, Any]) -> None:
        name = _name(obj)
        if is_foreign(obj):
            if name not in self.foreign:
                self.foreign.add(name)
                self._on_change()
        elif name in self.foreign:
            self.foreign.discard(name)
            self._on_change()

    def delete(self, obj: Mapping[str, Any]) -> None:
        name = _name(obj)
        if name in self.foreign:
            self.foreign.discard(name)
            self._on_change()
