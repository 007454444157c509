"""Apply and prune: make the cluster match the desired state, one key at a time.

Who calls it: the runner feeds it the keys the event feed touches and asks for a full
resync at start and every `resync_interval_s`; workers take keys from its queue.

Keys are `("project", slug)`, `("service", slug, name)` and `("resync",)`. A key is
never processed by two workers at once, so a service's apply and prune never race with
each other. Kubernetes errors that may pass (409, 429, 5xx, connection loss) requeue the
key with back-off; anything else is recorded as the service's rejection (its status shows
Failed with the server's message) and retried slowly, in case the cluster changes.

The resync lists every managed object once per kind, rebuilds the inventory (which
objects exist per service) and queues only the keys whose objects are missing, drifted
(an edited managed field) or orphaned, so a resync of an unchanged cluster costs one list
per kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from lc_contracts.engine import LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_SERVICE, MANAGED_BY_VALUE
from lc_contracts.sealing import SealingError, SecretKey
from lc_reconciler.cancellation import stop_if_cancelled
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.compiler import (
    LABEL_SECRET,
    Manifest,
    compile_namespace,
    compile_secret,
    compile_service,
    secret_object_name,
    with_secret_versions,
)
from lc_reconciler.domain.desired_state import DesiredState, ServiceKey, Touched
from lc_reconciler.domain.naming import namespace_name
from lc_reconciler.domain.objects import ObjectRef, drifted
from lc_reconciler.domain.platform import PlatformConfig
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.errors import KubeError, PermanentKubeError, TransientKubeError
from lc_reconciler.kube.resources import NAMESPACE, SECRET, kind_of, service_kinds
from lc_reconciler.work_queue import WorkQueue

log = logging.getLogger(__name__)

WorkKey = tuple[str, ...]
RESYNC: Final[WorkKey] = ("resync",)
MANAGED_SELECTOR: Final = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
# Namespaces a project may map onto but that must outlive it.
PROTECTED_NAMESPACES: Final = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease"}
)


def project_key(slug: str) -> WorkKey:
    return ("project", slug)


def service_key(key: ServiceKey) -> WorkKey:
    return ("service", *key)


class Reconciler:
    def __init__(
        self,
        kube: KubeClient,
        platform: PlatformConfig,
        state: DesiredState,
        *,
        backoff: Backoff | None = None,
        on_service_reconciled: Callable[[ServiceKey], None] | None = None,
        secret_key: SecretKey | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.kube = kube
        self.platform = platform
        self.state = state
        self.backoff = backoff or Backoff()
        self.queue: WorkQueue[WorkKey] = WorkQueue()
        self.inventory: dict[ServiceKey, set[ObjectRef]] = {}
        self.rejections: dict[ServiceKey, str] = {}
        self.resyncs = 0
        self.retries = 0
        self._namespaces: set[str] = set()
        self._failures: dict[WorkKey, int] = {}
        self._on_service_reconciled = on_service_reconciled or (lambda key: None)
        self._kinds = {
            (k.api_version, k.kind): k for k in (*service_kinds(platform), NAMESPACE, SECRET)
        }

    # -- triggers ------------------------------------------------------------------

    def touched(self, touched: Touched) -> None:
        for slug in sorted(touched.projects):
            self.queue.add(project_key(slug))
        for key in sorted(touched.services):
            self.queue.add(service_key(key))

    def request_resync(self) -> None:
        self.queue.add(RESYNC)

    # -- workers -------------------------------------------------------------------

    async def run_workers(self, count: int) -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(self._work())

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: WorkKey) -> None:
        """Reconcile one key; requeue it with back-off when the API server is unwell."""
        try:
            if key == RESYNC:
                await self.resync()
            elif key[0] == "project":
                await self.reconcile_project(key[1])
            else:
                await self.reconcile_service((key[1], key[2]))
        except KubeError as exc:
            stop_if_cancelled()
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            self.retries += 1
            if isinstance(exc, TransientKubeError):
                delay = self.backoff.delay(failures, retry_after=exc.retry_after)
            else:
                delay = self.backoff.max_s
            log.warning(
                "reconcile %s failed (attempt %d, retry in %.2fs): %s", key, failures, delay, exc
            )
            self.queue.add_after(key, delay)
        else:
            self._failures.pop(key, None)

    # -- projects ------------------------------------------------------------------

    def _namespace(self, slug: str) -> str:
        return namespace_name(self.platform.namespace_prefix, slug)

    async def _ensure_namespace(self, slug: str) -> None:
        name = self._namespace(slug)
        if name in self._namespaces:
            return
        await self.kube.apply(NAMESPACE, compile_namespace(slug, self.platform))
        self._namespaces.add(name)

    async def reconcile_project(self, slug: str) -> None:
        if slug in self.state.projects:
            await self._ensure_namespace(slug)
            await self._reconcile_secrets(slug)
            return
        namespace = self._namespace(slug)
        self._namespaces.discard(namespace)
        selector = f"{MANAGED_SELECTOR},{LABEL_PROJECT}={slug}"
        for kind in service_kinds(self.platform):
            items, _ = await self.kube.list(kind, namespace=namespace, label_selector=selector)
            await self._delete_all([ObjectRef.of(item) for item in items])
        for key in [k for k in self.inventory if k[0] == slug]:
            del self.inventory[key]
        if namespace not in PROTECTED_NAMESPACES:
            live = await self.kube.get(NAMESPACE, None, namespace)
            labels = ((live or {}).get("metadata") or {}).get("labels") or {}
            if live is not None and labels.get(LABEL_PROJECT) == slug:
                await self.kube.delete(NAMESPACE, None, namespace)

    async def _reconcile_secrets(self, slug: str) -> None:
        """Write the project's secrets as Kubernetes Secrets; delete those it no longer has.

        Values are opened here, in memory, just before the apply; nothing is logged but
        names. Without LC_SECRET_KEY (or with another key) the Secrets are left as they
        are and the reason is logged: a container referring to one will not start.
        """
        wanted: set[str] = set()
        for secret in self.state.secrets_of(slug):
            wanted.add(secret_object_name(secret.name))
            if self.secret_key is None:
                log.error(
                    "cannot write secret '%s' of project '%s': the reconciler has no "
                    "LC_SECRET_KEY (give it lcd's)",
                    secret.name,
                    slug,
                )
                continue
            try:
                value = self.secret_key.open(slug, secret.name, secret.sealed)
            except SealingError as exc:
                log.error("cannot write a project secret: %s", exc)
                continue
            await self.kube.apply(
                SECRET, compile_secret(slug, secret.name, value, secret.version, self.platform)
            )
        selector = f"{MANAGED_SELECTOR},{LABEL_PROJECT}={slug}"
        items, _ = await self.kube.list(
            SECRET, namespace=self._namespace(slug), label_selector=selector
        )
        stale = [
            ObjectRef.of(item)
            for item in items
            if LABEL_SECRET in ((item.get("metadata") or {}).get("labels") or {})
            and ObjectRef.of(item).name not in wanted
        ]
        await self._delete_all(stale)

    # -- services ------------------------------------------------------------------

    def compiled(self, key: ServiceKey) -> list[Manifest]:
        record = self.state.services.get(key)
        if record is None or not self.state.is_live(key):
            return []
        manifests = compile_service(
            record.project_slug,
            record.spec,
            record.revision,
            self.state.verified_domains(key),
            self.platform,
        )
        versions = self.state.secret_versions(record.project_slug)
        return with_secret_versions(manifests, record.spec, versions)

    async def reconcile_service(self, key: ServiceKey) -> None:
        try:
            await self._reconcile_service(key)
        finally:
            self._on_service_reconciled(key)

    async def _reconcile_service(self, key: ServiceKey) -> None:
        manifests = self.compiled(key)
        wanted = {ObjectRef.of(m) for m in manifests}
        if manifests:
            await self._ensure_namespace(key[0])
            results = await asyncio.gather(
                *(self.kube.apply(kind_of(m, self.platform), m) for m in manifests),
                return_exceptions=True,
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            known = self.inventory.setdefault(key, set())
            known.update(
                ObjectRef.of(m)
                for m, r in zip(manifests, results, strict=True)
                if not isinstance(r, BaseException)
            )
            self._raise_first(key, errors)
        self.rejections.pop(key, None)
        stale = sorted(self.inventory.get(key, set()) - wanted)
        await self._delete_all(stale)
        if wanted:
            self.inventory[key] = wanted
        else:
            self.inventory.pop(key, None)

    def _raise_first(self, key: ServiceKey, errors: Sequence[BaseException]) -> None:
        if not errors:
            return
        transient = [e for e in errors if isinstance(e, TransientKubeError)]
        if transient:
            raise transient[0]
        first = errors[0]
        if isinstance(first, PermanentKubeError):
            self.rejections[key] = str(first)
            raise first
        raise first

    async def _delete_all(self, refs: Sequence[ObjectRef]) -> None:
        results = await asyncio.gather(
            *(
                self.kube.delete(self._kinds[(r.api_version, r.kind)], r.namespace or None, r.name)
                for r in refs
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    # -- resync ----------------------------------------------------------------------

    async def resync(self) -> None:
        """List everything we manage, rebuild the inventory, queue what differs."""
        kinds = service_kinds(self.platform)
        listed = await asyncio.gather(
            *(self.kube.list(kind, label_selector=MANAGED_SELECTOR) for kind in (*kinds, NAMESPACE))
        )
        live: dict[ServiceKey, dict[ObjectRef, dict[str, Any]]] = {}
        for items, _ in listed[:-1]:
            for item in items:
                labels = (item.get("metadata") or {}).get("labels") or {}
                project, service = labels.get(LABEL_PROJECT), labels.get(LABEL_SERVICE)
                if project and service:
                    live.setdefault((project, service), {})[ObjectRef.of(item)] = item
        self.inventory = {key: set(objects) for key, objects in live.items()}
        for key in sorted(live.keys() | self.state.services.keys()):
            if self._differs(key, live.get(key, {})):
                self.queue.add(service_key(key))
        namespaces, _ = listed[-1]
        self._resync_namespaces(namespaces)
        # Project secrets are re-applied (a no-op when unchanged), so a Secret deleted or
        # edited by hand comes back.
        for slug in sorted({slug for slug, _ in self.state.secrets} & self.state.projects):
            self.queue.add(project_key(slug))
        self.resyncs += 1

    def _differs(self, key: ServiceKey, live: dict[ObjectRef, dict[str, Any]]) -> bool:
        manifests = self.compiled(key)
        if {ObjectRef.of(m) for m in manifests} != set(live):
            return True
        return any(drifted(m, live[ObjectRef.of(m)]) for m in manifests)

    def _resync_namespaces(self, namespaces: list[dict[str, Any]]) -> None:
        present: set[str] = set()
        for item in namespaces:
            meta = item.get("metadata") or {}
            slug = (meta.get("labels") or {}).get(LABEL_PROJECT)
            if not slug:
                continue
            if slug not in self.state.projects and meta.get("deletionTimestamp") is None:
                self.queue.add(project_key(slug))
            elif meta.get("name") == self._namespace(slug):
                present.add(meta["name"])
        self._namespaces = present
        for slug in sorted(self.state.projects):
            if self._namespace(slug) not in present:
                self.queue.add(project_key(slug))
