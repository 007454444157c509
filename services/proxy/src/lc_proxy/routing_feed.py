"""Keep a `RoutingTable` in step with the Service status snapshots on LC_STATUS.

Who calls it: the ASGI app's lifespan runs `follow_routing` as a background task for
the life of the process. It reads the last snapshot of every Service (bootstrap), sets
`bootstrapped` once it holds the whole current world, then applies each new snapshot
as it arrives (a publish reaches the table in about a millisecond). A snapshot that is
not Ready (Failed, Deleted, ...) takes its Service's replicas out of rotation.

A lost NATS connection or a broken read restarts the read from the last snapshots,
after a short back-off; the table keeps serving what it knew meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from pydantic import ValidationError

from lc_contracts.status import ServiceStatus
from lc_contracts.subjects import SERVICE_STATUS
from lc_eventstore import follow_status
from lc_proxy.routing import RoutingTable
from lc_runtime.cancellation import raise_if_cancelled

log = logging.getLogger("lc_proxy.routing")

RESTART_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)


async def follow_routing(
    js: JetStreamContext, table: RoutingTable, bootstrapped: asyncio.Event
) -> None:
    """Apply every Service status snapshot to `table`, forever."""
    failures = 0
    while True:
        try:
            async for batch in follow_status(js, SERVICE_STATUS):
                if not batch:
                    if not bootstrapped.is_set():
                        log.info("routing table bootstrapped", extra={"fields": _summary(table)})
                    bootstrapped.set()
                    failures = 0
                    continue
                for message in batch:
                    try:
                        status = ServiceStatus.model_validate_json(message.data)
                    except ValidationError as exc:
                        log.warning(
                            "ignoring unreadable service status",
                            extra={
                                "fields": {
                                    "subject": message.subject,
                                    "seq": message.seq,
                                    "error": str(exc.errors()[:1]),
                                }
                            },
                        )
                        continue
                    table.apply(status)
                    log.debug(
                        "service status applied",
                        extra={
                            "fields": {
                                "subject": message.subject,
                                "seq": message.seq,
                                "phase": status.phase.value,
                                "model": status.model_name,
                            }
                        },
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # nats-py may turn a cancellation into its own TimeoutError: honour it anyway.
            raise_if_cancelled(exc)
            delay = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)]
            failures += 1
            log.warning(
                "routing feed interrupted; reading again",
                extra={"fields": {"error": repr(exc), "retry_in_s": delay}},
            )
            await asyncio.sleep(delay)


def _summary(table: RoutingTable) -> dict[str, object]:
    models = table.models()
    return {"models": len(models), "replicas": sum(len(m.replicas) for m in models)}
