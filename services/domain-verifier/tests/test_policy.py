"""Back-off schedule and policy validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_domain_verifier.domain.policy import VerificationPolicy


def test_defaults_match_the_product() -> None:
    policy = VerificationPolicy()
    assert policy.expiry == timedelta(hours=72)
    assert policy.reverify_interval == timedelta(days=1)
    assert policy.lost_after == 3


def test_back_off_is_fast_first_then_slower_then_capped() -> None:
    policy = VerificationPolicy(
        recheck_initial=timedelta(seconds=30), recheck_factor=2, recheck_max=timedelta(minutes=5)
    )
    delays = [policy.recheck_delay(n).total_seconds() for n in range(0, 8)]
    assert delays == [0, 30, 60, 120, 240, 300, 300, 300]


def test_a_huge_failure_count_stays_at_the_cap() -> None:
    policy = VerificationPolicy()
    assert policy.recheck_delay(10_000_000) == policy.recheck_max


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recheck_initial": timedelta(0)},
        {"recheck_initial": timedelta(seconds=10), "recheck_max": timedelta(seconds=5)},
        {"recheck_factor": 0.5},
        {"expiry": timedelta(0)},
        {"reverify_interval": timedelta(0)},
        {"reverify_retry": timedelta(seconds=-1)},
        {"lost_after": 0},
    ],
)
def test_inconsistent_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VerificationPolicy(**kwargs)  # type: ignore[arg-type]


@settings(deadline=None)
@given(
    initial=st.floats(min_value=0.01, max_value=1000),
    factor=st.floats(min_value=1.0, max_value=10),
    extra=st.floats(min_value=0, max_value=100_000),
    n=st.integers(min_value=1, max_value=200),
)
def test_back_off_never_shrinks_and_never_exceeds_the_cap(
    initial: float, factor: float, extra: float, n: int
) -> None:
    policy = VerificationPolicy(
        recheck_initial=timedelta(seconds=initial),
        recheck_factor=factor,
        recheck_max=timedelta(seconds=initial + extra),
    )
    this, following = policy.recheck_delay(n), policy.recheck_delay(n + 1)
    assert policy.recheck_initial <= this <= following <= policy.recheck_max
