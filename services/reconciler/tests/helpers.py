"""Shared helpers of the reconciler's tests: events as the API appends them, and the
cluster's managed objects as `kubectl get ... -l app.kubernetes.io/managed-by=liquidcompute`
shows them."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext

from lc_contracts.events import (
    ProjectCreated,
    ProjectDeleted,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServiceStatus
from lc_contracts.subjects import project_subject, service_status_subject, service_subject
from lc_eventstore import EventStore, current_status
from lc_reconciler.domain.compiler import compile_service
from lc_reconciler.domain.objects import ObjectRef
from lc_reconciler.domain.platform import PlatformConfig
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.resources import NAMESPACE, service_kinds
from lc_reconciler.reconcile import MANAGED_SELECTOR


def spec(raw: dict[str, Any], **changes: Any) -> ServiceSpec:
    return ServiceSpec.model_validate({**raw, **changes})


def project_created(slug: str) -> tuple[str, ProjectCreated]:
    return project_subject(slug), ProjectCreated(slug=slug, name=slug.title())


def project_deleted(slug: str) -> tuple[str, ProjectDeleted]:
    return project_subject(slug), ProjectDeleted(slug=slug)


def service_applied(
    slug: str, service: ServiceSpec, revision: int = 1
) -> tuple[str, ServiceApplied]:
    return service_subject(slug, service.name), ServiceApplied(
        project_slug=slug, revision=revision, spec=service
    )


def service_deleted(slug: str, name: str) -> tuple[str, ServiceDeleted]:
    return service_subject(slug, name), ServiceDeleted(project_slug=slug, name=name)


async def managed_objects(
    kube: KubeClient, platform: PlatformConfig
) -> dict[ObjectRef, dict[str, Any]]:
    out: dict[ObjectRef, dict[str, Any]] = {}
    for kind in service_kinds(platform):
        items, _ = await kube.list(kind, label_selector=MANAGED_SELECTOR)
        for item in items:
            if (item.get("metadata") or {}).get("deletionTimestamp"):
                continue
            out[ObjectRef.of(item)] = item
    return out


async def managed_namespaces(kube: KubeClient) -> set[str]:
    items, _ = await kube.list(NAMESPACE, label_selector=MANAGED_SELECTOR)
    return {i["metadata"]["name"] for i in items if not i["metadata"].get("deletionTimestamp")}


def compiled_refs(
    platform: PlatformConfig,
    services: list[tuple[str, ServiceSpec, int]],
    domains: dict[str, list[str]] | None = None,
) -> set[ObjectRef]:
    refs: set[ObjectRef] = set()
    for slug, service, revision in services:
        for manifest in compile_service(
            slug, service, revision, (domains or {}).get(service.name, []), platform
        ):
            refs.add(ObjectRef.of(manifest))
    return refs


async def status_changes(js: JetStreamContext, slug: str, name: str) -> list[ServiceStatusChanged]:
    aggregate = await EventStore(js).load(service_subject(slug, name))
    out = []
    for message in aggregate.messages:
        payload = message.event().payload
        if isinstance(payload, ServiceStatusChanged):
            out.append(payload)
    return out


async def snapshot(js: JetStreamContext, slug: str, name: str) -> ServiceStatus | None:
    found = await current_status(js, service_status_subject(slug, name))
    message = found.get(service_status_subject(slug, name))
    return ServiceStatus.model_validate_json(message.data) if message else None
