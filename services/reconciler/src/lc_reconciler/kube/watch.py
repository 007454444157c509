"""Keep a local mirror of one kind's objects: list, then watch from the list's
resourceVersion, resume from the last version seen when the stream ends or drops, and
list again when the server answers 410 Gone.

Callers: the status reporter (Models and Deployments it owns).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from lc_reconciler.cancellation import stop_if_cancelled
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.errors import KubeError
from lc_reconciler.kube.resources import Kind

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class Gone(Exception):
    """The version we watched from is older than the server's history."""


class ObjectWatch:
    def __init__(
        self,
        kube: KubeClient,
        kind: Kind,
        label_selector: str,
        *,
        on_relist: Callable[[list[Obj]], None],
        on_event: Callable[[str, Obj], None],
        backoff: Backoff | None = None,
        timeout_s: int = 300,
    ) -> None:
        self.kube = kube
        self.kind = kind
        self.label_selector = label_selector
        self._on_relist = on_relist
        self._on_event = on_event
        self._backoff = backoff or Backoff(max_s=5.0)
        self._timeout_s = timeout_s
        self.resource_version = ""
        self.lists = 0
        self.resumes = 0
        self.synced = asyncio.Event()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                if not self.resource_version:
                    items, self.resource_version = await self.kube.list(
                        self.kind, label_selector=self.label_selector
                    )
                    self.lists += 1
                    self._on_relist(items)
                    self.synced.set()
                else:
                    self.resumes += 1
                await self._follow()
                failures = 0
            except Gone:
                log.info(
                    "watch of %s expired at %s; listing again",
                    self.kind.plural,
                    self.resource_version,
                )
                self.resource_version = ""
            except KubeError as exc:
                stop_if_cancelled()
                failures += 1
                delay = self._backoff.delay(failures)
                log.warning(
                    "watch of %s failed, retrying in %.2fs: %s", self.kind.plural, delay, exc
                )
                await asyncio.sleep(delay)

    async def _follow(self) -> None:
        async for type_, obj in self.kube.watch(
            self.kind,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            timeout_s=self._timeout_s,
        ):
            if type_ == "ERROR":
                if obj.get("code") == 410:
                    raise Gone()
                raise KubeError(
                    f"watch of {self.kind.plural}: {obj.get('message')}", int(obj.get("code") or 0)
                )
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                self.resource_version = str(version)
            if type_ != "BOOKMARK":
                self._on_event(type_, obj)
