"""Surviving what a long-running aggregator meets: dropped watches, 410 Gone, restarts,
a crash between recording a transition and publishing it, and a second replica."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.engine import GpuHealth
from lc_contracts.events import GpuHealthChanged, build
from lc_contracts.subjects import gpu_subject
from lc_eventstore import EventStore
from lc_fleet.settings import FleetSettings
from lc_testing import wait_until

from .conftest import RunningFleet, gpu_snapshots, health_events, live_gpus

WATCH_WINDOW = 20


@pytest.fixture
def cluster_config(tmp_path: Path) -> SimConfig:
    # A short change log, so a watch that falls behind by more than this gets 410 Gone.
    return SimConfig(
        gpus="2x4:H100-80GB",
        data_dir=tmp_path / "clustersim",
        pending_s=0.05,
        loading_s=0.1,
        ready_delay_s=0.05,
        watch_window=WATCH_WINDOW,
    )


def _uuid(cluster: ClusterSim, name: str) -> str:
    return str(cluster.store.get(cluster.engine._gpu_type, None, name)["spec"]["uuid"])


async def _health_of(js: JetStreamContext, uuid: str) -> GpuHealth | None:
    snapshot = (await live_gpus(js)).get(uuid)
    return snapshot.health if snapshot else None


def _idle(fleet: RunningFleet) -> bool:
    assert fleet.aggregator is not None
    return fleet.aggregator.converged.is_set() and not fleet.aggregator.inventory.has_pending


async def test_dropped_watch_resumes_without_losing_or_repeating(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    assert fleet.aggregator is not None
    watch = fleet.aggregator.gpu_watch
    published_before = fleet.aggregator.publisher.stats.snapshots
    watches_before = watch.stats.watches
    name = cluster.engine.gpu_names[0]
    await wait_until(lambda: cluster.api.open_watches == 2, what="both watches open")

    for _ in range(3):
        before = watch.stats.watches
        assert cluster.close_watches() >= 2

        def reopened(before: int = before) -> bool:
            return watch.stats.watches > before and cluster.api.open_watches == 2

        await wait_until(reopened, what="watches reopened")
    await cluster.set_gpu_health(name, GpuHealth.DEGRADED)

    async def degraded() -> bool:
        return await _health_of(jetstream, _uuid(cluster, name)) is GpuHealth.DEGRADED

    await wait_until(degraded, timeout=1.0, what="change after reconnect")
    await wait_until(lambda: _idle(fleet), what="publisher idle")
    assert watch.stats.watches >= watches_before + 3
    assert watch.stats.gone == 0  # resumed from its version, no relist needed
    assert watch.stats.lists == 1
    # One GPU changed, one snapshot and one event: nothing was replayed twice.
    assert fleet.aggregator.publisher.stats.snapshots == published_before + 1
    assert len(await live_gpus(jetstream)) == 8
    assert [(e.previous, e.current) for e in await health_events(jetstream)] == [
        (GpuHealth.HEALTHY, GpuHealth.DEGRADED)
    ]


async def test_410_gone_relists_and_converges(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    assert fleet.aggregator is not None
    watch = fleet.aggregator.gpu_watch
    flapping, removed = cluster.engine.gpu_names[5], cluster.engine.gpu_names[6]
    removed_uuid = _uuid(cluster, removed)

    # Drop the watches and, before the aggregator can reconnect (no await that yields in
    # between), make more changes than the server keeps: the resume gets 410 Gone.
    cluster.close_watches()
    for flip in range(WATCH_WINDOW + 5):
        await cluster.set_gpu_health(
            flapping, GpuHealth.HEALTHY if flip % 2 else GpuHealth.DEGRADED
        )
    await cluster.set_gpu_health(flapping, GpuHealth.DEGRADED)
    await cluster.remove_gpu(removed)

    async def converged() -> bool:
        snapshots = await gpu_snapshots(jetstream)
        return (
            snapshots[_uuid(cluster, flapping)].health is GpuHealth.DEGRADED
            and snapshots[removed_uuid].removed
        )

    await wait_until(converged, timeout=2.0, what="state after relist")
    await wait_until(lambda: _idle(fleet), what="publisher idle")
    assert watch.stats.gone >= 1
    assert watch.stats.lists >= 2
    assert len(await live_gpus(jetstream)) == 7
    # The flapping in between was never observed; the one net transition is recorded once.
    assert [(e.previous, e.current) for e in await health_events(jetstream)] == [
        (GpuHealth.HEALTHY, GpuHealth.DEGRADED)
    ]


async def test_restart_converges_without_repeating_anything(
    cluster: ClusterSim, fleet_settings: FleetSettings, jetstream: JetStreamContext
) -> None:
    names = cluster.engine.gpu_names
    first = RunningFleet(fleet_settings)
    await first.start()
    try:
        await cluster.set_gpu_health(names[0], GpuHealth.UNHEALTHY)

        async def unhealthy() -> bool:
            return await _health_of(jetstream, _uuid(cluster, names[0])) is GpuHealth.UNHEALTHY

        await wait_until(unhealthy, timeout=1.0, what="Unhealthy before restart")
        await wait_until(lambda: _idle(first), what="publisher idle")
    finally:
        await first.stop()

    # While the aggregator is down: one GPU degrades, one leaves, two arrive.
    await cluster.set_gpu_health(names[1], GpuHealth.DEGRADED)
    gone_uuid = _uuid(cluster, names[7])
    await cluster.remove_gpu(names[7])
    added = await cluster.add_gpus("1x2:A100-40GB")

    second = RunningFleet(fleet_settings)
    aggregator = await second.start()
    try:
        await wait_until(lambda: _idle(second), what="publisher idle")
        snapshots = await gpu_snapshots(jetstream)
        assert snapshots[_uuid(cluster, names[0])].health is GpuHealth.UNHEALTHY
        assert snapshots[_uuid(cluster, names[1])].health is GpuHealth.DEGRADED
        assert snapshots[gone_uuid].removed
        assert all(not snapshots[_uuid(cluster, n)].removed for n in added)
        assert len(await live_gpus(jetstream)) == 9
        # Only what changed while it was down was published again.
        assert (aggregator.publisher.stats.snapshots, aggregator.publisher.stats.tombstones) == (
            3,
            1,
        )
    finally:
        await second.stop()

    third = RunningFleet(fleet_settings)
    aggregator = await third.start()
    try:
        await wait_until(lambda: _idle(third), what="publisher idle")
        assert (aggregator.publisher.stats.snapshots, aggregator.publisher.stats.tombstones) == (
            0,
            0,
        )
    finally:
        await third.stop()

    assert [(e.uuid, e.previous, e.current) for e in await health_events(jetstream)] == [
        (_uuid(cluster, names[0]), GpuHealth.HEALTHY, GpuHealth.UNHEALTHY),
        (_uuid(cluster, names[1]), GpuHealth.HEALTHY, GpuHealth.DEGRADED),
    ]


async def test_transition_recorded_before_a_crash_is_not_recorded_again(
    cluster: ClusterSim, fleet_settings: FleetSettings, jetstream: JetStreamContext
) -> None:
    name = cluster.engine.gpu_names[2]
    uuid = _uuid(cluster, name)
    first = RunningFleet(fleet_settings)
    await first.start()
    await first.stop()

    # The previous aggregator appended the event, then died before publishing the snapshot
    # (and the GPU object moved on since, so the event id would not match either).
    change = GpuHealthChanged(
        node="sim-node-0",
        uuid=uuid,
        index=2,
        product="H100-80GB",
        previous=GpuHealth.HEALTHY,
        current=GpuHealth.UNHEALTHY,
    )
    subject = gpu_subject("sim-node-0", uuid)
    await EventStore(jetstream).append(
        subject, [build(change, subject=subject, source="lc-fleet")], 0
    )
    await cluster.set_gpu_health(name, GpuHealth.UNHEALTHY)

    second = RunningFleet(fleet_settings)
    await second.start()
    try:
        await wait_until(lambda: _idle(second), what="publisher idle")
        assert await _health_of(jetstream, uuid) is GpuHealth.UNHEALTHY
        assert len(await health_events(jetstream)) == 1
    finally:
        await second.stop()


async def test_two_replicas_record_a_transition_once(
    cluster: ClusterSim, fleet_settings: FleetSettings, jetstream: JetStreamContext
) -> None:
    replicas = [RunningFleet(fleet_settings), RunningFleet(fleet_settings)]
    for replica in replicas:
        await replica.start()
    try:
        name = cluster.engine.gpu_names[4]
        await cluster.set_gpu_health(name, GpuHealth.UNHEALTHY)

        async def unhealthy() -> bool:
            return await _health_of(jetstream, _uuid(cluster, name)) is GpuHealth.UNHEALTHY

        await wait_until(unhealthy, timeout=1.0, what="Unhealthy snapshot")
        for replica in replicas:
            await wait_until(lambda r=replica: _idle(r), what="publisher idle")  # type: ignore[misc]
        events = await health_events(jetstream)
        assert [(e.previous, e.current) for e in events] == [
            (GpuHealth.HEALTHY, GpuHealth.UNHEALTHY)
        ]
    finally:
        for replica in replicas:
            await replica.stop()
