"""Publish this proxy replica's usage counters on LC_STATUS every few seconds.

Who calls it: the ASGI app's lifespan runs `publish_usage_forever` as a background task
and calls `publish_usage_once` at shutdown, so the last counts are not lost. The API
reads `lc.status.usage.>` and sums the replicas for `GET /api/v1/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from nats.js import JetStreamContext

from lc_contracts.streams import UNREFRESHED_STATUS_TTL_S
from lc_contracts.subjects import usage_status_subject
from lc_eventstore import publish_status
from lc_proxy.usage import UsageCounters
from lc_runtime.cancellation import raise_if_cancelled

log = logging.getLogger("lc_proxy.usage")


async def publish_usage_once(
    js: JetStreamContext, counters: UsageCounters, replica: str, started_at: datetime
) -> None:
    snapshot = counters.snapshot(replica, started_at, datetime.now(UTC))
    # Refreshed every few seconds while the replica runs; gone an hour after it stops.
    await publish_status(
        js, usage_status_subject(replica), snapshot, ttl_s=UNREFRESHED_STATUS_TTL_S
    )


async def publish_usage_forever(
    js: JetStreamContext,
    counters: UsageCounters,
    replica: str,
    started_at: datetime,
    interval_s: float,
) -> None:
    while True:
        try:
            await publish_usage_once(js, counters, replica, started_at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # nats-py may turn a cancellation into its own TimeoutError: honour it anyway.
            raise_if_cancelled(exc)
            log.warning("could not publish usage", extra={"fields": {"error": repr(exc)}})
        raise_if_cancelled()  # nats-py can also swallow a cancellation whole
        await asyncio.sleep(interval_s)
