"""The aggregator against the simulator over HTTP and a real JetStream: what a user sees on
LC_STATUS and LC_EVENTS as GPUs come, change and go."""

from __future__ import annotations

import time
from typing import Any

from kubernetes_asyncio.client import ApiClient, CustomObjectsApi
from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import (
    ENGINE_GROUP,
    ENGINE_VERSION,
    LABEL_PROJECT,
    LABEL_SERVICE,
    MODEL_PLURAL,
    GpuHealth,
)
from lc_contracts.fleet import GpuSnapshot, gpu_status_subject
from lc_contracts.streams import STATUS_STREAM, UNREFRESHED_STATUS_TTL_S
from lc_fleet.kube_client import open_api_client
from lc_fleet.settings import FleetSettings
from lc_testing import wait_until

from .conftest import RunningFleet, gpu_snapshots, health_events, live_gpus


def _uuid(cluster: ClusterSim, name: str) -> str:
    obj = cluster.store.get(cluster.engine._gpu_type, None, name)
    return str(obj["spec"]["uuid"])


async def test_every_simulated_gpu_is_published(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    gpus = await live_gpus(jetstream)
    assert len(gpus) == 8
    names = cluster.engine.gpu_names
    first = gpus[_uuid(cluster, names[0])]
    assert (first.node, first.index, first.product) == ("sim-node-0", 0, "H100-80GB")
    assert (first.health, first.memory_total_mib, first.memory_available_mib) == (
        GpuHealth.HEALTHY,
        81920,
        81920,
    )
    assert sorted((g.node, g.index) for g in gpus.values()) == [
        (f"sim-node-{n}", i) for n in range(2) for i in range(4)
    ]
    assert await health_events(jetstream) == []


async def test_added_gpus_appear_within_a_second(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    started = time.monotonic()
    added = await cluster.add_gpus("1x2:A100-40GB")

    async def visible() -> bool:
        gpus = await live_gpus(jetstream)
        return {_uuid(cluster, n) for n in added} <= gpus.keys()

    await wait_until(visible, timeout=1.0, what="added GPUs on LC_STATUS")
    assert time.monotonic() - started < 1.0
    gpus = await live_gpus(jetstream)
    assert len(gpus) == 10
    assert {gpus[_uuid(cluster, n)].product for n in added} == {"A100-40GB"}


async def test_removed_gpu_gets_a_tombstone_within_a_second(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    name = cluster.engine.gpu_names[3]
    uuid = _uuid(cluster, name)
    await cluster.remove_gpu(name)

    async def tombstoned() -> bool:
        snapshot = (await gpu_snapshots(jetstream)).get(uuid)
        return snapshot is not None and snapshot.removed

    await wait_until(tombstoned, timeout=1.0, what="tombstone on LC_STATUS")
    assert len(await live_gpus(jetstream)) == 7
    # The stream forgets the tombstone an hour later; live snapshots have no lifespan.
    tombstone = (await gpu_snapshots(jetstream))[uuid]
    stored = await jetstream.get_last_msg(
        STATUS_STREAM.name, gpu_status_subject(tombstone.node, uuid)
    )
    assert (stored.headers or {}).get("Nats-TTL") == str(int(UNREFRESHED_STATUS_TTL_S))
    live = next(iter((await live_gpus(jetstream)).values()))
    stored = await jetstream.get_last_msg(
        STATUS_STREAM.name, gpu_status_subject(live.node, live.uuid)
    )
    assert "Nats-TTL" not in (stored.headers or {})


async def test_unhealthy_gpu_is_shown_and_recorded_exactly_once(
    cluster: ClusterSim, fleet: RunningFleet, jetstream: JetStreamContext
) -> None:
    name = cluster.engine.gpu_names[1]
    uuid = _uuid(cluster, name)
    await cluster.set_gpu_health(name, GpuHealth.UNHEALTHY)

    async def unhealthy() -> bool:
        return (await live_gpus(jetstream))[uuid].health is GpuHealth.UNHEALTHY

    await wait_until(unhealthy, timeout=1.0, what="Unhealthy snapshot")
    await wait_until(lambda: _events_settled(fleet), what="publisher idle")
    events = await health_events(jetstream)
    assert [(e.uuid, e.previous, e.current) for e in events] == [
        (uuid, GpuHealth.HEALTHY, GpuHealth.UNHEALTHY)
    ]
    assert (events[0].node, events[0].index, events[0].product) == ("sim-node-0", 1, "H100-80GB")

    # Writes that do not change health (another GPU's status, a re-mark) add no event.
    await cluster.set_gpu_health(name, GpuHealth.UNHEALTHY)
    await cluster.set_gpu_health(cluster.engine.gpu_names[2], GpuHealth.DEGRADED)

    async def degraded() -> bool:
        return (await live_gpus(jetstream))[
            _uuid(cluster, cluster.engine.gpu_names[2])
        ].health is GpuHealth.DEGRADED

    await wait_until(degraded, timeout=1.0, what="Degraded snapshot")
    await cluster.set_gpu_health(name, GpuHealth.HEALTHY)

    async def healthy_again() -> bool:
        return (await live_gpus(jetstream))[uuid].health is GpuHealth.HEALTHY

    await wait_until(healthy_again, timeout=1.0, what="Healthy snapshot")
    transitions = [(e.uuid, e.previous, e.current) for e in await health_events(jetstream)]
    assert transitions == [
        (uuid, GpuHealth.HEALTHY, GpuHealth.UNHEALTHY),
        (_uuid(cluster, cluster.engine.gpu_names[2]), GpuHealth.HEALTHY, GpuHealth.DEGRADED),
        (uuid, GpuHealth.UNHEALTHY, GpuHealth.HEALTHY),
    ]


def _events_settled(fleet: RunningFleet) -> bool:
    assert fleet.aggregator is not None
    return not fleet.aggregator.inventory.has_pending


async def _create_model(
    api_client: ApiClient, namespace: str, name: str, *, project: str | None, service: str | None
) -> None:
    labels = {}
    if project:
        labels[LABEL_PROJECT] = project
    if service:
        labels[LABEL_SERVICE] = service
    body: dict[str, Any] = {
        "apiVersion": f"{ENGINE_GROUP}/{ENGINE_VERSION}",
        "kind": "Model",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {"engine.greenthread.ai/memory-mib": "20000"},
        },
        "spec": {
            "modelName": "llama-3-8b",
            "dtype": "bf16",
            "endpoints": ["chat"],
            "replicas": 1,
            "gpus": 1,
        },
    }
    await CustomObjectsApi(api_client).create_namespaced_custom_object(
        ENGINE_GROUP, ENGINE_VERSION, namespace, MODEL_PLURAL, body
    )


def _allocated(gpus: dict[str, GpuSnapshot], model: str) -> list[GpuSnapshot]:
    return [g for g in gpus.values() if any(a.model == model for a in g.allocations)]


async def test_scheduled_model_shows_as_an_allocation_with_project_and_service(
    cluster: ClusterSim,
    fleet: RunningFleet,
    fleet_settings: FleetSettings,
    jetstream: JetStreamContext,
) -> None:
    async with await open_api_client(fleet_settings) as api_client:
        await _create_model(api_client, "default", "chat", project="default", service="chat")

        async def allocated() -> bool:
            return len(_allocated(await live_gpus(jetstream), "default/chat")) == 1

        await wait_until(allocated, timeout=2.0, what="allocation on LC_STATUS")
        [gpu] = _allocated(await live_gpus(jetstream), "default/chat")
        [allocation] = gpu.allocations
        assert (allocation.project_slug, allocation.service_name, allocation.model_name) == (
            "default",
            "chat",
            "llama-3-8b",
        )
        assert allocation.memory_mib == 20000
        assert gpu.memory_available_mib == 81920 - 20000

        # Relabelling the Model re-joins the GPU without any change to the GPU object.
        await CustomObjectsApi(api_client).patch_namespaced_custom_object(
            ENGINE_GROUP,
            ENGINE_VERSION,
            "default",
            MODEL_PLURAL,
            "chat",
            {"metadata": {"labels": {LABEL_SERVICE: "chat-v2"}}},
            _content_type="application/merge-patch+json",
        )

        async def relabelled() -> bool:
            [gpu] = _allocated(await live_gpus(jetstream), "default/chat")
            return gpu.allocations[0].service_name == "chat-v2"

        await wait_until(relabelled, timeout=1.0, what="new service name on the allocation")

        # A Model the platform did not create still shows, without an owner.
        await _create_model(api_client, "default", "adhoc", project=None, service=None)

        async def unowned() -> bool:
            return len(_allocated(await live_gpus(jetstream), "default/adhoc")) == 1

        await wait_until(unowned, timeout=2.0, what="unowned allocation")
        [gpu] = _allocated(await live_gpus(jetstream), "default/adhoc")
        adhoc = next(a for a in gpu.allocations if a.model == "default/adhoc")
        assert (adhoc.project_slug, adhoc.service_name, adhoc.model_name) == (
            None,
            None,
            "llama-3-8b",
        )

        # Deleting the Model frees its GPU.
        await CustomObjectsApi(api_client).delete_namespaced_custom_object(
            ENGINE_GROUP, ENGINE_VERSION, "default", MODEL_PLURAL, "chat"
        )

        async def freed() -> bool:
            return _allocated(await live_gpus(jetstream), "default/chat") == []

        await wait_until(freed, timeout=2.0, what="allocation released")
