"""`lc up`: the whole platform on one machine, on embedded defaults.

Starts (unless pointed at real ones) nats-server and PostgreSQL from their wheels, then
provisions the streams, and serves the gateway on http://127.0.0.1:8080 until SIGINT or
SIGTERM, when it stops everything it started, children included. What it started and
where is written to `<data dir>/stack.json` for the other `lc` commands.

The embedded servers are supervised (`lc_local.supervision`): one that dies is started
again, and `/healthz` names it until it is back. `/healthz` also answers 503 `starting`
while a worker is not yet ready, naming it and, for those still folding the event log,
how many sequences they are behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import uvicorn

from lc_api.main import KEEP_ALIVE_S
from lc_contracts.sealing import generate_key
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import provision_streams
from lc_eventstore.connection import server_urls
from lc_local.components import (
    Wiring,
    WorkerPool,
    http_apps,
    readiness,
    worker_probes,
    workers,
)
from lc_local.gateway import Gateway, Health
from lc_local.settings import LocalSettings
from lc_local.supervision import ServerSupervisor, Supervised
from lc_runtime.probes import Probes

log = logging.getLogger("lc.up")

DATABASE_NAME = "liquidcompute"
FORCE_AFTER_S = 2.0


@dataclass
class Endpoints:
    """Where the running stack's parts are; saved as stack.json."""

    nats_url: str
    database_url: str
    http_url: str
    kubeconfig: str | None = None
    sim_admin_url: str | None = None
    dns_nameservers: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    replicas: dict[str, str] = field(default_factory=dict)
    """`lc up --ha`: each HTTP replica's own URL (lcd-1, lc-proxy-2, ...)."""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load(cls, data_dir: Path) -> Endpoints:
        path = data_dir / "stack.json"
        if not path.exists():
            raise FileNotFoundError(
                f"no running stack found ({path} is missing); start one with `lc up`"
            )
        return cls(**json.loads(path.read_text()))


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the stack owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _embedded(settings: LocalSettings) -> Iterator[tuple[str, str, dict[str, Supervised]]]:
    """NATS and PostgreSQL URLs: external ones as given, else embedded children (by name)."""
    started: list[EmbeddedNats | EmbeddedPostgres] = []
    servers: dict[str, Supervised] = {}
    try:
        nats_url = settings.nats_url
        if nats_url is None:
            broker = EmbeddedNats(settings.data_dir.resolve() / "nats").start()
            started.append(broker)
            servers["nats"] = broker
            nats_url = broker.url
        database_url = settings.database_url
        if database_url is None:
            pg = EmbeddedPostgres(settings.data_dir.resolve() / "postgres").start()
            started.append(pg)
            servers["postgres"] = pg
            pg.create_database(DATABASE_NAME)
            database_url = pg.url(DATABASE_NAME)
        yield nats_url, database_url, servers
    finally:
        for server in reversed(started):
            server.stop()


async def _provision(nats_url: str, replicas: int) -> None:
    client = await nats.connect(server_urls(nats_url))
    try:
        await provision_streams(client.jetstream(), replicas=replicas)
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def _cluster(settings: LocalSettings) -> AsyncIterator[tuple[str, str | None, str]]:
    """(kubeconfig, simulator admin URL, DNS nameservers): a real cluster's, or the simulator's."""
    if settings.kubeconfig is not None:
        yield str(settings.kubeconfig), None, settings.dns_nameservers or ""
        return
    from lc_clustersim.sim import ClusterSim, SimConfig

    config = SimConfig(gpus=settings.sim_gpus, data_dir=settings.data_dir.resolve() / "sim")
    async with ClusterSim(config) as sim:
        host, port = sim.dns_address
        yield str(sim.kubeconfig_path), sim.admin_url, settings.dns_nameservers or f"{host}:{port}"


