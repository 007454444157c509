"""Build engine GPU / Model objects for the fleet tests (snapshots: `lc_testing.gpus`)."""

from __future__ import annotations

from typing import Any

from lc_testing.gpus import T0, snapshot

__all__ = ["T0", "gpu_object", "model_object", "snapshot"]


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
