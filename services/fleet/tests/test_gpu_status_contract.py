"""The fleet's wire types on LC_STATUS: GPU snapshots and their subjects."""

from __future__ import annotations

import json

import pytest

from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import GPU_STATUS, GpuAllocation, GpuSnapshot, gpu_status_subject

from .gpu_factory import snapshot


def test_subjects_are_status_subjects_with_safe_tokens() -> None:
    assert gpu_status_subject("node-a", "GPU-1") == "lc.status.gpu.node-a.GPU-1"
    assert gpu_status_subject("n1.example.com", "GPU-x") == "lc.status.gpu.n1_example_com.GPU-x"
    assert GPU_STATUS == "lc.status.gpu.>"
    with pytest.raises(ValueError, match="subject"):
        gpu_status_subject("node a", "GPU-1")


def test_snapshot_speaks_camel_case_with_mib_spelled_out() -> None:
    gpu = snapshot(
        allocations=(
            GpuAllocation(
                model="p/m", model_name="llama", project_slug="p", service_name="s", memory_mib=100
            ),
        )
    )
    wire = json.loads(gpu.model_dump_json(by_alias=True))
    assert wire["memoryTotalMiB"] == 81920
    assert wire["memoryAvailableMiB"] == 81920
    assert wire["observedAt"].startswith("2026-01-01")
    assert wire["removed"] is False
    assert wire["allocations"] == [
        {
            "model": "p/m",
            "modelName": "llama",
            "projectSlug": "p",
            "serviceName": "s",
            "memoryMiB": 100,
        }
    ]
    assert GpuSnapshot.model_validate_json(gpu.model_dump_json(by_alias=True)) == gpu


def test_snapshot_rejects_unknown_fields_and_negative_memory() -> None:
    wire = json.loads(snapshot().model_dump_json(by_alias=True))
    with pytest.raises(ValueError, match="extra"):
        GpuSnapshot.model_validate({**wire, "colour": "green"})
    with pytest.raises(ValueError, match="greater than or equal"):
        GpuSnapshot.model_validate({**wire, "memoryAvailableMiB": -1})


def test_same_state_ignores_only_the_observation_time() -> None:
    gpu = snapshot(at=0)
    assert gpu.same_state(snapshot(at=5))
    assert not gpu.same_state(None)
    assert not gpu.same_state(snapshot(health=GpuHealth.DEGRADED))
    assert not gpu.same_state(snapshot(available=10))
    assert not gpu.same_state(gpu.tombstone(gpu.observed_at))
