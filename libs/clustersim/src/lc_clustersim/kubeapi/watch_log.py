"""The log of the last `window` changes to the emulated cluster, and who listens to it.

Who calls it: the object store appends each change (`emit`); watches (`http_server`) and
the simulated controllers `subscribe` and read `events_since` a version. A version older
than the window answers 410 Gone, as a real API server's compacted history does.
Listeners are called synchronously with each change, in order, so a watch that
subscribes and then reads `events_since` in one step can neither miss nor repeat an event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lc_clustersim.kubeapi.errors import gone
from lc_clustersim.kubeapi.resources import ResourceKey
from lc_clustersim.kubeapi.stored import StoredObject

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"


@dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    type: str
    resource: ResourceKey
    obj: StoredObject
    old: StoredObject | None
    """The previous version, so a filtered watch can turn 'left the selector' into DELETED."""


Listener = Callable[[WatchEvent], None]


class WatchLog:
    def __init__(self, window: int) -> None:
        self._events: deque[WatchEvent] = deque(maxlen=window)
        self._listeners: list[Listener] = []

    @property
    def maxlen(self) -> int:
        """How many changes the log keeps (the window)."""
        return self._events.maxlen or 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def events_since(self, resource_version: int, current: int) -> list[WatchEvent]:
        """Every change after `resource_version` (the cluster is at `current`); 410 Gone if
        the log no longer has them."""
        if resource_version >= current:
            return []
        oldest = self._events[0].resource_version if self._events else current + 1
        if resource_version < oldest - 1:
            raise gone(f"too old resource version: {resource_version} ({oldest - 1})")
        return [e for e in self._events if e.resource_version > resource_version]

    def emit(
        self, type_: str, key: ResourceKey, stored: StoredObject, old: StoredObject | None
    ) -> None:
        event = WatchEvent(stored.resource_version, type_, key, stored, old)
        self._events.append(event)
        for listener in list(self._listeners):
            listener(event)
