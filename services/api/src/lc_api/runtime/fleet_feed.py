"""The fleet view lcd serves, kept in memory from LC_STATUS, and the stream clients to notify.

The fleet is observed state: the fleet aggregator publishes one snapshot per GPU on
LC_STATUS (`lc.status.gpu.<node>.<uuid>`, a tombstone when a GPU leaves). `Runtime` starts
`FleetFeed.follow` with its other tasks (and restarts it after a failure: a new pass reads
the latest snapshot of every GPU again, tombstones included, so the view converges on what
changed meanwhile without being rebuilt). The fleet routes (`lc_api.api.routes.fleet`)
read `view` and subscribe to changes; nothing touches Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from nats.js import JetStreamContext
from pydantic import ValidationError

from lc_api.runtime.fleet_view import FleetView, GpuChange
from lc_contracts.fleet import GPU_STATUS, GpuSnapshot
from lc_eventstore import StoredMessage, follow_status

log = logging.getLogger(__name__)

MAX_BACKLOG: Final = 10_000
"""Changes queued for one stream client before it is sent the whole view again instead."""


@dataclass(frozen=True)
class Broadcast:
    """One change, as every stream client receives it."""

    change: GpuChange
    current: bytes | None  # the new snapshot's JSON, if any
    removal: bytes  # the JSON of a tombstone of the GPU, for clients that must drop it


class Subscriber:
    """One stream client's queue of changes; `lagged` once it fell too far behind."""

    def __init__(self) -> None:
        self.backlog: deque[Broadcast] = deque()
        self.lagged = False
        self.wake = asyncio.Event()

    def push(self, item: Broadcast) -> None:
        # A client this far behind gets the whole view again; until then, queue nothing.
        if not self.lagged and len(self.backlog) >= MAX_BACKLOG:
            self.backlog.clear()
            self.lagged = True
        if not self.lagged:
            self.backlog.append(item)
        self.wake.set()


class FleetFeed:
    """The fleet view, folded from LC_STATUS, and the stream clients to notify."""

    def __init__(self) -> None:
        self.view = FleetView()
        self.bootstrapped = asyncio.Event()
        self._subscribers: set[Subscriber] = set()

    def apply(self, messages: Iterable[StoredMessage]) -> None:
        for message in messages:
            if not message.data:
                continue
            try:
                change = self.view.apply_json(message.data)
            except ValidationError as exc:
                log.warning("ignoring unreadable GPU snapshot on %s: %s", message.subject, exc)
                continue
            if change is not None and self._subscribers:
                self._broadcast(change)

    def _broadcast(self, change: GpuChange) -> None:
        current = change.current
        last = current or change.previous
        assert last is not None
        item = Broadcast(
            change,
            current=_json(current) if current is not None else None,
            removal=_json(last.tombstone(last.observed_at)),
        )
        for subscriber in self._subscribers:
            subscriber.push(item)

    async def follow(self, js: JetStreamContext) -> None:
        """Fold LC_STATUS's GPU snapshots in until cancelled (or until reading fails)."""
        async for batch in follow_status(js, GPU_STATUS):
            if not batch:
                self.bootstrapped.set()
            self.apply(batch)

    @contextlib.contextmanager
    def subscription(self) -> Iterator[Subscriber]:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def _json(snapshot: GpuSnapshot) -> bytes:
    return snapshot.model_dump_json(by_alias=True, exclude_none=True).encode()
