"""Fixtures for lc-proxy tests: a real proxy (uvicorn on a loopback socket) following a
real nats-server, in front of real SimulatedUpstream servers.

- `upstreams`: a factory of started `SimulatedUpstream`s, stopped after the test.
- `start_proxy(**settings)`: serves `create_app` on a free port, waits until its routing
  table is bootstrapped, and stops it after the test.
- `publish_service(...)`: publishes a ServiceStatus snapshot on LC_STATUS.
- `wait_until(predicate)`: polls a condition with a deadline (never a bare sleep).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import openai
import pytest
import uvicorn
from nats.js import JetStreamContext

from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults
from lc_contracts.specs import Endpoint
from lc_contracts.status import Replica, ServicePhase, ServiceStatus
from lc_contracts.subjects import service_status_subject
from lc_eventstore import provision_streams, publish_status
from lc_proxy import ProxySettings, create_app
from lc_proxy.app import ProxyApp
from lc_testing import free_port
from lc_testing import wait_until as shared_wait_until

ALL_ENDPOINTS = (Endpoint.CHAT_COMPLETIONS, Endpoint.COMPLETIONS, Endpoint.EMBEDDINGS)


@dataclass
class RunningProxy:
    app: ProxyApp
    url: str
    server: uvicorn.Server

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


class UpstreamFactory(Protocol):
    async def __call__(
        self,
        models: Sequence[str] = ...,
        endpoints: Iterable[str] = ...,
        faults: UpstreamFaults | None = ...,
    ) -> SimulatedUpstream: ...


class ProxyStarter(Protocol):
    async def __call__(self, **overrides: Any) -> RunningProxy: ...


class ServicePublisher(Protocol):
    async def __call__(
        self,
        model: str,
        upstreams: Sequence[SimulatedUpstream | str],
        *,
        project: str = ...,
        service: str | None = ...,
        phase: ServicePhase = ...,
        endpoints: Sequence[Endpoint] = ...,
    ) -> ServiceStatus: ...


Waiter = Callable[..., Awaitable[None]]


@pytest.fixture
def wait_until() -> Waiter:
    return shared_wait_until


@pytest.fixture
async def upstreams() -> AsyncIterator[UpstreamFactory]:
    started: list[SimulatedUpstream] = []

    async def start(
        models: Sequence[str] = ("sim-model",),
        endpoints: Iterable[str] = ("chat_completions", "completions", "embeddings"),
        faults: UpstreamFaults | None = None,
    ) -> SimulatedUpstream:
        upstream = SimulatedUpstream(models=models, endpoints=endpoints, faults=faults)
        await upstream.start()
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        await upstream.stop()


@pytest.fixture
async def start_proxy(nats_url: str, jetstream: JetStreamContext) -> AsyncIterator[ProxyStarter]:
    await provision_streams(jetstream)
    running: list[tuple[uvicorn.Server, asyncio.Task[None], socket.socket]] = []

    async def start(**overrides: Any) -> RunningProxy:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "proxy_replica_name": f"proxy-{uuid.uuid4().hex[:8]}",
            "proxy_usage_interval_s": 0.2,
            "proxy_connect_timeout_s": 1.0,
            "proxy_read_timeout_s": 10.0,
            "proxy_eject_cooldown_s": 30.0,
        }
        values.update(overrides)
        app = create_app(ProxySettings(**values))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="on",
            loop="none",
            http="httptools",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        running.append((server, task, sock))
        await shared_wait_until(lambda: server.started or task.done(), timeout=10.0)
        if task.done():
            task.result()
            raise AssertionError("proxy stopped during start")
        await shared_wait_until(app.bootstrapped.is_set, timeout=10.0)
        return RunningProxy(app=app, url=f"http://127.0.0.1:{port}", server=server)

    yield start
    for server, task, sock in running:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10.0)
        sock.close()


@pytest.fixture
def publish_service(jetstream: JetStreamContext) -> ServicePublisher:
    async def publish(
        model: str,
        upstreams: Sequence[SimulatedUpstream | str],
        *,
        project: str = "default",
        service: str | None = None,
        phase: ServicePhase = ServicePhase.READY,
        endpoints: Sequence[Endpoint] = ALL_ENDPOINTS,
    ) -> ServiceStatus:
        name = service or model.replace("/", "-").replace(".", "-").lower()
        replicas = [
            Replica(name=f"{name}-{i}", url=u if isinstance(u, str) else u.url)
            for i, u in enumerate(upstreams)
        ]
        status = ServiceStatus(
            project_slug=project,
            service_name=name,
            phase=phase,
            model_name=model,
            endpoints=list(endpoints),
            replicas=replicas,
            ready_replicas=len(replicas) if phase is ServicePhase.READY else 0,
            observed_at=datetime.now(UTC),
        )
        await publish_status(jetstream, service_status_subject(project, name), status)
        return status

    return publish


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nothing listens on (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def echo_upstream() -> AsyncIterator[str]:
    """A replica that echoes any POST (path, query, content type, body) as JSON.

    SimulatedUpstream answers paths it does not serve without recording them, so the
    pass-through test uses this one to see exactly what arrived.
    """
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "path": request.path,
                "query": request.query_string,
                "content_type": request.headers.get("Content-Type", ""),
                "body_hex": body.hex(),
            }
        )

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def batch_proxy(upstreams, start_proxy, publish_service, wait_until):  # type: ignore[no-untyped-def]
    """A proxy serving `llama-3-8b` from one replica, with an OpenAI SDK client."""
    upstream = await upstreams(models=["llama-3-8b"])
    proxy = await start_proxy()
    await publish_service("llama-3-8b", [upstream])
    await wait_until(lambda: proxy.app.table.get("llama-3-8b") is not None)
    client = openai.AsyncOpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
    yield proxy, upstream, client
    await client.close()
