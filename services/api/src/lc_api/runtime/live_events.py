"""Follow LC_EVENTS live from a sequence, for the SSE tail (`GET /api/v1/events/stream`).

An ordered push consumer per client: no server-side state beyond the connection, and
messages arrive as soon as they are stored. `None` is yielded when nothing arrived for
`idle_s`, so the caller can send a keep-alive.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import ALL_EVENTS
from lc_eventstore import StoredMessage, stream_position


async def tail_events(
    js: JetStreamContext, after: int, *, idle_s: float = 15.0
) -> AsyncIterator[StoredMessage | None]:
    if after > 0:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
        )
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    sub = await js.subscribe(
        ALL_EVENTS,
        stream=EVENTS_STREAM.name,
        ordered_consumer=True,
        config=config,
        idle_heartbeat=5.0,
    )
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_s)
            except (TimeoutError, NatsTimeoutError):
                yield None
                continue
            seq, _ = stream_position(msg.reply)
            yield StoredMessage(seq=seq, subject=msg.subject, data=msg.data)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
