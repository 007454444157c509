"""Entry points of the fleet aggregator: `run(settings)` and the `lc-fleet` console script.

Who calls it: `lc up` starts `run` as an asyncio task in its embedded stack; a deployment
runs `lc-fleet`, configured through `LC_*` variables (see `FleetSettings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import nats
from kubernetes_asyncio.client import CustomObjectsApi

from lc_eventstore import provision_streams
from lc_eventstore.connection import server_urls
from lc_fleet.aggregator import FleetAggregator
from lc_fleet.kube_client import open_api_client
from lc_fleet.settings import FleetSettings
from lc_runtime.kube_lease import run_elected
from lc_runtime.leadership import LeaderElector
from lc_runtime.logs import configure_logging
from lc_runtime.probes import Probes
from lc_runtime.settings_loading import load_settings

log = logging.getLogger(__name__)


LEASE_NAME: Final = "lc-fleet"


async def run(
    settings: FleetSettings,
    probes: Probes | None = None,
    *,
    on_elector: Callable[[LeaderElector], object] | None = None,
) -> None:
    """Aggregate the fleet until cancelled; ready once LC_STATUS matches the cluster as
    first listed. Serves the probes when LC_PROBE_PORT is set. With LC_LEADER_ELECTION,
    it runs only while holding the `lc-fleet` Lease. `on_elector` receives the elector;
    the probes report its state."""
    probes = probes or Probes("fleet")
    aggregator: FleetAggregator | None = None

    def converged() -> str | None:
        if aggregator is not None and aggregator.converged.is_set():
            return None
        return "listing GPUs and Models and publishing the fleet"

    probes.require("cluster", converged)

    def elected_as(elector: LeaderElector) -> None:
        probes.lead(elector.state)
        if on_elector is not None:
            on_elector(elector)

    client = await nats.connect(
        server_urls(settings.nats_url),
        name="lc-fleet",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )
    try:
        js = client.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)
        api_client = await open_api_client(settings)

        async def term() -> None:
            nonlocal aggregator
            aggregator = FleetAggregator(js, CustomObjectsApi(api_client), settings)
            await aggregator.run()

        async with api_client, contextlib.AsyncExitStack() as stack:
            if settings.probe_port is not None:
                await stack.enter_async_context(
                    probes.serve(settings.probe_host, settings.probe_port)
                )
            await run_elected(
                settings,
                term,
                lease=LEASE_NAME,
                kubeconfig=str(settings.kubeconfig) if settings.kubeconfig else None,
                on_elector=elected_as,
            )
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def main() -> None:
    configure_logging()
    settings = load_settings(FleetSettings, "lc-fleet")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))
