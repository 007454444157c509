"""Turn what the cluster shows into Service status.

Who calls it: the runner starts its watches and its publishing loop; the event feed and
the reconcile worker `mark` services whose status may have changed.

What it owns:
- mirrors of the Models and Deployments labelled managed-by=liquidcompute (watched with
  resume and re-list, see `kube.watch`);
- the last snapshot published per service (read back from LC_STATUS at start), so only
  changes are published to `lc.status.service.<slug>.<name>`;
- `service.status_changed` appends to LC_EVENTS on phase transitions. The previous phase
  is the one folded from the stream (never a local guess), the append expects the
  subject's last sequence, and its message id is derived from that sequence and the new
  phase, so a restart or a second reconciler cannot announce a transition twice.
  A deleted service gets a `Deleted` snapshot, which expires after an hour, but no event
  (its aggregate is closed).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from nats.js import JetStreamContext

from lc_contracts.engine import LABEL_PROJECT, LABEL_SERVICE
from lc_contracts.errors import ContractError
from lc_contracts.events import ServiceStatusChanged, build
from lc_contracts.status import ServicePhase, ServiceStatus
from lc_contracts.streams import UNREFRESHED_STATUS_TTL_S
from lc_contracts.subjects import SERVICE_STATUS, service_status_subject, service_subject
from lc_eventstore import (
    ConcurrencyConflict,
    EventStore,
    EventStoreError,
    current_status,
    publish_status,
)
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.desired_state import DesiredState, ServiceKey
from lc_reconciler.domain.status import deleted_status, derive_status
from lc_reconciler.work_queue import WorkQueue
from lc_runtime.cancellation import raise_if_cancelled

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SOURCE: Final = "lc-reconciler"
STATUS_ID_NAMESPACE: Final = uuid.UUID("6f1c3a52-4f0e-4d8e-9a53-0c1f2d3b4a5e")


def _key_of(obj: Mapping[str, Any]) -> ServiceKey | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    project, service = labels.get(LABEL_PROJECT), labels.get(LABEL_SERVICE)
    return (project, service) if project and service else None


def transition_event_id(subject: str, expected_seq: int, phase: ServicePhase) -> str:
    return str(uuid.uuid5(STATUS_ID_NAMESPACE, f"{subject}@{expected_seq}:{phase.value}"))


def _comparable(status: ServiceStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", exclude={"observed_at"})


class WorkloadMirror:
    """Objects of one kind by the service they belong to."""

    def __init__(self, on_change: Callable[[ServiceKey], None]) -> None:
        self.objects: dict[ServiceKey, Obj] = {}
        self._on_change = on_change

    def replace(self, objects: list[Mapping[str, Any]]) -> None:
        before = set(self.objects)
        self.objects = {}
        for item in objects:
            key = _key_of(item)
            if key is not None:
                self.objects[key] = dict(item)
        for key in before | set(self.objects):
            self._on_change(key)

    def upsert(self, obj: Mapping[str, Any]) -> None:
        key = _key_of(obj)
        if key is not None:
            self.objects[key] = dict(obj)
            self._on_change(key)

    def delete(self, obj: Mapping[str, Any]) -> None:
        key = _key_of(obj)
        if key is not None:
            self.objects.pop(key, None)
            self._on_change(key)


class StatusReporter:
    def __init__(
        self,
        js: JetStreamContext,
        state: DesiredState,
        *,
        rejection: Callable[[ServiceKey], str | None] = lambda key: None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.js = js
        self.store = EventStore(js)
        self.state = state
        self.rejection = rejection
        self.backoff = backoff or Backoff(max_s=5.0)
        self.clock = clock
        self.models = WorkloadMirror(self.mark)
        self.deployments = WorkloadMirror(self.mark)
        self.published: dict[ServiceKey, dict[str, Any]] = {}
        self.queue: WorkQueue[ServiceKey] = WorkQueue()
        self.announced = 0

    def mark(self, key: ServiceKey) -> None:
        self.queue.add(key)

    async def load_published(self) -> None:
        """What LC_STATUS already holds, so a restart publishes only what changed."""
        for message in (await current_status(self.js, SERVICE_STATUS)).values():
            try:
                status = ServiceStatus.model_validate_json(message.data)
            except ValueError:
                continue
            self.published[(status.project_slug, status.service_name)] = _comparable(status)

    def mark_all(self) -> None:
        for key in sorted(set(self.state.services) | set(self.published)):
            self.mark(key)

    def compute(self, key: ServiceKey) -> ServiceStatus:
        now = self.clock()
        record = self.state.services.get(key)
        if record is None or not self.state.is_live(key):
            return deleted_status(key, now)
        mirror = self.models if record.spec.kind.model is not None else self.deployments
        status = derive_status(record, mirror.objects.get(key), now)
        rejected = self.rejection(key)
        if rejected:
            status = status.model_copy(update={"phase": ServicePhase.FAILED, "message": rejected})
        return status

    async def run(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.report(key)
            except (EventStoreError, OSError, TimeoutError, ContractError) as exc:
                raise_if_cancelled()
                log.warning("status of %s not published, retrying: %s", key, exc)
                self.queue.add_after(key, self.backoff.delay(1))
            except Exception as exc:  # a NATS hiccup must not end status reporting
                raise_if_cancelled()
                log.warning("status of %s not published, retrying: %r", key, exc)
                self.queue.add_after(key, self.backoff.delay(2))
            finally:
                self.queue.done(key)

    async def report(self, key: ServiceKey) -> None:
        status = self.compute(key)
        comparable = _comparable(status)
        deleted = status.phase is ServicePhase.DELETED
        # A deleted service with no snapshot on LC_STATUS has nothing to retract (its
        # tombstone, if any, has expired): publishing one would revive it for an hour.
        if self.published.get(key) != comparable and not (deleted and key not in self.published):
            await publish_status(
                self.js,
                service_status_subject(*key),
                status,
                ttl_s=UNREFRESHED_STATUS_TTL_S if deleted else None,
            )
            self.published[key] = comparable
        if not deleted:
            await self._announce(key, status)

    async def _announce(self, key: ServiceKey, status: ServiceStatus) -> None:
        previous = self.state.announced_phases.get(key)
        if previous is status.phase:
            return
        subject = service_subject(*key)
        expected = self.state.subject_seqs.get(key, 0)
        payload = ServiceStatusChanged(
            project_slug=key[0],
            name=key[1],
            phase=status.phase,
            previous_phase=previous,
            message=status.message,
            revision=status.revision,
        )
        event = build(
            payload,
            subject=subject,
            source=SOURCE,
            event_id=transition_event_id(subject, expected, status.phase),
        )
        try:
            [seq] = await self.store.append(subject, [event], expected)
        except ConcurrencyConflict:
            # The aggregate moved on (a new revision, or another reconciler announced);
            # the event feed brings that event and marks this service again.
            return
        self.announced += 1
        if self.state.subject_seqs.get(key, 0) < seq:
            self.state.subject_seqs[key] = seq
            self.state.announced_phases[key] = status.phase
