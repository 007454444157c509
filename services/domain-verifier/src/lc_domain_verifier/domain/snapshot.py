"""The verifier's folded state as bytes and back, for snapshots (pure; no I/O).

Who calls it: the worker, which saves `encode_domains(...)` through
`lc_eventstore.snapshots` and, at start, folds the tail of the domain events on top of
`decode_domains(...)`. The pair is exact: a verifier restored from a snapshot and the tail
holds what one that folded from sequence 1 holds (tests/test_snapshot_fold.py).

The fold depends on the timing policy (`evolve` computes the next check from it), so the
policy is part of the snapshot: one made under other settings is refused, and the state
is folded again from sequence 1 under the new ones. Bump FORMAT whenever `DomainState`
changes shape (DESIGN §4: an old snapshot is not upcast, it is rebuilt).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from lc_domain_verifier.domain.lookup import CnameObservation
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_domain_verifier.domain.state import DomainState, Status

FORMAT: Final = "domain-verifier.domains/1"
_STATUSES: Final = frozenset({"registered", "pending", "verified", "failed", "lost", "deleted"})


class UnreadableState(ValueError):
    """Not a state of FORMAT, or one folded under another policy."""


def _policy(policy: VerificationPolicy) -> dict[str, float]:
    return {
        "recheckInitialS": policy.recheck_initial.total_seconds(),
        "recheckFactor": policy.recheck_factor,
        "recheckMaxS": policy.recheck_max.total_seconds(),
        "expiryS": policy.expiry.total_seconds(),
        "reverifyIntervalS": policy.reverify_interval.total_seconds(),
        "reverifyRetryS": policy.reverify_retry.total_seconds(),
        "lostAfter": policy.lost_after,
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def encode_domains(
    position: int, domains: Mapping[str, DomainState], policy: VerificationPolicy
) -> bytes:
    """Every domain's state and the last sequence folded, in a stable order."""
    body = {
        "format": FORMAT,
        "position": position,
        "policy": _policy(policy),
        "domains": [
            {
                "id": s.domain_id,
                "fqdn": s.fqdn,
                "projectSlug": s.project_slug,
                "serviceName": s.service_name,
                "token": s.token,
                "status": s.status,
                "version": s.version,
                "cycleStartedAt": _time(s.cycle_started_at),
                "attempt": s.attempt,
                "backoffFailures": s.backoff_failures,
                "consecutiveFailures": s.consecutive_failures,
                "nextCheckAt": _time(s.next_check_at),
                "cnameTarget": s.cname.target,
                "pointsAtIngress": s.cname.points_at_ingress,
                "verifyRequested": s.verify_requested,
            }
            for _, s in sorted(domains.items())
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_domains(data: bytes, policy: VerificationPolicy) -> tuple[int, dict[str, DomainState]]:
    """(position, domains) as `encode_domains` wrote them under `policy`; UnreadableState
    for anything else."""
    try:
        body: Any = json.loads(data)
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise UnreadableState(f"not a {FORMAT} state")
        if body["policy"] != _policy(policy):
            raise UnreadableState("folded under another timing policy")
        domains = {}
        for raw in body["domains"]:
            state = _domain(raw)
            domains[state.domain_id] = state
        return int(body["position"]), domains
    except UnreadableState:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableState(f"bad domain state: {exc!r}"[:500]) from None


def _domain(raw: Any) -> DomainState:
    status = raw["status"]
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status!r}")
    checked: Status = status
    next_check = raw["nextCheckAt"]
    points = raw["pointsAtIngress"]
    target = raw["cnameTarget"]
    return DomainState(
        domain_id=str(raw["id"]),
        fqdn=str(raw["fqdn"]),
        project_slug=str(raw["projectSlug"]),
        service_name=str(raw["serviceName"]),
        token=str(raw["token"]),
        status=checked,
        version=int(raw["version"]),
        cycle_started_at=datetime.fromisoformat(raw["cycleStartedAt"]),
        attempt=int(raw["attempt"]),
        backoff_failures=int(raw["backoffFailures"]),
        consecutive_failures=int(raw["consecutiveFailures"]),
        next_check_at=None if next_check is None else datetime.fromisoformat(next_check),
        cname=CnameObservation(
            None if target is None else str(target), None if points is None else bool(points)
        ),
        verify_requested=bool(raw["verifyRequested"]),
    )
