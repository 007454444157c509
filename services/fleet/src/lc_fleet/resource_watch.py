"""List, then watch, one kind of custom object, forever: the reflector loop.

Who calls it: `aggregator` runs one for the engine's GPU objects and one for its Models.

Each `ResourceWatch` lists every object (page by page) and hands the whole set to its sink
(`replace`), then watches from the list's `resourceVersion`, handing each event over
(`upsert` / `delete`). When a watch ends (server timeout, dropped connection) it resumes
from the last version it saw, so nothing is missed or repeated; when the server answers
410 Gone (that version is no longer kept) it lists again, and the sink works out what
changed. Any other failure is retried with capped, jittered exponential back-off.

Failures handled here, none of which escape `run`:
    WatchGone              410 on a list continuation or a watch: relist now
    ApiException           the API server refused (5xx, 429, 403...): back off, retry
    aiohttp.ClientError    connection refused / reset / closed mid-stream: back off, retry
    asyncio.TimeoutError   no byte for longer than the watch can last: retry
    anything else          logged with its traceback, then back off and list again
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio.client import ApiException, CustomObjectsApi

log = logging.getLogger(__name__)

# Extra time past the watch's own server-side timeout before a silent connection is dropped.
READ_GRACE_S = 30.0
# A watch that ends this soon after it began, having delivered nothing, is treated as a
# failure (back off) rather than a normal renewal, so a server that closes every watch at
# once cannot spin this loop.
MIN_HEALTHY_WATCH_S = 1.0


class ObjectSink(Protocol):
    """Where listed and watched objects go."""

    def replace(self, objects: list[Mapping[str, Any]]) -> None: ...
    def upsert(self, obj: Mapping[str, Any]) -> None: ...
    def delete(self, obj: Mapping[str, Any]) -> None: ...


class WatchGone(Exception):
    """The version we resume from is no longer kept by the server: relist."""


@dataclass
class WatchStats:
    """Counters a test or a log line can read to see how the loop fared."""

    lists: int = 0
    watches: int = 0
    gone: int = 0
    failures: int = 0
    events: int = 0


@dataclass(frozen=True)
class CustomResource:
    group: str
    version: str
    plural: str

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}/{self.version}"


class Backoff:
    """Capped exponential back-off with full jitter."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._initial = initial_s
        self._max = max_s
        self._next = initial_s

    def reset(self) -> None:
        self._next = self._initial

    def delay(self) -> float:
        current = self._next
        self._next = min(self._next * 2, self._max)
        return random.uniform(current / 2, current)


class ResourceWatch:
    def __init__(
        self,
        api: CustomObjectsApi,
        resource: CustomResource,
        sink: ObjectSink,
        *,
        on_change: Callable[[], None] = lambda: None,
        page_size: int = 500,
        watch_timeout_s: int = 300,
        backoff: Backoff | None = None,
    ) -> None:
        self._api = api
        self.resource = resource
        self._sink = sink
        self._on_change = on_change
        self._page_size = page_size
        self._watch_timeout_s = watch_timeout_s
        self._backoff = backoff or Backoff(0.2, 10.0)
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
                    self._backoff.reset()
                await self._watch(version)
            except WatchGone:
                self.stats.gone += 1
                log.info(
                    "%s: resourceVersion %s expired, listing again", self.resource, self.version
                )
                self.version = None
            except (TimeoutError, ApiException, aiohttp.ClientError, ValueError) as exc:
                self.stats.failures += 1
                delay = self._backoff.delay()
                log.warning("%s: %s; retrying in %.2fs", self.resource, _describe(exc), delay)
                await asyncio.sleep(delay)
            except Exception:
                # Something this loop does not expect (a malformed object, say): the watch
                # must outlive it, so log it loudly and start over from a fresh list.
                self.stats.failures += 1
                delay = self._backoff.delay()
                log.exception("%s: unexpected failure; listing again in %.2fs", self.resource, delay)
                self.version = None
                await asyncio.sleep(delay)

    async def _list(self) -> str:
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": self._page_size}
            if token:
                kwargs["_continue"] = token
            try:
                page = await self._api.list_cluster_custom_object(
                    self.resource.group, self.resource.version, self.resource.plural, **kwargs
                )
            except ApiException as exc:
                if exc.status == 410 and token:
                    # The continuation expired; a consistent list needs a fresh start.
                    items, token = [], None
                    continue
                raise
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                version = str(meta.get("resourceVersion") or "")
                break
        self._sink.replace(items)
        self.version = version
        self.stats.lists += 1
        self.synced.set()
        self._on_change()
        log.debug("%s: listed %d objects at version %s", self.resource, len(items), version)
        return version

    async def _watch(self, version: str) -> None:
        """Follow changes after `version` until the server ends the watch.

        `self.version` follows every event handed over, so whatever ends the watch (even a
        failure mid-stream), the next one resumes right after the last change applied.
        """
        self.stats.watches += 1
        started = time.monotonic()
        delivered = 0
        response = await self._api.list_cluster_custom_object(
            self.resource.group,
            self.resource.version,
            self.resource.plural,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._watch_timeout_s,
            _preload_content=False,
            _request_timeout=aiohttp.ClientTimeout(
                sock_connect=10.0, sock_read=self._watch_timeout_s + READ_GRACE_S
            ),
        )
        try:
            if response.status == 410:
                raise WatchGone()
            if not 200 <= response.status <= 299:
                raise ApiException(status=response.status, reason=response.reason)
            async for line in response.content:
                if not line.strip():
                    continue
                self._handle(json.loads(line))
                delivered += 1
        finally:
            response.release()
        if delivered:
            self._backoff.reset()
        elif time.monotonic() - started < MIN_HEALTHY_WATCH_S:
            raise aiohttp.ServerDisconnectedError("watch closed at once")

    def _handle(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise WatchGone()
            raise ApiException(status=code or 500, reason=str(obj.get("message") or obj))
        seen = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            pass
        elif kind in ("ADDED", "MODIFIED"):
            self._sink.upsert(obj)
        elif kind == "DELETED":
            self._sink.delete(obj)
        else:
            log.warning("%s: ignoring watch event of type %r", self.resource, kind)
            return
        if seen:
            self.version = str(seen)
        if kind != "BOOKMARK":
            self.stats.events += 1
            self._on_change()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"API server answered {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
