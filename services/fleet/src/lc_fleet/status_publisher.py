"""Publish GPU snapshots to LC_STATUS when they change, and health transitions to LC_EVENTS.

Who calls it: `aggregator`, which wakes `flush` whenever a watch changed something.

What it owns: the last snapshot published per GPU. It starts from what LC_STATUS already
holds (`bootstrap`), so a restarted aggregator republishes nothing that did not change
and derives each GPU's previous health from its last snapshot. Each flush takes the GPUs
the inventory marked, builds their snapshots, skips those equal to the published one
(observation time aside), and publishes the rest concurrently: one publish per GPU per
flush, so a subject's snapshots stay in order. A GPU gone from the cluster gets a
tombstone. A publish that fails leaves its GPU marked for the next flush.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from pydantic import ValidationError

from lc_contracts.envelope import now
from lc_contracts.events import GpuHealthChanged
from lc_contracts.fleet import GPU_STATUS, GpuSnapshot, gpu_status_subject
from lc_contracts.streams import UNREFRESHED_STATUS_TTL_S
from lc_eventstore import EventStoreError, current_status, publish_status
from lc_fleet.gpu_inventory import GpuInventory
from lc_fleet.gpu_snapshots import (
    GpuKey,
    InvalidGpuObject,
    OwnerLookup,
    resource_version,
    snapshot_of,
)
from lc_fleet.health_events import health_transition
from lc_fleet.health_ledger import HealthLedger

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """Some snapshots could not be published; their GPUs stay pending."""


@dataclass(frozen=True)
class _Publication:
    key: GpuKey
    snapshot: GpuSnapshot
    change: GpuHealthChanged | None
    resource_version: str


@dataclass
class PublishStats:
    snapshots: int = 0
    tombstones: int = 0
    health_events: int = 0
    flushes: int = 0


class StatusPublisher:
    def __init__(
        self,
        js: JetStreamContext,
        inventory: GpuInventory,
        owners: OwnerLookup,
        *,
        source: str,
        concurrency: int = 256,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self._js = js
        self._inventory = inventory
        self._owners = owners
        self._ledger = HealthLedger(js, source=source)
        self._concurrency = concurrency
        self._clock = clock
        self._published: dict[GpuKey, GpuSnapshot] = {}
        self.stats = PublishStats()

    @property
    def published(self) -> dict[GpuKey, GpuSnapshot]:
        """The last snapshot published per GPU, tombstones included (read-only use)."""
        return self._published

    async def bootstrap(self) -> None:
        """Load the last snapshot of every GPU from LC_STATUS."""
        for message in (await current_status(self._js, GPU_STATUS)).values():
            try:
                snapshot = GpuSnapshot.model_validate_json(message.data)
            except ValidationError:
                log.warning("ignoring unreadable snapshot on %s", message.subject)
                continue
            self._published[snapshot.key] = snapshot
        log.info("fleet: %d GPU snapshots already on LC_STATUS", len(self._published))

    def live_keys(self) -> Iterable[GpuKey]:
        """GPUs whose last snapshot says they are present (not tombstoned)."""
        return [key for key, snapshot in self._published.items() if not snapshot.removed]

    async def flush(self) -> int:
        """Publish whatever the inventory marked since the last flush; how many were published.

        Raises PublishFailed when some could not be; those GPUs are marked again.
        """
        keys = self._inventory.take_pending()
        if not keys:
            return 0
        self.stats.flushes += 1
        work = self._plan(keys, self._clock())
        if not work:
            return 0
        failed: list[GpuKey] = []
        pending = iter(work)

        # A fixed pool of workers sharing one iterator, rather than one task per GPU behind
        # a semaphore: with thousands of waiters the semaphore itself becomes the cost.
        async def publish_some() -> None:
            for item in pending:
                try:
                    await self._publish(item)
                except (TimeoutError, NatsError, EventStoreError) as exc:
                    log.warning("could not publish GPU %s/%s: %r", *item.key, exc)
                    failed.append(item.key)

        await asyncio.gather(*(publish_some() for _ in range(min(self._concurrency, len(work)))))
        if failed:
            self._inventory.mark_pending(failed)
            raise PublishFailed(f"{len(failed)} of {len(work)} GPU snapshots not published")
        return len(work)

    def _plan(self, keys: Iterable[GpuKey], observed_at: datetime) -> list[_Publication]:
        work = []
        for key in keys:
            obj = self._inventory.get(key)
            previous = self._published.get(key)
            if obj is None:
                if previous is not None and not previous.removed:
                    work.append(_Publication(key, previous.tombstone(observed_at), None, ""))
                continue
            try:
                snapshot = snapshot_of(obj, self._owners, observed_at)
            except (InvalidGpuObject, ValidationError) as exc:
                log.warning("cannot show GPU %s/%s: %s", *key, exc)
                continue
            if snapshot.same_state(previous):
                continue
            change = health_transition(previous, snapshot)
            work.append(_Publication(key, snapshot, change, resource_version(obj)))
        return work

    async def _publish(self, item: _Publication) -> None:
        if item.change is not None and await self._ledger.record(
            item.change, item.resource_version
        ):
            self.stats.health_events += 1
        await publish_status(
            self._js,
            gpu_status_subject(*item.key),
            item.snapshot,
            ttl_s=UNREFRESHED_STATUS_TTL_S if item.snapshot.removed else None,
        )
        self._published[item.key] = item.snapshot
        if item.snapshot.removed:
            self.stats.tombstones += 1
        else:
            self.stats.snapshots += 1
