"""The engine GPU objects currently in the cluster, indexed for the publisher.

Who calls it: the GPU watch feeds it objects (`replace` after every list, `upsert` and
`delete` for watch events); the Model watch tells it which Models changed owner; the
status publisher takes the GPUs that need a new look (`take_pending`). Pure and
synchronous.

GPUs are keyed by (node, uuid), the identity of their LC_STATUS subject, not by object
name. A GPU whose key changes under the same name leaves its old key pending, so the
publisher tombstones it. A relist marks only what differs from what was held, so
surviving a dropped watch or a 410 costs no republishing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from lc_fleet.gpu_snapshots import (
    GpuKey,
    InvalidGpuObject,
    allocation_refs,
    gpu_key,
    resource_version,
)

log = logging.getLogger(__name__)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


class GpuInventory:
    def __init__(self) -> None:
        self._objects: dict[GpuKey, Mapping[str, Any]] = {}
        self._key_of_name: dict[str, GpuKey] = {}
        self._users: dict[str, set[GpuKey]] = {}  # Model ref -> GPUs allocating it
        self._refs_of: dict[GpuKey, set[str]] = {}
        self._pending: set[GpuKey] = set()

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: GpuKey) -> Mapping[str, Any] | None:
        return self._objects.get(key)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def take_pending(self) -> set[GpuKey]:
        """The GPUs changed since the last call (present or gone), forgetting them."""
        pending, self._pending = self._pending, set()
        return pending

    def mark_pending(self, keys: Iterable[GpuKey]) -> None:
        """Look at these GPUs again (a publish that failed is retried this way)."""
        self._pending.update(keys)

    def replace(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Take a fresh list of every GPU: what changed, appeared or vanished is pending."""
        fresh_names = set()
        for obj in objects:
            fresh_names.add(_name(obj))
            self.upsert(obj)
        for name in [n for n in self._key_of_name if n not in fresh_names]:
            self._drop(name)

    def upsert(self, obj: Mapping[str, Any]) -> None:
        name = _name(obj)
        try:
            key = gpu_key(obj)
        except InvalidGpuObject as exc:
            log.warning("ignoring GPU object: %s", exc)
            self._drop(name)
            return
        old_key = self._key_of_name.get(name)
        if old_key is not None and old_key != key:
            self._drop(name)
        held = self._objects.get(key)
        if held is not None and resource_version(held) == resource_version(obj) != "":
            return
        self._objects[key] = obj
        self._key_of_name[name] = key
        self._index_users(key, allocation_refs(obj))
        self._pending.add(key)

    def delete(self, obj: Mapping[str, Any]) -> None:
        self._drop(_name(obj))

    def models_changed(self, refs: Iterable[str]) -> None:
        """Models whose owner changed: the GPUs holding them must be joined again."""
        for ref in refs:
            self._pending.update(self._users.get(ref, ()))

    def _drop(self, name: str) -> None:
        key = self._key_of_name.pop(name, None)
        if key is None:
            return
        self._objects.pop(key, None)
        self._index_users(key, set())
        self._pending.add(key)

    def _index_users(self, key: GpuKey, refs: set[str]) -> None:
        old = self._refs_of.pop(key, set())
        for ref in old - refs:
            users = self._users.get(ref)
            if users is not None:
                users.discard(key)
                if not users:
                    del self._users[ref]
        for ref in refs - old:
            self._users.setdefault(ref, set()).add(key)
        if refs:
            self._refs_of[key] = refs
