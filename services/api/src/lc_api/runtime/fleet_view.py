"""The fleet view lcd serves: the latest snapshot of every GPU, folded from LC_STATUS.

Fed by `lc_api.runtime.fleet_feed` (each snapshot read from `GPU_STATUS`, tombstones
included); read by the fleet routes (`lc_api.api.routes.fleet`). Pure: no I/O.

Cheap to read at fleet scale: GPUs are kept in (node, index) order as they arrive, each
snapshot's JSON is encoded once when applied, and the whole-fleet summary is maintained
incrementally, so serving 10,000 GPUs is a join of cached bytes rather than 10,000 model
dumps and a sort.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import FleetSummary, GpuSnapshot


@dataclass(frozen=True)
class GpuChange:
    """What one applied snapshot changed: `previous` is None for a new GPU, `current` is
    None for a removed one."""

    previous: GpuSnapshot | None
    current: GpuSnapshot | None


class _Summary:
    """Mutable totals, added to and taken from as snapshots come and go; a product or node
    whose count drops to zero is dropped."""

    def __init__(self) -> None:
        self.total = self.healthy = self.degraded = self.unhealthy = 0
        self.memory_total = self.memory_available = 0
        self.by_product: dict[str, int] = {}
        self.by_node: dict[str, int] = {}

    def add(self, gpu: GpuSnapshot, sign: int = 1) -> None:
        self.total += sign
        if gpu.health is GpuHealth.HEALTHY:
            self.healthy += sign
        elif gpu.health is GpuHealth.DEGRADED:
            self.degraded += sign
        else:
            self.unhealthy += sign
        self.memory_total += sign * gpu.memory_total_mib
        self.memory_available += sign * gpu.memory_available_mib
        for counts, name in ((self.by_product, gpu.product), (self.by_node, gpu.node)):
            count = counts.get(name, 0) + sign
            if count:
                counts[name] = count
            else:
                del counts[name]

    def summary(self) -> FleetSummary:
        return FleetSummary(
            total=self.total,
            healthy=self.healthy,
            degraded=self.degraded,
            unhealthy=self.unhealthy,
            memory_total_mib=self.memory_total,
            memory_available_mib=self.memory_available,
            by_product={name: self.by_product[name] for name in sorted(self.by_product)},
            by_node={name: self.by_node[name] for name in sorted(self.by_node)},
        )


_SortKey = tuple[str, int, str]


def _sort_key(gpu: GpuSnapshot) -> _SortKey:
    return (gpu.node, gpu.index, gpu.uuid)


def _matches(
    gpu: GpuSnapshot, node: str | None, health: GpuHealth | None, product: str | None
) -> bool:
    return (
        (node is None or gpu.node == node)
        and (health is None or gpu.health == health)
        and (product is None or gpu.product == product)
    )


class FleetView:
    """The current fleet, folded from GPU snapshots in the order they were published.

    `apply` takes every snapshot read from `GPU_STATUS` (tombstones included) and says what
    changed; the readers answer from what has been applied, filtered and in (node, index)
    order.
    """

    def __init__(self, snapshots: Iterable[GpuSnapshot] = ()) -> None:
        self._gpus: dict[tuple[str, str], GpuSnapshot] = {}
        self._order: list[_SortKey] = []
        self._encoded: list[bytes] = []  # each GPU's JSON, encoded once, in `_order`'s order
        self._entries: dict[_SortKey, tuple[GpuSnapshot, bytes]] = {}
        self._all_json: bytes | None = None  # the unfiltered view_json, until the next change
        self._summary = _Summary()
        for snapshot in snapshots:
            self.apply(snapshot)

    def __len__(self) -> int:
        return len(self._gpus)

    def get(self, node: str, uuid: str) -> GpuSnapshot | None:
        return self._gpus.get((node, uuid))

    def apply(self, snapshot: GpuSnapshot) -> GpuChange | None:
        """Fold one snapshot in; None when it changes nothing a reader could see."""
        key = snapshot.key
        previous = self._gpus.get(key)
        if snapshot.removed:
            if previous is None:
                return None
            self._forget(previous)
            return GpuChange(previous, None)
        if previous is not None:
            if previous.same_state(snapshot):
                return None
            self._forget(previous)
        self._remember(snapshot)
        return GpuChange(previous, snapshot)

    def apply_json(self, raw: bytes) -> GpuChange | None:
        """`apply` for a snapshot as read off the stream (raises ValidationError for garbage)."""
        return self.apply(GpuSnapshot.model_validate_json(raw))

    def _remember(self, gpu: GpuSnapshot) -> None:
        sort_key = _sort_key(gpu)
        self._gpus[gpu.key] = gpu
        encoded = gpu.model_dump_json(by_alias=True, exclude_none=True).encode()
        position = bisect.bisect_left(self._order, sort_key)
        self._order.insert(position, sort_key)
        self._encoded.insert(position, encoded)
        self._entries[sort_key] = (gpu, encoded)
        self._all_json = None
        self._summary.add(gpu)

    def _forget(self, gpu: GpuSnapshot) -> None:
        sort_key = _sort_key(gpu)
        del self._gpus[gpu.key]
        position = bisect.bisect_left(self._order, sort_key)
        del self._order[position]
        del self._encoded[position]
        del self._entries[sort_key]
        self._all_json = None
        self._summary.add(gpu, -1)

    def _selected(
        self, node: str | None, health: GpuHealth | None, product: str | None
    ) -> Iterator[tuple[GpuSnapshot, bytes]]:
        order: Iterable[_SortKey] = self._order
        if node is not None:
            # The order is by node first, so one node's GPUs are one contiguous run.
            start = bisect.bisect_left(self._order, (node, -1, ""))
            end = bisect.bisect_left(self._order, (node + "\0", -1, ""))
            order = self._order[start:end]
        entries = self._entries
        if health is None and product is None:
            return (entries[sort_key] for sort_key in order)
        return (
            entry
            for sort_key in order
            if _matches((entry := entries[sort_key])[0], node, health, product)
        )

    def gpus(
        self,
        *,
        node: str | None = None,
        health: GpuHealth | None = None,
        product: str | None = None,
    ) -> list[GpuSnapshot]:
        """The GPUs that match every given filter, ordered by node, then index."""
        return [gpu for gpu, _ in self._selected(node, health, product)]

    def summary(
        self,
        *,
        node: str | None = None,
        health: GpuHealth | None = None,
        product: str | None = None,
    ) -> FleetSummary:
        """Totals over the GPUs `gpus` returns for the same filters."""
        if node is None and health is None and product is None:
            return self._summary.summary()
        partial = _Summary()
        for gpu in self.gpus(node=node, health=health, product=product):
            partial.add(gpu)
        return partial.summary()

    def matches(
        self,
        gpu: GpuSnapshot,
        *,
        node: str | None = None,
        health: GpuHealth | None = None,
        product: str | None = None,
    ) -> bool:
        """Whether `gpu` passes the filters `gpus` takes (for filtering a change stream)."""
        return _matches(gpu, node, health, product)

    def view_json(
        self,
        *,
        node: str | None = None,
        health: GpuHealth | None = None,
        product: str | None = None,
    ) -> bytes:
        """`{"gpus": [...], "summary": {...}}` as UTF-8 JSON, from the cached encodings.

        The unfiltered document is kept until the next change, so repeated reads of the
        whole fleet cost nothing.
        """
        unfiltered = node is None and health is None and product is None
        if unfiltered and self._all_json is not None:
            return self._all_json
        encoded = (
            self._encoded
            if unfiltered
            else [encoded for _, encoded in self._selected(node, health, product)]
        )
        summary = self.summary(node=node, health=health, product=product)
        document = b"".join(
            (b'{"gpus":[', b",".join(encoded), b'],"summary":', summary_json(summary), b"}")
        )
        if unfiltered:
            self._all_json = document
        return document


def summary_json(summary: FleetSummary) -> bytes:
    return summary.model_dump_json(by_alias=True).encode()
