"""The fleet aggregator: watch GPUs and Models, publish one snapshot per GPU.

Who calls it: `main.run` (the `lc-fleet` process and `lc up`), and tests that want to
look at its counters.

How it fits together: two `ResourceWatch` loops (engine GPUs, engine Models) feed a
`GpuInventory` and `ModelOwners`; each change wakes the `StatusPublisher`, which publishes
what changed. Publishing starts only once LC_STATUS has been read and both kinds have
been listed, so the first snapshots already carry their allocations' owners, and GPUs
that vanished while the aggregator was down are tombstoned then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import CustomObjectsApi
from nats.js import JetStreamContext

from lc_contracts.engine import GPU_PLURAL, MODEL_PLURAL
from lc_fleet.gpu_inventory import GpuInventory
from lc_fleet.model_owners import ModelOwners
from lc_fleet.resource_watch import Backoff, CustomResource, ResourceWatch
from lc_fleet.settings import FleetSettings
from lc_fleet.status_publisher import PublishFailed, StatusPublisher

log = logging.getLogger(__name__)


class _ModelSink:
    """Feeds Model objects to the owner index and re-joins the GPUs holding changed ones."""

    def __init__(self, owners: ModelOwners, inventory: GpuInventory) -> None:
        self._owners = owners
        self._inventory = inventory

    def replace(self, objects: list[Mapping[str, Any]]) -> None:
        self._inventory.models_changed(self._owners.replace(objects))

    def upsert(self, obj: Mapping[str, Any]) -> None:
        self._inventory.models_changed(self._owners.upsert(obj))

    def delete(self, obj: Mapping[str, Any]) -> None:
        self._inventory.models_changed(self._owners.delete(obj))


class FleetAggregator:
    def __init__(
        self, js: JetStreamContext, api: CustomObjectsApi, settings: FleetSettings
    ) -> None:
        self._settings = settings
        self.inventory = GpuInventory()
        self.owners = ModelOwners()
        self.publisher = StatusPublisher(
            js,
            self.inventory,
            self.owners,
            source=settings.event_source,
            concurrency=settings.publish_concurrency,
        )
        self._wake = asyncio.Event()
        self.gpu_watch = self._watch(api, GPU_PLURAL, self.inventory)
        self.model_watch = self._watch(api, MODEL_PLURAL, _ModelSink(self.owners, self.inventory))
        self.converged = asyncio.Event()
        """Set after the first flush: LC_STATUS then matches the cluster as first listed."""

    def _watch(self, api: CustomObjectsApi, plural: str, sink: Any) -> ResourceWatch:
        settings = self._settings
        return ResourceWatch(
            api,
            CustomResource(settings.engine_group, settings.engine_version, plural),
            sink,
            on_change=self._wake.set,
            page_size=settings.list_page_size,
            watch_timeout_s=settings.watch_timeout_s,
            backoff=Backoff(settings.backoff_initial_s, settings.backoff_max_s),
        )

    async def run(self) -> None:
        """Watch and publish until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.gpu_watch.run(), name="fleet-gpu-watch")
            tasks.create_task(self.model_watch.run(), name="fleet-model-watch")
            tasks.create_task(self._publish_loop(), name="fleet-publisher")

    async def _publish_loop(self) -> None:
        backoff = Backoff(self._settings.backoff_initial_s, self._settings.backoff_max_s)
        failures = 0
        while True:
            try:
                await self.publisher.bootstrap()
                break
            except Exception as exc:  # JetStream not answering yet: keep trying
                failures += 1
                delay = backoff.delay(failures)
                log.warning("cannot read LC_STATUS (%r); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
        await self.gpu_watch.synced.wait()
        await self.model_watch.synced.wait()
        # GPUs LC_STATUS shows but the cluster no longer has get their tombstones now.
        self.inventory.mark_pending(self.publisher.live_keys())
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.publisher.flush()
            except PublishFailed as exc:
                failures += 1
                delay = backoff.delay(failures)
                log.warning("%s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                self._wake.set()
                continue
            failures = 0
            if not self.converged.is_set():
                self.converged.set()
                log.info(
                    "fleet converged: %d GPUs, %d Models", len(self.inventory), len(self.owners)
                )
            if not self.inventory.has_pending:
                await self._wake.wait()
