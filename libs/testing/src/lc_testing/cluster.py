"""pytest fixtures for the cluster simulator, loaded only by the test folders that need it.

Who calls it: the conftest of each test folder that needs a Kubernetes API, the engine,
the simulated upstreams or the DNS zone imports the fixtures it uses
(`from lc_testing.cluster import cluster, cluster_config`), so other test runs never
import the simulator. Fixtures:

- `cluster`: a started `ClusterSim` on free loopback ports with short lifecycle delays,
  one per test;
- `cluster_config`: the `SimConfig` the `cluster` fixture uses; override it in a test
  module to change the fleet or the delays.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lc_clustersim.sim import ClusterSim, SimConfig


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
