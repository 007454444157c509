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
(an edited managed field) or due for pruning, so a resync of an unchanged cluster costs
one list per kind.

What may be pruned is decided by `domain.prune`: only what the stream says is gone.
Objects of services with no history are orphans, kept and reported (`findings`). A resync
whose prunes would exceed `prune_guard_share` of the managed objects holds them all and
reports them instead (the deletion guard); a later event about a service decides for it
afresh. Namespaces: one is created (never adopted) for a project, and deleted with the
project only if it carries the created-by mark; a project whose namespace exists without
the mark is Failed, and so are its services.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from lc_contracts.engine import (
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    LABEL_REVISION,
    LABEL_SERVICE,
    MANAGED_BY_VALUE,
)
from lc_contracts.sealing import SealingError, SecretKey
from lc_contracts.status import foreign_namespace_message
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.compiler import (
    LABEL_SECRET,
    SHARED_NAMESPACES,
    Manifest,
    compile_namespace,
    compile_secret,
    compile_service,
    namespace_is_ours,
    secret_object_name,
    with_secret_versions,
)
from lc_reconciler.domain.desired_state import DesiredState, ServiceKey, Touched
from lc_reconciler.domain.naming import namespace_name
from lc_reconciler.domain.objects import ObjectRef, drifted
from lc_reconciler.domain.platform import PlatformConfig
from lc_reconciler.domain.prune import LiveObject, PruneGuard, PrunePlan, plan_prune
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.kube.errors import KubeError, PermanentKubeError, TransientKubeError
from lc_reconciler.kube.resources import NAMESPACE, SECRET, kind_of, service_kinds
from lc_reconciler.work_queue import WorkQueue
from lc_runtime.cancellation import raise_if_cancelled

log = logging.getLogger(__name__)

WorkKey = tuple[str, ...]
RESYNC: Final[WorkKey] = ("resync",)
MANAGED_SELECTOR: Final = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"


class ForeignNamespace(PermanentKubeError):
    """The project's namespace exists and the platform did not create it."""


