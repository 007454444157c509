"""Publish what the reconciler found and would not act on by itself.

Who calls it: the runtime runs `FindingsPublisher.run()` and marks it when projects are
touched; the reconciler marks it (`on_findings`) whenever its orphans, held deletions or
foreign namespaces change.

What it owns:
- `lc.status.reconciler.orphans`: one `OrphanReport` (objects with our labels and no
  history, and the deletions the guard held back), which `lc orphans` prints;
- `orphan.detected` on `lc.events.orphan.<slug>.<name>`, once per object (and uid): the
  audit log says when an orphan was found. Its id derives from the object and its uid, and
  reported orphans are folded from the stream, so a restart does not report one twice;
- `lc.status.project.<slug>`: `ProjectStatus`, Failed with a message naming the
  namespace when the project's namespace exists and the platform did not create it,
  Ready otherwise, Deleted (expiring like a deleted service's) once the project is gone;
- `lc.status.reconciler.foreign-namespaces`: one `ForeignNamespaces`, the namespaces of
  the cluster without our created-by mark (from `namespace_mirror`, once it has listed
  them), republished whenever that set changes. lcd refuses to create a project whose
  namespace is one of them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from nats.js import JetStreamContext

from lc_contracts.events import OrphanDetected, build
from lc_contracts.status import (
    ForeignNamespaces,
    ManagedObject,
    OrphanReport,
    ProjectPhase,
    ProjectStatus,
)
from lc_contracts.streams import UNREFRESHED_STATUS_TTL_S
from lc_contracts.subjects import (
    FOREIGN_NAMESPACES_STATUS,
    ORPHAN_STATUS,
    PROJECT_STATUS,
    orphan_subject,
    project_status_subject,
)
from lc_eventstore import EventStore, current_status, publish_status
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.desired_state import DesiredState, ServiceKey
from lc_reconciler.domain.foreign_namespaces import foreign_namespaces
from lc_reconciler.domain.naming import namespace_name
from lc_reconciler.domain.prune import LiveObject
from lc_reconciler.namespace_mirror import NamespaceMirror
from lc_reconciler.reconcile import Reconciler
from lc_runtime.cancellation import raise_if_cancelled

log = logging.getLogger(__name__)
SOURCE: Final = "lc-reconciler"
ORPHAN_ID_NAMESPACE: Final = uuid.UUID("3b0f6c1e-8a43-4a8e-b1f3-7d52c9e0a6b4")


def managed_object(key: ServiceKey, obj: LiveObject) -> ManagedObject:
    return ManagedObject(
        api_version=obj.ref.api_version,
        kind=obj.ref.kind,
        namespace=obj.ref.namespace,
        name=obj.ref.name,
        project_slug=key[0],
        service_name=key[1],
        revision=obj.revision,
        uid=obj.uid,
    )


def _listed(found: dict[ServiceKey, tuple[LiveObject, ...]]) -> list[ManagedObject]:
    return [managed_object(key, obj) for key in sorted(found) for obj in found[key]]


def _comparable(snapshot: OrphanReport | ProjectStatus | ForeignNamespaces) -> dict[str, Any]:
    return snapshot.model_dump(mode="json", exclude={"observed_at"})


class FindingsPublisher:
    def __init__(
        self,
        js: JetStreamContext,
        state: DesiredState,
        reconciler: Reconciler,
        *,
        namespaces: NamespaceMirror | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.js = js
        self.store = EventStore(js)
        self.state = state
        self.reconciler = reconciler
        self.backoff = backoff or Backoff(max_s=5.0)
        self.clock = clock
        self.published_report: dict[str, Any] | None = None
        self.published_projects: dict[str, dict[str, Any]] = {}
        self.namespaces = namespaces
        self.published_namespaces: dict[str, Any] | None = None
        self._dirty = asyncio.Event()

    def mark(self) -> None:
        self._dirty.set()

    async def load_published(self) -> None:
        """What LC_STATUS already holds, so a restart publishes only what changed."""
        for message in (await current_status(self.js, PROJECT_STATUS)).values():
            try:
                status = ProjectStatus.model_validate_json(message.data)
            except ValueError:
                continue
            self.published_projects[status.project_slug] = _comparable(status)
        found = (await current_status(self.js, ORPHAN_STATUS)).get(ORPHAN_STATUS)
        if found is not None:
            try:
                self.published_report = _comparable(OrphanReport.model_validate_json(found.data))
            except ValueError:
                self.published_report = None
        found = (await current_status(self.js, FOREIGN_NAMESPACES_STATUS)).get(
            FOREIGN_NAMESPACES_STATUS
        )
        if found is not None:
            try:
                self.published_namespaces = _comparable(
                    ForeignNamespaces.model_validate_json(found.data)
                )
            except ValueError:
                self.published_namespaces = None

    async def run(self) -> None:
        failures = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.publish()
            except Exception as exc:  # a NATS hiccup must not end reporting
                raise_if_cancelled()
                failures += 1
                log.warning("findings not published, retrying: %r", exc)
                await asyncio.sleep(self.backoff.delay(failures))
                self._dirty.set()
            else:
                failures = 0

    async def publish(self) -> None:
        await self._report_orphans()
        await self._report_projects()
        await self._report_foreign_namespaces()

    async def _report_orphans(self) -> None:
        orphans = _listed(self.reconciler.orphans)
        held = _listed(self.reconciler.held)
        message = ""
        if held:
            message = (
                f"a resync would have deleted {len(held)} objects, more than "
                f"{self.reconciler.guard.share:.0%} of those managed: held, not deleted"
            )
        report = OrphanReport(
            orphans=orphans, held_deletions=held, message=message, observed_at=self.clock()
        )
        if _comparable(report) != self.published_report:
            await publish_status(self.js, ORPHAN_STATUS, report)
            self.published_report = _comparable(report)
        for target in orphans:
            key = ((target.api_version, target.kind, target.namespace, target.name), target.uid)
            if key in self.state.reported_orphans:
                continue
            subject = orphan_subject(target.project_slug, target.service_name)
            event_id = str(uuid.uuid5(ORPHAN_ID_NAMESPACE, f"{key}"))
            event = build(
                OrphanDetected(target=target), subject=subject, source=SOURCE, event_id=event_id
            )
            await self.store.append(subject, [event], None)
            self.state.reported_orphans.add(key)
            log.warning(
                "orphan found and left in place: %s (service %s/%s)",
                target,
                target.project_slug,
                target.service_name,
            )

    async def _report_projects(self) -> None:
        now = self.clock()
        prefix = self.reconciler.platform.namespace_prefix
        for slug in sorted(self.state.projects | self.published_projects.keys()):
            namespace = namespace_name(prefix, slug)
            failure = self.reconciler.foreign_namespaces.get(slug)
            if slug not in self.state.projects:
                phase, message = ProjectPhase.DELETED, ""
            elif failure is not None:
                phase, message = ProjectPhase.FAILED, failure
            else:
                phase, message = ProjectPhase.READY, ""
            status = ProjectStatus(
                project_slug=slug,
                namespace=namespace,
                phase=phase,
                message=message,
                observed_at=now,
            )
            if self.published_projects.get(slug) == _comparable(status):
                continue
            deleted = phase is ProjectPhase.DELETED
            await publish_status(
                self.js,
                project_status_subject(slug),
                status,
                ttl_s=UNREFRESHED_STATUS_TTL_S if deleted else None,
            )
            self.published_projects[slug] = _comparable(status)

    async def _report_foreign_namespaces(self) -> None:
        if self.namespaces is None or not self.namespaces.synced:
            return  # not listed yet: an empty inventory would say "none" without knowing
        inventory = foreign_namespaces(
            self.namespaces.foreign, self.reconciler.platform.namespace_prefix, self.clock()
        )
        if _comparable(inventory) == self.published_namespaces:
            return
        if inventory.truncated:
            log.warning(
                "%d namespaces were not created by the platform; lcd is told the first %d",
                inventory.total,
                len(inventory.namespaces),
            )
        await publish_status(self.js, FOREIGN_NAMESPACES_STATUS, inventory)
        self.published_namespaces = _comparable(inventory)
