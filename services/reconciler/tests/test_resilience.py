"""Restart safety and back-off: a reconciler killed mid-apply leaves a cluster that the
next one makes equal to the compiled state; API errors and dropped connections are
retried, never reported as a failed Service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from lc_clustersim.sim import ClusterSim
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .faulty_api import FaultyApi
from .helpers import (
    compiled_refs,
    managed_objects,
    project_created,
    service_applied,
    service_deleted,
    snapshot,
    spec,
    status_changes,
)


async def test_killed_mid_apply_then_restarted_converges_without_orphans(
    events: Events,
    reconcilers: Reconcilers,
    kube: KubeClient,
    faulty: FaultyApi,
    through_faulty: ReconcilerSettings,
) -> None:
    # The first reconciler's applies past the fifth never get an answer: it is stopped
    # with its work half done, however fast the machine runs the rest.
    faulty.applies_left = 5
    first = await reconcilers.start(through_faulty)
    platform = first.runtime.platform
    await events.append(*project_created("default"))
    services: dict[str, tuple[ServiceSpec, int]] = {}
    for i in range(30):
        service = spec(HELLO if i % 2 else LLAMA, name=f"svc-{i}")
        services[service.name] = (service, 1)
        await events.append(*service_applied("default", service))

    await wait_until(lambda: faulty.held > 0, timeout=10, what="apply under way")
    await first.stop()
    partial = set(await managed_objects(kube, platform))
    everything = compiled_refs(platform, [("default", s, r) for s, r in services.values()])
    assert partial, "nothing applied before the stop"
    assert partial < everything, "the reconciler was not stopped mid-apply"

    # While it is down, users delete some services and hide others.
    for i in range(0, 30, 5):
        await events.append(*service_deleted("default", f"svc-{i}"))
        del services[f"svc-{i}"]
    for i in range(1, 30, 10):
        hidden = spec(HELLO, name=f"svc-{i}", expose=False)
        await events.append(*service_applied("default", hidden, revision=2))
        services[hidden.name] = (hidden, 2)

    await reconcilers.start()
    want = compiled_refs(platform, [("default", s, r) for s, r in services.values()])

    async def equal() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(equal, timeout=15, what="cluster equals the compiled state")
    objects = await managed_objects(kube, platform)
    for ref, obj in objects.items():
        name = obj["metadata"]["labels"]["liquidcompute.io/service"]
        assert obj["metadata"]["labels"]["liquidcompute.io/revision"] == str(services[name][1]), ref


@pytest.fixture
async def faulty(cluster: ClusterSim) -> AsyncIterator[FaultyApi]:
    proxy = FaultyApi(cluster.api_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture
def through_faulty(
    settings: ReconcilerSettings, cluster: ClusterSim, faulty: FaultyApi, tmp_path: Path
) -> ReconcilerSettings:
    """Settings for a reconciler that reaches the cluster through `faulty`."""
    kubeconfig = faulty.write_kubeconfig(cluster.kubeconfig_path, tmp_path / "faulty-kubeconfig")
    return settings.model_copy(update={"kubeconfig": str(kubeconfig)})


async def test_api_errors_are_retried_with_backoff_and_never_fail_the_service(
    events: Events,
    reconcilers: Reconcilers,
    kube: KubeClient,
    faulty: FaultyApi,
    through_faulty: ReconcilerSettings,
    jetstream: JetStreamContext,
) -> None:
    running = await reconcilers.start(through_faulty)
    platform = running.runtime.platform
    faulty.plan.remaining = 40
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(HELLO)))
    await events.append(*service_applied("default", spec(LLAMA)))
    want = compiled_refs(platform, [("default", spec(HELLO), 1), ("default", spec(LLAMA), 1)])

    async def converged() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(converged, timeout=15, what="objects applied through the faults")
    assert faulty.plan.remaining == 0
    assert set(faulty.plan.injected) == {0, 409, 429, 500, 503}
    assert running.runtime.reconciler.retries > 0
    for name in ("hello", "llama-3-8b"):

        async def ready(n: str = name) -> bool:
            current = await snapshot(jetstream, "default", n)
            return current is not None and current.phase is ServicePhase.READY

        await wait_until(ready, timeout=10, what=f"{name} Ready")
        phases = [c.phase for c in await status_changes(jetstream, "default", name)]
        assert ServicePhase.FAILED not in phases
