"""Entry points of the webhooks worker: `run(settings)` and the `lc-webhooks` script.

Who calls it: `lc up` starts `run` as an asyncio task in its embedded stack; a deployment
runs `lc-webhooks`, configured through `LC_*` variables (see `WebhookSettings`); each of
several delivery processes runs `deliver` for its share (`delivery_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import nats

from lc_eventstore import provision_streams
from lc_eventstore.connection import server_urls
from lc_runtime.logs import configure_logging
from lc_runtime.probes import Probes
from lc_runtime.settings_loading import load_settings
from lc_webhooks.delivery_log import DeliveryLog, make_engine
from lc_webhooks.delivery_processes import DeliveryProcesses
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.shares import EVERY_SUBSCRIPTION, Share
from lc_webhooks.worker import WebhookWorker, http_client

log = logging.getLogger(__name__)


async def run(settings: WebhookSettings, probes: Probes | None = None) -> None:
    """Deliver until cancelled: in this process, or with several delivery processes
    (`LC_WEBHOOK_PROCESSES`) by starting and watching them. Ready once every
    subscription's courier has started. Serves the probes when LC_PROBE_PORT is set."""
    probes = probes or Probes("webhooks")
    async with contextlib.AsyncExitStack() as stack:
        if settings.webhook_processes > 1:
            processes = DeliveryProcesses(settings, probes)
            delivering = processes.run()
        else:
            delivering = deliver(settings, probes, EVERY_SUBSCRIPTION)
        if settings.probe_port is not None:
            await stack.enter_async_context(probes.serve(settings.probe_host, settings.probe_port))
        await delivering


async def deliver(
    settings: WebhookSettings,
    probes: Probes,
    share: Share,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run the couriers of the subscriptions `share` owns until cancelled; `on_started`
    once they have all started."""
    client = await nats.connect(
        server_urls(settings.nats_url),
        name=f"lc-webhooks-{share.index}" if share.count > 1 else "lc-webhooks",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )
    engine = make_engine(settings.database_url)
    http = http_client(settings)
    try:
        js = client.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)
        worker = WebhookWorker(js, DeliveryLog(engine), settings, http, share)
        probes.require(
            "subscriptions",
            lambda: None if worker.started.is_set() else "reading the subscriptions from LC_EVENTS",
        )
        if on_started is not None:
            started = asyncio.create_task(worker.started.wait())
            started.add_done_callback(lambda t: None if t.cancelled() else on_started())
        try:
            await worker.run()
        finally:
            if on_started is not None:
                started.cancel()
    finally:
        with contextlib.suppress(Exception):
            await http.aclose()
        with contextlib.suppress(Exception):
            await engine.dispose()
        with contextlib.suppress(Exception):
            await client.close()


def main() -> None:
    configure_logging()
    settings = load_settings(WebhookSettings, "lc-webhooks")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
