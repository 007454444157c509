"""The batches' pacing by interactive latency (pure: time is passed in)."""

from __future__ import annotations

import pytest

from lc_proxy.batch_admission import batch_budget
from lc_proxy.batch_pacing import BatchPacing, PacingByModel

FIRST = "first byte"


def steady(pacing: BatchPacing, start: float, seconds: float, latency: float) -> float:
    """Interactive requests every 50 ms, each taking `latency`; returns the end time."""
    now = start
    while now < start + seconds:
        pacing.observe(now, FIRST, latency)
        now += 0.05
    return now


def test_requests_as_fast_as_usual_leave_the_whole_share() -> None:
    pacing = BatchPacing(tolerance=0.25, grow_per_s=0.2)
    end = steady(pacing, 0.0, 10.0, 0.020)
    assert pacing.share(end) == 1.0
    # Within the tolerance is as fast as usual.
    assert not pacing.observe(end, FIRST, 0.024)
    assert pacing.share(end) == 1.0


def test_a_slower_request_halves_the_share_once_per_hold() -> None:
    pacing = BatchPacing(tolerance=0.25, hold_s=0.5, grow_per_s=0.0)
    steady(pacing, 0.0, 1.0, 0.020)
    assert pacing.observe(1.0, FIRST, 0.030)
    assert pacing.share(1.0) == 0.5
    # The same burst of slow answers is one event.
    assert not pacing.observe(1.2, FIRST, 0.040)
    assert pacing.share(1.2) == 0.5
    assert pacing.observe(1.6, FIRST, 0.040)
    assert pacing.share(1.6) == 0.25


def test_the_share_never_falls_below_its_floor() -> None:
    pacing = BatchPacing(tolerance=0.1, floor=1 / 8, hold_s=0.0, grow_per_s=0.0)
    pacing.observe(0.0, FIRST, 0.020)
    for step in range(1, 20):
        pacing.observe(step * 0.1, FIRST, 0.100)
    assert pacing.share(2.0) == pytest.approx(1 / 8)


def test_the_share_grows_back_slowly_while_requests_are_fast_again() -> None:
    pacing = BatchPacing(tolerance=0.25, grow_per_s=0.05, floor=1 / 64, hold_s=0.0)
    pacing.observe(0.0, FIRST, 0.020)
    for step in range(1, 8):
        pacing.observe(step * 0.01, FIRST, 0.200)
    low = pacing.share(0.07)
    assert low < 0.02
    end = steady(pacing, 0.1, 5.0, 0.020)
    # Five seconds of fast answers give back a quarter of the capacity, not all of it.
    assert pacing.share(end) == pytest.approx(low + 0.05 * (end - 0.07), abs=1e-9)
    assert pacing.share(end) < 0.3
    assert pacing.share(end + 60.0) == 1.0


def test_each_kind_of_timing_has_its_own_base() -> None:
    # A whole answer's time per token is far below a stream's first byte: neither is
    # compared with the other's best.
    pacing = BatchPacing(tolerance=0.25, grow_per_s=0.0)
    pacing.observe(0.0, "per token", 0.002)
    assert not pacing.observe(0.1, FIRST, 0.050)
    assert pacing.share(0.1) == 1.0
    assert pacing.observe(0.2, FIRST, 0.080)


def test_the_base_forgets_an_old_best() -> None:
    # A model that once answered in 5 ms and now takes 20 ms at best (longer prompts,
    # another GPU) is not held to 5 ms for ever.
    pacing = BatchPacing(tolerance=0.25, grow_per_s=1.0, base_window_s=60.0, hold_s=0.0)
    pacing.observe(0.0, FIRST, 0.005)
    assert pacing.observe(1.0, FIRST, 0.020)
    end = steady(pacing, 61.0, 20.0, 0.020)
    assert not pacing.observe(end, FIRST, 0.020)
    assert pacing.share(end) == 1.0


def test_models_are_paced_apart() -> None:
    pacing = PacingByModel(BatchPacing(tolerance=0.25, grow_per_s=0.0))
    pacing.observe("a", 0.0, FIRST, 0.020)
    pacing.observe("a", 0.1, FIRST, 0.100)
    assert pacing.share("a", 0.1) == 0.5
    assert pacing.share("b", 0.1) == 1.0
    # A model seen later starts from the rules, not from another model's state.
    pacing.observe("b", 0.2, FIRST, 0.020)
    assert pacing.share("b", 0.2) == 1.0
    assert pacing.share("a", 0.2) == 0.5


def test_the_pacing_share_narrows_the_busy_share_down_to_one_request() -> None:
    def budget(share: float) -> int:
        return batch_budget(
            replicas=1,
            per_replica=32,
            interactive_in_flight=1,
            busy_share=0.25,
            pacing_share=share,
        )

    assert budget(1.0) == 7
    assert budget(0.5) == 3
    assert budget(1 / 64) == 0
    # Without interactive traffic the pacing does not apply.
    assert batch_budget(replicas=1, per_replica=32, interactive_in_flight=0, pacing_share=0.1) == 32
    assert (
        batch_budget(
            replicas=1,
            per_replica=32,
            interactive_in_flight=0,
            interactive_active=True,
            busy_share=0.25,
            pacing_share=1 / 64,
        )
        == 1
    )
