"""Build GPU snapshots and engine GPU / Model objects for the fleet tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lc_contracts.engine import GpuHealth, GpuMode
from lc_contracts.fleet import GpuAllocation, GpuSnapshot

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def snapshot(
    node: str = "node-a",
    index: int = 0,
    *,
    uuid: str | None = None,
    product: str = "H100",
    health: GpuHealth = GpuHealth.HEALTHY,
    total: int = 81920,
    available: int | None = None,
    utilization: float = 0.0,
    allocations: tuple[GpuAllocation, ...] = (),
    removed: bool = False,
    at: int = 0,
) -> GpuSnapshot:
    return GpuSnapshot(
        node=node,
        index=index,
        uuid=uuid or f"GPU-{node}-{index}",
        product=product,
        mode=GpuMode.EXCLUSIVE,
        health=health,
        memory_total_mib=total,
        memory_available_mib=total if available is None else available,
        utilization=utilization,
        allocations=allocations,
        removed=removed,
        observed_at=T0 + timedelta(seconds=at),
    )


def gpu_object(
    name: str,
    *,
    node: str = "node-a",
    index: int = 0,
    uuid: str | None = None,
    product: str = "H100",
    memory: int = 81920,
    rv: int | str = 1,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "engine.greenthread.ai/v1alpha1",
        "kind": "GPU",
        "metadata": {"name": name, "resourceVersion": str(rv)},
        "spec": {
            "node": node,
            "index": index,
            "uuid": uuid or f"GPU-{name}",
            "product": product,
            "memoryMiB": memory,
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


def model_object(
    namespace: str,
    name: str,
    *,
    model_name: str = "llama-3-8b",
    project: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    labels = {}
    if project:
        labels["liquidcompute.io/project"] = project
    if service:
        labels["liquidcompute.io/service"] = service
    return {
        "apiVersion": "engine.greenthread.ai/v1alpha1",
        "kind": "Model",
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"modelName": model_name},
    }
