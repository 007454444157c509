"""How long work shows its progress: events done of total, events per second, time left.

`describe` is pure: the line for a moment of the work. `ProgressDisplay` writes those
lines to a stream (stderr): redrawn in place on a terminal (at most every
`REDRAW_S`), one line every `every_s` seconds otherwise (a log, a pipe), and a last
line when the work is done. Time is read from the clock it is given.

Callers: `lc_api.cli_commands.replay` (`lc replay`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

REDRAW_S: Final = 0.1
LINE_EVERY_S: Final = 5.0
CLEAR_TO_END: Final = "\x1b[K"


def duration(seconds: float) -> str:
    """A duration as people read it: 9 s, 2 min 5 s, 1 h 3 min."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def describe(what: str, done: int, total: int, elapsed_s: float, *, finished: bool = False) -> str:
    """One line of progress: `what: 45,000 of 100,000 events (45%), 6,210 events/s, 9 s
    left`; once `finished`, how long it took instead of what is left."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    if finished:
        return f"{what}: {done:,} events in {duration(elapsed_s)}, {rate:,.0f} events/s"
    share = f" ({done * 100 // total}%)" if total > 0 else ""
    left = f"{duration((total - done) / rate)} left" if rate > 0 else "time left unknown"
    return f"{what}: {done:,} of {total:,} events{share}, {rate:,.0f} events/s, {left}"


class ProgressDisplay:
    """Shows `describe`'s lines on `out` while work goes on; call it with (events done,
    events still to do) as often as convenient, and `finish()` at the end."""

    def __init__(
        self,
        out: TextIO,
        what: str,
        *,
        tty: bool | None = None,
        every_s: float = LINE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out
        self._what = what
        self._tty = out.isatty() if tty is None else tty
        self._every_s = REDRAW_S if self._tty else every_s
        self._clock = clock
        self._started = clock()
        self._shown_at = self._started
        self._done = 0

    def __call__(self, done: int, pending: int) -> None:
        self._done = done
        now = self._clock()
        if now - self._shown_at < self._every_s:
            return
        self._shown_at = now
        self._write(describe(self._what, done, done + pending, now - self._started))

    def finish(self) -> None:
        elapsed = self._clock() - self._started
        self._write(describe(self._what, self._done, self._done, elapsed, finished=True))
        if self._tty:
            self._out.write("\n")
            self._out.flush()

    def _write(self, line: str) -> None:
        self._out.write(f"\r{line}{CLEAR_TO_END}" if self._tty else f"{line}\n")
        self._out.flush()
