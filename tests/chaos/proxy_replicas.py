"""lc-proxy replicas as their own processes, and a simulated model they route to, for the
chaos tests that kill a replica mid-request."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults
from lc_contracts.specs import Endpoint
from lc_contracts.status import Replica, ServicePhase, ServiceStatus
from lc_contracts.subjects import service_status_subject
from lc_eventstore import provision_streams, publish_status

from .child import Child

PROJECT = "chaos"


def routes_model(url: str, model: str) -> bool:
    try:
        models = httpx.get(f"{url}/v1/models", timeout=2)
    except httpx.TransportError:
        return False
    return models.status_code == 200 and model in {m["id"] for m in models.json()["data"]}


class Proxy(Child):
    """`lc-proxy` as its own process, as each replica runs in a cluster; ready once it
    routes `model`."""

    def __init__(
        self,
        nats_url: str,
        name: str,
        log: Path,
        *,
        model: str,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        def environment(port: int) -> dict[str, str]:
            return {
                "LC_NATS_URL": nats_url,
                "LC_PROXY_HOST": "127.0.0.1",
                "LC_PROXY_PORT": str(port),
                "LC_PROXY_REPLICA_NAME": name,
                **(settings or {}),
            }

        super().__init__(
            "lc_proxy.main", environment, log, is_ready=lambda url: routes_model(url, model)
        )

    def start(self) -> Proxy:
        super().start()
        return self


@contextlib.asynccontextmanager
async def routed_upstream(
    nats_url: str, model: str, service: str, faults: UpstreamFaults
) -> AsyncIterator[SimulatedUpstream]:
    """A simulated replica of `model`, published on LC_STATUS as service `service` Ready."""
    server = SimulatedUpstream(models=[model], faults=faults)
    await server.start()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await provision_streams(js)
        status = ServiceStatus(
            project_slug=PROJECT,
            service_name=service,
            phase=ServicePhase.READY,
            model_name=model,
            endpoints=[Endpoint.CHAT_COMPLETIONS],
            replicas=[Replica(name=f"{service}-0", url=server.url)],
            ready_replicas=1,
            observed_at=datetime.now(UTC),
        )
        await publish_status(js, service_status_subject(PROJECT, service), status)
        yield server
    finally:
        await nc.close()
        await server.stop()