def secret_key(settings: LocalSettings) -> str:
    """`LC_SECRET_KEY`, or the key kept in the data directory, made on first start: it
    seals every project secret, so it must outlive restarts (and be backed up with them)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key() + "\n")
    return path.read_text().strip()


@contextlib.asynccontextmanager
async def running_stack(settings: LocalSettings) -> AsyncIterator[tuple[Endpoints, uvicorn.Server]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Bind first: a taken port fails at once, before anything else has started.
    listener = _bind(settings.host, settings.port)
    with listener, _embedded(settings) as (nats_url, database_url, servers):
        await _provision(nats_url, settings.stream_replicas)
        async with _cluster(settings) as (kubeconfig, sim_admin_url, nameservers):
            wiring = Wiring(
                nats_url=nats_url,
                database_url=database_url,
                kubeconfig=kubeconfig,
                dns_nameservers=nameservers,
                platform_domain=settings.platform_domain,
                bind_host=settings.host,
                auth_username=settings.auth_username,
                auth_password=settings.auth_password,
                secret_key=secret_key(settings),
            )
            pool = WorkerPool()
            probes = worker_probes()
            stack_json = settings.data_dir / "stack.json"

            def restarted(name: str, pid: int) -> None:
                endpoints.pids[name] = pid
                endpoints.save(stack_json)

            supervisor = ServerSupervisor(servers, on_restarted=restarted)
            gateway = Gateway(
                mounts=http_apps(wiring),
                frontend_dist=settings.frontend_dist,
                health=_health(pool, supervisor, probes),
            )
            host, port = listener.getsockname()[:2]
            endpoints = Endpoints(
                nats_url=nats_url,
                database_url=database_url,
                http_url=f"http://{host}:{port}",
                kubeconfig=kubeconfig,
                sim_admin_url=sim_admin_url,
                dns_nameservers=nameservers,
                pids={name: server.pid or 0 for name, server in servers.items()},
            )
            endpoints.save(stack_json)
            try:
                async with (
                    supervisor.running(),
                    pool.running(workers(wiring, probes)),
                    _serving(gateway, listener) as server,
                ):
                    yield endpoints, server
            finally:
                stack_json.unlink(missing_ok=True)


class PortInUse(RuntimeError):
    pass


def _bind(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise PortInUse(
            f"cannot listen on {host}:{port}: {exc.strerror}; set LC_PORT or --port"
        ) from None
    listener.listen(2048)
    return listener


@contextlib.asynccontextmanager
async def _serving(gateway: Gateway, listener: socket.socket) -> AsyncIterator[uvicorn.Server]:
    config = uvicorn.Config(
        gateway.build(),
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = _QuietServer(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            serving.result()
            raise RuntimeError("the HTTP server stopped while starting")
        await asyncio.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        await serving


def _health(pool: WorkerPool, supervisor: ServerSupervisor, probes: dict[str, Probes]) -> Health:
    async def check() -> dict[str, Any]:
        workers = pool.report()
        healthy = all(state == "running" for state in workers.values()) and supervisor.healthy
        ready, catching_up = readiness(probes)
        all_ready = all(state == "ready" for state in ready.values())
        status = "degraded" if not healthy else ("ok" if all_ready else "starting")
        return {
            "status": status,
            "servers": supervisor.report(),
            "workers": workers,
            "ready": ready,
            "catchingUp": catching_up,
        }

    return check


async def up(settings: LocalSettings) -> None:
    began = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    first_signal_at: list[float] = []

    def on_signal() -> None:
        # Ctrl-C under a wrapper (just, uv run) often arrives twice at once; only a signal
        # well after the first means "stop now": leave, and the children die with us.
        if first_signal_at and time.monotonic() - first_signal_at[0] > FORCE_AFTER_S:
            os._exit(1)
        if not first_signal_at:
            first_signal_at.append(time.monotonic())
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    if settings.ha:
        from lc_local.ha_stack import running_ha_stack

        stack = running_ha_stack(settings)
    else:
        stack = running_stack(settings)
    async with stack as (endpoints, _):
        print(
            f"LiquidCompute is up in {time.monotonic() - began:.1f}s: {endpoints.http_url} "
            f"(console /, API /api, OpenAI /v1). Ctrl-C stops it.",
            flush=True,
        )
        await stop.wait()
        print("stopping...", flush=True)
