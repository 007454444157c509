"""Entry points of the webhooks worker: `run(settings)` and the `lc-webhooks` script.

Who calls it: `lc up` starts `run` as an asyncio task in its embedded stack; a deployment
runs `lc-webhooks`, configured through `LC_*` variables (see `WebhookSettings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats

from lc_eventstore import provision_streams
from lc_eventstore.connection import server_urls
from lc_runtime.logs import configure_logging
from lc_runtime.probes import Probes
from lc_runtime.settings_loading import load_settings
from lc_webhooks.delivery_log import DeliveryLog, make_engine
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.worker import WebhookWorker, http_client

log = logging.getLogger(__name__)


async def run(settings: WebhookSettings, probes: Probes | None = None) -> None:
    """Deliver until cancelled; ready once every subscription's courier has started.
    Serves the probes when LC_PROBE_PORT is set."""
    probes = probes or Probes("webhooks")
    client = await nats.connect(
        server_urls(settings.nats_url),
        name="lc-webhooks",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )
    engine = make_engine(settings.database_url)
    http = http_client(settings)
    try:
        js = client.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)
        worker = WebhookWorker(js, DeliveryLog(engine), settings, http)
        probes.require(
            "subscriptions",
            lambda: None if worker.started.is_set() else "reading the subscriptions from LC_EVENTS",
        )
        async with contextlib.AsyncExitStack() as stack:
            if settings.probe_port is not None:
                await stack.enter_async_context(
                    probes.serve(settings.probe_host, settings.probe_port)
                )
            await worker.run()
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
