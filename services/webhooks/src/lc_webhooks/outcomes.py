"""What one HTTP attempt means for a delivery. Pure; callers: the courier.

2xx (within the timeout)   delivered
410 Gone                   the receiver wants no more: pause the subscription (gone)
429, 503                   retry, after Retry-After when the receiver gives one
3xx                        failure (redirects are never followed: the target was checked)
other statuses, timeouts,
refused or failed connections  retry on the schedule
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_LOGGED_BODY: Final = 1024


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


@dataclass(frozen=True)
class Attempt:
    """One attempt as it happened: a status (None: no answer) and what went wrong."""

    status_code: int | None
    error: str | None = None
    retry_after_s: float | None = None


def judge(attempt: Attempt) -> Verdict:
    code = attempt.status_code
    if code is not None and 200 <= code < 300 and attempt.error is None:
        return Verdict.DELIVERED
    if code == 410:
        return Verdict.GONE
    return Verdict.RETRY


def honoured_retry_after(attempt: Attempt) -> float | None:
    """Retry-After counts on 429 and 503 only."""
    return attempt.retry_after_s if attempt.status_code in (429, 503) else None


def describe_failure(status_code: int | None, error: str | None) -> str | None:
    if error:
        return error
    if status_code is None:
        return "no answer"
    if 300 <= status_code < 400:
        return f"redirect {status_code} (redirects are not followed)"
    if not 200 <= status_code < 300:
        return f"HTTP {status_code}"
    return None


def cut_body(content: bytes) -> str:
    """The first KiB of an answer, as text, for the delivery log."""
    return content[:MAX_LOGGED_BODY].decode("utf-8", errors="replace")
