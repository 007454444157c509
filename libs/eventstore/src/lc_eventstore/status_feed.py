"""Status snapshots on LC_STATUS: publish the latest observation of an object, and read
the current world (last message per subject) then follow changes.

Publishers: the reconciler (service status), the fleet aggregator (GPUs), the proxy
(usage). Readers: the proxy's routing table, the API, and each publisher at its start.
Snapshots nobody will refresh (tombstones, a replica's counters) carry a lifespan,
`UNREFRESHED_STATUS_TTL_S`, so the stream forgets departed objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from nats.js import JetStreamContext

from lc_contracts.base import Contract
from lc_contracts.streams import STATUS_STREAM
from lc_eventstore.messages import StoredMessage
from lc_eventstore.reader import read_batches


async def publish_status(
    js: JetStreamContext, subject: str, snapshot: Contract, *, ttl_s: float | None = None
) -> int:
    """Publish `snapshot` as the subject's latest; with `ttl_s`, the stream removes it that
    many seconds later unless a newer snapshot replaced it first (whole seconds, ≥ 1)."""
    ack = await js.publish(
        subject,
        snapshot.model_dump_json(by_alias=True).encode(),
        stream=STATUS_STREAM.name,
        msg_ttl=ttl_s,
    )
    return int(ack.seq)


async def current_status(js: JetStreamContext, subject_filter: str) -> dict[str, StoredMessage]:
    """The latest snapshot of every subject matching `subject_filter`."""
    latest: dict[str, StoredMessage] = {}
    async for batch in read_batches(
        js, STATUS_STREAM.name, [subject_filter], last_per_subject=True
    ):
        for message in batch:
            latest[message.subject] = message
    return latest


async def follow_status(
    js: JetStreamContext, subject_filter: str
) -> AsyncIterator[list[StoredMessage]]:
    """The latest snapshot per subject, then every new one as it arrives.

    The first empty batch marks the end of the bootstrap: from then on the caller holds
    the whole current world.
    """
    async for batch in read_batches(
        js, STATUS_STREAM.name, [subject_filter], last_per_subject=True, follow=True
    ):
        yield batch
