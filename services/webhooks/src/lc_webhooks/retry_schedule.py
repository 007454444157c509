"""When to try a failed delivery again: a Svix-like schedule with jitter, `Retry-After`
honoured, and the point where the schedule is spent (the subscription is then paused).

Pure: randomness and the clock are passed in. Callers: the courier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final

# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: seven retries after the first attempt.
SVIX_SCHEDULE_S: Final = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
# A receiver asking for longer than Svix's longest step is tried again after that step.
MAX_RETRY_AFTER_S: Final = 36000.0


def next_delay(
    attempt: int,
    schedule: Sequence[float],
    *,
    jitter: float,
    rand: Callable[[], float],
    retry_after_s: float | None = None,
) -> float | None:
    """Seconds before attempt `attempt + 1`, after attempt `attempt` (1-based) failed;
    None once the schedule is spent. A receiver's `Retry-After` replaces the scheduled
    delay (as long as it asks, up to `MAX_RETRY_AFTER_S`).
    `jitter` spreads a scheduled delay by ±that fraction, so receivers that come back
    are not hit by every subscription at once."""
    if attempt < 1 or attempt > len(schedule):
        return None
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), MAX_RETRY_AFTER_S)
    base = schedule[attempt - 1]
    return max(0.0, base * (1.0 + jitter * (2.0 * rand() - 1.0)))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
