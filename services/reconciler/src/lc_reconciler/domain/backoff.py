"""Exponential back-off with jitter for retried reconciles. Pure (the jitter source is passed in)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.05
    max_s: float = 30.0
    jitter: float = 0.2

    def delay(
        self, failures: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Delay before attempt number `failures + 1` (`failures` >= 1)."""
        raw = min(self.max_s, self.base_s * (2 ** max(0, failures - 1)))
        if retry_after is not None:
            raw = max(raw, min(self.max_s, retry_after))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return float(max(0.0, raw * (1 + spread)))
