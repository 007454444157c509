"""Derive a Service's status from the objects observed in the cluster. Pure.

Called by the status reporter each time a watched Model or Deployment of the service
changes, or the service's desired state does.

| engine Model phase / Deployment state           | ServicePhase |
|-------------------------------------------------|--------------|
| no object yet                                   | Pending      |
| Model Pending                                   | Pending      |
| Model Loading; Deployment rolling out; object   | Deploying    |
| still at an older revision                      |              |
| Model Ready; Deployment readyReplicas >= wanted | Ready        |
| Model Failed; Deployment ProgressDeadlineExceeded or ReplicaFailure | Failed |
| service deleted                                 | Deleted      |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lc_contracts.engine import LABEL_REVISION, ModelPhase
from lc_contracts.status import Replica, ServicePhase, ServiceStatus
from lc_reconciler.domain.desired_state import ServiceKey, ServiceRecord

Obj = dict[str, Any]

MODEL_PHASES = {
    ModelPhase.PENDING.value: ServicePhase.PENDING,
    ModelPhase.LOADING.value: ServicePhase.DEPLOYING,
    ModelPhase.READY.value: ServicePhase.READY,
    ModelPhase.FAILED.value: ServicePhase.FAILED,
}


def observed_revision(obj: Obj) -> int:
    raw = ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_REVISION, "0")
    try:
        return int(raw)
    except ValueError:
        return 0


def deleted_status(key: ServiceKey, observed_at: datetime) -> ServiceStatus:
    return ServiceStatus(
        project_slug=key[0],
        service_name=key[1],
        phase=ServicePhase.DELETED,
        message="service deleted",
        observed_at=observed_at,
    )


def derive_status(
    record: ServiceRecord, workload: Obj | None, observed_at: datetime
) -> ServiceStatus:
    """The status of `record` given its Model (inference) or Deployment (containers)."""
    spec = record.spec
    model = spec.kind.model
    base: dict[str, Any] = {
        "project_slug": record.project_slug,
        "service_name": spec.name,
        "revision": record.revision,
        "observed_at": observed_at,
    }
    if model is not None:
        base["model_name"] = model.model_name
        base["endpoints"] = list(model.endpoints)
    if workload is None:
        return ServiceStatus(
            phase=ServicePhase.PENDING, message="waiting for objects to be created", **base
        )
    status = workload.get("status") or {}
    if model is not None:
        phase, message, replicas, ready = _model_state(status)
    else:
        wanted = spec.kind.container.replicas if spec.kind.container is not None else 1
        phase, message, ready = _deployment_state(status, wanted)
        replicas = []
    if observed_revision(workload) < record.revision and phase is not ServicePhase.FAILED:
        phase, message = ServicePhase.DEPLOYING, f"rolling out revision {record.revision}"
    return ServiceStatus(
        phase=phase, message=message, replicas=replicas, ready_replicas=ready, **base
    )


def _model_state(status: Obj) -> tuple[ServicePhase, str, list[Replica], int]:
    phase = MODEL_PHASES.get(str(status.get("phase") or ""), ServicePhase.PENDING)
    replicas = [
        Replica(name=str(r.get("name", "")), url=str(r.get("url", "")), gpu=r.get("gpu"))
        for r in status.get("replicas") or []
        if isinstance(r, dict) and r.get("url")
    ]
    ready = int(status.get("readyReplicas") or 0)
    if phase is ServicePhase.READY and not ready:
        ready = len(replicas)
    message = str(status.get("message") or "")
    if not message:
        message = {
            ServicePhase.PENDING: "waiting for the engine to place the model",
            ServicePhase.DEPLOYING: "the engine is loading the model",
            ServicePhase.READY: "serving",
            ServicePhase.FAILED: "the engine reported a failure",
        }.get(phase, "")
    return phase, message, replicas if phase is ServicePhase.READY else [], ready


def _deployment_state(status: Obj, wanted: int) -> tuple[ServicePhase, str, int]:
    ready = int(status.get("readyReplicas") or 0)
    for condition in status.get("conditions") or []:
        kind, state, reason = (
            condition.get("type"),
            condition.get("status"),
            condition.get("reason"),
        )
        if (
            kind == "Progressing" and state == "False" and reason == "ProgressDeadlineExceeded"
        ) or (kind == "ReplicaFailure" and state == "True"):
            return ServicePhase.FAILED, str(condition.get("message") or reason or kind), ready
    if ready >= wanted:
        return ServicePhase.READY, f"{ready}/{wanted} replicas ready", ready
    return ServicePhase.DEPLOYING, f"{ready}/{wanted} replicas ready", ready
