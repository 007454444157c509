"""Fixtures of the reconciler's integration tests: a real nats-server (lc_testing), the
cluster simulator over HTTP (lc_clustersim), and a reconciler runtime per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim
from lc_contracts.events import Payload, build
from lc_eventstore import EventStore, provision_streams
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.runtime import ReconcilerRuntime
from lc_reconciler.settings import ReconcilerSettings


def pytest_configure(config: pytest.Config) -> None:
    """The simulator's fixtures (`cluster`, `cluster_config`), for these tests only."""
    config.pluginmanager.import_plugin("lc_testing.cluster")


@pytest.fixture
async def kube(cluster: ClusterSim) -> AsyncIterator[KubeClient]:
    client = await KubeClient.connect(str(cluster.kubeconfig_path))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def settings(nats_url: str, cluster: ClusterSim) -> ReconcilerSettings:
    return ReconcilerSettings(
        nats_url=nats_url,
        kubeconfig=str(cluster.kubeconfig_path),
        platform_domain="apps.test",
        resync_interval_s=60.0,
        retry_base_s=0.01,
        retry_max_s=0.2,
        watch_timeout_s=30,
    )


@dataclass
class Running:
    runtime: ReconcilerRuntime
    task: asyncio.Task[None]
    kube: KubeClient
    stopped: bool = False

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.kube.close()


@dataclass
class Reconcilers:
    """Starts reconciler runtimes on the test's NATS and cluster; stops them at the end."""

    js: JetStreamContext
    default: ReconcilerSettings
    running: list[Running] = field(default_factory=list)

    async def start(
        self, settings: ReconcilerSettings | None = None, *, wait_ready: bool = True
    ) -> Running:
        settings = settings or self.default
        kube = await KubeClient.connect(settings.kubeconfig)
        runtime = ReconcilerRuntime(settings, self.js, kube)
        handle = Running(runtime, asyncio.create_task(runtime.run()), kube)
        self.running.append(handle)
        if wait_ready:
            ready = asyncio.create_task(runtime.ready.wait())
            done, _ = await asyncio.wait(
                {ready, handle.task}, timeout=10, return_when=asyncio.FIRST_COMPLETED
            )
            if handle.task in done:
                handle.task.result()
            assert ready in done, "reconciler did not become ready"
        return handle

    async def stop_all(self) -> None:
        for handle in self.running:
            await handle.stop()


@pytest.fixture
async def reconcilers(
    jetstream: JetStreamContext, settings: ReconcilerSettings
) -> AsyncIterator[Reconcilers]:
    holder = Reconcilers(jetstream, settings)
    try:
        yield holder
    finally:
        await holder.stop_all()


@dataclass
class Events:
    """Appends events to LC_EVENTS as the API would."""

    store: EventStore

    async def append(self, subject: str, payload: Payload) -> int:
        [seq] = await self.store.append(
            subject, [build(payload, subject=subject, source="tests")], None
        )
        return seq


@pytest.fixture
async def events(jetstream: JetStreamContext) -> Events:
    await provision_streams(jetstream)
    return Events(EventStore(jetstream))


Predicate = Callable[[], Any | Awaitable[Any]]
