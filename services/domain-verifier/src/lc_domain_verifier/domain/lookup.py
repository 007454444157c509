"""What a DNS lookup of the challenge record returned, and what that means.

The DNS adapter (`dns_lookup`) turns resolver answers and exceptions into these values;
`classify` (pure) turns them into a `CheckResult` the decisions work on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lc_domain_verifier.domain.challenge import challenge_matches

LookupFailureReason = Literal["nxdomain", "no_record", "timeout", "servfail"]
CheckFailureReason = Literal["nxdomain", "no_record", "mismatch", "timeout", "servfail"]


@dataclass(frozen=True)
class TxtRecords:
    """The TXT RRset at the challenge name: one tuple of character-strings per record."""

    records: tuple[tuple[bytes, ...], ...]


@dataclass(frozen=True)
class LookupFailed:
    """No TXT RRset: the name does not exist (nxdomain), exists without TXT (no_record),
    no server answered in time (timeout), or the servers answered with an error (servfail).
    """

    reason: LookupFailureReason


TxtLookup = TxtRecords | LookupFailed


@dataclass(frozen=True)
class CnameObservation:
    """Informational: where `<fqdn>` points, and whether that is the platform's ingress.

    `target` is None when the name has no CNAME (or it could not be looked up);
    `points_at_ingress` is None when no ingress target is configured or nothing was seen.
    """

    target: str | None = None
    points_at_ingress: bool | None = None


@dataclass(frozen=True)
class ChallengeFound:
    cname: CnameObservation = CnameObservation()


@dataclass(frozen=True)
class ChallengeNotFound:
    reason: CheckFailureReason
    cname: CnameObservation = CnameObservation()


CheckResult = ChallengeFound | ChallengeNotFound


def classify(
    lookup: TxtLookup, token: str, cname: CnameObservation = CnameObservation()
) -> CheckResult:
    """The verdict of one check: found, or not found and why."""
    if isinstance(lookup, LookupFailed):
        return ChallengeNotFound(lookup.reason, cname)
    if not lookup.records:
        return ChallengeNotFound("no_record", cname)
    if challenge_matches(lookup.records, token):
        return ChallengeFound(cname)
    return ChallengeNotFound("mismatch", cname)


def observe_cname(target: str | None, ingress_target: str | None) -> CnameObservation:
    """Compare a CNAME target with the configured ingress target (both normalised)."""
    if target is None or ingress_target is None:
        return CnameObservation(target, None)
    return CnameObservation(target, target == ingress_target)
