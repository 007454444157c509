"""The progress `lc replay` shows: its lines, and how they are written to a terminal and
to a log."""

from __future__ import annotations

import io

from lc_api.progress_display import ProgressDisplay, describe, duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_says_done_of_total_the_rate_and_the_time_left() -> None:
    line = describe("rebuilding x", 45_000, 100_000, 9.0)
    assert line == "rebuilding x: 45,000 of 100,000 events (45%), 5,000 events/s, 11 s left"


def test_before_any_rate_the_time_left_is_unknown() -> None:
    assert describe("r", 0, 10, 0.0) == "r: 0 of 10 events (0%), 0 events/s, time left unknown"
    assert describe("r", 0, 0, 1.0) == "r: 0 of 0 events, 0 events/s, time left unknown"


def test_the_last_line_says_how_long_it_took() -> None:
    line = describe("r", 120_000, 120_000, 150.0, finished=True)
    assert line == "r: 120,000 events in 2 min 30 s, 800 events/s"


def test_durations_read_as_seconds_minutes_and_hours() -> None:
    assert [duration(s) for s in (0, 9.4, 59.6, 125, 3_725)] == [
        "0 s",
        "9 s",
        "1 min 0 s",
        "2 min 5 s",
        "1 h 2 min",
    ]


def test_in_a_log_a_line_every_few_seconds_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    display = ProgressDisplay(out, "r", tty=False, every_s=5.0, clock=clock)
    for done in range(1_000, 20_001, 1_000):  # 1,000 events a second for 20 s
        clock.now += 1.0
        display(done, 20_000 - done)
    display.finish()
    assert out.getvalue().splitlines() == [
        "r: 5,000 of 20,000 events (25%), 1,000 events/s, 15 s left",
        "r: 10,000 of 20,000 events (50%), 1,000 events/s, 10 s left",
        "r: 15,000 of 20,000 events (75%), 1,000 events/s, 5 s left",
        "r: 20,000 of 20,000 events (100%), 1,000 events/s, 0 s left",
        "r: 20,000 events in 20 s, 1,000 events/s",
    ]


def test_on_a_terminal_the_line_is_redrawn_in_place() -> None:
    out, clock = io.StringIO(), Clock()
    display = ProgressDisplay(out, "r", tty=True, clock=clock)
    display(10, 90)  # too soon after the start: nothing yet
    clock.now += 0.5
    display(50, 50)
    clock.now += 0.5
    display.finish()
    assert out.getvalue() == (
        "\rr: 50 of 100 events (50%), 100 events/s, 0 s left\x1b[K"
        "\rr: 50 events in 1 s, 50 events/s\x1b[K\n"
    )
