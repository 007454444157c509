"""How many batch requests a model may have in flight, and which batch sends next.

Who calls it: the dispatcher, before it sends each batch request. Pure.

Interactive first: a model's batch budget is `per_replica` requests per ready replica,
minus the interactive requests this proxy has in flight for that model, so the budget
shrinks while interactive traffic is waiting and batch requests never take a slot an
interactive request wants. While interactive traffic is active (a request in flight, or
one started within the last moments), the batch keeps only `busy_share` of the capacity:
a replica serving many requests at once answers each more slowly (a GPU batches them),
so batch requests would otherwise slow interactive ones down even without taking their
slots. Within that share, `batch_pacing` narrows it further while interactive requests
answer more slowly than their recent best, and lets it grow back slowly. Interactive requests themselves are never queued by the proxy: they go straight
to the least loaded replica, so they cannot wait behind batch requests inside lc-proxy.

Fair: `next_turn` walks the batches round-robin, skipping those whose model has no room,
so a huge batch and a small one (or batches for two models) advance side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def batch_budget(
    *,
    replicas: int,
    per_replica: int,
    interactive_in_flight: int,
    interactive_active: bool = False,
    busy_share: float = 1.0,
    pacing_share: float = 1.0,
) -> int:
    """Batch requests the model may have in flight now. `pacing_share` (`batch_pacing`)
    narrows the busy share further while interactive requests are slower than usual; a
    batch keeps at least one request in flight so that it always advances."""
    capacity = replicas * per_replica
    if interactive_active or interactive_in_flight:
        capacity = max(1, math.floor(capacity * busy_share * pacing_share))
    return max(0, capacity - interactive_in_flight)


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
