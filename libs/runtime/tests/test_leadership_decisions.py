"""The pure core of leader election: acquire, renew or stand by, from the lease as read
and what we observed of it by our own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lc_runtime.leadership import Action, LeaseRecord, LeaseTiming, Observation, decide

TIMING = LeaseTiming()
WALL = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def held_by(holder: str | None, *, transitions: int = 3, version: str = "7") -> LeaseRecord:
    return LeaseRecord(holder, 15.0, WALL, WALL, transitions, version)


def test_no_lease_is_acquired_as_the_first_term() -> None:
    decision = decide(None, None, me="a", now=100.0, wall_now=WALL, timing=TIMING)
    assert decision.action is Action.ACQUIRE
    assert decision.write == LeaseRecord("a", 15.0, WALL, WALL, 0)


def test_our_own_lease_is_renewed_in_the_same_term() -> None:
    later = WALL + timedelta(seconds=2)
    decision = decide(held_by("a"), None, me="a", now=100.0, wall_now=later, timing=TIMING)
    assert decision.action is Action.RENEW
    assert decision.write == LeaseRecord("a", 15.0, WALL, later, 3, "7")


def test_a_live_lease_of_another_is_left_alone_until_it_has_not_changed_for_its_duration() -> None:
    lease = held_by("b")
    first = decide(lease, None, me="a", now=100.0, wall_now=WALL, timing=TIMING)
    assert first.action is Action.STAND_BY
    assert first.write is None
    assert first.observation == Observation(lease, 100.0)
    almost = decide(lease, first.observation, me="a", now=114.9, wall_now=WALL, timing=TIMING)
    assert almost.action is Action.STAND_BY
    expired = decide(lease, almost.observation, me="a", now=115.0, wall_now=WALL, timing=TIMING)
    assert expired.action is Action.ACQUIRE
    assert expired.write == LeaseRecord("a", 15.0, WALL, WALL, 4, "7")


def test_a_renewal_seen_restarts_the_wait() -> None:
    first = decide(held_by("b"), None, me="a", now=100.0, wall_now=WALL, timing=TIMING)
    renewed = held_by("b", version="8")
    seen = decide(renewed, first.observation, me="a", now=112.0, wall_now=WALL, timing=TIMING)
    assert seen.observation.since == 112.0
    later = decide(renewed, seen.observation, me="a", now=120.0, wall_now=WALL, timing=TIMING)
    assert later.action is Action.STAND_BY


def test_another_machines_clock_does_not_expire_a_lease_we_just_saw() -> None:
    # Its renewTime is an hour old by our wall clock: skew, not death.
    stale = LeaseRecord("b", 15.0, WALL, WALL - timedelta(hours=1), 3, "7")
    decision = decide(stale, None, me="a", now=100.0, wall_now=WALL, timing=TIMING)
    assert decision.action is Action.STAND_BY


def test_a_released_lease_is_taken_at_once_in_a_new_term() -> None:
    decision = decide(held_by(None), None, me="a", now=100.0, wall_now=WALL, timing=TIMING)
    assert decision.action is Action.ACQUIRE
    assert decision.write is not None
    assert decision.write.transitions == 4


@given(
    holder=st.sampled_from(["a", "b", None]),
    waited=st.floats(min_value=0, max_value=60),
)
def test_we_only_ever_write_our_own_name_and_never_take_a_live_lease(
    holder: str | None, waited: float
) -> None:
    lease = held_by(holder)
    first = decide(lease, None, me="a", now=0.0, wall_now=WALL, timing=TIMING)
    decision = decide(lease, first.observation, me="a", now=waited, wall_now=WALL, timing=TIMING)
    if decision.write is not None:
        assert decision.write.holder == "a"
        assert decision.write.version == lease.version  # compare-and-swap on what we read
    if holder == "b":
        assert (decision.action is Action.ACQUIRE) == (waited >= 15.0)


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"), [(10, 10, 2), (15, 10, 10), (15, 10, 0)]
)
def test_timings_must_leave_the_leader_time_to_stop_before_the_lease_expires(
    duration: float, deadline: float, retry: float
) -> None:
    with pytest.raises(ValueError, match="retry period < renew deadline < lease duration"):
        LeaseTiming(duration, deadline, retry)
