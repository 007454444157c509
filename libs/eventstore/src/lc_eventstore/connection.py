"""The one way our processes connect to NATS: reconnect for ever, and never buffer a
publish across a reconnect.

nats-py keeps publishes made while it is disconnected in a buffer (2 MiB by default) and
sends them once it is back. For an append that is a lie told twice: lcd would answer 503
when the acknowledgement does not come, and the write would land later anyway. With the
buffer off (`pending_size=0`) a publish while disconnected fails at once
(`OutboundBufferLimitError`), which the event store reports as unavailable.

`LC_NATS_URL` may list several servers of one cluster, comma-separated
(`nats://n1:4222,nats://n2:4222,nats://n3:4222`): the client starts with any that answers
and moves to another when its server dies (the servers also tell it of their peers).

Callers: lcd, lc-proxy, the workers, `lc up`.
"""

from __future__ import annotations

from typing import Final

import nats
from nats.aio.client import Client as NatsClient

RECONNECT_WAIT_S: Final = 0.5
CONNECT_TIMEOUT_S: Final = 5.0


def server_urls(url: str) -> list[str]:
    """The servers named by an `LC_NATS_URL` (one URL, or several comma-separated)."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, name: str, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> NatsClient:
    """A client that reconnects until closed and refuses publishes while disconnected."""
    return await nats.connect(
        server_urls(url),
        name=name,
        connect_timeout=connect_timeout,
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_WAIT_S,
        pending_size=0,
    )
