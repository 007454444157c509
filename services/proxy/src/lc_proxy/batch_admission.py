"""How many batch requests a model may have in flight, and which batch sends next.

Who calls it: the dispatcher, before it sends each batch request. Pure.

Interactive first: a model's batch budget is `per_replica` requests per ready replica,
minus the interactive requests this proxy has in flight for that model, so the budget
shrinks while interactive traffic is waiting and batch requests never take a slot an
interactive request wants. Interactive requests themselves are never queued by the
proxy: they go straight to the least loaded replica, so they cannot wait behind batch
requests inside lc-proxy.

Fair: `next_turn` walks the batches round-robin, skipping those whose model has no room,
so a huge batch and a small one (or batches for two models) advance side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def batch_budget(*, replicas: int, per_replica: int, interactive_in_flight: int) -> int:
    """Batch requests the model may have in flight now."""
    return max(0, replicas * per_replica - interactive_in_flight)


def next_turn(
    batches: Sequence[T], start: int, has_work: Callable[[T], bool]
) -> tuple[T, int] | None:
    """The first batch from `start` (round-robin) that can send, and the next start."""
    n = len(batches)
    for step in range(n):
        position = (start + step) % n
        if has_work(batches[position]):
            return batches[position], (position + 1) % n
    return None
