"""How much of its batch capacity a model keeps, adapted to how interactive requests fare.

Who calls it: the proxy app reports each answered interactive request (`observe`); the
dispatcher asks for the share before it sends a batch request (`share`). Pure: time is
passed in.

Why: a fixed busy share still lets batches slow interactive requests down. A replica
serving more requests at once answers each more slowly (a GPU batches them; a CPU-bound
server queues them), and lc-proxy's own event loop handles batch lines between an
interactive request's steps. How much that costs depends on the hardware and the load,
so the share follows what interactive requests see, like a scavenger transport (LEDBAT)
yields to foreground traffic by watching queueing delay:

- The *base* is the fastest interactive request of the last `base_window_s` (kept as
  the minimum of a few time buckets, so it forgets an old best).
- An interactive request slower than `base * (1 + tolerance)` halves the share, at most
  once per `hold_s` (one burst of slow answers is one event, not a collapse to the floor).
- Otherwise the share grows back by `grow_per_s` per second, up to 1: slowly, so that a
  batch does not take the capacity back between two interactive requests.

The signal is the time to the first byte for a stream (what interference hurts first)
and the time per completion token for an answer read whole, each against its own base,
so that a long answer does not look like a slow one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace


@dataclass
class _Base:
    """The minimum of recent samples, bucketed by time so it forgets."""

    bucket_s: float
    buckets: int
    minima: deque[tuple[float, float]] = field(default_factory=deque)
    """(bucket start, minimum in it), oldest first."""

    def add(self, now: float, value: float) -> None:
        start = now - now % self.bucket_s
        if self.minima and self.minima[-1][0] == start:
            if value < self.minima[-1][1]:
                self.minima[-1] = (start, value)
        else:
            self.minima.append((start, value))
        while self.minima and self.minima[0][0] <= start - self.bucket_s * self.buckets:
            self.minima.popleft()

    def value(self) -> float:
        return min(m for _, m in self.minima)


@dataclass
class BatchPacing:
    """One model's batch share (0 < share <= 1) from its interactive latencies.

    `tolerance` and `grow_per_s` come from lc-proxy's settings
    (`LC_PROXY_BATCH_SLOWDOWN_TOLERANCE`, `LC_PROXY_BATCH_REGROW_S`)."""

    tolerance: float
    grow_per_s: float
    floor: float = 1 / 64
    hold_s: float = 0.5
    base_window_s: float = 60.0
    _share: float = field(default=1.0, init=False)
    _since: float | None = field(default=None, init=False)
    _last_cut: float | None = field(default=None, init=False)
    _bases: dict[str, _Base] = field(default_factory=dict, init=False)

    def share(self, now: float) -> float:
        """The share of the batch capacity to use now."""
        if self._since is None:
            return self._share
        return min(1.0, self._share + self.grow_per_s * max(0.0, now - self._since))

    def observe(self, now: float, kind: str, seconds: float) -> bool:
        """An interactive request's time (`kind`: what was timed); True if it cut the share."""
        base = self._bases.get(kind)
        if base is None:
            base = self._bases[kind] = _Base(bucket_s=self.base_window_s / 6, buckets=6)
        base.add(now, seconds)
        if seconds <= base.value() * (1.0 + self.tolerance):
            return False
        if self._last_cut is not None and now - self._last_cut < self.hold_s:
            return False
        self._share = max(self.floor, self.share(now) / 2)
        self._since = self._last_cut = now
        return True


@dataclass
class PacingByModel:
    """A `BatchPacing` per model, made on first use with the rules of `rules` (a copy of
    its settings, none of its state)."""

    rules: BatchPacing
    models: dict[str, BatchPacing] = field(default_factory=dict)

    def observe(self, model: str, now: float, kind: str, seconds: float) -> None:
        pacing = self.models.get(model)
        if pacing is None:
            pacing = self.models[model] = replace(self.rules)
        pacing.observe(now, kind, seconds)

    def share(self, model: str, now: float) -> float:
        pacing = self.models.get(model)
        return 1.0 if pacing is None else pacing.share(now)
