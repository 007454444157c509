"""A project cannot take over a namespace it did not create: the reconciler never marks
or adopts an existing namespace, the project and its services go Failed with a message
naming it, and deleting the project leaves that namespace and its contents alone. It
also tells lcd which namespaces are not its own, as they come and go, so lcd can refuse
such a slug before it is created."""

from __future__ import annotations

from nats.js import JetStreamContext

from lc_contracts.engine import ANNOTATION_CREATED_BY, LABEL_MANAGED_BY
from lc_contracts.status import ForeignNamespaces, ProjectPhase, ProjectStatus, ServicePhase
from lc_contracts.subjects import FOREIGN_NAMESPACES_STATUS, project_status_subject
from lc_eventstore import current_status
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import DEPLOYMENT, NAMESPACE
from lc_testing import wait_until
from lc_testing.product_docs import HELLO

from .conftest import Events, Reconcilers
from .helpers import project_created, project_deleted, service_applied, snapshot, spec

NAMESPACE_OF_THEIRS = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "ingress-nginx"},
}
THEIRS = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "controller", "namespace": "ingress-nginx"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "controller"}},
        "template": {
            "metadata": {"labels": {"app": "controller"}},
            "spec": {"containers": [{"name": "controller", "image": "ingress-nginx:1"}]},
        },
    },
}


async def create_as_helm_would(kube: KubeClient, namespace: str) -> None:
    """A namespace made by someone else (`kubectl create`, Helm): no created-by mark."""
    await kube._call(
        "POST",
        NAMESPACE.collection_path(None),
        "create",
        query=[("fieldManager", "helm")],
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )


async def foreign_namespaces(js: JetStreamContext) -> ForeignNamespaces | None:
    found = (await current_status(js, FOREIGN_NAMESPACES_STATUS)).get(FOREIGN_NAMESPACES_STATUS)
    return ForeignNamespaces.model_validate_json(found.data) if found is not None else None


async def project_status(js: JetStreamContext, slug: str) -> ProjectStatus | None:
    subject = project_status_subject(slug)
    found = (await current_status(js, subject)).get(subject)
    return ProjectStatus.model_validate_json(found.data) if found is not None else None


async def test_a_project_cannot_take_over_an_existing_namespace(
    events: Events, reconcilers: Reconcilers, kube: KubeClient, jetstream: JetStreamContext
) -> None:
    for kind, obj in ((NAMESPACE, NAMESPACE_OF_THEIRS), (DEPLOYMENT, THEIRS)):
        await kube._call(  # as `kubectl create` or Helm would
            "POST",
            kind.collection_path(obj["metadata"].get("namespace")),
            "create",
            query=[("fieldManager", "helm")],
            body=obj,
        )
    await reconcilers.start()
    await events.append(*project_created("ingress-nginx"))
    await events.append(*service_applied("ingress-nginx", spec(HELLO)))

    async def project_failed() -> bool:
        status = await project_status(jetstream, "ingress-nginx")
        return status is not None and status.phase is ProjectPhase.FAILED

    await wait_until(project_failed, timeout=10, what="project Failed")
    status = await project_status(jetstream, "ingress-nginx")
    assert status is not None
    assert "'ingress-nginx'" in status.message
    assert "not created by LiquidCompute" in status.message

    async def service_failed() -> bool:
        found = await snapshot(jetstream, "ingress-nginx", "hello")
        return found is not None and found.phase is ServicePhase.FAILED

    await wait_until(service_failed, timeout=10, what="service Failed")
    found = await snapshot(jetstream, "ingress-nginx", "hello")
    assert found is not None
    assert "ingress-nginx" in found.message
    namespace = await kube.get(NAMESPACE, None, "ingress-nginx")
    assert namespace is not None
    assert LABEL_MANAGED_BY not in (namespace["metadata"].get("labels") or {})
    assert await kube.get(DEPLOYMENT, "ingress-nginx", "hello") is None

    await events.append(*project_deleted("ingress-nginx"))

    async def project_gone() -> bool:
        status = await project_status(jetstream, "ingress-nginx")
        return status is not None and status.phase is ProjectPhase.DELETED

    await wait_until(project_gone, timeout=10, what="project Deleted")
    namespace = await kube.get(NAMESPACE, None, "ingress-nginx")
    assert namespace is not None, "a namespace it did not create is never deleted"
    assert namespace["metadata"].get("deletionTimestamp") is None
    assert await kube.get(DEPLOYMENT, "ingress-nginx", "controller") is not None


