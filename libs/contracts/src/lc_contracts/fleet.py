"""The GPU fleet as observed state: one snapshot per physical GPU on LC_STATUS.

Who uses it: the fleet aggregator (`lc_fleet`) builds a `GpuSnapshot` from each engine `GPU`
object and publishes it to `gpu_status_subject(node, uuid)` whenever it changes (a
tombstone with `removed=True` when the GPU disappears). lcd folds the snapshots it follows
on `GPU_STATUS` into its fleet view and answers `GET /api/v1/fleet` (`gpus` and a
`FleetSummary`) and its SSE stream from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import ConfigDict, Field

from lc_contracts.base import Contract
from lc_contracts.engine import GpuHealth, GpuMode
from lc_contracts.subjects import STATUS_PREFIX, token

GPU_STATUS: Final = f"{STATUS_PREFIX}.gpu.>"


def gpu_status_subject(node: str, uuid: str) -> str:
    """Where the latest snapshot of one GPU lives on LC_STATUS."""
    return f"{STATUS_PREFIX}.gpu.{token(node)}.{token(uuid)}"


class GpuAllocation(Contract):
    """One Model holding (part of) a GPU, joined with the LiquidCompute service that owns it.

    `model` is the engine Model's `namespace/name`. The project and service are absent for
    Models the platform did not create (or whose owner is not known yet).
    """

    model: str
    model_name: str | None = None
    project_slug: str | None = None
    service_name: str | None = None
    memory_mib: int | None = Field(default=None, alias="memoryMiB", ge=0)


class GpuSnapshot(Contract):
    """The observed state of one physical GPU, as published on LC_STATUS.

    `utilization` is the engine's figure as reported (percent busy). `removed=True` marks a
    tombstone: the GPU is gone from the cluster, and the other fields are its last state.
    """

    node: str
    index: int = Field(ge=0)
    uuid: str
    product: str
    mode: GpuMode
    health: GpuHealth
    memory_total_mib: int = Field(alias="memoryTotalMiB", ge=0)
    memory_available_mib: int = Field(alias="memoryAvailableMiB", ge=0)
    utilization: float = Field(default=0.0, ge=0)
    allocations: tuple[GpuAllocation, ...] = ()
    removed: bool = False
    observed_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the GPU: its node and uuid (the pair its subject is built from)."""
        return (self.node, self.uuid)

    def same_state(self, other: GpuSnapshot | None) -> bool:
        """True when `other` says the same about the GPU; only the observation time differs."""
        return (
            other is not None
            and self.model_copy(update={"observed_at": other.observed_at}) == other
        )

    def tombstone(self, observed_at: datetime) -> GpuSnapshot:
        """The snapshot that says this GPU has left the cluster."""
        return self.model_copy(update={"removed": True, "observed_at": observed_at})


class FleetSummary(Contract):
    """Counts and memory over the GPUs shown, and how many of them each product and node has."""

    # Answers always carry every field, so the schema says so (clients need not guess).
    model_config = ConfigDict(
        **Contract.model_config, json_schema_serialization_defaults_required=True
    )

    total: int = 0
    healthy: int = 0
    degraded: int = 0
    unhealthy: int = 0
    memory_total_mib: int = Field(default=0, alias="memoryTotalMiB")
    memory_available_mib: int = Field(default=0, alias="memoryAvailableMiB")
    by_product: dict[str, int] = Field(default_factory=dict)
    by_node: dict[str, int] = Field(default_factory=dict)