def live_object(item: dict[str, Any]) -> LiveObject:
    meta = item.get("metadata") or {}
    revision = (meta.get("labels") or {}).get(LABEL_REVISION) or ""
    return LiveObject(ObjectRef.of(item), str(revision), str(meta.get("uid") or ""))


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
        guard: PruneGuard | None = None,
        on_service_reconciled: Callable[[ServiceKey], None] | None = None,
        on_findings: Callable[[], None] | None = None,
        secret_key: SecretKey | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.kube = kube
        self.platform = platform
        self.state = state
        self.backoff = backoff or Backoff()
        self.queue: WorkQueue[WorkKey] = WorkQueue()
        self.guard = guard or PruneGuard()
        self.inventory: dict[ServiceKey, dict[ObjectRef, LiveObject]] = {}
        self.rejections: dict[ServiceKey, str] = {}
        # What it found and would not act on alone (published by `findings`).
        self.orphans: dict[ServiceKey, tuple[LiveObject, ...]] = {}
        self.held: dict[ServiceKey, tuple[LiveObject, ...]] = {}
        self.foreign_namespaces: dict[str, str] = {}
        """project slug -> why its namespace cannot be used"""
        self.pruned = 0
        self.resyncs = 0
        self.retries = 0
        self._namespaces: set[str] = set()
        self._failures: dict[WorkKey, int] = {}
        self._on_service_reconciled = on_service_reconciled or (lambda key: None)
        self._on_findings = on_findings or (lambda: None)
        self._kinds = {
            (k.api_version, k.kind): k for k in (*service_kinds(platform), NAMESPACE, SECRET)
        }

    # -- triggers ------------------------------------------------------------------

    def touched(self, touched: Touched) -> None:
        for slug in sorted(touched.projects):
            self.queue.add(project_key(slug))
        for key in sorted(touched.services):
            # An event about the service decides its prunes afresh, guard or not.
            if self.held.pop(key, None) is not None:
                self._on_findings()
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
            raise_if_cancelled()
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
        """Create the project's namespace, or check that the platform created it.

        Raises ForeignNamespace (the project is Failed) when it exists without our mark.
        """
        name = self._namespace(slug)
        if name in self._namespaces:
            return
        manifest = compile_namespace(slug, self.platform)
        live = await self.kube.get(NAMESPACE, None, name)
        if live is None:
            await self.kube.create(NAMESPACE, manifest)
        elif not namespace_is_ours(live):
            message = foreign_namespace_message(name)
            if self.foreign_namespaces.get(slug) != message:
                self.foreign_namespaces[slug] = message
                self._on_findings()
            raise ForeignNamespace(message, 409)
        else:
            await self.kube.apply(NAMESPACE, manifest)
        self._namespaces.add(name)
        if self.foreign_namespaces.pop(slug, None) is not None:
            self._on_findings()

    async def reconcile_project(self, slug: str) -> None:
        if slug in self.state.projects:
            await self._ensure_namespace(slug)
            await self._reconcile_secrets(slug)
            return
        if self.foreign_namespaces.pop(slug, None) is not None:
            self._on_findings()
        namespace = self._namespace(slug)
        self._namespaces.discard(namespace)
        if slug not in self.state.deleted_projects:
            return  # a project the stream knows nothing of: its objects are orphans
        selector = f"{MANAGED_SELECTOR},{LABEL_PROJECT}={slug}"
        for kind in service_kinds(self.platform):
            items, _ = await self.kube.list(kind, namespace=namespace, label_selector=selector)
            await self._delete_all([ObjectRef.of(item) for item in items])
        for key in [k for k in self.inventory if k[0] == slug]:
            del self.inventory[key]
        if namespace not in SHARED_NAMESPACES:
            live = await self.kube.get(NAMESPACE, None, namespace)
            labels = ((live or {}).get("metadata") or {}).get("labels") or {}
            if live is not None and namespace_is_ours(live) and labels.get(LABEL_PROJECT) == slug:
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
        known = self.inventory.setdefault(key, {})
        if manifests:
            try:
                await self._ensure_namespace(key[0])
            except ForeignNamespace as exc:
                self.rejections[key] = str(exc)
                raise
            results = await asyncio.gather(
                *(self.kube.apply(kind_of(m, self.platform), m) for m in manifests),
                return_exceptions=True,
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            revision = manifests[0]["metadata"]["labels"][LABEL_REVISION]
            for manifest, result in zip(manifests, results, strict=True):
                if not isinstance(result, BaseException):
                    uid = str((result.get("metadata") or {}).get("uid") or "")
                    ref = ObjectRef.of(manifest)
                    known[ref] = LiveObject(ref, revision, uid)
            self._raise_first(key, errors)
        self.rejections.pop(key, None)
        plan = plan_prune(self.state, key, wanted, known.values())
        if key not in self.held:
            await self._delete_all(plan.delete)
            self.pruned += len(plan.delete)
            for ref in plan.delete:
                known.pop(ref, None)
        self._set_orphans(key, plan)
        if not known:
            self.inventory.pop(key, None)

    def _set_orphans(self, key: ServiceKey, plan: PrunePlan) -> None:
        before = self.orphans.get(key, ())
        if plan.orphans:
            self.orphans[key] = plan.orphans
        else:
            self.orphans.pop(key, None)
        if before != plan.orphans:
            self._on_findings()

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
        """List everything we manage, rebuild the inventory, queue what differs.

        Prunes are counted first: when they exceed what the guard allows, none is made
        and all are reported as held.
        """
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
        self.inventory = {
            key: {ref: live_object(item) for ref, item in objects.items()}
            for key, objects in live.items()
        }
        plans: dict[ServiceKey, PrunePlan] = {}
        queued: set[ServiceKey] = set()
        for key in sorted(live.keys() | self.state.services.keys()):
            manifests = self.compiled(key)
            objects = live.get(key, {})
            plans[key] = plan_prune(
                self.state,
                key,
                {ObjectRef.of(m) for m in manifests},
                self.inventory.get(key, {}).values(),
            )
            if self._differs(manifests, objects):
                queued.add(key)
        deletions = {key: plan for key, plan in plans.items() if plan.delete}
        managed = sum(len(objects) for objects in live.values())
        count = sum(len(plan.delete) for plan in deletions.values())
        held_before = self.held
        if self.guard.allows(count, managed):
            self.held = {}
            queued |= deletions.keys()
        else:
            log.error(
                "resync would delete %d of %d managed objects (more than %.0f%%): "
                "deletions held, see `lc orphans`",
                count,
                managed,
                self.guard.share * 100,
            )
            self.held = {
                key: tuple(self.inventory[key][ref] for ref in plan.delete)
                for key, plan in deletions.items()
            }
        orphans = {key: plan.orphans for key, plan in plans.items() if plan.orphans}
        if orphans != self.orphans or held_before != self.held:
            self.orphans = orphans
            self._on_findings()
        for key in sorted(queued):
            self.queue.add(service_key(key))
        namespaces, _ = listed[-1]
        self._resync_namespaces(namespaces)
        # Project secrets are re-applied (a no-op when unchanged), so a Secret deleted or
        # edited by hand comes back.
        for slug in sorted({slug for slug, _ in self.state.secrets} & self.state.projects):
            self.queue.add(project_key(slug))
        self.resyncs += 1

    def _differs(self, manifests: list[Manifest], live: dict[ObjectRef, dict[str, Any]]) -> bool:
        """Whether an object it compiles is missing or drifted."""
        return any(
            ObjectRef.of(m) not in live or drifted(m, live[ObjectRef.of(m)]) for m in manifests
        )

    def _resync_namespaces(self, namespaces: list[dict[str, Any]]) -> None:
        present: set[str] = set()
        for item in namespaces:
            meta = item.get("metadata") or {}
            slug = (meta.get("labels") or {}).get(LABEL_PROJECT)
            if not slug:
                continue
            if slug not in self.state.projects and meta.get("deletionTimestamp") is None:
                if slug in self.state.deleted_projects and not self.held:
                    self.queue.add(project_key(slug))
            elif meta.get("name") == self._namespace(slug):
                present.add(meta["name"])
        self._namespaces = present
        for slug in sorted(self.state.projects):
            if self._namespace(slug) not in present:
                self.queue.add(project_key(slug))
