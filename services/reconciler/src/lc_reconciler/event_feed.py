"""Fold LC_EVENTS into the desired state, from where it stands (sequence 1, or the end of
the snapshot it was restored from), then follow it live.

Who calls it: the runtime, once per process. It reads the project, service, domain and
orphan subjects in stream order; the first time it catches up with the stream it sets
`caught_up` (the desired state is then complete); from then on each event's effects are
handed to `on_touched` (reconcile) and `on_status` (recompute status). A read that fails
(NATS restarting) resumes from the last folded sequence after a short back-off;
unreadable messages are logged and skipped. `progress` (the worker's probes) hears of
every event read and of the catch-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from lc_contracts.errors import ContractError
from lc_contracts.events import (
    DomainDeleted,
    DomainVerificationLost,
    DomainVerified,
    Payload,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.subjects import EVENTS_PREFIX
from lc_eventstore import EventStore, StoredMessage
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.desired_state import DesiredState, ServiceKey, Touched
from lc_runtime.cancellation import raise_if_cancelled
from lc_runtime.logs import bind
from lc_runtime.probes import FoldProgress

log = logging.getLogger(__name__)

SUBJECTS: Final = (
    f"{EVENTS_PREFIX}.project.>",
    f"{EVENTS_PREFIX}.service.>",
    f"{EVENTS_PREFIX}.domain.>",
    f"{EVENTS_PREFIX}.orphan.>",
    f"{EVENTS_PREFIX}.secret.>",
)


def status_key(payload: Payload) -> ServiceKey | None:
    """The service whose status an event may change."""
    match payload:
        case ServiceApplied(project_slug=slug, spec=spec):
            return (slug, spec.name)
        case (
            ServiceDeleted(project_slug=slug, name=name)
            | ServiceStatusChanged(project_slug=slug, name=name)
        ):
            return (slug, name)
        case (
            DomainVerified(project_slug=slug, service_name=name)
            | DomainVerificationLost(project_slug=slug, service_name=name)
            | DomainDeleted(project_slug=slug, service_name=name)
        ):
            return (slug, name)
    return None


class EventFeed:
    def __init__(
        self,
        store: EventStore,
        state: DesiredState,
        *,
        on_touched: Callable[[Touched], None],
        on_status: Callable[[ServiceKey], None],
        backoff: Backoff | None = None,
        progress: FoldProgress | None = None,
    ) -> None:
        self.store = store
        self.state = state
        self.on_touched = on_touched
        self.on_status = on_status
        self.backoff = backoff or Backoff(max_s=5.0)
        self.caught_up = asyncio.Event()
        self.skipped = 0
        self.progress = progress or FoldProgress()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelled()
                failures += 1
                delay = self.backoff.delay(failures)
                log.warning(
                    "reading LC_EVENTS failed at %d, resuming in %.2fs: %r",
                    self.state.position,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)

    async def _follow(self) -> None:
        async for batch in self.store.read(self.state.position + 1, SUBJECTS, follow=True):
            if not batch:
                if not self.caught_up.is_set():
                    log.info("desired state rebuilt from LC_EVENTS up to %d", self.state.position)
                self.caught_up.set()
                self.progress.caught_up = True
                continue
            for message in batch:
                with bind(subject=message.subject, seq=message.seq):
                    self._handle(message)

    def _handle(self, message: StoredMessage) -> None:
        self.progress.advance(message.seq)
        try:
            event = message.event()
        except ContractError as exc:
            self.skipped += 1
            log.warning("skipping unreadable event: %s", exc)
            return
        with bind(event_id=event.envelope.id):
            touched = self.state.apply(message.seq, event.payload)
            if self.caught_up.is_set():
                self.on_touched(touched)
                key = status_key(event.payload)
                if key is not None:
                    self.on_status(key)
