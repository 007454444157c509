"""From what DNS returned to a verdict and a reason."""

from __future__ import annotations

import pytest

from lc_domain_verifier.domain.lookup import (
    ChallengeFound,
    ChallengeNotFound,
    CnameObservation,
    LookupFailed,
    TxtRecords,
    classify,
    observe_cname,
)

TOKEN = "tok-" + "x" * 40


@pytest.mark.parametrize("reason", ["nxdomain", "no_record", "timeout", "servfail"])
def test_lookup_failures_keep_their_reason(reason: str) -> None:
    result = classify(LookupFailed(reason), TOKEN)  # type: ignore[arg-type]
    assert result == ChallengeNotFound(reason)  # type: ignore[arg-type]


def test_an_empty_rrset_is_no_record() -> None:
    assert classify(TxtRecords(()), TOKEN) == ChallengeNotFound("no_record")


def test_records_without_the_token_are_a_mismatch() -> None:
    assert classify(TxtRecords(((b"nope",),)), TOKEN) == ChallengeNotFound("mismatch")


def test_records_with_the_token_are_found() -> None:
    cname = CnameObservation("ingress.example.net", True)
    assert classify(TxtRecords(((TOKEN.encode(),),)), TOKEN, cname) == ChallengeFound(cname)


def test_the_cname_observation_travels_with_failures_too() -> None:
    cname = CnameObservation("elsewhere.example", False)
    assert classify(LookupFailed("nxdomain"), TOKEN, cname) == ChallengeNotFound("nxdomain", cname)


@pytest.mark.parametrize(
    ("target", "ingress", "expected"),
    [
        (
            "ingress.example.net",
            "ingress.example.net",
            CnameObservation("ingress.example.net", True),
        ),
        ("other.example.net", "ingress.example.net", CnameObservation("other.example.net", False)),
        (None, "ingress.example.net", CnameObservation(None, None)),
        ("other.example.net", None, CnameObservation("other.example.net", None)),
        (None, None, CnameObservation(None, None)),
    ],
)
def test_cname_observation(
    target: str | None, ingress: str | None, expected: CnameObservation
) -> None:
    assert observe_cname(target, ingress) == expected
