"""Apply and prune against the simulator over HTTP: what is compiled is present, what is
no longer compiled is gone, a deleted Service or Project leaves nothing behind."""

from __future__ import annotations

from lc_contracts.events import DomainDeleted, DomainVerified
from lc_contracts.subjects import domain_subject
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import CERTIFICATE, INGRESS, NAMESPACE
from lc_testing import wait_until
from lc_testing.product_docs import HELLO, LLAMA

from .conftest import Events, Reconcilers
from .helpers import (
    compiled_refs,
    managed_namespaces,
    managed_objects,
    project_created,
    project_deleted,
    service_applied,
    service_deleted,
    spec,
)


async def test_product_examples_compile_to_exactly_these_objects(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    running = await reconcilers.start()
    platform = running.runtime.platform
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(LLAMA)))
    await events.append(*service_applied("default", spec(HELLO)))
    want = compiled_refs(platform, [("default", spec(LLAMA), 1), ("default", spec(HELLO), 1)])

    async def converged() -> bool:
        return set(await managed_objects(kube, platform)) == want

    await wait_until(converged, timeout=10, what="objects of both services present")
    assert "default" in await managed_namespaces(kube)
    assert {r.kind for r in want} == {
        "Model",
        "Deployment",
        "Service",
        "PersistentVolumeClaim",
        "Ingress",
        "Certificate",
    }
    for obj in (await managed_objects(kube, platform)).values():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "liquidcompute"
        assert labels["liquidcompute.io/project"] == "default"
        assert labels["liquidcompute.io/service"] in {"llama-3-8b", "hello"}
        assert labels["liquidcompute.io/revision"] == "1"


async def test_new_revision_prunes_what_is_no_longer_compiled(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    running = await reconcilers.start()
    platform = running.runtime.platform
    await events.append(*project_created("shop"))
    await events.append(*service_applied("shop", spec(HELLO)))
    first = compiled_refs(platform, [("shop", spec(HELLO), 1)])

    async def holds(refs: set[object]) -> bool:
        return set(await managed_objects(kube, platform)) == refs

    await wait_until(lambda: holds(first), timeout=10, what="revision 1 applied")
    internal = spec(HELLO, expose=False)
    await events.append(*service_applied("shop", internal, revision=2))
    second = compiled_refs(platform, [("shop", internal, 2)])
    assert {r.kind for r in first - second} == {"Ingress", "Certificate"}
    await wait_until(lambda: holds(second), timeout=10, what="Ingress and Certificate pruned")
    objects = await managed_objects(kube, platform)
    assert all(
        o["metadata"]["labels"]["liquidcompute.io/revision"] == "2" for o in objects.values()
    )


async def test_deleted_service_leaves_nothing_and_deleted_project_loses_its_namespace(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    running = await reconcilers.start()
    platform = running.runtime.platform
    await events.append(*project_created("acme"))
    await events.append(*service_applied("acme", spec(HELLO)))
    await events.append(*service_applied("acme", spec(LLAMA)))
    both = compiled_refs(platform, [("acme", spec(HELLO), 1), ("acme", spec(LLAMA), 1)])

    async def holds(refs: set[object]) -> bool:
        return set(await managed_objects(kube, platform)) == refs

    await wait_until(lambda: holds(both), timeout=10, what="both services applied")
    await events.append(*service_deleted("acme", "hello"))
    await wait_until(
        lambda: holds(compiled_refs(platform, [("acme", spec(LLAMA), 1)])),
        timeout=10,
        what="hello's objects deleted",
    )
    await events.append(*project_deleted("acme"))
    await wait_until(lambda: holds(set()), timeout=10, what="every object of the project deleted")

    async def namespace_gone() -> bool:
        return await kube.get(NAMESPACE, None, "acme") is None

    await wait_until(namespace_gone, timeout=10, what="namespace acme deleted")


async def test_verified_domains_join_and_leave_ingress_and_certificate(
    events: Events, reconcilers: Reconcilers, kube: KubeClient
) -> None:
    await reconcilers.start()
    await events.append(*project_created("default"))
    await events.append(*service_applied("default", spec(LLAMA)))
    verified = DomainVerified(
        id="d1", fqdn="chat.acme.com", project_slug="default", service_name="llama-3-8b"
    )
    await events.append(domain_subject("d1"), verified)

    async def hosts() -> list[str]:
        ingress = await kube.get(INGRESS, "default", "llama-3-8b")
        return [r["host"] for r in (ingress or {}).get("spec", {}).get("rules", [])]

    async def has_custom_domain() -> bool:
        return await hosts() == ["llama-3-8b-default.apps.test", "chat.acme.com"]

    await wait_until(has_custom_domain, timeout=10, what="custom domain on the Ingress")
    certificate = await kube.get(CERTIFICATE, "default", "llama-3-8b")
    assert certificate is not None
    assert certificate["spec"]["dnsNames"] == ["llama-3-8b-default.apps.test", "chat.acme.com"]
    deleted = DomainDeleted(
        id="d1", fqdn="chat.acme.com", project_slug="default", service_name="llama-3-8b"
    )
    await events.append(domain_subject("d1"), deleted)

    async def only_platform_host() -> bool:
        return await hosts() == ["llama-3-8b-default.apps.test"]

    await wait_until(only_platform_host, timeout=10, what="custom domain removed")
