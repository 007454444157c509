"""A keyed work queue in the manner of client-go's: a key waiting is queued once, a key
being processed is never handed to a second worker, and a key added while it is being
processed runs again afterwards. Delayed adds implement back-off.

Callers: the reconcile worker (producer: event feed, resync, retries; consumers: workers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self) -> None:
        self._queued: dict[K, None] = {}
        self._processing: set[K] = set()
        self._again: set[K] = set()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._timers: set[asyncio.TimerHandle] = set()

    def __len__(self) -> int:
        return len(self._queued) + len(self._processing)

    def add(self, key: K) -> None:
        if key in self._processing:
            self._again.add(key)
            return
        if key not in self._queued:
            self._queued[key] = None
            self._idle.clear()
            self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    async def get(self) -> K:
        while not self._queued:
            self._wakeup.clear()
            await self._wakeup.wait()
        key = next(iter(self._queued))
        del self._queued[key]
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)
        if not self._queued and not self._processing:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Until nothing is queued or being processed (keys waiting on a back-off timer aside)."""
        await self._idle.wait()

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
