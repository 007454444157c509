"""Per-model usage summed over every proxy replica, from `lc.status.usage.<replica>`.

Each replica publishes cumulative counters since it started. The total is the sum of each
replica's latest snapshot. A windowed view subtracts, per replica, the snapshot closest
to (at or before) the window's start; snapshots arrive every few seconds, so a window is
exact only to that period, and a replica restarted within the window counts from zero.

Fed at lcd's start by the history every lcd records in PostgreSQL (`lc_api.db.usage_history`,
so all replicas of lcd know the same past), then by `follow_status("lc.status.usage.>")`;
read by GET /api/v1/metrics.
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from lc_contracts.status import ModelUsage, UsageSnapshot
from lc_eventstore import StoredMessage

log = logging.getLogger(__name__)

HISTORY = timedelta(hours=24)


@dataclass
class ModelTotals:
    model: str
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_buckets: list[int] = field(default_factory=list)
    ttft_buckets: list[int] = field(default_factory=list)

    def add(self, usage: ModelUsage, sign: int = 1) -> None:
        self.requests += sign * usage.requests
        self.errors += sign * usage.errors
        self.prompt_tokens += sign * usage.prompt_tokens
        self.completion_tokens += sign * usage.completion_tokens
        self.latency_buckets = _add(self.latency_buckets, usage.latency_buckets, sign)
        self.ttft_buckets = _add(self.ttft_buckets, usage.ttft_buckets, sign)


def _add(a: list[int], b: list[int], sign: int) -> list[int]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else 0) + sign * (b[i] if i < len(b) else 0) for i in range(n)]


class UsageBoard:
    def __init__(self) -> None:
        self._history: dict[str, deque[UsageSnapshot]] = {}
        self.bootstrapped = False

    def update(self, messages: Iterable[StoredMessage]) -> list[UsageSnapshot]:
        """Take the snapshots of `messages`; the ones that were new."""
        taken = []
        for message in messages:
            if not message.data:
                continue
            try:
                snapshot = UsageSnapshot.model_validate_json(message.data)
            except ValidationError as exc:
                log.warning(
                    "ignoring unreadable usage on %s: %s", message.subject, exc.error_count()
                )
                continue
            if self.add(snapshot):
                taken.append(snapshot)
        return taken

    def add(self, snapshot: UsageSnapshot) -> bool:
        """Keep `snapshot` unless its replica already has one as recent; whether it was kept."""
        history = self._history.setdefault(snapshot.replica, deque())
        if history and snapshot.observed_at <= history[-1].observed_at:
            return False
        history.append(snapshot)
        while history and snapshot.observed_at - history[0].observed_at > HISTORY:
            history.popleft()
        return True

    @property
    def replicas(self) -> int:
        return len(self._history)

    def totals(self, since: datetime | None = None) -> list[ModelTotals]:
        """Per-model sums (since `since` when given), sorted by model name."""
        out: dict[str, ModelTotals] = {}
        for history in self._history.values():
            latest = history[-1]
            for usage in latest.models:
                out.setdefault(usage.model, ModelTotals(usage.model)).add(usage)
            if since is None:
                continue
            times = [s.observed_at for s in history]
            index = bisect.bisect_right(times, since) - 1
            if index < 0:
                continue  # the replica's whole history is inside the window
            baseline = history[index]
            if baseline.started_at != latest.started_at:
                continue  # restarted within the window: its counters began at zero
            for usage in baseline.models:
                out.setdefault(usage.model, ModelTotals(usage.model)).add(usage, -1)
        return [out[name] for name in sorted(out)]
