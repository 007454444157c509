"""Which LiquidCompute project and service own each engine Model.

Who calls it: the Model watch (`resource_watch`) feeds it every Model object; the snapshot
builder (`gpu_snapshots`) looks allocations up in it. Pure and synchronous.

A Model is known by `namespace/name`; its owner comes from the labels the reconciler
stamps on it (`liquidcompute.io/project`, `liquidcompute.io/service`) and its model name
from `spec.modelName`. Models without those labels are still known (model name only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lc_contracts.engine import LABEL_PROJECT, LABEL_SERVICE


@dataclass(frozen=True)
class ModelOwner:
    model_name: str | None
    project_slug: str | None
    service_name: str | None


def model_ref(obj: Mapping[str, Any]) -> str:
    """`namespace/name` of a Model object."""
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def owner_of(obj: Mapping[str, Any]) -> ModelOwner:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    spec = obj.get("spec") or {}
    model_name = spec.get("modelName")
    return ModelOwner(
        model_name=model_name if isinstance(model_name, str) and model_name else None,
        project_slug=labels.get(LABEL_PROJECT) or None,
        service_name=labels.get(LABEL_SERVICE) or None,
    )


class ModelOwners:
    """Owner of every Model seen; each change says which Model refs changed owner."""

    def __init__(self) -> None:
        self._owners: dict[str, ModelOwner] = {}

    def __len__(self) -> int:
        return len(self._owners)

    def get(self, ref: str) -> ModelOwner | None:
        return self._owners.get(ref)

    def replace(self, objects: Iterable[Mapping[str, Any]]) -> set[str]:
        """Take a fresh list of every Model; return the refs whose owner changed."""
        fresh = {model_ref(obj): owner_of(obj) for obj in objects}
        changed = {ref for ref in self._owners.keys() - fresh.keys()}
        changed |= {ref for ref, owner in fresh.items() if self._owners.get(ref) != owner}
        self._owners = fresh
        return changed

    def upsert(self, obj: Mapping[str, Any]) -> set[str]:
        ref, owner = model_ref(obj), owner_of(obj)
        if self._owners.get(ref) == owner:
            return set()
        self._owners[ref] = owner
        return {ref}

    def delete(self, obj: Mapping[str, Any]) -> set[str]:
        ref = model_ref(obj)
        return {ref} if self._owners.pop(ref, None) is not None else set()
