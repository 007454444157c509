"""Which delivery process delivers for which subscription: a share of the subscriptions
by a stable hash of their ids, so every process (and every restart of one) agrees on the
owner of a subscription without asking the others.

Each subscription is owned by exactly one process of a worker, so its durable consumer
is read by one courier at a time: in order, never twice at once.

Callers: the settings (the default count), the worker (which couriers it starts), the
delivery processes' supervisor (one share per child).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

MAX_DEFAULT_PROCESSES = 8


def owner(subscription_id: str, count: int) -> int:
    """The index of the share (0 … count-1) that delivers for the subscription."""
    digest = hashlib.blake2b(subscription_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


@dataclass(frozen=True)
class Share:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"share {self.index} of {self.count} does not exist")

    def owns(self, subscription_id: str) -> bool:
        return self.count == 1 or owner(subscription_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


EVERY_SUBSCRIPTION = Share(0, 1)


def default_processes() -> int:
    """The CPUs this process may run on, at most `MAX_DEFAULT_PROCESSES`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_PROCESSES))
