"""What to do next for a domain, and which events the outcome of a check produces.

Called by the worker: `next_action` when scheduling, `decide_check` after a DNS lookup,
`decide_expiry` when a pending domain's window has closed. Pure: time is an argument.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from lc_contracts.events import (
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerified,
    Payload,
)
from lc_domain_verifier.domain.lookup import ChallengeFound, CheckResult
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_domain_verifier.domain.state import DomainState


@dataclass(frozen=True)
class Idle:
    """Nothing to check until an event arrives (registered, failed, lost, deleted)."""


@dataclass(frozen=True)
class Wait:
    until: datetime


@dataclass(frozen=True)
class Check:
    """Look the challenge record up now."""


@dataclass(frozen=True)
class Expire:
    """The pending window has closed: fail the domain as expired."""


Action = Idle | Wait | Check | Expire


def next_action(state: DomainState, now: datetime, policy: VerificationPolicy) -> Action:
    if state.status == "pending":
        expires_at = state.expires_at(policy)
        if now >= expires_at:
            return Expire()
        due = state.next_check_at or now
        if now >= due:
            return Check()
        return Wait(min(due, expires_at))
    if state.status == "verified" and state.next_check_at is not None:
        if now >= state.next_check_at:
            return Check()
        return Wait(state.next_check_at)
    return Idle()


@dataclass(frozen=True)
class Decision:
    """Events to append, or, when there are none, the state to keep in memory instead.

    A verified domain that is still verified, unchanged and unasked, produces no event
    (the log would otherwise grow by one entry per domain per day); only the schedule
    moves on. A success after failures, a changed CNAME or an explicit verification
    request is recorded with a new `domain.verified`.
    """

    events: tuple[Payload, ...] = ()
    quiet_state: DomainState | None = None


def decide_check(
    state: DomainState, result: CheckResult, now: datetime, policy: VerificationPolicy
) -> Decision:
    """The events that record `result` for `state`, a check that finished at `now`."""
    cname = result.cname
    if state.status == "pending":
        if isinstance(result, ChallengeFound):
            return Decision((_verified(state, result),))
        attempt = state.attempt + 1
        final = now >= state.expires_at(policy)
        return Decision(
            (
                DomainVerificationFailed(
                    id=state.domain_id,
                    reason="expired" if final else result.reason,
                    attempt=attempt,
                    final=final,
                    cname_target=cname.target,
                    points_at_ingress=cname.points_at_ingress,
                ),
            )
        )
    if state.status == "verified":
        if isinstance(result, ChallengeFound):
            unchanged = state.consecutive_failures == 0 and state.cname == cname
            if unchanged and not state.verify_requested:
                quiet = dataclasses.replace(state, next_check_at=now + policy.reverify_interval)
                return Decision(quiet_state=quiet)
            return Decision((_verified(state, result),))
        failures = state.consecutive_failures + 1
        if failures >= policy.lost_after:
            return Decision(
                (
                    DomainVerificationLost(
                        id=state.domain_id,
                        fqdn=state.fqdn,
                        project_slug=state.project_slug,
                        service_name=state.service_name,
                        reason=result.reason,
                    ),
                )
            )
        return Decision(
            (
                DomainVerificationFailed(
                    id=state.domain_id,
                    reason=result.reason,
                    attempt=failures,
                    final=False,
                    cname_target=cname.target,
                    points_at_ingress=cname.points_at_ingress,
                ),
            )
        )
    return Decision()


def decide_expiry(state: DomainState, now: datetime, policy: VerificationPolicy) -> Decision:
    """Fail a pending domain whose window closed without a successful check."""
    if state.status != "pending" or now < state.expires_at(policy):
        return Decision()
    return Decision(
        (
            DomainVerificationFailed(
                id=state.domain_id,
                reason="expired",
                attempt=max(state.attempt, 1),
                final=True,
                cname_target=state.cname.target,
                points_at_ingress=state.cname.points_at_ingress,
            ),
        )
    )


def _verified(state: DomainState, result: ChallengeFound) -> DomainVerified:
    return DomainVerified(
        id=state.domain_id,
        fqdn=state.fqdn,
        project_slug=state.project_slug,
        service_name=state.service_name,
        cname_target=result.cname.target,
        points_at_ingress=result.cname.points_at_ingress,
    )
