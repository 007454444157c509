"""Observed-state snapshots published on LC_STATUS (the latest one per subject is kept).

The reconciler publishes `ServiceStatus`, `ProjectStatus`, `OrphanReport` and
`ForeignNamespaces`; the proxy builds its routing table from service status and publishes
`UsageSnapshot`; the API reads service status, usage and the foreign namespaces (to refuse
a project whose namespace it could not use); `lc orphans` reads the orphan report.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field

from lc_contracts.base import Contract
from lc_contracts.engine import ANNOTATION_CREATED_BY, MANAGED_BY_VALUE
from lc_contracts.hostnames import namespace_name
from lc_contracts.specs import Endpoint


class ServicePhase(StrEnum):
    PENDING = "Pending"
    DEPLOYING = "Deploying"
    READY = "Ready"
    FAILED = "Failed"
    DELETED = "Deleted"


class Replica(Contract):
    """One serving replica of a Service: where the proxy sends requests."""

    name: str
    url: str
    gpu: str | None = None


class ServiceStatus(Contract):
    project_slug: str
    service_name: str
    phase: ServicePhase
    message: str = ""
    revision: int = 0
    model_name: str | None = None
    endpoints: list[Endpoint] = Field(default_factory=list)
    replicas: list[Replica] = Field(default_factory=list)
    ready_replicas: int = 0
    observed_at: datetime


class ProjectPhase(StrEnum):
    READY = "Ready"
    FAILED = "Failed"
    DELETED = "Deleted"


class ProjectStatus(Contract):
    """Whether a project's namespace is the platform's to use."""

    project_slug: str
    namespace: str
    phase: ProjectPhase
    message: str = ""
    observed_at: datetime


class ManagedObject(Contract):
    """A Kubernetes object carrying our labels, named as `kubectl` names it."""

    api_version: str
    kind: str
    namespace: str = ""
    name: str
    project_slug: str
    service_name: str
    revision: str = ""
    uid: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


class OrphanReport(Contract):
    """What the reconciler found and would not delete on its own.

    `orphans`: objects with our labels whose service the event stream has no history of.
    `held_deletions`: deletions a resync planned but held back, because they exceeded the
    share of managed objects a resync may delete (the deletion guard).
    """

    orphans: list[ManagedObject] = Field(default_factory=list)
    held_deletions: list[ManagedObject] = Field(default_factory=list)
    message: str = ""
    observed_at: datetime


FOREIGN_NAMESPACES_MAX: Final = 5000
"""How many names one `ForeignNamespaces` lists at most: 5,000 names of at most 63
characters stay well under NATS's default 1 MiB payload. A cluster with more lists the
first 5,000 in name order and says how many there are (`total`)."""


def foreign_namespace_message(namespace: str) -> str:
    """Why a project cannot use `namespace`, and what to do: the reconciler's Failed status
    and lcd's 422 say the same."""
    return (
        f"namespace {namespace!r} already exists and was not created by LiquidCompute; "
        f"the project cannot use it (choose another slug, or, if it is the platform's, "
        f"kubectl annotate namespace {namespace} {ANNOTATION_CREATED_BY}={MANAGED_BY_VALUE})"
    )


class ForeignNamespaces(Contract):
    """The namespaces of the cluster that a project's namespace could be and that the
    platform did not create (no created-by mark), so a project cannot use them.

    `namespaces` holds the names starting with `namespace_prefix`, sorted, at most
    `FOREIGN_NAMESPACES_MAX`; `total` counts them all, so `total > len(namespaces)` says
    the list was cut and a slug beyond it is not known to be taken.
    """

    namespace_prefix: str = ""
    namespaces: list[str] = Field(default_factory=list)
    total: int = 0
    observed_at: datetime

    @property
    def truncated(self) -> bool:
        return self.total > len(self.namespaces)

    def namespace_of(self, project_slug: str) -> str:
        """The namespace a project of this slug would live in."""
        return namespace_name(self.namespace_prefix, project_slug)


# Upper bounds (ms) of the latency histograms every proxy replica reports.
LATENCY_BUCKETS_MS: Final = (
    5.0,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
    30000.0,
    60000.0,
)


class ModelUsage(Contract):
    """Cumulative counters of one model since the reporting replica started."""

    model: str
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # counts per bucket of LATENCY_BUCKETS_MS, plus one overflow bucket at the end
    latency_buckets: list[int] = Field(default_factory=list)
    ttft_buckets: list[int] = Field(default_factory=list)


class UsageSnapshot(Contract):
    replica: str
    started_at: datetime
    observed_at: datetime
    models: list[ModelUsage] = Field(default_factory=list)
