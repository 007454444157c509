"""Observed-state snapshots published on LC_STATUS (the latest one per subject is kept).

The reconciler publishes `ServiceStatus`; the proxy builds its routing table from it and
publishes `UsageSnapshot`; the API reads both.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field

from lc_contracts.base import Contract
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


# Upper bounds (ms) of the latency histograms every proxy replica reports.
LATENCY_BUCKETS_MS: Final = (
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
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
