"""pytest fixtures for the cluster simulator (registered with `-p lc_clustersim.testing`).

Who calls it: every test in the repository that needs a Kubernetes API, the engine, the
simulated upstreams or the DNS zone. Fixtures:

- `cluster`: a started `ClusterSim` on free loopback ports with short lifecycle delays,
  one per test;
- `cluster_config`: the `SimConfig` the `cluster` fixture uses; override it in a test
  module to change the fleet or the delays.

`wait_until(predicate, within=...)` polls a condition with a deadline, for tests that
wait on the simulator without sleeping.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from lc_clustersim.sim import ClusterSim, SimConfig


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 5.0,
    interval: float = 0.01,
    message: str = "condition",
) -> None:
    """Poll `predicate` (sync or async) until it is true; AssertionError after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {within} s")
        await asyncio.sleep(interval)


@pytest.fixture
def cluster_config(tmp_path: Path) -> SimConfig:
    return SimConfig(
        gpus="2x4:H100-80GB",
        data_dir=tmp_path / "clustersim",
        pending_s=0.05,
        loading_s=0.1,
        ready_delay_s=0.05,
    )


@pytest.fixture
async def cluster(cluster_config: SimConfig) -> AsyncIterator[ClusterSim]:
    async with ClusterSim(cluster_config) as sim:
        yield sim
