"""Status derived from observed objects (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lc_contracts.status import ServicePhase
from lc_reconciler.domain.desired_state import ServiceRecord
from lc_reconciler.domain.status import derive_status
from lc_testing.product_docs import HELLO, LLAMA

from .helpers import spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LLAMA_RECORD = ServiceRecord("default", spec(LLAMA), 2)
HELLO_RECORD = ServiceRecord(
    "default", spec(HELLO, kind={"container": {"image": "nginx", "replicas": 2}}), 1
)


def obj(revision: int, status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": {"liquidcompute.io/revision": str(revision)}}, "status": status}


def test_no_object_yet_is_pending() -> None:
    assert derive_status(LLAMA_RECORD, None, NOW).phase is ServicePhase.PENDING


def test_model_phases_map_to_service_phases() -> None:
    cases = {
        "Pending": ServicePhase.PENDING,
        "Loading": ServicePhase.DEPLOYING,
        "Failed": ServicePhase.FAILED,
    }
    for model_phase, phase in cases.items():
        assert derive_status(LLAMA_RECORD, obj(2, {"phase": model_phase}), NOW).phase is phase


def test_ready_model_lists_replica_urls_for_the_proxy() -> None:
    status = {
        "phase": "Ready",
        "readyReplicas": 1,
        "replicas": [{"name": "r0", "url": "http://127.0.0.1:9000", "gpu": "node-0-gpu-1"}],
    }
    derived = derive_status(LLAMA_RECORD, obj(2, status), NOW)
    assert derived.phase is ServicePhase.READY
    assert derived.replicas[0].url == "http://127.0.0.1:9000"
    assert derived.ready_replicas == 1
    assert derived.model_name == "meta-llama/Llama-3.1-8B-Instruct"
    assert derived.revision == 2


def test_object_at_an_older_revision_is_deploying_but_keeps_serving() -> None:
    status = {"phase": "Ready", "replicas": [{"name": "r0", "url": "http://127.0.0.1:9000"}]}
    derived = derive_status(LLAMA_RECORD, obj(1, status), NOW)
    assert derived.phase is ServicePhase.DEPLOYING
    assert len(derived.replicas) == 1


def test_deployment_readiness_and_failure() -> None:
    assert (
        derive_status(HELLO_RECORD, obj(1, {"readyReplicas": 1}), NOW).phase
        is ServicePhase.DEPLOYING
    )
    assert (
        derive_status(HELLO_RECORD, obj(1, {"readyReplicas": 2}), NOW).phase is ServicePhase.READY
    )
    stuck = {
        "conditions": [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "image pull",
            }
        ]
    }
    failed = derive_status(HELLO_RECORD, obj(1, stuck), NOW)
    assert failed.phase is ServicePhase.FAILED
    assert failed.message == "image pull"
