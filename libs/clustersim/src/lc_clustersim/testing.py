"""pytest fixtures for the cluster simulator (registered with `-p lc_clustersim.testing`).

Who calls it: every test in the repository that needs a Kubernetes API, the engine, the
simulated upstreams or the DNS zone. Fixtures:

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
