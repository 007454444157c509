"""The reflector: list every object, hand the set to a sink, then watch from the list's
resourceVersion and hand each change over.

When a watch ends (server timeout, dropped connection) the loop resumes from the last
version it saw, so nothing is missed or repeated; when the server answers 410 Gone (that
version is no longer kept) it lists again and the sink works out what changed. Any other
failure is retried with capped, jittered exponential back-off. Nothing escapes `run` but
cancellation.

Failures, as a source reports them:
    WatchGone         410 on a watch (as an HTTP status or an ERROR event): list now
    WatchError        any other ERROR event: back off, resume
    source.expected   what the source's client raises when the server refuses or the
                      connection drops: back off, resume from the last version
    anything else     logged with its traceback, then back off and list again
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lc_runtime.cancellation import raise_if_cancelled
from lc_runtime.logs import bind

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]

# A watch that ends this soon after it began, having delivered nothing, is treated as a
# failure (back off) rather than a normal renewal, so a server that closes every watch at
# once cannot spin this loop.
MIN_HEALTHY_WATCH_S = 1.0


class WatchGone(Exception):
    """The version we resume from is no longer kept by the server: relist."""


class WatchError(Exception):
    """The server ended a watch with an ERROR event other than 410."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"watch error {code}: {message}")
        self.code = code


class WatchSource(Protocol):
    """One kind of object as a client lists and watches it."""

    name: str
    """What log lines call it, e.g. `gpus.engine.example.com/v1`."""
    expected: tuple[type[BaseException], ...]
    """Failures the client raises when the server refuses or a connection drops."""

    async def list(self) -> tuple[list[Obj], str]:
        """Every object, and the list's resourceVersion."""
        ...

    def watch(self, resource_version: str, timeout_s: int) -> AsyncIterator[tuple[str, Obj]]:
        """(type, object) for each change after `resource_version`, ERROR and BOOKMARK
        events included, until the server ends the watch. Raises `WatchGone` on a 410."""
        ...


class ObjectSink(Protocol):
    """Where listed and watched objects go."""

    def replace(self, objects: list[Obj]) -> None: ...
    def upsert(self, obj: Obj) -> None: ...
    def delete(self, obj: Obj) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Capped exponential back-off with jitter: the delay before retry `failures + 1`."""

    initial_s: float = 0.2
    max_s: float = 10.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class WatchStats:
    """Counters a test or a log line can read to see how the loop fared."""

    lists: int = 0
    watches: int = 0
    resumes: int = 0
    """Watches started from the last version seen rather than from a fresh list."""
    gone: int = 0
    failures: int = 0
    events: int = 0


class Reflector:
    def __init__(
        self,
        source: WatchSource,
        sink: ObjectSink,
        *,
        on_change: Callable[[], None] = lambda: None,
        watch_timeout_s: int = 300,
        backoff: Backoff | None = None,
    ) -> None:
        self.source = source
        self._sink = sink
        self._on_change = on_change
        self._watch_timeout_s = watch_timeout_s
        self._backoff = backoff or Backoff()
        self._failures = 0
        self.synced = asyncio.Event()
        """Set once the first list has reached the sink."""
        self.stats = WatchStats()
        self.version: str | None = None
        """The last resourceVersion handed to the sink (None: list before watching)."""

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            try:
                version = self.version
                if version is None:
                    version = await self._list()
                else:
                    self.stats.resumes += 1
                await self._watch(version)
            except WatchGone:
                self.stats.gone += 1
                log.info(
                    "%s: resourceVersion %s expired, listing again", self.source.name, self.version
                )
                self.version = None
            except Exception as exc:
                raise_if_cancelled(exc)
                self.stats.failures += 1
                self._failures += 1
                delay = self._backoff.delay(self._failures)
                if isinstance(exc, (WatchError, *self.source.expected)):
                    log.warning(
                        "%s: %s; retrying in %.2fs", self.source.name, _describe(exc), delay
                    )
                else:
                    # Something this loop does not expect (a malformed object, say): the
                    # watch must outlive it, so log it loudly and start over from a list.
                    log.exception(
                        "%s: unexpected failure; listing again in %.2fs", self.source.name, delay
                    )
                    self.version = None
                await asyncio.sleep(delay)

    async def _list(self) -> str:
        items, version = await self.source.list()
        self._sink.replace(items)
        self.version = version
        self._failures = 0
        self.stats.lists += 1
        self.synced.set()
        self._on_change()
        log.debug("%s: listed %d objects at version %s", self.source.name, len(items), version)
        return version

    async def _watch(self, version: str) -> None:
        """Follow changes after `version` until the server ends the watch.

        `self.version` follows every event handed over, so whatever ends the watch (even a
        failure mid-stream), the next one resumes right after the last change applied.
        """
        self.stats.watches += 1
        started = time.monotonic()
        delivered = 0
        async for type_, obj in self.source.watch(version, self._watch_timeout_s):
            self._handle(type_, obj)
            delivered += 1
        if delivered:
            self._failures = 0
        elif time.monotonic() - started < MIN_HEALTHY_WATCH_S:
            raise WatchError(0, "watch closed at once")

    def _handle(self, type_: str, obj: Obj) -> None:
        if type_ == "ERROR":
            code = int(obj.get("code") or 500)
            if code == 410:
                raise WatchGone()
            raise WatchError(code, str(obj.get("message") or obj))
        metadata = obj.get("metadata") or {}
        seen = metadata.get("resourceVersion")
        with bind(
            watch=self.source.name,
            watch_event=type_,
            object=f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}",
            resource_version=seen,
        ):
            if type_ == "BOOKMARK":
                pass
            elif type_ in ("ADDED", "MODIFIED"):
                self._sink.upsert(obj)
            elif type_ == "DELETED":
                self._sink.delete(obj)
            else:
                log.warning("%s: ignoring watch event of type %r", self.source.name, type_)
                return
        if seen:
            self.version = str(seen)
        if type_ != "BOOKMARK":
            self.stats.events += 1
            self._on_change()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
