"""Fixtures of the fleet aggregator's integration tests: a real nats-server (lc_testing),
the cluster simulator over HTTP (lc_clustersim), and an aggregator that a test can stop
and start again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import pytest
from kubernetes_asyncio.client import CustomObjectsApi
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim
from lc_contracts.events import GpuHealthChanged
from lc_contracts.fleet import GPU_STATUS, GpuSnapshot
from lc_contracts.subjects import EVENTS_PREFIX
from lc_eventstore import EventStore, current_status, provision_streams
from lc_fleet.aggregator import FleetAggregator
from lc_fleet.kube_client import open_api_client
from lc_fleet.settings import FleetSettings


def pytest_configure(config: pytest.Config) -> None:
    """The simulator's fixtures (`cluster`, `cluster_config`), for these tests only."""
    config.pluginmanager.import_plugin("lc_testing.cluster")


class RunningFleet:
    """One aggregator process-equivalent: its own NATS and Kubernetes clients and task."""

    def __init__(self, settings: FleetSettings) -> None:
        self.settings = settings
        self.aggregator: FleetAggregator | None = None
        self._task: asyncio.Task[None] | None = None
        self._nats: NatsClient | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> FleetAggregator:
        self._nats = await nats.connect(self.settings.nats_url)
        js = self._nats.jetstream()
        await provision_streams(js)
        api_client = await self._stack.enter_async_context(await open_api_client(self.settings))
        self.aggregator = FleetAggregator(js, CustomObjectsApi(api_client), self.settings)
        self._task = asyncio.create_task(self.aggregator.run())
        await asyncio.wait_for(self._converged(), 10)
        return self.aggregator

    async def _converged(self) -> None:
        assert self.aggregator is not None
        assert self._task is not None
        waiter = asyncio.create_task(self.aggregator.converged.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            waiter.cancel()
            self._task.result()  # raise what stopped it

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._stack.aclose()
        if self._nats is not None:
            await self._nats.close()
            self._nats = None


@pytest.fixture
def fleet_settings(nats_url: str, cluster: ClusterSim) -> FleetSettings:
    return FleetSettings(
        nats_url=nats_url,
        kubeconfig=cluster.kubeconfig_path,
        backoff_initial_s=0.02,
        backoff_max_s=0.2,
        watch_timeout_s=30,
    )


@pytest.fixture
async def fleet(fleet_settings: FleetSettings) -> AsyncIterator[RunningFleet]:
    running = RunningFleet(fleet_settings)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


async def gpu_snapshots(js: JetStreamContext) -> dict[str, GpuSnapshot]:
    """Every GPU's latest snapshot on LC_STATUS by uuid, tombstones included."""
    latest = await current_status(js, GPU_STATUS)
    snapshots = (GpuSnapshot.model_validate_json(m.data) for m in latest.values())
    return {s.uuid: s for s in snapshots}


async def live_gpus(js: JetStreamContext) -> dict[str, GpuSnapshot]:
    return {u: s for u, s in (await gpu_snapshots(js)).items() if not s.removed}


async def health_events(js: JetStreamContext) -> list[GpuHealthChanged]:
    """Every gpu.health_changed event on LC_EVENTS, in order."""
    store = EventStore(js)
    events: list[GpuHealthChanged] = []
    async for batch in store.read(subjects=[f"{EVENTS_PREFIX}.gpu.>"]):
        for message in batch:
            payload = message.event().payload
            assert isinstance(payload, GpuHealthChanged)
            events.append(payload)
    return events
