"""Drift repair at the periodic resync: objects deleted or edited by hand come back as
compiled; objects labelled as a known service's revision that nothing compiles are
removed (objects of services with no history are orphans: see test_orphans)."""

from __future__ import annotations

from typing import Any

from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, SERVICE
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until
from lc_testing.product_docs import HELLO

from .conftest import Events, Reconcilers
from .helpers import compiled_refs, managed_objects, project_created, service_applied, spec


async def _apply_hello(
    events: Events, reconcilers: Reconcilers, settings: ReconcilerSettings, kube: KubeClient
) -> Any:
    running = await reconcilers.start(settings.model_copy(update={"resync_interval_s": 0.2}))
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(HELLO)))

    async def present() -> bool:
        return await kube.get(DEPLOYMENT, "default", "hello") is not None

    await wait_until(present, timeout=10, what="Deployment created")
    return running


async def test_deployment_deleted_by_hand_is_recreated(
    events: Events, reconcilers: Reconcilers, settings: ReconcilerSettings, kube: KubeClient
) -> None:
    running = await _apply_hello(events, reconcilers, settings, kube)
    before = await kube.get(DEPLOYMENT, "default", "hello")
    assert before is not None
    assert await kube.delete(DEPLOYMENT, "default", "hello")

    async def recreated() -> bool:
        again = await kube.get(DEPLOYMENT, "default", "hello")
        return again is not None and again["metadata"]["uid"] != before["metadata"]["uid"]

    await wait_until(recreated, timeout=10, what="Deployment recreated")
    assert running.runtime.reconciler.resyncs >= 2


async def test_managed_field_edited_by_hand_is_restored(
    events: Events, reconcilers: Reconcilers, settings: ReconcilerSettings, kube: KubeClient
) -> None:
    await _apply_hello(events, reconcilers, settings, kube)
    edit = {
        "spec": {
            "replicas": 5,
            "template": {"spec": {"containers": [{"name": "hello", "image": "evil:1"}]}},
        }
    }
    await kube._call(  # a hand edit, as `kubectl edit` would make it, by another manager
        "PATCH",
        DEPLOYMENT.object_path("default", "hello"),
        "hand edit",
        query=[("fieldManager", "kubectl-edit")],
        body=edit,
        content_type="application/strategic-merge-patch+json",
    )
    edited = await kube.get(DEPLOYMENT, "default", "hello")
    assert edited is not None
    assert edited["spec"]["replicas"] == 5

    async def restored() -> bool:
        obj = await kube.get(DEPLOYMENT, "default", "hello")
        assert obj is not None
        container = obj["spec"]["template"]["spec"]["containers"][0]
        return bool(
            obj["spec"]["replicas"] == 1 and container["image"] == "hashicorp/http-echo:latest"
        )

    await wait_until(restored, timeout=10, what="replicas and image restored")


async def test_object_labelled_ours_that_nothing_compiles_is_removed(
    events: Events, reconcilers: Reconcilers, settings: ReconcilerSettings, kube: KubeClient
) -> None:
    running = await _apply_hello(events, reconcilers, settings, kube)
    platform = running.runtime.platform
    stray = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "ghost",
            "namespace": "default",
            "labels": {
                "app.kubernetes.io/managed-by": "liquidcompute",
                "liquidcompute.io/project": "default",
                "liquidcompute.io/service": "hello",
                "liquidcompute.io/revision": "1",
            },
        },
        "spec": {"ports": [{"port": 80}]},
    }
    await kube.apply(SERVICE, stray)
    want = compiled_refs(platform, [("default", spec(HELLO), 1)])

    async def only_compiled() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(only_compiled, timeout=10, what="stray Service removed")
