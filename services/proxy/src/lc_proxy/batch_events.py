"""Batch lifecycle events on LC_EVENTS, for the audit log and webhooks.

Who calls it: the Files/Batch handlers (`batch.created`) and the dispatcher (every later
transition). Each event's id is derived from the batch and its status, so a replica that
takes over a batch and repeats a transition appends nothing new (JetStream dedupe).
"""

from __future__ import annotations

import logging

from lc_contracts.events import (
    BatchCancelled,
    BatchCompleted,
    BatchCreated,
    BatchExpired,
    BatchFailed,
    BatchInProgress,
    Payload,
    build,
)
from lc_contracts.subjects import batch_subject
from lc_eventstore.store import EventStore
from lc_proxy.batch_records import BatchRecord

SOURCE = "lc-proxy"
log = logging.getLogger("lc_proxy.batches")


def lifecycle_payload(batch: BatchRecord) -> Payload | None:
    """The event a batch in its current status is announced with (None: no event)."""
    counts = batch.request_counts
    ended = {
        "batch_id": batch.id,
        "total": counts.total,
        "completed": counts.completed,
        "failed": counts.failed,
        "prompt_tokens": batch.prompt_tokens,
        "completion_tokens": batch.completion_tokens,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
    }
    match batch.status:
        case "validating":
            return BatchCreated(
                batch_id=batch.id, endpoint=batch.endpoint, input_file_id=batch.input_file_id
            )
        case "in_progress":
            return BatchInProgress(batch_id=batch.id, total=counts.total)
        case "failed":
            first = batch.errors[0].message if batch.errors else "validation failed"
            return BatchFailed(batch_id=batch.id, errors=len(batch.errors), message=first)
        case "completed":
            return BatchCompleted(**ended)
        case "expired":
            return BatchExpired(**ended)
        case "cancelled":
            return BatchCancelled(**ended)
    return None


class BatchEvents:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def announce(self, batch: BatchRecord, actor: str | None = None) -> None:
        """Append the event of the batch's status; a failure is logged, never raised: the
        batch itself lives in its own bucket and must go on."""
        payload = lifecycle_payload(batch)
        if payload is None:
            return
        subject = batch_subject(batch.id)
        event = build(
            payload,
            subject=subject,
            source=SOURCE,
            actor=actor,
            event_id=f"{batch.id}.{payload.TYPE}",
        )
        try:
            await self._store.append(subject, [event], None)
        except Exception as exc:
            log.warning(
                "batch event not appended",
                extra={"fields": {"batch": batch.id, "type": payload.TYPE, "error": repr(exc)}},
            )
