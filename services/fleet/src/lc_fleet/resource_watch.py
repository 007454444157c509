"""The engine's custom objects as a `lc_kubewatch` source: paged lists and watch streams
through kubernetes-asyncio's `CustomObjectsApi`.

Who calls it: `aggregator` runs one `ResourceWatch` for the engine's GPU objects and one
for its Models. The loop (resume, relist on 410, back-off) is `lc_kubewatch.Reflector`;
this module only speaks to the API server:

    410 on a list continuation   list again from the first page
    410 on a watch               WatchGone: the reflector lists again
    ApiException                 the API server refused (5xx, 429, 403...): back off, retry
    aiohttp.ClientError          connection refused / reset / closed mid-stream: back off
    asyncio.TimeoutError         no byte for longer than the watch can last: retry
    ValueError                   a line that is not JSON: back off, resume
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio.client import ApiException, CustomObjectsApi

from lc_kubewatch import Backoff, Obj, ObjectSink, Reflector, WatchGone

__all__ = ["Backoff", "CustomResource", "ObjectSink", "ResourceWatch"]

# Extra time past the watch's own server-side timeout before a silent connection is dropped.
READ_GRACE_S = 30.0


@dataclass(frozen=True)
class CustomResource:
    group: str
    version: str
    plural: str

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}/{self.version}"


class CustomObjectsSource:
    expected: tuple[type[BaseException], ...] = (
        TimeoutError,
        ApiException,
        aiohttp.ClientError,
        ValueError,
    )

    def __init__(self, api: CustomObjectsApi, resource: CustomResource, page_size: int) -> None:
        self._api = api
        self.resource = resource
        self.name = str(resource)
        self._page_size = page_size

    async def list(self) -> tuple[list[Obj], str]:
        items: list[Obj] = []
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
                return items, str(meta.get("resourceVersion") or "")

    async def watch(self, resource_version: str, timeout_s: int) -> AsyncIterator[tuple[str, Obj]]:
        response = await self._api.list_cluster_custom_object(
            self.resource.group,
            self.resource.version,
            self.resource.plural,
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout_s,
            _preload_content=False,
            _request_timeout=aiohttp.ClientTimeout(
                sock_connect=10.0, sock_read=timeout_s + READ_GRACE_S
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
                event = json.loads(line)
                yield str(event.get("type")), event.get("object") or {}
        finally:
            response.release()


class ResourceWatch(Reflector):
    """A reflector over one kind of the engine's custom objects."""

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
        super().__init__(
            CustomObjectsSource(api, resource, page_size),
            sink,
            on_change=on_change,
            watch_timeout_s=watch_timeout_s,
            backoff=backoff or Backoff(0.2, 10.0),
        )
        self.resource = resource
