"""Turn an engine `GPU` object into the `GpuSnapshot` published on LC_STATUS.

Who calls it: `gpu_inventory` when it indexes an object, and `status_publisher` when it
builds what to publish. Pure.

The engine's schema (DESIGN §7): `spec {node, index, uuid, product, memoryMiB}`,
`status {mode, health, memoryAvailableMiB, utilization, allocations[]}`. An allocation
names the Model holding the GPU, either as `"namespace/name"` or as an object
`{model | name, namespace?, modelName?, memoryMiB?}`. A GPU whose status the engine has
not written yet is shown Healthy, exclusive, with all its memory available; a health or
mode this code does not know is shown Unhealthy / exclusive rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from lc_contracts.engine import GpuHealth, GpuMode
from lc_contracts.fleet import GpuAllocation, GpuSnapshot
from lc_fleet.model_owners import ModelOwner


class InvalidGpuObject(ValueError):
    """The object lacks what identifies a GPU (node, index, uuid); it cannot be shown."""


class OwnerLookup(Protocol):
    def get(self, ref: str, /) -> ModelOwner | None: ...


GpuKey = tuple[str, str]  # (node, uuid), as in GpuSnapshot.key


def gpu_key(obj: Mapping[str, Any]) -> GpuKey:
    """(node, uuid) of a GPU object; raises InvalidGpuObject when either is missing."""
    spec = obj.get("spec") or {}
    node = spec.get("node")
    uuid = spec.get("uuid") or (obj.get("metadata") or {}).get("name")
    if not isinstance(node, str) or not node or not isinstance(uuid, str) or not uuid:
        raise InvalidGpuObject(f"GPU {_name(obj)!r} has no spec.node or spec.uuid")
    return (node, uuid)


def resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return max(int(value), 0)
    return default


def allocation_ref(raw: Any) -> tuple[str, Mapping[str, Any]] | None:
    """`namespace/name` of the Model an allocation entry names, with the entry's fields."""
    if isinstance(raw, str):
        return (raw, {}) if raw else None
    if not isinstance(raw, Mapping):
        return None
    name = raw.get("model") or raw.get("name")
    if not isinstance(name, str) or not name:
        return None
    namespace = raw.get("namespace")
    if "/" not in name and isinstance(namespace, str) and namespace:
        name = f"{namespace}/{name}"
    return name, raw


def allocation_refs(obj: Mapping[str, Any]) -> set[str]:
    """The Models a GPU object says it holds (to re-join when their owners change)."""
    refs = set()
    for raw in (obj.get("status") or {}).get("allocations") or []:
        found = allocation_ref(raw)
        if found is not None:
            refs.add(found[0])
    return refs


def _allocation(raw: Any, owners: OwnerLookup) -> GpuAllocation | None:
    found = allocation_ref(raw)
    if found is None:
        return None
    ref, fields = found
    owner = owners.get(ref)
    memory = fields.get("memoryMiB")
    own_name = fields.get("modelName")
    return GpuAllocation(
        model=ref,
        model_name=(owner.model_name if owner else None)
        or (own_name if isinstance(own_name, str) and own_name else None),
        project_slug=owner.project_slug if owner else None,
        service_name=owner.service_name if owner else None,
        memory_mib=_int(memory) if memory is not None and not isinstance(memory, bool) else None,
    )


def _health(value: Any) -> GpuHealth:
    try:
        return GpuHealth(value)
    except ValueError:
        return GpuHealth.UNHEALTHY


def _mode(value: Any) -> GpuMode:
    try:
        return GpuMode(value)
    except ValueError:
        return GpuMode.EXCLUSIVE


def snapshot_of(obj: Mapping[str, Any], owners: OwnerLookup, observed_at: datetime) -> GpuSnapshot:
    """The snapshot of a GPU object, its allocations joined with their owners.

    Raises InvalidGpuObject for an object without node, uuid or a valid index.
    """
    node, uuid = gpu_key(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    index = spec.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidGpuObject(f"GPU {_name(obj)!r} has no valid spec.index")
    total = _int(spec.get("memoryMiB"))
    available = status.get("memoryAvailableMiB")
    allocations = tuple(
        allocation
        for raw in status.get("allocations") or []
        if (allocation := _allocation(raw, owners)) is not None
    )
    utilization = status.get("utilization")
    return GpuSnapshot(
        node=node,
        index=index,
        uuid=uuid,
        product=str(spec.get("product") or "unknown"),
        mode=_mode(status.get("mode", GpuMode.EXCLUSIVE.value)),
        health=_health(status.get("health", GpuHealth.HEALTHY.value)),
        memory_total_mib=total,
        memory_available_mib=total if available is None else _int(available),
        utilization=float(utilization)
        if isinstance(utilization, int | float)
        and not isinstance(utilization, bool)
        and utilization >= 0
        else 0.0,
        allocations=allocations,
        observed_at=observed_at,
    )
