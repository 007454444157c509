"""Append `gpu.health_changed` events to LC_EVENTS, exactly once per transition.

Who calls it: `status_publisher`, before it publishes the snapshot that carries the new
health (so a crash between the two makes the restarted aggregator see the transition
again, and this ledger finds it already recorded).

Exactly once rests on three things: the last event on the GPU's subject is read before
the first append for that GPU in this process (a transition already recorded, by us
before a restart or by another replica, is not recorded again); each append expects that
subject's last sequence (two replicas cannot both append); and event ids are
deterministic (a retried append is dropped as a duplicate).
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from lc_contracts.engine import GpuHealth
from lc_contracts.envelope import Envelope
from lc_contracts.errors import ContractError
from lc_contracts.events import GpuHealthChanged, build, decode
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import gpu_subject
from lc_eventstore import ConcurrencyConflict, EventStore
from lc_fleet.health_events import health_event_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class HealthLedger:
    def __init__(self, js: JetStreamContext, *, source: str) -> None:
        self._js = js
        self._store = EventStore(js)
        self._source = source
        # subject -> (sequence of its last event, the health that event recorded)
        self._last: dict[str, tuple[int, GpuHealth | None]] = {}

    async def record(self, change: GpuHealthChanged, resource_version: str) -> bool:
        """Append the event for `change` unless its subject already ends with it.

        Returns True when this call appended it. Raises EventStoreError when JetStream
        cannot take it (the caller retries the whole snapshot later).
        """
        subject = gpu_subject(change.node, change.uuid)
        envelope = build(
            change,
            subject=subject,
            source=self._source,
            event_id=health_event_id(change, resource_version),
        )
        for _ in range(MAX_ATTEMPTS):
            last = self._last.get(subject)
            if last is None:
                last = self._last[subject] = await self._read_last(subject)
            seq, recorded = last
            if recorded == change.current:
                return False
            try:
                [appended] = await self._store.append(subject, [envelope], seq)
            except ConcurrencyConflict:
                del self._last[subject]
                continue
            self._last[subject] = (appended, change.current)
            log.info(
                "GPU %s/%s health %s -> %s (event %s, seq %d)",
                change.node,
                change.uuid,
                change.previous,
                change.current,
                envelope.id,
                appended,
            )
            return True
        raise ConcurrencyConflict(subject, None, None)

    async def _read_last(self, subject: str) -> tuple[int, GpuHealth | None]:
        try:
            raw = await self._js.get_last_msg(EVENTS_STREAM.name, subject, direct=True)
        except NotFoundError:
            return (0, None)
        seq = int(raw.seq or 0)
        try:
            payload = decode(Envelope.from_bytes(raw.data or b""))
        except ContractError:
            return (seq, None)
        return (seq, payload.current if isinstance(payload, GpuHealthChanged) else None)
