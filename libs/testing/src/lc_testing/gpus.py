"""GPU snapshots as the fleet aggregator publishes them on LC_STATUS, for the tests of
whoever reads them (the fleet's own, lcd's fleet view and routes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
