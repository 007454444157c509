"""Per-model usage counters of this proxy replica, and their `UsageSnapshot`.

Who calls it: `metrics.RequestMetrics` records every finished request here;
`usage_publisher` turns the counters into a `UsageSnapshot` every few seconds and
publishes it on `lc.status.usage.<replica>`, where the API sums all replicas.

Counters are cumulative since the process started (the API takes differences). An
error is a request the proxy or the replica failed: a status of 500 or more, or a stream
that ended with an error event. Latency and time-to-first-token are counted per bucket
of `LATENCY_BUCKETS_MS` (upper bounds, inclusive) plus one overflow bucket.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime

from lc_contracts.status import LATENCY_BUCKETS_MS, ModelUsage, UsageSnapshot

_BUCKETS = len(LATENCY_BUCKETS_MS) + 1


def bucket_index(value_ms: float) -> int:
    """Index of the bucket counting `value_ms`; the last index is the overflow bucket."""
    return bisect_left(LATENCY_BUCKETS_MS, value_ms)


@dataclass
class _ModelCounters:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * _BUCKETS)
    ttft: list[int] = field(default_factory=lambda: [0] * _BUCKETS)


@dataclass
class UsageCounters:
    """Cumulative counters per model name."""

    _models: dict[str, _ModelCounters] = field(default_factory=dict)

    def record(
        self,
        model: str,
        *,
        error: bool,
        latency_ms: float,
        ttft_ms: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        counters = self._models.get(model)
        if counters is None:
            counters = self._models[model] = _ModelCounters()
        counters.requests += 1
        if error:
            counters.errors += 1
        counters.prompt_tokens += prompt_tokens
        counters.completion_tokens += completion_tokens
        counters.latency[bucket_index(latency_ms)] += 1
        if ttft_ms is not None:
            counters.ttft[bucket_index(ttft_ms)] += 1

    def snapshot(self, replica: str, started_at: datetime, observed_at: datetime) -> UsageSnapshot:
        return UsageSnapshot(
            replica=replica,
            started_at=started_at,
            observed_at=observed_at,
            models=[
                ModelUsage(
                    model=model,
                    requests=c.requests,
                    errors=c.errors,
                    prompt_tokens=c.prompt_tokens,
                    completion_tokens=c.completion_tokens,
                    latency_buckets=list(c.latency),
                    ttft_buckets=list(c.ttft),
                )
                for model, c in sorted(self._models.items())
            ],
        )
