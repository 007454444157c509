"""Translating engine GPU objects into snapshots, joined with the Models' owners."""

from __future__ import annotations

import pytest

from lc_contracts.engine import GpuHealth, GpuMode
from lc_contracts.fleet import GpuAllocation
from lc_fleet.gpu_snapshots import InvalidGpuObject, allocation_refs, gpu_key, snapshot_of
from lc_fleet.model_owners import ModelOwner

from .gpu_factory import T0, gpu_object

OWNERS = {
    "demo/chat": ModelOwner(model_name="llama-3-8b", project_slug="demo", service_name="chat"),
    "other/raw": ModelOwner(model_name="phi-3", project_slug=None, service_name=None),
}


def test_full_object() -> None:
    obj = gpu_object(
        "gpu-0",
        node="node-a",
        index=2,
        uuid="GPU-abc",
        product="H100",
        memory=81920,
        status={
            "mode": "shared",
            "health": "Degraded",
            "memoryAvailableMiB": 40000,
            "utilization": 37.5,
            "allocations": [{"model": "chat", "namespace": "demo", "memoryMiB": 41920}],
        },
    )
    gpu = snapshot_of(obj, OWNERS, T0)
    assert (gpu.node, gpu.index, gpu.uuid, gpu.product) == ("node-a", 2, "GPU-abc", "H100")
    assert (gpu.mode, gpu.health) == (GpuMode.SHARED, GpuHealth.DEGRADED)
    assert (gpu.memory_total_mib, gpu.memory_available_mib, gpu.utilization) == (81920, 40000, 37.5)
    assert gpu.allocations == (
        GpuAllocation(
            model="demo/chat",
            model_name="llama-3-8b",
            project_slug="demo",
            service_name="chat",
            memory_mib=41920,
        ),
    )
    assert gpu.observed_at == T0
    assert not gpu.removed


def test_allocation_forms() -> None:
    obj = gpu_object(
        "g",
        status={
            "allocations": [
                "demo/chat",
                {"name": "raw", "namespace": "other"},
                {"model": "demo/chat"},
                {"model": "ghost/model", "modelName": "mistral"},
                {"model": ""},
                42,
            ]
        },
    )
    gpu = snapshot_of(obj, OWNERS, T0)
    assert [(a.model, a.model_name, a.project_slug, a.service_name) for a in gpu.allocations] == [
        ("demo/chat", "llama-3-8b", "demo", "chat"),
        ("other/raw", "phi-3", None, None),
        ("demo/chat", "llama-3-8b", "demo", "chat"),
        ("ghost/model", "mistral", None, None),
    ]
    assert allocation_refs(obj) == {"demo/chat", "other/raw", "ghost/model"}


def test_gpu_without_status_is_healthy_and_free() -> None:
    gpu = snapshot_of(gpu_object("g", memory=1000), {}, T0)
    assert (gpu.health, gpu.mode) == (GpuHealth.HEALTHY, GpuMode.EXCLUSIVE)
    assert gpu.memory_available_mib == 1000
    assert gpu.allocations == ()
    assert gpu.utilization == 0.0


def test_unknown_health_is_shown_unhealthy_and_unknown_mode_exclusive() -> None:
    gpu = snapshot_of(gpu_object("g", status={"health": "OnFire", "mode": "quantum"}), {}, T0)
    assert (gpu.health, gpu.mode) == (GpuHealth.UNHEALTHY, GpuMode.EXCLUSIVE)


def test_garbage_numbers_do_not_break_the_snapshot() -> None:
    obj = gpu_object("g", status={"memoryAvailableMiB": -5, "utilization": "hot"})
    obj["spec"]["memoryMiB"] = "lots"
    gpu = snapshot_of(obj, {}, T0)
    assert (gpu.memory_total_mib, gpu.memory_available_mib, gpu.utilization) == (0, 0, 0.0)


def test_uuid_falls_back_to_the_object_name() -> None:
    obj = gpu_object("GPU-from-name")
    del obj["spec"]["uuid"]
    assert gpu_key(obj) == ("node-a", "GPU-from-name")


@pytest.mark.parametrize(
    ("field", "value"),
    [("node", None), ("node", ""), ("index", None), ("index", -1), ("index", True)],
)
def test_objects_without_identity_are_refused(field: str, value: object) -> None:
    obj = gpu_object("g")
    obj["spec"][field] = value
    with pytest.raises(InvalidGpuObject):
        snapshot_of(obj, {}, T0)
