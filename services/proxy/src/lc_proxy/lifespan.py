"""lc-proxy's start-up and shutdown: what opens before the first request and closes after
the last.

Who calls it: `ProxyApp.running()` (entered by a host app that mounts the proxy, such as
`lc up`) and `ProxyApp.__call__` for the ASGI lifespan protocol (`serve`, under uvicorn).
On start: the upstream HTTP client, the NATS connection (and the streams, if asked), the
routing feed from LC_STATUS and the usage publisher; then the proxy is attached and
forwards. On exit, in reverse: the tasks stop, a last usage snapshot is published, NATS
drains and the upstream client closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from nats.aio.client import Client as NatsClient

from lc_eventstore import EventStore, connect, provision_streams
from lc_proxy.api_keys import ApiKeys
from lc_proxy.batch_api import BatchApi
from lc_proxy.batch_dispatcher import BatchDispatcher
from lc_proxy.batch_events import BatchEvents
from lc_proxy.batch_pacing import PacingByModel
from lc_proxy.batch_storage import open_batch_storage
from lc_proxy.batch_upstream import BatchUpstreamClient
from lc_proxy.forwarding import Forwarder
from lc_proxy.metrics import RequestMetrics
from lc_proxy.routing import RoutingTable
from lc_proxy.routing_feed import follow_routing
from lc_proxy.settings import ProxySettings
from lc_proxy.upstream_client import UpstreamClient, open_upstream_client
from lc_proxy.usage_publisher import publish_usage_forever, publish_usage_once

log = logging.getLogger("lc_proxy")

Message = MutableMapping[str, Any]


class Proxy(Protocol):
    """What start-up needs of the app it starts (`ProxyApp`)."""

    settings: ProxySettings
    table: RoutingTable
    metrics: RequestMetrics
    bootstrapped: asyncio.Event
    started_at: datetime
    api_keys: ApiKeys
    interactive_started: dict[str, float]
    batch_pacing: PacingByModel

    def attach(self, forwarder: Forwarder, nats_client: NatsClient) -> None: ...
    def detach(self) -> None: ...
    def attach_batches(self, api: BatchApi | None) -> None: ...


P = TypeVar("P", bound=Proxy)


@contextlib.asynccontextmanager
async def running(proxy: P) -> AsyncIterator[P]:
    """Connect to NATS and the replicas, follow LC_STATUS, publish usage; undo on exit."""
    settings = proxy.settings
    client: UpstreamClient = open_upstream_client(
        settings.proxy_upstream_client,
        connect_timeout_s=settings.proxy_connect_timeout_s,
        read_timeout_s=settings.proxy_read_timeout_s,
        max_connections=settings.proxy_upstream_max_connections,
    )
    # Batch lines are answers read whole: their own leaner client (`batch_upstream`).
    batch_client = BatchUpstreamClient(
        connect_timeout_s=settings.proxy_connect_timeout_s,
        read_timeout_s=settings.proxy_read_timeout_s,
        fallback=client,
    )
    tasks: list[asyncio.Task[None]] = []
    nc: NatsClient | None = None
    try:
        try:
            nc = await connect(settings.nats_url, name=f"lc-proxy {settings.proxy_replica_name}")
        except Exception as exc:
            raise RuntimeError(
                f"cannot reach NATS at {settings.nats_url} (set LC_NATS_URL): {exc!r}"
            ) from exc
        js = nc.jetstream()
        if settings.proxy_provision_streams:
            await provision_streams(js, replicas=settings.stream_replicas)
        forwarder = Forwarder(
            table=proxy.table,
            client=client,
            metrics=proxy.metrics,
            read_timeout_s=settings.proxy_read_timeout_s,
        )
        proxy.attach(forwarder, nc)
        storage = await open_batch_storage(js, replicas=settings.stream_replicas)
        events = BatchEvents(EventStore(js))
        dispatcher = BatchDispatcher(
            storage=storage,
            forwarder=Forwarder(
                table=proxy.table,
                client=batch_client,
                metrics=proxy.metrics,
                read_timeout_s=settings.proxy_read_timeout_s,
            ),
            table=proxy.table,
            metrics=proxy.metrics,
            events=events,
            holder=f"{settings.proxy_replica_name}-{secrets.token_hex(4)}",
            per_replica=settings.proxy_batch_per_replica,
            lease_s=settings.proxy_batch_lease_s,
            interactive_started=proxy.interactive_started,
            busy_share=settings.proxy_batch_busy_share,
            pacing=proxy.batch_pacing,
            quiet_s=settings.proxy_batch_quiet_s,
        )
        proxy.attach_batches(
            BatchApi(
                storage,
                dispatcher,
                events,
                keys_required=proxy.api_keys.required,
                window_s=settings.proxy_batch_window_s,
            )
        )
        tasks.append(asyncio.create_task(dispatcher.run(proxy.bootstrapped)))
        tasks.append(asyncio.create_task(follow_routing(js, proxy.table, proxy.bootstrapped)))
        tasks.append(
            asyncio.create_task(
                publish_usage_forever(
                    js,
                    proxy.metrics.usage,
                    settings.proxy_replica_name,
                    proxy.started_at,
                    settings.proxy_usage_interval_s,
                )
            )
        )
        if settings.proxy_gc_freeze:
            # What exists now lives as long as the process; taking it out of the
            # collector's generations saves ~30 us of GC work per request.
            gc.collect()
            gc.freeze()
        log.info(
            "lc-proxy started",
            extra={
                "fields": {
                    "replica": settings.proxy_replica_name,
                    "upstream_client": settings.proxy_upstream_client,
                }
            },
        )
        yield proxy
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if nc is not None and nc.is_connected:
            with contextlib.suppress(Exception):
                await publish_usage_once(
                    nc.jetstream(),
                    proxy.metrics.usage,
                    settings.proxy_replica_name,
                    proxy.started_at,
                )
            with contextlib.suppress(Exception):
                await nc.drain()
        proxy.attach_batches(None)
        proxy.detach()
        await batch_client.aclose()
        await client.aclose()
        if settings.proxy_gc_freeze:
            gc.unfreeze()


async def serve(
    proxy: Proxy,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The ASGI lifespan protocol: `running` from startup to shutdown."""
    stack = contextlib.AsyncExitStack()
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await stack.enter_async_context(running(proxy))
            except Exception as exc:
                log.error("lc-proxy failed to start", extra={"fields": {"error": str(exc)}})
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stack.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
