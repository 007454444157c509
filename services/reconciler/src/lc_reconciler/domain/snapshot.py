"""The desired state as bytes and back, for snapshots (pure; no I/O).

Who calls it: the runtime, which saves `encode_desired_state(state)` through
`lc_eventstore.snapshots` and, at start, folds the tail of LC_EVENTS on top of
`decode_desired_state(bytes)`. The pair is exact: decoding what was encoded gives a state
equal to the original, so a reconciler started from a snapshot and the tail holds what one
that folded from sequence 1 holds (tests/test_snapshot_fold.py).

Bump FORMAT whenever `DesiredState` or what it stores changes shape: a snapshot of another
format is ignored and the state is folded from sequence 1 (DESIGN §4).
"""

from __future__ import annotations

import json
from typing import Any, Final

from lc_contracts.events import SecretSet
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_reconciler.domain.desired_state import DesiredState, OrphanId, ServiceKey, ServiceRecord

FORMAT: Final = "reconciler.desired-state/1"


class UnreadableState(ValueError):
    """The bytes are not a desired state of FORMAT."""


def _key(key: ServiceKey) -> list[str]:
    return [key[0], key[1]]


def encode_desired_state(state: DesiredState) -> bytes:
    """The whole folded state, in a stable order (equal states give equal bytes)."""
    body = {
        "format": FORMAT,
        "position": state.position,
        "projects": sorted(state.projects),
        "services": [
            {
                "key": _key(key),
                "revision": record.revision,
                "spec": record.spec.model_dump(mode="json", by_alias=True, exclude_unset=True),
            }
            for key, record in sorted(state.services.items())
        ],
        "domains": [
            [_key(key), sorted(domains.items())] for key, domains in sorted(state.domains.items())
        ],
        "announcedPhases": [
            [_key(key), phase.value] for key, phase in sorted(state.announced_phases.items())
        ],
        "subjectSeqs": [[_key(key), seq] for key, seq in sorted(state.subject_seqs.items())],
        "deletedServices": sorted(_key(key) for key in state.deleted_services),
        "deletedProjects": sorted(state.deleted_projects),
        "adopted": sorted(list(o) for o in state.adopted),
        "deletionRequested": sorted(list(o) for o in state.deletion_requested),
        "reportedOrphans": sorted([list(o), uid] for o, uid in state.reported_orphans),
        "secrets": [
            secret.model_dump(mode="json", by_alias=True, exclude_unset=True)
            for _, secret in sorted(state.secrets.items())
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_desired_state(data: bytes) -> DesiredState:
    """The state `encode_desired_state` wrote; UnreadableState for anything else."""
    try:
        body: Any = json.loads(data)
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise UnreadableState(f"not a {FORMAT} state")
        state = DesiredState(position=int(body["position"]))
        state.projects = {str(slug) for slug in body["projects"]}
        for item in body["services"]:
            key = _service_key(item["key"])
            spec = ServiceSpec.model_validate(item["spec"])
            state.services[key] = ServiceRecord(key[0], spec, int(item["revision"]))
        state.domains = {
            _service_key(key): {str(i): str(fqdn) for i, fqdn in pairs}
            for key, pairs in body["domains"]
        }
        state.announced_phases = {
            _service_key(key): ServicePhase(phase) for key, phase in body["announcedPhases"]
        }
        state.subject_seqs = {_service_key(key): int(seq) for key, seq in body["subjectSeqs"]}
        state.deleted_services = {_service_key(key) for key in body["deletedServices"]}
        state.deleted_projects = {str(slug) for slug in body["deletedProjects"]}
        state.adopted = {_orphan_id(o) for o in body["adopted"]}
        state.deletion_requested = {_orphan_id(o) for o in body["deletionRequested"]}
        state.reported_orphans = {(_orphan_id(o), str(uid)) for o, uid in body["reportedOrphans"]}
        for raw in body["secrets"]:
            secret = SecretSet.model_validate(raw)
            state.secrets[(secret.project_slug, secret.name)] = secret
        return state
    except UnreadableState:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError included
        raise UnreadableState(f"bad desired state: {exc!r}"[:500]) from None


def _service_key(raw: Any) -> ServiceKey:
    slug, name = raw
    return (str(slug), str(name))


def _orphan_id(raw: Any) -> OrphanId:
    api_version, kind, namespace, name = raw
    return (str(api_version), str(kind), str(namespace), str(name))