async def test_a_namespace_the_platform_creates_carries_its_mark_and_goes_with_the_project(
    events: Events, reconcilers: Reconcilers, kube: KubeClient, jetstream: JetStreamContext
) -> None:
    await reconcilers.start()
    await events.append(*project_created("shop"))

    async def ready() -> bool:
        status = await project_status(jetstream, "shop")
        live = await kube.get(NAMESPACE, None, "shop")
        return live is not None and status is not None and status.phase is ProjectPhase.READY

    await wait_until(ready, timeout=10, what="project Ready, its namespace created")
    namespace = await kube.get(NAMESPACE, None, "shop")
    assert namespace is not None
    assert namespace["metadata"]["annotations"][ANNOTATION_CREATED_BY] == "liquidcompute"
    await events.append(*project_deleted("shop"))

    async def gone() -> bool:
        live = await kube.get(NAMESPACE, None, "shop")
        return live is None or live["metadata"].get("deletionTimestamp") is not None

    await wait_until(gone, timeout=10, what="namespace shop deleted")


async def test_a_namespace_made_before_the_mark_existed_is_still_the_projects(
    events: Events, reconcilers: Reconcilers, kube: KubeClient, jetstream: JetStreamContext
) -> None:
    # What earlier versions applied: our labels, no mark, written by nobody else.
    legacy = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {
                "app.kubernetes.io/managed-by": "liquidcompute",
                "liquidcompute.io/project": "shop",
            },
        },
    }
    await kube.apply(NAMESPACE, legacy)
    await reconcilers.start()
    await events.append(*project_created("shop"))

    async def marked_and_ready() -> bool:
        live = await kube.get(NAMESPACE, None, "shop")
        annotations = (live or {}).get("metadata", {}).get("annotations") or {}
        status = await project_status(jetstream, "shop")
        return (
            annotations.get(ANNOTATION_CREATED_BY) == "liquidcompute"
            and status is not None
            and status.phase is ProjectPhase.READY
        )

    await wait_until(marked_and_ready, timeout=10, what="legacy namespace kept, and marked")


async def test_the_namespaces_that_are_not_ours_are_published_as_they_come_and_go(
    events: Events, reconcilers: Reconcilers, kube: KubeClient, jetstream: JetStreamContext
) -> None:
    await create_as_helm_would(kube, "ingress-nginx")
    await reconcilers.start()
    await events.append(*project_created("shop"))

    async def listed(*wanted: str) -> bool:
        inventory = await foreign_namespaces(jetstream)
        return inventory is not None and set(wanted) <= set(inventory.namespaces)

    await wait_until(lambda: listed("ingress-nginx"), timeout=10, what="ingress-nginx listed")

    async def shop_ready() -> bool:
        status = await project_status(jetstream, "shop")
        return status is not None and status.phase is ProjectPhase.READY

    await wait_until(shop_ready, timeout=10, what="project shop Ready, its namespace made")
    assert await kube.get(NAMESPACE, None, "shop") is not None

    # One that appears while the reconciler runs is listed too; ours never are.
    await create_as_helm_would(kube, "monitoring")
    await wait_until(lambda: listed("monitoring"), timeout=10, what="monitoring listed")
    inventory = await foreign_namespaces(jetstream)
    assert inventory is not None
    assert inventory.namespaces == ["ingress-nginx", "monitoring"]
    assert inventory.total == 2
    assert not inventory.truncated
    assert inventory.namespace_of("ingress-nginx") == "ingress-nginx"

    # A namespace deleted from the cluster leaves the inventory.
    await kube.delete(NAMESPACE, None, "ingress-nginx")

    async def dropped() -> bool:
        inventory = await foreign_namespaces(jetstream)
        return inventory is not None and inventory.namespaces == ["monitoring"]

    await wait_until(dropped, timeout=10, what="ingress-nginx gone from the inventory")


async def test_a_namespace_marked_as_ours_by_hand_leaves_the_inventory(
    reconcilers: Reconcilers, kube: KubeClient, jetstream: JetStreamContext
) -> None:
    await create_as_helm_would(kube, "team-a")
    await reconcilers.start()

    async def listed() -> bool:
        inventory = await foreign_namespaces(jetstream)
        return inventory is not None and inventory.namespaces == ["team-a"]

    await wait_until(listed, timeout=10, what="team-a listed")
    # What the Failed project's message tells the operator to run.
    await kube._call(
        "PATCH",
        NAMESPACE.object_path(None, "team-a"),
        "annotate",
        body={"metadata": {"annotations": {ANNOTATION_CREATED_BY: "liquidcompute"}}},
        content_type="application/merge-patch+json",
    )

    async def unlisted() -> bool:
        inventory = await foreign_namespaces(jetstream)
        return inventory is not None and inventory.namespaces == []

    await wait_until(unlisted, timeout=10, what="team-a no longer listed")
