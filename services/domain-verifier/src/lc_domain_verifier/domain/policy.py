"""Timing of checks: back-off for pending domains, expiry, re-verification, loss.

Built once from `VerifierSettings` by the service; the decisions and the state's evolve
read it. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class VerificationPolicy:
    recheck_initial: timedelta = timedelta(seconds=30)
    """Delay before re-checking a pending domain after its first failed check."""
    recheck_factor: float = 2.0
    """Each further failed check multiplies the delay by this."""
    recheck_max: timedelta = timedelta(hours=1)
    """The delay never grows past this."""
    expiry: timedelta = timedelta(hours=72)
    """A domain still pending this long after verification began fails as `expired`."""
    reverify_interval: timedelta = timedelta(days=1)
    """How often a verified domain's record is checked again."""
    reverify_retry: timedelta = timedelta(minutes=15)
    """After a failed re-verification, the next check comes this soon."""
    lost_after: int = 3
    """This many consecutive failed re-verifications make a verified domain lost."""

    def __post_init__(self) -> None:
        if self.recheck_initial <= timedelta(0) or self.recheck_max < self.recheck_initial:
            raise ValueError("need 0 < recheck_initial <= recheck_max")
        if self.recheck_factor < 1.0:
            raise ValueError("recheck_factor must be at least 1")
        if self.expiry <= timedelta(0):
            raise ValueError("expiry must be positive")
        if self.reverify_interval <= timedelta(0) or self.reverify_retry <= timedelta(0):
            raise ValueError("reverify_interval and reverify_retry must be positive")
        if self.lost_after < 1:
            raise ValueError("lost_after must be at least 1")

    def recheck_delay(self, failures: int) -> timedelta:
        """Wait after the `failures`-th consecutive failed check of a pending domain.

        Grows geometrically from `recheck_initial` and is capped at `recheck_max`.
        """
        if failures < 1:
            return timedelta(0)
        initial = self.recheck_initial.total_seconds()
        cap = self.recheck_max.total_seconds()
        seconds = initial
        # Multiply step by step (not factor ** n) so huge counts cannot overflow a float.
        for _ in range(failures - 1):
            seconds *= self.recheck_factor
            if seconds >= cap:
                return self.recheck_max
        return timedelta(seconds=min(seconds, cap))
