"""Keep a local mirror of one kind's objects: the `lc_kubewatch` reflector over our
`KubeClient`, filtered by a label selector.

Callers: the runtime, for the status reporter's Models and Deployments it owns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from lc_kubewatch import Backoff, Obj, ObjectSink, Reflector, WatchGone
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.errors import KubeError
from lc_reconciler.kube.resources import Kind


class KindSource:
    expected: tuple[type[BaseException], ...] = (KubeError,)

    def __init__(self, kube: KubeClient, kind: Kind, label_selector: str) -> None:
        self._kube = kube
        self._kind = kind
        self._label_selector = label_selector
        self.name = kind.plural

    async def list(self) -> tuple[list[Obj], str]:
        items, version = await self._kube.list(self._kind, label_selector=self._label_selector)
        return list(items), version

    async def watch(self, resource_version: str, timeout_s: int) -> AsyncIterator[tuple[str, Obj]]:
        try:
            async for type_, obj in self._kube.watch(
                self._kind,
                resource_version=resource_version,
                label_selector=self._label_selector,
                timeout_s=timeout_s,
            ):
                yield type_, obj
        except KubeError as exc:
            if exc.status == 410:
                raise WatchGone() from None
            raise


class ObjectWatch(Reflector):
    """List, then watch from the list's resourceVersion, resume from the last version seen
    when the stream ends or drops, and list again when the server answers 410 Gone."""

    def __init__(
        self,
        kube: KubeClient,
        kind: Kind,
        label_selector: str,
        sink: ObjectSink,
        *,
        backoff: Backoff | None = None,
        timeout_s: int = 300,
    ) -> None:
        super().__init__(
            KindSource(kube, kind, label_selector),
            sink,
            watch_timeout_s=timeout_s,
            backoff=backoff or Backoff(0.05, 5.0),
        )
        self.kind = kind

    @property
    def resumes(self) -> int:
        return self.stats.resumes
